// Package samlsptest is a SAML 2.0 identity provider for the tests of a
// service provider: github.com/crewjam/saml's IdP on an httptest server,
// answering every AuthnRequest for one person, with the signing key in the
// test's hands so that it can sign what a real IdP never would (an
// assertion with one thing wrong), and only that check can refuse it.
package samlsptest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"html"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// Person is who the IdP says signed in.
type Person struct {
	NameID, Email, Name string
}

// IdP is the identity provider. MetadataURL is what a service provider
// connects to; Key and Cert sign its assertions.
type IdP struct {
	MetadataURL string
	Key         *rsa.PrivateKey
	Cert        *x509.Certificate
	Person      Person

	idp    *saml.IdentityProvider
	spMeta *saml.EntityDescriptor
}

// New starts the IdP; it stops with the test.
func New(t testing.TB, person Person) *IdP {
	t.Helper()
	key, cert := KeyPair(t, "test IdP")
	i := &IdP{Key: key, Cert: cert, Person: person}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	meta, _ := url.Parse(srv.URL + "/idp/metadata")
	sso, _ := url.Parse(srv.URL + "/idp/sso")
	i.MetadataURL = meta.String()
	i.idp = &saml.IdentityProvider{Key: key, Signer: key, Certificate: cert, MetadataURL: *meta, SSOURL: *sso,
		ServiceProviderProvider: i, SessionProvider: i, Logger: discard{}}
	mux.HandleFunc("/idp/metadata", i.idp.ServeMetadata)
	mux.HandleFunc("/idp/sso", i.idp.ServeSSO)
	return i
}

// KeyPair is an RSA key and a self-signed certificate for it, as a SAML
// party has.
func KeyPair(t testing.TB, name string) (*rsa.PrivateKey, *x509.Certificate) {
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

// TrustSP makes the service provider whose metadata this is the one the
// IdP answers. With encrypt false, the encryption keys it offers are left
// out, so the assertions come in clear (and a test can edit them).
func (i *IdP) TrustSP(t testing.TB, metadata []byte, encrypt bool) {
	t.Helper()
	md := &saml.EntityDescriptor{}
	if err := xml.Unmarshal(metadata, md); err != nil {
		t.Fatalf("the service provider's metadata: %v", err)
	}
	if !encrypt {
		for j := range md.SPSSODescriptors {
			d := &md.SPSSODescriptors[j]
			d.KeyDescriptors = slices.DeleteFunc(d.KeyDescriptors, func(k saml.KeyDescriptor) bool { return k.Use == "encryption" })
		}
	}
	i.spMeta = md
}

// GetServiceProvider is the one service provider trusted.
func (i *IdP) GetServiceProvider(*http.Request, string) (*saml.EntityDescriptor, error) {
	return i.spMeta, nil
}

// GetSession is the person, signed in.
func (i *IdP) GetSession(http.ResponseWriter, *http.Request, *saml.IdpAuthnRequest) *saml.Session {
	return &saml.Session{ID: "s-" + rand.Text(), CreateTime: time.Now(), ExpireTime: time.Now().Add(time.Hour), Index: "1",
		NameID: i.Person.NameID, NameIDFormat: string(saml.PersistentNameIDFormat), UserEmail: i.Person.Email, UserCommonName: i.Person.Name}
}

var responseForm = regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"[\s\S]*?name="RelayState" value="([^"]*)"`)

// Answer is the IdP's answer to the AuthnRequest at authnRequest (the
// HTTP-Redirect URL a service provider sends the browser to): the
// SAMLResponse and RelayState its form would post.
func (i *IdP) Answer(t testing.TB, authnRequest string) (samlResponse, relayState string) {
	t.Helper()
	rec := httptest.NewRecorder()
	i.idp.ServeSSO(rec, httptest.NewRequest(http.MethodGet, authnRequest, nil))
	m := responseForm.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("the IdP answered %d without a response:\n%s", rec.Code, rec.Body)
	}
	return html.UnescapeString(m[1]), html.UnescapeString(m[2])
}

// Resign is samlResponse with its signatures removed, edit applied to the
// Response and its Assertion, and the Assertion signed again by the IdP's
// key, as crewjam/saml signs (exclusive C14N 1.0, RSA-SHA256).
func (i *IdP) Resign(t testing.TB, samlResponse string, edit func(resp, assertion *etree.Element)) string {
	t.Helper()
	return SignWith(t, i.Key, i.Cert, samlResponse, edit)
}

// SignWith is Resign with another key and certificate.
func SignWith(t testing.TB, key *rsa.PrivateKey, cert *x509.Certificate, samlResponse string, edit func(resp, assertion *etree.Element)) string {
	t.Helper()
	doc := Parse(t, samlResponse)
	resp := doc.Root()
	a := resp.SelectElement("Assertion")
	if a == nil {
		t.Fatal("the response has no plain Assertion to sign")
	}
	for _, el := range []*etree.Element{resp, a} {
		if sig := el.SelectElement("Signature"); sig != nil {
			el.RemoveChild(sig)
		}
	}
	if edit != nil {
		edit(resp, a)
	}
	signed := SignElement(t, key, cert, a)
	resp.RemoveChild(a)
	resp.AddChild(signed)
	return Encode(t, doc)
}

// SignElement is el signed by key (enveloped), as crewjam/saml signs:
// exclusive C14N 1.0, RSA-SHA256.
func SignElement(t testing.TB, key *rsa.PrivateKey, cert *x509.Certificate, el *etree.Element) *etree.Element {
	t.Helper()
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// Unsigned is samlResponse with every signature removed.
func Unsigned(t testing.TB, samlResponse string) string {
	t.Helper()
	doc := Parse(t, samlResponse)
	for _, el := range []*etree.Element{doc.Root(), doc.Root().SelectElement("Assertion")} {
		if el == nil {
			continue
		}
		if sig := el.SelectElement("Signature"); sig != nil {
			el.RemoveChild(sig)
		}
	}
	return Encode(t, doc)
}

// Parse reads a SAMLResponse form value.
func Parse(t testing.TB, samlResponse string) *etree.Document {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return doc
}

// Encode is doc as a SAMLResponse form value.
func Encode(t testing.TB, doc *etree.Document) string {
	t.Helper()
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(out)
}

// EditText is samlResponse with its XML text changed by edit, after any
// signing: what a signature over the canonical form does not see.
func EditText(samlResponse string, edit func(string) string) string {
	raw, _ := base64.StdEncoding.DecodeString(samlResponse)
	return base64.StdEncoding.EncodeToString([]byte(edit(string(raw))))
}

// discard is crewjam/saml's logger, silent.
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
