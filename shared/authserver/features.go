package authserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"xaa.example/shared/clientmeta"
	"xaa.example/shared/idjag"
	"xaa.example/shared/jwks"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
	"xaa.example/shared/op"
	"xaa.example/shared/rar"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/scim"
	"xaa.example/shared/trace"
)

// An Option adds a feature to a server: a grant at its token endpoint, an
// endpoint of its own, what its metadata says. The core (sign-in, the code
// flow, the account store) is the same for every server; each
// authservers/* main chooses the features that make it what it is.
type Option func(*Server) error

// Parts are what a feature is built from: the server's core, made by New
// before any feature.
type Parts struct {
	Issuer   string
	Accounts jwtbearer.Accounts // the people of this server, by the IdP subjects linked to them
	Keys     *keys.Set          // signs what the server issues
	Replay   *replaydb.DB       // single-use records every replica sees
	HTTP     *http.Client       // outbound; carries and records traces
	Trace    *trace.Store
	Log      *slog.Logger
	Now      func() time.Time
}

func (s *Server) parts() Parts {
	return Parts{Issuer: s.cfg.Issuer, Accounts: s.store, Keys: s.op.Keys, Replay: s.op.Replay, HTTP: s.http, Trace: s.cfg.Trace, Log: s.cfg.Log, Now: s.cfg.Now}
}

// WithGrant answers grantType at the token endpoint with the grant build
// makes from the server's parts.
func WithGrant(grantType string, build func(Parts) (oauth.Grant, error)) Option {
	return func(s *Server) error {
		g, err := build(s.parts())
		if err != nil {
			return fmt.Errorf("%s grant: %w", grantType, err)
		}
		s.op.Token.Grants[grantType] = g
		return nil
	}
}

// Mount serves the handler build makes at path and every path below it.
func Mount(path string, build func(Parts) (http.Handler, error)) Option {
	return func(s *Server) error {
		h, err := build(s.parts())
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		s.mounts = append(s.mounts, mount{path: strings.TrimSuffix(path, "/"), handler: h})
		return nil
	}
}

// withMetadata adds to the server's discovery document.
func (s *Server) withMetadata(f func(*op.Metadata)) { s.metadata = append(s.metadata, f) }

// IDJAGs is the resource side of Cross App Access: which IdPs' ID-JAGs the
// server redeems (the jwt-bearer grant), for which resources, and whether
// a client it never registered may redeem them as the URL of its Client ID
// Metadata Document.
type IDJAGs struct {
	// Trusted are the IdPs whose ID-JAGs are accepted, each with its
	// algorithms, clock skew, lifetime and just-in-time account policy.
	Trusted []*idjag.TrustedIssuer
	// Resources this server governs (RFC 8707); the first is the audience
	// of access tokens when an ID-JAG names none.
	Resources []Resource
	// ClientMetadataDocuments lets a client that is not registered redeem
	// ID-JAGs with an https URL as its client_id, authenticating with
	// private_key_jwt against the keys its Client ID Metadata Document
	// publishes (MCP EMA §5; shared/clientmeta). ClientMetadataLocalHosts
	// are the host:port pairs whose documents may be fetched over http
	// from a private address, for local development only.
	ClientMetadataDocuments  bool
	ClientMetadataLocalHosts []string
}

// Resource is a protected resource and the scopes it knows.
type Resource = jwtbearer.Resource

