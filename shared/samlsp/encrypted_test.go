package samlsp

import (
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"xaa.example/shared/samlsp/samlsptest"
)

// TestEncryptedAssertionIsKeptForTheExchange: the service provider's
// metadata offers an encryption key, so an IdP that reads it encrypts the
// assertion. The sign-in reads it, and the assertion the exchange presents
// later (Identity.Assertion) is the one the IdP signed, decrypted; before,
// it was "" ("the SAML response has no Assertion"), and the person never
// got ID-JAGs. The metadata also lists no binding nothing answers.
func TestEncryptedAssertionIsKeptForTheExchange(t *testing.T) {
	idp := samlsptest.New(t, samlsptest.Person{NameID: "u-1", Email: "foo@tables.fake3", Name: "Foo"})
	sp, conn := connect(t, idp)
	spMetadata := conn.Metadata()
	if strings.Contains(string(spMetadata), "HTTP-Artifact") || !strings.Contains(string(spMetadata), saml.HTTPPostBinding) {
		t.Errorf("the service provider's metadata lists a binding it does not answer, or not HTTP-POST:\n%s", spMetadata)
	}
	if !strings.Contains(string(spMetadata), `use="encryption"`) {
		t.Fatalf("the metadata offers no encryption key, so this test tries nothing:\n%s", spMetadata)
	}
	idp.TrustSP(t, spMetadata, true)

	to, requestID, err := conn.AuthnRequest("relay", "")
	if err != nil {
		t.Fatal(err)
	}
	samlResponse, _ := idp.Answer(t, to.String())
	if raw, _ := base64.StdEncoding.DecodeString(samlResponse); !strings.Contains(string(raw), "EncryptedAssertion") {
		t.Fatalf("the IdP did not encrypt the assertion, so this test tries nothing")
	}

	post := httptest.NewRequest(http.MethodPost, sp.ACSURL, strings.NewReader(url.Values{"SAMLResponse": {samlResponse}, "RelayState": {"relay"}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := post.ParseForm(); err != nil {
		t.Fatal(err)
	}
	person, err := conn.ReadResponse(post, requestID)
	if err != nil {
		t.Fatalf("the encrypted response was refused: %v", err)
	}
	if person.NameID != "u-1" || person.Email != "foo@tables.fake3" {
		t.Errorf("read %+v", person)
	}
	if person.Assertion == "" {
		t.Fatal("no assertion kept for the exchange")
	}
	// What the exchange presents is an Assertion the IdP's certificate
	// verifies, as the IdP's token endpoint checks it.
	raw, err := base64.RawURLEncoding.DecodeString(person.Assertion)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil || doc.Root().Tag != "Assertion" {
		t.Fatalf("kept %q", raw)
	}
	verify := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idp.Cert}})
	if _, err := verify.Validate(doc.Root()); err != nil {
		t.Errorf("the kept assertion's signature is not the IdP's: %v", err)
	}
}
