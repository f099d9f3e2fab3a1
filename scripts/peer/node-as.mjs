// The peer that issue 19 measures the todo AS against: an authorization
// server on oidc-provider 8 (what Okta's Node sample,
// id-assertion-authz-node-example, builds its authorization servers on)
// with a jwt-bearer grant for ID-JAGs that makes the checks the sample's
// grant makes, and issues what the sample issues: a two-hour RS256 JWT
// access token for the configured resource.
//
// Written here, not taken from the sample (which is not published as a
// package); scripts/load-grants.sh installs oidc-provider and jose from
// npm into a folder of its own and runs this beside the todo AS, with the
// same load client, in alternation.
//
// Two ways, chosen by AS_SAMPLE:
//   - unset: the peer at its best. It keeps the issuer's keys (jose's
//     remote key set, fetched once) and logs nothing per grant.
//   - AS_SAMPLE=1: as the sample runs. On every grant it fetches the
//     issuer's /.well-known/openid-configuration, then its keys (a new
//     remote key set per grant: the sample's "TODO: memoize or cache the
//     jwks_uri"), and logs the lines the sample logs.
// Either way, where it differs from the sample it differs in the peer's
// favour, so that a ratio against it is not flattered:
//   - iat is checked only against the future: the load client signs its
//     ID-JAGs before the window, older than the sample's 30 s allows;
//   - like the sample, no jti is remembered, so nothing is written per
//     grant (the todo AS writes each jti durably, RFC 7523 section 3).
//
// Environment: PORT, ISSUER (its own URL), TRUSTED_ISSUER and JWKS_URI
// (the ID-JAG issuer), CLIENT_ID and CLIENT_SECRET (client_secret_basic),
// RESOURCE (the access token's audience), AS_SAMPLE.
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`node-as: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('PORT'));
const issuer = env('ISSUER');
const trustedIssuer = env('TRUSTED_ISSUER');
const resource = env('RESOURCE');
const asSample = process.env.AS_SAMPLE === '1';
const keptKeys = jose.createRemoteJWKSet(new URL(env('JWKS_URI')));
const log = asSample ? console.log : () => {};

// The issuer's keys: kept, or (as the sample) found anew for each grant.
async function issuerKeys(iss) {
  if (!asSample) return keptKeys;
  const metadata = await (await fetch(`${iss}/.well-known/openid-configuration`)).json();
  return jose.createRemoteJWKSet(new URL(metadata.jwks_uri));
}

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'peer-1', alg: 'RS256', use: 'sig' };

const jwtBearer = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

// What the sample issues for the resource: a two-hour RS256 JWT access
// token with the todos.read scope.
const resourceServer = {
  scope: 'todos.read',
  audience: resource,
  accessTokenTTL: 2 * 60 * 60,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'RS256' } },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('CLIENT_ID'),
    client_secret: env('CLIENT_SECRET'),
    grant_types: [jwtBearer],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  scopes: ['todos.read'],
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => resourceServer,
    },
  },
});

const invalidGrant = (description) => new errors.InvalidGrant(description);

// The grant: the sample's checks, in its order (typ, a trusted iss, the
// signature, iat and exp, client_id against the authenticated client, aud
// against this issuer), then an access token for the resource with the
// requested scopes the ID-JAG grants.
async function idJagGrant(ctx, next) {
  log('Doing JWT Authorization Grant');
  const { assertion } = ctx.oidc.params;
  if (!assertion) throw new errors.InvalidRequest('missing required parameter assertion');

  let header;
  let claims;
  try {
    header = jose.decodeProtectedHeader(assertion);
    claims = jose.decodeJwt(assertion);
  } catch {
    throw invalidGrant('the assertion is not a JWT');
  }
  if (header.typ !== 'oauth-id-jag+jwt') throw invalidGrant('typ must be oauth-id-jag+jwt');
  log('JWT Authorization Grant claims:', claims);
  if (claims.iss !== trustedIssuer) throw invalidGrant('the issuer is not trusted');
  try {
    await jose.jwtVerify(assertion, await issuerKeys(claims.iss), { issuer: trustedIssuer, algorithms: ['RS256'] });
  } catch {
    throw invalidGrant('the signature is not valid');
  }
  const now = Math.floor(Date.now() / 1000);
  if (claims.iat > now + 30) throw invalidGrant('iat is in the future');
  if (now >= claims.exp) throw invalidGrant('the assertion has expired');
  if (claims.client_id !== ctx.oidc.client.clientId) throw invalidGrant('client_id is not the authenticated client');
  if (claims.aud !== issuer) throw invalidGrant('aud is not this server');

  const { AccessToken, ResourceServer } = ctx.oidc.provider;
  const at = new AccessToken({
    accountId: claims.sub,
    client: ctx.oidc.client,
    expiresWithSession: false,
    grantId: 'id-jag',
  });
  at.resourceServer = new ResourceServer(resource, resourceServer);
  const requested = (ctx.oidc.params.scope || '').split(' ');
  const granted = (claims.scope || '').split(' ');
  log('Client requested scopes', ctx.oidc.params.scope);
  log('IdP scopes', granted);
  at.scope = [...new Set(requested.filter((s) => s && granted.includes(s)))].join(' ');
  log('Issued scopes', at.scope);

  ctx.oidc.entity('AccessToken', at);
  const token = await at.save();
  ctx.body = { access_token: token, token_type: at.tokenType, expires_in: at.expiration, scope: at.scope };
  await next();
}

provider.registerGrantType(jwtBearer, idJagGrant, ['assertion', 'scope']);
provider.listen(port, '127.0.0.1');
console.log(`node-as: ${issuer} on 127.0.0.1:${port}${asSample ? ', as the sample runs' : ''}`);
