package samlsp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"

	"xaa.example/shared/samlsp/samlsptest"
)

// usedOnce is an assertion replay cache in memory, for tests.
type usedOnce struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (u *usedOnce) Consume(id string, _ time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen[id] {
		return saml.ErrAssertionReplayed
	}
	u.seen[id] = true
	return nil
}

// connect makes a service provider and connects it to idp (its metadata
// read), which trusts it back with assertions in clear.
func connect(t *testing.T, idp *samlsptest.IdP) (*ServiceProvider, *IdP) {
	t.Helper()
	key, cert := samlsptest.KeyPair(t, "sp")
	sp := &ServiceProvider{EntityID: "https://sp.test/saml/metadata", ACSURL: "https://sp.test/saml/acs",
		Key: key, Cert: cert, Replay: &usedOnce{seen: map[string]bool{}}, HTTP: http.DefaultClient}
	conn, err := sp.Connect(context.Background(), idp.MetadataURL)
	if err != nil {
		t.Fatal(err)
	}
	idp.TrustSP(t, conn.Metadata(), false)
	return sp, conn
}

// TestReadResponseHostile: what the connector refuses in a response posted
// to the assertion consumer service. Each row starts from the IdP's real
// answer to a fresh AuthnRequest; the rows signed by the IdP's own key have
// one thing wrong, so only the check for that thing can refuse them. Each
// is refused with the reason a person reads on the page, and names no one.
// (Which sign-in a response finishes, and in which browser, is the
// server's: shared/authserver TestSAMLACSHostile.)
func TestReadResponseHostile(t *testing.T) {
	idp := samlsptest.New(t, samlsptest.Person{NameID: "u-foo", Email: "foo@tables.fake3", Name: "Foo Tables"})
	sp, conn := connect(t, idp)
	// answer is the IdP's response to a new AuthnRequest, and its ID.
	answer := func() (samlResponse, requestID string) {
		to, requestID, err := conn.AuthnRequest("relay", "")
		if err != nil {
			t.Fatal(err)
		}
		samlResponse, _ = idp.Answer(t, to.String())
		return samlResponse, requestID
	}
	read := func(samlResponse, requestID string) (*Identity, error) {
		if err := Precheck(samlResponse); err != nil {
			return nil, err
		}
		post := httptest.NewRequest(http.MethodPost, sp.ACSURL, strings.NewReader(url.Values{"SAMLResponse": {samlResponse}}.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := post.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return conn.ReadResponse(post, requestID)
	}
	resign := func(edit func(resp, a *etree.Element)) func() (string, string) {
		return func() (string, string) {
			r, id := answer()
			return idp.Resign(t, r, edit), id
		}
	}
	setAttr := func(path, attr, value string) func(resp, a *etree.Element) {
		return func(_, a *etree.Element) {
			for _, el := range a.FindElements(path) {
				el.CreateAttr(attr, value)
			}
		}
	}
	past, future := time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339), time.Now().Add(10*time.Minute).UTC().Format(time.RFC3339)
	otherKey, otherCert := samlsptest.KeyPair(t, "another IdP")

	// The controls: the IdP's answer as it comes, and re-signed by the
	// IdP's key unchanged, each name foo.
	for name, make := range map[string]func() (string, string){"as the IdP sent it": answer, "re-signed, unchanged": resign(nil)} {
		if person, err := read(make()); err != nil || person.NameID != "u-foo" || person.Email != "foo@tables.fake3" {
			t.Fatalf("the control (%s): %+v, %v", name, person, err)
		}
	}

	rows := []struct {
		name     string
		response func() (samlResponse, requestID string)
		// why is the reason the page gives ("" when any refusal will do).
		why string
	}{
		{"wrong Audience, signed by the IdP", resign(func(_, a *etree.Element) {
			a.FindElement(".//Audience").SetText("https://another-sp.test/saml/metadata")
		}), "it is meant for another service"},
		{"wrong Issuer, signed by the IdP", resign(func(resp, a *etree.Element) {
			for _, el := range []*etree.Element{resp, a} {
				if iss := el.SelectElement("Issuer"); iss != nil {
					iss.SetText("https://idp.evil.test/saml/metadata")
				}
			}
		}), "it comes from another identity provider"},
		{"wrong Destination, signed by the IdP", resign(func(resp, _ *etree.Element) {
			resp.CreateAttr("Destination", "https://evil.test/saml/acs")
		}), "it was sent to another address"},
		{"wrong Recipient, signed by the IdP", resign(setAttr(".//SubjectConfirmationData", "Recipient", "https://evil.test/saml/acs")),
			"it was sent to another address"},
		{"expired, signed by the IdP", resign(func(resp, a *etree.Element) {
			setAttr(".//Conditions", "NotOnOrAfter", past)(resp, a)
			setAttr(".//SubjectConfirmationData", "NotOnOrAfter", past)(resp, a)
		}), "it is not valid at this time"},
		{"not yet valid, signed by the IdP", resign(setAttr(".//Conditions", "NotBefore", future)), "it is not valid at this time"},
		{"no NameID, signed by the IdP", resign(func(_, a *etree.Element) {
			nid := a.FindElement(".//NameID")
			nid.Parent().RemoveChild(nid)
		}), ""},
		{"an assertion ID used before, signed by the IdP", func() (string, string) {
			used, usedID := answer()
			if _, err := read(used, usedID); err != nil {
				t.Fatalf("the first use: %v", err)
			}
			r, id := answer()
			usedAssertion := samlsptest.Parse(t, used).Root().SelectElement("Assertion").SelectAttrValue("ID", "")
			return idp.Resign(t, r, func(_, a *etree.Element) { a.CreateAttr("ID", usedAssertion) }), id
		}, "it was used before"},
		{"a second, unsigned assertion before the signed one (signature wrapping)", func() (string, string) {
			r, id := resign(nil)()
			doc := samlsptest.Parse(t, r)
			signed := doc.Root().SelectElement("Assertion")
			evil := signed.Copy()
			evil.RemoveChild(evil.SelectElement("Signature"))
			evil.CreateAttr("ID", "_evil")
			evil.FindElement(".//NameID").SetText("someone-else")
			doc.Root().InsertChildAt(signed.Index(), evil)
			return samlsptest.Encode(t, doc), id
		}, ""},
		{"the signed assertion wrapped inside an unsigned one (signature wrapping)", func() (string, string) {
			r, id := resign(nil)()
			doc := samlsptest.Parse(t, r)
			signed := doc.Root().SelectElement("Assertion")
			evil := signed.Copy()
			evil.RemoveChild(evil.SelectElement("Signature"))
			evil.FindElement(".//NameID").SetText("someone-else")
			evil.AddChild(signed.Copy()) // the signature still finds its ID
			doc.Root().RemoveChild(signed)
			doc.Root().AddChild(evil)
			return samlsptest.Encode(t, doc), id
		}, ""},
		// The signature still holds: exclusive canonicalisation leaves
		// comments out, and the text around the comment is the signed
		// text. Refused before parsing (RefuseMarkup).
		{"a comment inside the NameID (truncation)", func() (string, string) {
			r, id := resign(nil)()
			return samlsptest.EditText(r, func(x string) string {
				return regexp.MustCompile(`(<saml:NameID[^>]*>[^<]{4})`).ReplaceAllString(x, "${1}<!---->")
			}), id
		}, "a comment"},
		{"over 64 KiB", func() (string, string) {
			r, id := answer()
			return samlsptest.EditText(r, func(x string) string {
				return strings.Replace(x, "<saml:NameID", strings.Repeat(" ", MaxResponse)+"<saml:NameID", 1)
			}), id
		}, "too large"},
		{"another sign-in's response (InResponseTo)", func() (string, string) {
			r, _ := answer()
			_, other := answer()
			return r, other
		}, "it does not answer this sign-in"},
		{"an assertion signed by another certificate", func() (string, string) {
			r, id := answer()
			return samlsptest.SignWith(t, otherKey, otherCert, r, nil), id
		}, "its signature is not the identity provider's"},
		{"no signature at all", func() (string, string) {
			r, id := answer()
			return samlsptest.Unsigned(t, r), id
		}, "it is not signed"},
		{"NameID changed after signing", func() (string, string) {
			r, id := answer()
			return samlsptest.EditText(r, func(x string) string {
				return regexp.MustCompile(`(<saml:NameID[^>]*>)[^<]+`).ReplaceAllString(x, "${1}someone-else")
			}), id
		}, "its signature is not the identity provider's"},
		{"a DTD with an entity", func() (string, string) {
			r, id := answer()
			return samlsptest.EditText(r, func(x string) string {
				return `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + x
			}), id
		}, "a DTD or entity declaration"},
		{"not base64", func() (string, string) {
			_, id := answer()
			return "%%% not base64 %%%", id
		}, "not base64"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			person, err := read(row.response())
			var rf *Refusal
			if !errors.As(err, &rf) || !strings.Contains(rf.Public, row.why) {
				t.Fatalf("got %+v, %v; want a refusal saying %q", person, err, row.why)
			}
			if person != nil {
				t.Errorf("a refused response named %+v", person)
			}
		})
	}
}
