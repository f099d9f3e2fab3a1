package authserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/oauth"
	"xaa.example/shared/serve"
	"xaa.example/shared/trace"
)

// Config of one authorization server.
type Config struct {
	// Issuer is this server's issuer identifier and base URL.
	Issuer string
	// Name is shown on its pages, e.g. "Wiki authorization server"; Mark
	// is its logo's text and Icon its favicon (web.Meta).
	Name string
	Mark string
	Icon string
	// CookieName of its session; distinct per service on localhost.
	CookieName    string
	SecureCookies bool

	DB         *gorm.DB
	HTTPClient *http.Client
	Log        *slog.Logger
	Now        func() time.Time

	// Tenants are the organisations whose people sign in here, each through
	// its own enterprise IdP, chosen by the domain of the email a person
	// gives (login_hint). An unknown domain is refused.
	Tenants []Tenant

	// Clients registered at this server.
	Clients []oauth.Client
	// DPoPNonces makes the token endpoint require its own nonce in DPoP
	// proofs (RFC 9449 §8; clients retry once with DPoP-Nonce). The nonces
	// rotate every five minutes and need no storage.
	DPoPNonces bool

	// SeedUsers are accounts created at start when missing, not yet linked
	// to any IdP subject; SSO or a just-in-time ID-JAG links them by email.
	SeedUsers []demo.User

	AccessTokenLifetime time.Duration
	IDTokenLifetime     time.Duration

	// Trace records this server's part in chain runs for the debug
	// console, served at /debug/trace/{id}; nil turns that off.
	Trace *trace.Store
}

// Tenant is an organisation, known by its email domains, and this server's
// registration at its IdP. With no domains, every email is this tenant's
// (a server with a single IdP).
type Tenant struct {
	Domains []string
	IdP     Upstream
	// SAML signs the tenant's people in with SAML 2.0 instead of OpenID
	// Connect: IdP.Issuer is then the IdP's SAML metadata URL (its entity
	// ID) and IdP.TokenIssuer its OAuth issuer, where this server (with
	// its client id and secret there) exchanges the assertion for a
	// refresh token and that for ID-JAGs (the ID-JAG draft's SAML path).
	SAML bool
	// SAMLDirect asks for ID-JAGs with the SAML assertion itself as the
	// subject token (the Node sample's path), instead of the refresh token
	// the IdP gave for it at sign-in (the ID-JAG draft's path). The
	// assertion is valid for minutes: after that, only a new sign-in helps.
	SAMLDirect bool
}

// Upstream is this server's registration at an IdP.
type Upstream struct {
	Issuer string
	// TokenIssuer is a SAML tenant's IdP as an OAuth server (Issuer is then
	// its SAML metadata URL): where the assertion is exchanged. Empty for
	// an organisation's own SAML IdP, which is no OAuth server: its people
	// sign in, and no ID-JAG is asked for them.
	TokenIssuer  string
	ClientID     string
	ClientSecret string
	// AuthMethod forces the client authentication method at the IdP's
	// token endpoint (client_secret_basic, client_secret_post); empty, it
	// is chosen from the IdP's metadata (xaaclient.ChooseAuthMethod).
	AuthMethod string
	// OmitExchangeScope leaves scope out of the token exchange at this IdP:
	// Okta's org server refused it there during its beta, and the IdP then
	// grants the connection's scopes (README, Okta section).
	OmitExchangeScope bool
}

// Validate reports every problem at once. An empty issuer would silently
// disable go-jose's issuer and audience checks, so it is refused here.
func (c *Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if err := checkURL(c.Issuer); err != nil {
		add("issuer: %v", err)
	}
	if len(c.Tenants) == 0 {
		add("at least one tenant (an IdP to sign in with) is required")
	}
	seen, issuers := map[string]bool{}, map[string]bool{}
	for _, t := range c.Tenants {
		if issuers[t.IdP.Issuer] {
			add("IdP %s is configured twice: give one tenant all its domains", t.IdP.Issuer)
		}
		issuers[t.IdP.Issuer] = true
		if err := checkURL(t.IdP.Issuer); err != nil {
			add("IdP issuer: %v", err)
		}
		if t.SAML && t.IdP.TokenIssuer != "" {
			if err := checkURL(t.IdP.TokenIssuer); err != nil {
				add("SAML tenant's token issuer: %v", err)
			}
		}
		if t.IdP.ClientID == "" || t.IdP.ClientSecret == "" {
			add("the client id and secret at IdP %s are required", t.IdP.Issuer)
		}
		for _, d := range t.Domains {
			if seen[strings.ToLower(d)] {
				add("email domain %s belongs to two tenants", d)
			}
			seen[strings.ToLower(d)] = true
		}
		// A tenant with no domains vouches for every address: beside
		// another tenant, it would vouch for that one's people too.
		if len(t.Domains) == 0 && len(c.Tenants) > 1 {
			add("IdP %s: with several tenants, each must name its email domains", t.IdP.Issuer)
		}
	}
	if c.DB == nil {
		add("a database is required")
	}
	if c.CookieName == "" {
		add("a session cookie name is required")
	}
	if len(c.Clients) == 0 {
		add("at least one client must be registered")
	}
	for _, cl := range c.Clients {
		if cl.ID == "" || cl.Secret == "" {
			add("client %q needs an id and a secret", cl.ID)
		}
		if cl.AllowsGrant(oauth.GrantAuthorizationCode) && len(cl.RedirectURIs) == 0 {
			add("client %q uses the authorization code grant but has no redirect URI", cl.ID)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkURL(s string) error {
	if !envconfig.IsHTTPURL(s) {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = serve.HTTPClient()
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AccessTokenLifetime == 0 {
		c.AccessTokenLifetime = 15 * time.Minute
	}
	if c.IDTokenLifetime == 0 {
		c.IDTokenLifetime = time.Hour
	}
	if c.Name == "" {
		c.Name = "Authorization server"
	}
}
