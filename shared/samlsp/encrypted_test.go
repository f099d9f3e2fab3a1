package samlsp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// selfSigned is a key and a certificate for it, as a SAML party has.
func selfSigned(t *testing.T, name string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// oneIdP is a SAML IdP (crewjam/saml's) that knows one service provider,
// by the metadata that service provider publishes, and answers for one
// person.
type oneIdP struct {
	idp    *saml.IdentityProvider
	spMeta *saml.EntityDescriptor
}

func (o *oneIdP) GetServiceProvider(*http.Request, string) (*saml.EntityDescriptor, error) {
	return o.spMeta, nil
}

func (o *oneIdP) GetSession(http.ResponseWriter, *http.Request, *saml.IdpAuthnRequest) *saml.Session {
	return &saml.Session{ID: "s1", CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "1",
		NameID: "u-1", NameIDFormat: string(saml.PersistentNameIDFormat), UserEmail: "foo@tables.fake3", UserCommonName: "Foo"}
}

// TestEncryptedAssertionIsKeptForTheExchange: the service provider's
// metadata offers an encryption key, so an IdP that reads it encrypts the
// assertion. The sign-in reads it, and the assertion the exchange presents
// later (Identity.Assertion) is the one the IdP signed, decrypted; before,
// it was "" ("the SAML response has no Assertion"), and the person never
// got ID-JAGs. The metadata also lists no binding nothing answers.
func TestEncryptedAssertionIsKeptForTheExchange(t *testing.T) {
	idpKey, idpCert := selfSigned(t, "idp")
	spKey, spCert := selfSigned(t, "sp")
	o := &oneIdP{}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	meta, _ := url.Parse(srv.URL + "/idp/metadata")
	sso, _ := url.Parse(srv.URL + "/idp/sso")
	o.idp = &saml.IdentityProvider{Key: idpKey, Signer: idpKey, Certificate: idpCert, MetadataURL: *meta, SSOURL: *sso,
		ServiceProviderProvider: o, SessionProvider: o, Logger: discard{}}
	mux.HandleFunc("/idp/metadata", o.idp.ServeMetadata)

	sp := &ServiceProvider{EntityID: srv.URL + "/sp/metadata", ACSURL: srv.URL + "/sp/acs", Key: spKey, Cert: spCert, HTTP: srv.Client()}
	idp, err := sp.Connect(context.Background(), meta.String())
	if err != nil {
		t.Fatal(err)
	}
	spMetadata := idp.Metadata()
	if strings.Contains(string(spMetadata), "HTTP-Artifact") || !strings.Contains(string(spMetadata), saml.HTTPPostBinding) {
		t.Errorf("the service provider's metadata lists a binding it does not answer, or not HTTP-POST:\n%s", spMetadata)
	}
	if !strings.Contains(string(spMetadata), `use="encryption"`) {
		t.Fatalf("the metadata offers no encryption key, so this test tries nothing:\n%s", spMetadata)
	}
	o.spMeta = &saml.EntityDescriptor{}
	if err := xml.Unmarshal(spMetadata, o.spMeta); err != nil {
		t.Fatal(err)
	}

	to, requestID, err := idp.AuthnRequest("relay", "")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	o.idp.ServeSSO(rec, httptest.NewRequest(http.MethodGet, to.String(), nil))
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("the IdP answered %d without a response:\n%s", rec.Code, rec.Body)
	}
	samlResponse := strings.ReplaceAll(m[1], "&#43;", "+")
	if raw, _ := base64.StdEncoding.DecodeString(samlResponse); !strings.Contains(string(raw), "EncryptedAssertion") {
		t.Fatalf("the IdP did not encrypt the assertion, so this test tries nothing")
	}

	post := httptest.NewRequest(http.MethodPost, sp.ACSURL, strings.NewReader(url.Values{"SAMLResponse": {samlResponse}, "RelayState": {"relay"}}.Encode()))
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := post.ParseForm(); err != nil {
		t.Fatal(err)
	}
	person, err := idp.ReadResponse(post, requestID)
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
	verify := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idpCert}})
	if _, err := verify.Validate(doc.Root()); err != nil {
		t.Errorf("the kept assertion's signature is not the IdP's: %v", err)
	}
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Print(...any)          {}
func (discard) Println(...any)        {}
func (discard) Fatal(...any)          {}
func (discard) Fatalf(string, ...any) {}
func (discard) Fatalln(...any)        {}
func (discard) Panic(...any)          {}
func (discard) Panicf(string, ...any) {}
func (discard) Panicln(...any)        {}