// Validate reports every problem at once.
func (c *IDJAGs) Validate() error {
	var problems []string
	if len(c.Trusted) == 0 {
		problems = append(problems, "at least one trusted IdP is required")
	}
	for _, ti := range c.Trusted {
		if err := checkURL(ti.Issuer); err != nil {
			problems = append(problems, fmt.Sprintf("trusted issuer: %v", err))
		}
	}
	if len(c.Resources) == 0 {
		problems = append(problems, "a server that accepts ID-JAGs must govern at least one resource")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// WithIDJAGRedemption makes the server a resource authorization server:
// it redeems ID-JAGs from the trusted IdPs for access tokens to its
// resources (ID-JAG draft §4.4, docs/PROTOCOL.md checks R1 to R13), and
// says so in its metadata (draft §7.2), never naming the IdPs (§8.4).
func WithIDJAGRedemption(c IDJAGs) Option {
	return func(s *Server) error {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("ID-JAG redemption: %w", err)
		}
		for _, ti := range c.Trusted {
			if ti.Keys == nil {
				ti.Keys = jwks.NewRemote(ti.Issuer, s.http)
			}
		}
		verifier := &idjag.Verifier{Audience: s.cfg.Issuer, Issuers: c.Trusted, Replay: s.op.Replay, Now: s.cfg.Now}
		s.store.replay = s.op.Replay
		s.op.Token.Grants[oauth.GrantJWTBearer] = &jwtbearer.Grant{
			Issuer:    s.cfg.Issuer,
			Verifier:  verifier,
			Resources: c.Resources,
			Accounts:  s.store,
			Signer:    s.op.Keys,
			Lifetime:  s.cfg.AccessTokenLifetime,
			Now:       s.cfg.Now,
		}
		if c.ClientMetadataDocuments {
			// The token endpoint knows the registered clients and those
			// described by a metadata document; sign-in (authorize,
			// logout) only the registered ones.
			s.op.Token.Auth.Clients = clientmeta.New(clientmeta.Options{
				Registered: s.clients,
				GrantTypes: []string{oauth.GrantJWTBearer},
				LocalHosts: c.ClientMetadataLocalHosts,
				Wrap:       s.cfg.Trace.Transport,
				Now:        s.cfg.Now,
			})
		}
		s.withMetadata(func(md *op.Metadata) {
			md.AuthorizationGrantProfiles = []string{oauth.ProfileIDJAG}
			md.AuthorizationDetailsTypes = rar.Types
			// draft-ietf-oauth-client-id-metadata-document, Authorization
			// Server Metadata.
			md.ClientIDMetadataDocuments = c.ClientMetadataDocuments
			for _, r := range c.Resources {
				md.Scopes = append(md.Scopes, r.Scopes...)
			}
		})
		for _, ti := range c.Trusted {
			s.trustedIssuers = append(s.trustedIssuers, ti.Issuer)
		}
		return nil
	}
}

// WithSCIM serves SCIM 2.0 provisioning at /scim/v2 (package scim) for the
// clients, over this server's accounts.
func WithSCIM(clients ...scim.Client) Option {
	return func(s *Server) error {
		var problems []string
		for _, c := range clients {
			if c.Token == "" || checkURL(c.Issuer) != nil {
				problems = append(problems, "a SCIM client needs a token and the issuer of its people")
			}
			// With no domains a client vouches for every address: beside
			// another, it would vouch for that one's people too.
			if len(c.Domains) == 0 && len(clients) > 1 {
				problems = append(problems, fmt.Sprintf("SCIM client of %s (tenant %q): with several SCIM clients, each must name its email domains", c.Issuer, c.Tenant))
			}
		}
		if len(clients) == 0 {
			problems = append(problems, "at least one SCIM client is required")
		}
		if len(problems) > 0 {
			return errors.New("SCIM: " + strings.Join(problems, "; "))
		}
		service := &scim.Service{BaseURL: s.cfg.Issuer + pathSCIM, Clients: clients, Accounts: scimAccounts{s.cfg.DB}, Log: s.cfg.Log}
		h, err := service.Handler()
		if err != nil {
			return err
		}
		// The service bounds its bodies and answers in SCIM's format.
		s.mounts = append(s.mounts, mount{path: pathSCIM, handler: h, ownsBodies: true})
		return nil
	}
}

const pathSCIM = "/scim/v2"

// WithTokenExchangeRelay makes the server a requesting app's authorization
// server: its app exchanges the ID token this server issued it for an
// ID-JAG, which this server asks the person's IdP for with the IdP token it
// keeps from the sign-in (RFC 8693, ID-JAG draft §4.3; docs/PROTOCOL.md
// step 2, checks W1 to W3). A SAML person's assertion is exchanged at the
// sign-in for the IdP refresh token that asks for ID-JAGs later (§4.5),
// unless their tenant sends the assertion itself.
//
// A SAML tenant's IdP must be its token issuer's (its metadata published
// by the same origin): an IdP exchanges only its own assertions, so with
// another one the people it signs in here could never get an ID-JAG, and
// the server refuses to start. A tenant with no
// token issuer is an organisation's own SAML IdP: its people sign in, and
// the exchange says that it cannot speak for them.
func WithTokenExchangeRelay() Option {
	return func(s *Server) error {
		for _, t := range s.tenants {
			if t.SAML && t.IdP.TokenIssuer != "" && !sameOrigin(t.IdP.TokenIssuer, t.IdP.Issuer) {
				return fmt.Errorf("the SAML IdP's metadata %s is not published by the IdP at %s (IDP_ISSUER), which can exchange only its own assertions for ID-JAGs: "+
					"people signing in with SAML would never reach another app; set SAML_IDP_METADATA_URL to the metadata of a SAML app at %s "+
					"(or SAML_EXCHANGE=none for an organisation's own SAML IdP, whose people then get no ID-JAGs)", t.IdP.Issuer, t.IdP.TokenIssuer, t.IdP.TokenIssuer)
			}
		}
		g := &relayGrant{s}
		s.op.Token.Grants[oauth.GrantTokenExchange] = g
		s.afterSAMLSignIn = append(s.afterSAMLSignIn, g.exchangeAssertion)
		return nil
	}
}

// sameOrigin reports whether a and b are URLs of one origin (scheme, host
// and port; RFC 6454), which one server answers for.
func sameOrigin(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.Host != "" && strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}
