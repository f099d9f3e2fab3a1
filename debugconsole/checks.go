package debugconsole

import (
	"xaa.example/shared/accesstoken"
	"xaa.example/shared/exchange"
	"xaa.example/shared/idjag"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
	"xaa.example/shared/samlcred"
	"xaa.example/shared/trace"
	"xaa.example/shared/xaaclient"
)

// checkText is what the console says of a check: its number in
// PROTOCOL.md, where it has one, and what it verifies.
type checkText struct {
	Number string
	Title  string
}

// checkTexts are the console's words for every check the servers report.
// A check is recorded by its ID alone (trace.CheckID); what it means is
// said here, once.
var checkTexts = map[trace.CheckID]checkText{
	oauth.CheckClientAuth:   {"", "client authentication"},
	oauth.CheckGrantType:    {"", "the client may use this grant type"},
	oauth.CheckScopePolicy:  {"", "the scope asked for is one the client may have"},
	oauth.CheckSubjectToken: {"", "subject token: an ID token of this server, issued to this client, unexpired"},
	oauth.CheckDPoPProof:    {"", "DPoP proof (RFC 9449 §4.3): typ dpop+jwt, asymmetric alg, public jwk, signature, htm and htu of this request, fresh iat, jti used once"},

	idjag.CheckShape:     {"1", "one assertion, a compact JWS of sane size"},
	idjag.CheckType:      {"2", "typ is oauth-id-jag+jwt"},
	idjag.CheckAlgorithm: {"3", "alg on the issuer's allow-list; key chosen by kid from its JWKS"},
	idjag.CheckIssuer:    {"4", "iss is a trusted IdP"},
	idjag.CheckSignature: {"5", "signature verifies"},
	idjag.CheckAudience:  {"6", "aud is exactly this authorization server"},
	idjag.CheckClaims:    {"7", "exp, iat, jti, sub, client_id present; times within skew and lifetime"},
	idjag.CheckClient:    {"8", "client_id is the authenticated client"},
	idjag.CheckReplay:    {"9", "jti not used before (single use)"},

	jwtbearer.CheckResource: {"10", "resource governed here"},
	jwtbearer.CheckScope:    {"11", "scope: requested ∩ ID-JAG ∩ client's allowed"},
	jwtbearer.CheckSubject:  {"12", "subject maps to a local account"},
	jwtbearer.CheckProof:    {"", "key binding: an ID-JAG bound to a key (cnf.jkt) only with a DPoP proof of it; a proof binds the access token"},

	exchange.CheckRequest:    {"", "request: requested_token_type id-jag, subject_token_type supported, audience present"},
	exchange.CheckSubject:    {"", "subject token: issued by this IdP, to this client, unexpired, user active"},
	exchange.CheckAudience:   {"", "audience is a known resource authorization server"},
	exchange.CheckResource:   {"", "resource is governed by that authorization server"},
	exchange.CheckConnection: {"", "an enabled managed connection from this app to that one"},
	exchange.CheckScope:      {"", "scopes narrowed to what the connection allows"},
	exchange.CheckKeyBinding: {"", "the ID-JAG is bound to the key of the request's DPoP proof (cnf.jkt)"},

	samlcred.CheckMarkup:     {"", "SAML assertion: base64, at most 64 KiB, no DTD, entity, comment or processing instruction, a SAML 2.0 Assertion"},
	samlcred.CheckSignature:  {"", "XML signature by this IdP's SAML certificate; only the signed element is read (no signature wrapping)"},
	samlcred.CheckIssuer:     {"", "Issuer is this IdP's SAML entity ID"},
	samlcred.CheckConditions: {"", "Conditions NotBefore and NotOnOrAfter hold now (1 min of clock skew)"},
	samlcred.CheckAudience:   {"", "Audience is a service provider this client speaks for (the draft maps the SP to a client)"},
	samlcred.CheckSubject:    {"", "persistent NameID is an active person of this IdP"},
	samlcred.CheckOnce:       {"", "assertion exchanged for a refresh token once"},

	xaaclient.CheckIdPToken: {"", "the user's ID token from the IdP, kept since sign-in (refreshed when expired)"},
	xaaclient.CheckIssued:   {"", "the IdP issued an ID-JAG"},

	accesstoken.CheckToken:   {"", "access token: typ at+jwt, signed by the authorization server, aud this resource, unexpired"},
	accesstoken.CheckScope:   {"", "the token grants the scope this call needs"},
	accesstoken.CheckProof:   {"", "a bound token comes as DPoP, with a proof of its key for this request (htm, htu, ath, fresh, used once)"},
	accesstoken.CheckRevoked: {"", "not revoked: no Shared Signals event from the IdP (account disabled, session revoked, claims changed) has ended the person's or the app's access since the token was issued"},
}

// checkLabel names a check for the console: "3 · alg on the issuer's
// allow-list…", or its ID when the console does not know it (a newer
// service), so that nothing is hidden.
func checkLabel(c trace.Check) string {
	t, ok := checkTexts[c.ID]
	switch {
	case !ok:
		return string(c.ID)
	case t.Number != "":
		return t.Number + " · " + t.Title
	}
	return t.Title
}
