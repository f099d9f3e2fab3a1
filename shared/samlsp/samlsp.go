package samlsp

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	crewjamsp "github.com/crewjam/saml/samlsp"
	"github.com/crewjam/saml/xmlenc"

	"xaa.example/shared/samlxml"
)

// MaxResponse bounds a decoded response.
const MaxResponse = 64 << 10

// ServiceProvider is the server as a SAML service provider: its entity ID
// (the URL of its metadata), its assertion consumer service, its key.
type ServiceProvider struct {
	EntityID string
	ACSURL   string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
	// Replay remembers the assertions used.
	Replay saml.AssertionReplayCache
	HTTP   *http.Client
}

// IdP is one organisation's SAML IdP, as its metadata describes it.
type IdP struct {
	// MetadataURL is where its metadata was read; EntityID what it says.
	MetadataURL string
	EntityID    string
	sp          *saml.ServiceProvider
}

// Connect reads the IdP's metadata.
func (p *ServiceProvider) Connect(ctx context.Context, metadataURL string) (*IdP, error) {
	mdURL, err := url.Parse(metadataURL)
	if err != nil {
		return nil, err
	}
	md, err := crewjamsp.FetchMetadata(ctx, p.HTTP, *mdURL)
	if err != nil {
		return nil, err
	}
	meta, err := url.Parse(p.EntityID)
	if err != nil {
		return nil, err
	}
	acs, err := url.Parse(p.ACSURL)
	if err != nil {
		return nil, err
	}
	return &IdP{MetadataURL: metadataURL, EntityID: md.EntityID, sp: &saml.ServiceProvider{
		EntityID: meta.String(), Key: p.Key, Certificate: p.Cert,
		MetadataURL: *meta, AcsURL: *acs, IDPMetadata: md,
		AuthnNameIDFormat: saml.PersistentNameIDFormat,
		ReplayCache:       p.Replay,
		HTTPClient:        p.HTTP,
	}}, nil
}

// AuthnRequest is where to send the browser to sign in at the IdP
// (HTTP-Redirect binding, the answer to come by HTTP-POST), with the
// relay state that names the sign-in here, and the request's ID, which
// the response must answer. A login hint, not part of SAML but read by
// many IdPs, carries the email the person already typed here.
func (i *IdP) AuthnRequest(relayState, loginHint string) (to *url.URL, requestID string, err error) {
	req, err := i.sp.MakeAuthenticationRequest(i.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return nil, "", err
	}
	to, err = req.Redirect(relayState, i.sp)
	if err != nil {
		return nil, "", err
	}
	if loginHint != "" {
		q := to.Query()
		q.Set("login_hint", loginHint)
		to.RawQuery = q.Encode()
	}
	return to, req.ID, nil
}

// Metadata is the service provider's metadata, for the IdP's
// administrator: its signing and encryption key, and the one assertion
// consumer service it has, HTTP-POST (crewjam/saml also lists an
// HTTP-Artifact one, which nothing here answers).
func (i *IdP) Metadata() []byte {
	md := i.sp.Metadata()
	for j := range md.SPSSODescriptors {
		d := &md.SPSSODescriptors[j]
		d.AssertionConsumerServices = slices.DeleteFunc(d.AssertionConsumerServices, func(e saml.IndexedEndpoint) bool { return e.Binding != saml.HTTPPostBinding })
	}
	b, _ := xml.MarshalIndent(md, "", "  ")
	return b
}

// Identity is what a verified response says of the person.
type Identity struct {
	// NameID is the IdP's persistent id for the person.
	NameID string
	Email  string
	Name   string
	// Assertion is the Assertion element as the IdP signed it, with the
	// namespaces it uses declared on it, base64url: the subject token of
	// a saml2 token exchange (RFC 8693 §3); "" when it cannot be cut out.
	Assertion string
	// NotOnOrAfter is when the assertion stops being valid (zero: not
	// said).
	NotOnOrAfter time.Time
}

// Refusal is a response refused: why, in words a person may read that
// follow "The identity provider's answer", and the private cause, for the
// log.
type Refusal struct {
	Public string
	Cause  error
}

func (r *Refusal) Error() string {
	if r.Cause != nil {
		return r.Public + ": " + r.Cause.Error()
	}
	return r.Public
}

func (r *Refusal) Unwrap() error { return r.Cause }

// Precheck is what a posted response must be before anything parses it,
// or before the sign-in it answers is taken: base64, at most MaxResponse,
// XML with no document type, comment or processing instruction
// (samlxml.RefuseMarkup). The error is a *Refusal.
func Precheck(samlResponse string) error {
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil || len(raw) > MaxResponse {
		return &Refusal{Public: "is not a SAML response this server reads (not base64, or too large)", Cause: err}
	}
	if err := samlxml.RefuseMarkup(raw); err != nil {
		return &Refusal{Public: "is not a SAML response this server reads: " + err.Error() + " in it", Cause: err}
	}
	return nil
}

