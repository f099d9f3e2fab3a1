package authserver

import "testing"

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
