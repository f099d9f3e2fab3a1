package authserver

import (
	"log/slog"
	"strings"
	"testing"

	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
	"xaa.example/shared/trace"
)

// TestSAMLAuthority: whose people a SAML IdP's NameIDs are (issue 31). The
// OAuth issuer's, only when the issuer's own URL publishes the IdP's
// metadata; otherwise the IdP's entity ID's, never another authority's.
func TestSAMLAuthority(t *testing.T) {
	for _, tt := range []struct {
		name, tokenIssuer, metadata, entityID, want string
	}{
		{name: "the local IdP's SAML face", tokenIssuer: "http://localhost:4000", metadata: "http://localhost:4000/saml/metadata", entityID: "http://localhost:4000/saml/metadata", want: "http://localhost:4000"},
		{name: "an Okta org's SAML app", tokenIssuer: "https://acme.okta.test", metadata: "https://acme.okta.test/app/exk1/sso/saml/metadata", entityID: "http://www.okta.com/exk1", want: "https://acme.okta.test"},
		{name: "an organisation's own IdP", tokenIssuer: "http://localhost:4000", metadata: "https://sso.customer.test/metadata", entityID: "https://sso.customer.test/metadata", want: "https://sso.customer.test/metadata"},
		{name: "a host that begins like the issuer's", tokenIssuer: "http://localhost:4000", metadata: "http://localhost:40000/saml/metadata", entityID: "http://localhost:40000/saml/metadata", want: "http://localhost:40000/saml/metadata"},
		{name: "a custom authorization server's issuer", tokenIssuer: "https://acme.okta.test/oauth2/default", metadata: "https://acme.okta.test/app/exk1/sso/saml/metadata", entityID: "http://www.okta.com/exk1", want: "http://www.okta.com/exk1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			te := &tenant{Tenant: Tenant{SAML: true, IdP: Upstream{Issuer: tt.metadata, TokenIssuer: tt.tokenIssuer}}}
			if got := samlAuthority(te, tt.entityID); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestSAMLEntityOfAnotherAuthority: metadata whose entity ID is another
// configured authority's is refused, so that its people are never looked up
// among that authority's.
func TestSAMLEntityOfAnotherAuthority(t *testing.T) {
	local := &tenant{Tenant: Tenant{IdP: Upstream{Issuer: "http://localhost:4000"}}}
	localSAML := &tenant{Tenant: Tenant{SAML: true, IdP: Upstream{Issuer: "http://localhost:4000/saml/metadata", TokenIssuer: "http://localhost:4000"}}}
	localSAML.sp.authority = "http://localhost:4000"
	foreign := &tenant{Tenant: Tenant{SAML: true, IdP: Upstream{Issuer: "https://sso.customer.test/metadata", TokenIssuer: "http://localhost:4000"}}}
	other := &tenant{Tenant: Tenant{SAML: true, IdP: Upstream{Issuer: "https://sso.other.test/metadata", TokenIssuer: "http://localhost:4000"}}}
	other.sp.authority = "https://sso.other.test/metadata"
	s := &Server{tenants: []*tenant{local, localSAML, foreign, other}, trustedIssuers: []string{"https://partner-idp.test"}}
	for _, tt := range []struct {
		name, entityID string
		ok             bool
	}{
		{name: "its own entity ID", entityID: "https://sso.customer.test/metadata", ok: true},
		{name: "the local IdP's SAML entity ID", entityID: "http://localhost:4000/saml/metadata"},
		{name: "the local IdP's issuer itself", entityID: "http://localhost:4000"},
		{name: "under a trusted issuer's URL", entityID: "https://partner-idp.test/saml"},
		{name: "another tenant's entity ID", entityID: "https://sso.other.test/metadata"},
		{name: "none", entityID: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.checkSAMLEntity(foreign, tt.entityID); (err == nil) != tt.ok {
				t.Errorf("checkSAMLEntity(%q) = %v, want ok %v", tt.entityID, err, tt.ok)
			}
		})
	}
}

// TestRelayRefusesAnotherIdPsSAML: a server that asks for ID-JAGs for its
// SAML people (the wiki AS) exchanges their assertions at the tenant's
// token issuer, which takes only its own. SAML metadata the issuer does
// not publish is refused at start, in one sentence that names both;
// before, sign-in worked and "My todos" asked to sign in again for ever.
// An organisation's own SAML IdP, with no token issuer, starts.
func TestRelayRefusesAnotherIdPsSAML(t *testing.T) {
	start := func(t *testing.T, metadata, tokenIssuer string) error {
		cfg := Config{
			Issuer: "https://wiki-as.test", CookieName: "test_session", DB: storagetest.SQLite(t),
			Log: slog.New(slog.DiscardHandler), Trace: trace.NewStore("wiki-as"),
			Tenants: []Tenant{
				{Domains: []string{"tables.fake"}, IdP: Upstream{Issuer: "https://idp.test", ClientID: "as", ClientSecret: "s"}},
				{Domains: []string{"tables.fake3"}, SAML: true, IdP: Upstream{Issuer: metadata, TokenIssuer: tokenIssuer, ClientID: "as", ClientSecret: "s"}},
			},
			Clients: []oauth.Client{{ID: "wiki", Secret: "wiki-secret", RedirectURIs: []string{"https://wiki.test/callback"},
				GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantTokenExchange}}},
		}
		s, err := New(t.Context(), cfg, WithTokenExchangeRelay())
		if err == nil {
			s.Close()
		}
		return err
	}
	if err := start(t, "https://idp.test/saml/metadata", "https://idp.test"); err != nil {
		t.Errorf("the issuer's own SAML metadata: %v", err)
	}
	if err := start(t, "https://idp.test/app/exk1/sso/saml/metadata", "https://idp.test/oauth2/default"); err != nil {
		t.Errorf("the org's SAML app, the org's custom authorization server: %v", err)
	}
	if err := start(t, "https://sso.customer.test/metadata", ""); err != nil {
		t.Errorf("an organisation's own SAML IdP, no token issuer: %v", err)
	}
	err := start(t, "https://other-org.okta.test/app/exk1/sso/saml/metadata", "https://idp.test")
	if err == nil || !strings.Contains(err.Error(), "can exchange only its own assertions") ||
		!strings.Contains(err.Error(), "other-org.okta.test") || !strings.Contains(err.Error(), "SAML_IDP_METADATA_URL") {
		t.Errorf("another IdP's SAML metadata: %v", err)
	}
}
