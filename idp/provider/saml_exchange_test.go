package provider

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"xaa.example/idp/store"
	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
	"xaa.example/shared/samlcred"
	"xaa.example/shared/samlsp/samlsptest"
)

// samlAssertion is an assertion of this IdP's SAML face about foo (by the
// persistent NameID, their id here) for the wiki AS's service provider,
// valid five minutes from now, signed as the IdP signs (exclusive C14N
// 1.0, RSA-SHA256) by key, which is the IdP's own unless a row says.
func (s *Server) samlAssertion(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate) string {
	t.Helper()
	var foo store.User
	if err := s.cfg.DB.Take(&foo, "email = ?", "foo@tables.fake3").Error; err != nil {
		t.Fatal(err)
	}
	now := s.cfg.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	doc := etree.NewDocument()
	a := doc.CreateElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	a.CreateAttr("ID", "_"+strings.ToLower(rand.Text()))
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", at(0))
	a.CreateElement("saml:Issuer").SetText(s.saml.EntityID())
	nameID := a.CreateElement("saml:Subject").CreateElement("saml:NameID")
	nameID.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
	nameID.SetText(foo.ID)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", at(-time.Minute))
	cond.CreateAttr("NotOnOrAfter", at(5*time.Minute))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(testTopology.WikiAS + "/saml/metadata")
	a.CreateElement("saml:AuthnStatement").CreateAttr("AuthnInstant", at(0))

	signed := samlsptest.SignElement(t, key, cert, a)
	out := etree.NewDocument()
	out.SetRoot(signed)
	x, _ := out.WriteToString()
	return x
}

// TestSAMLExchangeHostile: the token exchange of SAML assertions
// (subject_token_type saml2) refuses what is not a fresh, signed assertion
// of this IdP's own, for a service provider the client speaks for. Every
// row is refused with invalid_grant (or invalid_request) and no token;
// the control, the same assertion unchanged, is exchanged once.
func TestSAMLExchangeHostile(t *testing.T) {
	var now atomic.Int64 // the IdP's clock, which the test moves
	now.Store(time.Now().UnixNano())
	cfg := DefaultConfig(testTopology)
	cfg.Now = func() time.Time { return time.Unix(0, now.Load()) }
	s := newTestIdPWith(t, cfg)
	idpKey, idpCert, err := samlcred.LoadOrCreate(t.Context(), s.cfg.DB, "idp", s.saml.EntityID())
	if err != nil {
		t.Fatal(err)
	}
	good := s.samlAssertion(t, idpKey, idpCert)
	exchange := func(client, secret, assertion, requested string) (int, map[string]any) {
		t.Helper()
		form := url.Values{
			"grant_type": {oauth.GrantTokenExchange}, "requested_token_type": {requested},
			"subject_token": {base64.RawURLEncoding.EncodeToString([]byte(assertion))}, "subject_token_type": {oauth.TokenTypeSAML2},
			"audience": {testTopology.TodoAS}, "resource": {testTopology.TodoAPI()}, "scope": {"todos.read"},
		}
		return s.exchange(t, client, secret, form.Encode())
	}
	wiki := func(assertion string) (int, map[string]any) {
		return exchange(demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, assertion, oauth.TokenTypeRefreshToken)
	}
	otherKey, otherCert := samlsptest.KeyPair(t, "another IdP")
	unsigned := func(x string) string {
		doc := etree.NewDocument()
		_ = doc.ReadFromString(x)
		doc.Root().RemoveChild(doc.Root().SelectElement("Signature"))
		out, _ := doc.WriteToString()
		return out
	}
	nameID := regexp.MustCompile(`(<saml:NameID[^>]*>)([^<]+)(</saml:NameID>)`)
	type client struct{ id, secret string }
	wikiAS, agent := client{demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP}, client{demo.AgentClientAtIdP, demo.AgentSecretAtIdP}
	rows := []struct {
		name      string
		assertion string
		client    client
		want      string
	}{
		{"unsigned", unsigned(good), wikiAS, "invalid_grant"},
		{"NameID changed after signing", nameID.ReplaceAllString(good, "${1}someone-else${3}"), wikiAS, "invalid_grant"},
		// The signature still holds: exclusive canonicalisation leaves
		// comments out, and the text around the comment is the signed text.
		{"a comment inside the NameID (truncation)", regexp.MustCompile(`(<saml:NameID[^>]*>[^<]{4})`).ReplaceAllString(good, "${1}<!---->"), wikiAS, "invalid_grant"},
		{"a processing instruction inside the assertion", strings.Replace(good, "<saml:Subject>", "<?evil?><saml:Subject>", 1), wikiAS, "invalid_grant"},
		{"signed by another certificate", s.samlAssertion(t, otherKey, otherCert), wikiAS, "invalid_grant"},
		{"audience of another client", good, agent, "invalid_grant"},
		{"a DTD with an external entity", `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + good, wikiAS, "invalid_grant"},
		// Larger than any request the IdP reads: refused before parsing (413).
		{"huge", good + strings.Repeat(" ", 70<<10), wikiAS, "invalid_request"},
		{"not XML", "not xml at all", wikiAS, "invalid_grant"},
		{"a Response, not an Assertion", strings.Replace(good, "saml:Assertion", "samlp:Response", 2), wikiAS, "invalid_grant"},
		{"a signed assertion wrapped inside another, unsigned one", `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="evil"><saml:Issuer>` +
			s.saml.EntityID() + `</saml:Issuer>` + good[strings.Index(good, ">")+1:], wikiAS, "invalid_grant"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			status, body := exchange(row.client.id, row.client.secret, row.assertion, oauth.TokenTypeRefreshToken)
			if status/100 != 4 || body["error"] != row.want || body["access_token"] != nil {
				t.Fatalf("got %d %v, want 4xx %s", status, body, row.want)
			}
		})
	}

	// The good one works once (path a), and not twice.
	if status, body := wiki(good); status != 200 || body["issued_token_type"] != oauth.TokenTypeRefreshToken {
		t.Fatalf("the good assertion: %d %v", status, body)
	}
	if status, body := wiki(good); status != 400 || !strings.Contains(body["error_description"].(string), "exchanged before") {
		t.Errorf("the same assertion again: %d %v", status, body)
	}
	// Path (b): another fresh assertion straight for an ID-JAG.
	fresh := s.samlAssertion(t, idpKey, idpCert)
	if status, body := exchange(demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, fresh, oauth.TokenTypeIDJAG); status != 200 || body["issued_token_type"] != oauth.TokenTypeIDJAG {
		t.Errorf("path (b), an assertion for an ID-JAG: %d %v", status, body)
	}
	// Expired: a fresh assertion, ten minutes later.
	late := s.samlAssertion(t, idpKey, idpCert)
	now.Add(int64(10 * time.Minute))
	if status, body := wiki(late); status != 400 || !strings.Contains(body["error_description"].(string), "expired") {
		t.Errorf("an expired assertion: %d %v", status, body)
	}
}