// ReadResponse checks the response posted to the ACS (already through
// Precheck), which must answer requestID, and returns the person it names.
// A refusal is a *Refusal.
func (i *IdP) ReadResponse(r *http.Request, requestID string) (*Identity, error) {
	assertion, err := i.sp.ParseResponse(r, []string{requestID})
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) {
			return nil, &Refusal{Public: "did not pass this server's checks: " + publicReason(ire.PrivateErr), Cause: ire.PrivateErr}
		}
		return nil, &Refusal{Public: "did not pass this server's checks", Cause: err}
	}
	if assertion.Subject == nil || assertion.Subject.NameID == nil || assertion.Subject.NameID.Value == "" {
		return nil, &Refusal{Public: "names no one (no NameID)"}
	}
	id := &Identity{
		NameID: assertion.Subject.NameID.Value,
		Email:  attribute(assertion, "mail", "email", "urn:oid:0.9.2342.19200300.100.1.3"),
		Name:   attribute(assertion, "cn", "name", "urn:oid:2.5.4.3"),
	}
	if assertion.Conditions != nil {
		id.NotOnOrAfter = assertion.Conditions.NotOnOrAfter
	}
	id.Assertion, _ = i.signedAssertion(r.PostForm.Get("SAMLResponse"))
	return id, nil
}

// attribute is the first value of the attribute named any of names (by
// Name or FriendlyName).
func attribute(a *saml.Assertion, names ...string) string {
	for _, st := range a.AttributeStatements {
		for _, attr := range st.Attributes {
			for _, n := range names {
				if (strings.EqualFold(attr.Name, n) || strings.EqualFold(attr.FriendlyName, n)) && len(attr.Values) > 0 {
					return attr.Values[0].Value
				}
			}
		}
	}
	return ""
}

// signedAssertion cuts the Assertion element out of a SAML response, as
// the IdP signed it, with the namespaces it uses declared on it, base64url.
// An EncryptedAssertion (to this service provider's key, which its
// metadata offers) is decrypted first: the assertion inside is the one the
// IdP signed.
func (i *IdP) signedAssertion(samlResponse string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(samlResponse)
	if err != nil {
		return "", err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return "", errors.New("the SAML response is not XML")
	}
	var found *etree.Element
	for _, el := range doc.Root().ChildElements() {
		switch el.Tag {
		case "Assertion":
			found = el.Copy()
		case "EncryptedAssertion":
			if found, err = decryptAssertion(i.sp.Key, el); err != nil {
				return "", err
			}
		}
		if found != nil {
			break
		}
	}
	if found == nil {
		return "", errors.New("the SAML response has no Assertion")
	}
	a := found
	for _, attr := range doc.Root().Attr {
		if (attr.Space == "xmlns" || (attr.Space == "" && attr.Key == "xmlns")) && a.SelectAttr(attr.FullKey()) == nil {
			a.CreateAttr(attr.FullKey(), attr.Value)
		}
	}
	out := etree.NewDocument()
	out.SetRoot(a)
	b, err := out.WriteToBytes()
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decryptAssertion is the Assertion in an EncryptedAssertion (XML
// Encryption: its EncryptedData, whose key is wrapped to key in an
// EncryptedKey inside the data's KeyInfo or beside it).
func decryptAssertion(key any, encrypted *etree.Element) (*etree.Element, error) {
	data := encrypted.FindElement("./EncryptedData")
	if data == nil {
		return nil, errors.New("the EncryptedAssertion has no EncryptedData")
	}
	var plain []byte
	var err error
	if wrapped := encrypted.FindElement("./EncryptedKey"); wrapped != nil {
		var cek []byte
		if cek, err = xmlenc.Decrypt(key, wrapped); err == nil {
			plain, err = xmlenc.Decrypt(cek, data)
		}
	} else {
		plain, err = xmlenc.Decrypt(key, data)
	}
	if err != nil {
		return nil, fmt.Errorf("the EncryptedAssertion could not be decrypted: %w", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(plain); err != nil || doc.Root() == nil || doc.Root().Tag != "Assertion" {
		return nil, errors.New("the EncryptedAssertion holds no Assertion")
	}
	return doc.Root(), nil
}

// publicReason says which check failed in words a person may read,
// without the library's details (crewjam/saml classifies its refusals by
// these error values).
func publicReason(err error) string {
	is := func(targets ...error) bool {
		return slices.ContainsFunc(targets, func(target error) bool { return errors.Is(err, target) })
	}
	switch {
	case strings.Contains(err.Error(), "signature element not present"):
		// crewjam/saml's refusal of an unsigned message is an unexported,
		// unclassified error: its text is all there is to match.
		return "it is not signed"
	case is(saml.ErrInvalidSignature, saml.ErrUntrustedCertificate, saml.ErrCertificateNotValidNow):
		return "its signature is not the identity provider's"
	case is(saml.ErrAudienceMismatch):
		return "it is meant for another service"
	case is(saml.ErrExpired, saml.ErrNotYetValid):
		return "it is not valid at this time"
	case is(saml.ErrRequestIDMismatch):
		return "it does not answer this sign-in"
	case is(saml.ErrDestinationMismatch):
		return "it was sent to another address"
	case is(saml.ErrIssuerMismatch):
		return "it comes from another identity provider"
	case is(saml.ErrAssertionReplayed):
		return "it was used before"
	}
	return "it is not a valid SAML response"
}
