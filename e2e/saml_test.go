package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	stdbase64 "encoding/base64"
	"html"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"xaa.example/shared/demo"
	"xaa.example/shared/oauth"
	"xaa.example/shared/samlcred"
)

var samlForm = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)"[^>]*>.*?name="SAMLResponse" value="([^"]+)".*?name="RelayState" value="([^"]*)"`)

// TestSAMLSignIn: a tables.fake3 person signs in to the wiki through SAML
// (the wiki AS is a SAML service provider of the local IdP); the same
// response posted again is refused, and so is one whose signature was
// broken; and their todos come through the ID-JAG draft's SAML path
// (assertion -> IdP refresh token -> ID-JAG).
func TestSAMLSignIn(t *testing.T) {
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	login := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
	m := samlForm.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatalf("no SAML response form (%s):\n%.2000s", login.URL, login.Body)
	}
	acs, response, relay := html.UnescapeString(m[1]), html.UnescapeString(m[2]), html.UnescapeString(m[3])
	if acs != s.topology.WikiAS+"/saml/acs" {
		t.Errorf("the response goes to %s", acs)
	}
	home := b.post(acs, map[string]string{"SAMLResponse": response, "RelayState": relay})
	if !strings.Contains(home.Body, "Foo Tables") || !strings.HasPrefix(home.URL, s.topology.Wiki) {
		t.Fatalf("after the SAML response the browser is at %s:\n%.1500s", home.URL, home.Body)
	}

	// The same response again: the request it answered is spent.
	other := newBrowser(t)
	again := other.post(acs, map[string]string{"SAMLResponse": response, "RelayState": relay})
	if again.Status != 400 || !strings.Contains(again.Body, "Sign-in did not complete") {
		t.Errorf("a replayed response: %d\n%.800s", again.Status, again.Body)
	}

	// A broken signature, with a request of its own.
	third := newBrowser(t)
	login = third.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
	m = samlForm.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatal("no second SAML form")
	}
	xml, _ := base64Decode(html.UnescapeString(m[2]))
	tampered := strings.Replace(string(xml), "foo@tables.fake3", "bob@tables.fake3", 1)
	refused := third.post(acs, map[string]string{"SAMLResponse": base64Encode([]byte(tampered)), "RelayState": html.UnescapeString(m[3])})
	if refused.Status != 400 || !strings.Contains(refused.Body, "did not pass this server") {
		t.Errorf("a tampered response: %d\n%.800s", refused.Status, refused.Body)
	}

	// My todos through the draft's SAML path: at sign-in the wiki AS
	// exchanged the assertion for an IdP refresh token; now that refresh
	// token is the subject token of the ID-JAG request.
	todos := b.get(s.topology.Wiki + "/todos")
	if todos.Status != 200 || strings.Contains(todos.Body, `class="alert bad"`) || !strings.Contains(todos.Body, demo.FooTodos[0]) {
		t.Fatalf("My todos for a SAML person: %d\n%.2000s", todos.Status, todos.Body)
	}
	console := b.get(s.topology.Wiki + "/debug").Body
	if !strings.Contains(console, "urn:ietf:params:oauth:token-type:refresh_token") {
		t.Error("the console does not show the refresh token of the SAML path as the subject token")
	}
	var refresh string
	if err := s.dbs["wiki-as"].Table("upstream_sessions").Select("refresh_token").Where("saml_assertion <> ''").Row().Scan(&refresh); err != nil || refresh == "" {
		t.Errorf("the wiki AS kept no IdP refresh token for the SAML sign-in (%v)", err)
	}
}

func base64Decode(s string) ([]byte, error) { return stdbase64.StdEncoding.DecodeString(s) }
func base64Encode(b []byte) string          { return stdbase64.StdEncoding.EncodeToString(b) }

// samlAssertion signs email in through SAML with a fresh browser and
// returns the signed Assertion element of the IdP's response (with the
// namespaces it uses), as XML, without posting the response anywhere.
func samlAssertion(t *testing.T, s *stack, email string) string {
	t.Helper()
	b := newBrowser(t)
	login := b.signIn(s.topology.Wiki, email, demo.Password)
	m := samlForm.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatalf("no SAML response form:\n%.1500s", login.Body)
	}
	raw, err := base64Decode(html.UnescapeString(m[2]))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	a := doc.Root().SelectElement("Assertion").Copy()
	for _, attr := range doc.Root().Attr {
		if attr.Space == "xmlns" && a.SelectAttr(attr.FullKey()) == nil {
			a.CreateAttr(attr.FullKey(), attr.Value)
		}
	}
	out := etree.NewDocument()
	out.SetRoot(a)
	x, _ := out.WriteToString()
	return x
}

// TestSAMLExchangeHostile: the IdP's token exchange of SAML assertions
// (subject_token_type saml2) refuses what is not a fresh, signed assertion
// of its own for a service provider the client speaks for. Every row is
// refused with invalid_grant (or invalid_request) and no token.
func TestSAMLExchangeHostile(t *testing.T) {
	clk := &clock{now: time.Now()}
	s := startStack(t, sqliteDB, func(c *configs) { c.idp.Now = clk.Now })
	good := samlAssertion(t, s, "foo@tables.fake3")
	exchange := func(client, secret, assertion, requested string) (int, map[string]any) {
		t.Helper()
		form := url.Values{
			"grant_type": {oauth.GrantTokenExchange}, "requested_token_type": {requested},
			"subject_token": {stdbase64.RawURLEncoding.EncodeToString([]byte(assertion))}, "subject_token_type": {oauth.TokenTypeSAML2},
			"audience": {s.topology.TodoAS}, "resource": {s.topology.TodoAPI()}, "scope": {"todos.read"},
		}
		return postForm(t, s.topology.IdP+"/oauth2/v1/token", form, client, secret)
	}
	wiki := func(assertion string) (int, map[string]any) {
		return exchange(demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, assertion, oauth.TokenTypeRefreshToken)
	}

	// Another IdP's key, signing a copy of the assertion.
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherCert := selfSigned(t, otherKey)
	resigned := func(x string) string {
		doc := etree.NewDocument()
		_ = doc.ReadFromString(x)
		root := doc.Root()
		if sig := root.SelectElement("Signature"); sig != nil {
			root.RemoveChild(sig)
		}
		ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{otherCert.Raw}, PrivateKey: otherKey}))
		signed, err := ctx.SignEnveloped(root)
		if err != nil {
			t.Fatal(err)
		}
		out := etree.NewDocument()
		out.SetRoot(signed)
		s, _ := out.WriteToString()
		return s
	}
	unsigned := func(x string) string {
		doc := etree.NewDocument()
		_ = doc.ReadFromString(x)
		if sig := doc.Root().SelectElement("Signature"); sig != nil {
			doc.Root().RemoveChild(sig)
		}
		s, _ := doc.WriteToString()
		return s
	}
	nameID := regexp.MustCompile(`(<saml:NameID[^>]*>)([^<]+)(</saml:NameID>)`)
	rows := []struct {
		name      string
		assertion string
		client    [2]string
		want      string
	}{
		{"unsigned", unsigned(good), [2]string{}, "invalid_grant"},
		{"NameID changed after signing", nameID.ReplaceAllString(good, "${1}someone-else${3}"), [2]string{}, "invalid_grant"},
		// The signature still holds: exclusive canonicalisation leaves
		// comments out, and the text around the comment is the signed text.
		{"a comment inside the NameID (truncation)", regexp.MustCompile(`(<saml:NameID[^>]*>[^<]{4})`).ReplaceAllString(good, "${1}<!---->"), [2]string{}, "invalid_grant"},
		{"a processing instruction inside the assertion", strings.Replace(good, "<saml:Subject>", "<?evil?><saml:Subject>", 1), [2]string{}, "invalid_grant"},
		{"signed by another certificate", resigned(good), [2]string{}, "invalid_grant"},
		{"audience of another client", good, [2]string{demo.AgentClientAtIdP, demo.AgentSecretAtIdP}, "invalid_grant"},
		{"a DTD with an external entity", `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + good, [2]string{}, "invalid_grant"},
		// Larger than any request the IdP reads: refused before parsing (413).
		{"huge", good + strings.Repeat(" ", 70<<10), [2]string{}, "invalid_request"},
		{"not XML", "not xml at all", [2]string{}, "invalid_grant"},
		{"a Response, not an Assertion", strings.Replace(good, "saml:Assertion", "samlp:Response", 2), [2]string{}, "invalid_grant"},
		{"a signed assertion wrapped inside another, unsigned one", `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="evil"><saml:Issuer>` + s.topology.IdP + `/saml/metadata</saml:Issuer>` + good[strings.Index(good, ">")+1:], [2]string{}, "invalid_grant"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			client := row.client
			if client[0] == "" {
				client = [2]string{demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP}
			}
			status, body := exchange(client[0], client[1], row.assertion, oauth.TokenTypeRefreshToken)
			if status/100 != 4 || body["error"] != row.want || body["access_token"] != nil {
				t.Fatalf("got %d %v, want 400 %s", status, body, row.want)
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
	fresh := samlAssertion(t, s, "foo@tables.fake3")
	if status, body := exchange(demo.WikiASClientAtIdP, demo.WikiASSecretAtIdP, fresh, oauth.TokenTypeIDJAG); status != 200 || body["issued_token_type"] != oauth.TokenTypeIDJAG {
		t.Errorf("path (b), an assertion for an ID-JAG: %d %v", status, body)
	}
	// Expired: a fresh assertion, ten minutes later.
	late := samlAssertion(t, s, "foo@tables.fake3")
	clk.Add(10 * time.Minute)
	if status, body := wiki(late); status != 400 || !strings.Contains(body["error_description"].(string), "expired") {
		t.Errorf("an expired assertion: %d %v", status, body)
	}
}

func selfSigned(t testing.TB, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "another IdP"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestSAMLDirectPath: with SAML_EXCHANGE=assertion the wiki AS presents
// the SAML assertion itself as the subject token (the Node sample's path),
// and the console says which path ran.
func TestSAMLDirectPath(t *testing.T) {
	s := startStack(t, sqliteDB, func(c *configs) { c.wikiAS.Tenants[1].SAMLDirect = true })
	b := newBrowser(t)
	login := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
	m := samlForm.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatal("no SAML response form")
	}
	b.post(html.UnescapeString(m[1]), map[string]string{"SAMLResponse": html.UnescapeString(m[2]), "RelayState": html.UnescapeString(m[3])})
	todos := b.get(s.topology.Wiki + "/todos")
	if !strings.Contains(todos.Body, `id="held-token"`) {
		t.Fatalf("My todos through the assertion path: %d\n%.1500s", todos.Status, todos.Body)
	}
	console := b.get(s.topology.Wiki + "/debug").Body
	// The assertion itself, readable: indented XML, its conditions and
	// attributes explained, its signature values removed.
	for _, want := range []string{"urn:ietf:params:oauth:token-type:saml2", "the Node sample&#39;s path",
		"SAML 2.0 assertion", "NotOnOrAfter", "attribute mail", "foo@tables.fake3", "SignatureValue&gt;[signature removed]",
		// The IdP's checks on it, each named.
		"XML signature by this IdP", "Issuer is this IdP", "Conditions NotBefore and NotOnOrAfter hold now", "Audience is a service provider this client speaks for", "persistent NameID is an active person"} {
		if !strings.Contains(console, want) {
			t.Errorf("the console does not show %q", want)
		}
	}
	assertNothingUsable(t, "the console", console)
	// This path has no use for an IdP refresh token: none was asked for.
	var refreshTokens int64
	s.dbs["wiki-as"].Table("upstream_sessions").Where("refresh_token <> ''").Count(&refreshTokens)
	if refreshTokens != 0 {
		t.Errorf("the assertion path kept %d IdP refresh tokens", refreshTokens)
	}
}

// TestSAMLACSHostile: what the wiki AS's assertion consumer service refuses.
// Each row posts a response built from a real one of the IdP; each is
// refused with a page that says so, and nothing is linked or signed in.
func TestSAMLACSHostile(t *testing.T) {
	s := startStack(t, sqliteDB)
	acs := s.topology.WikiAS + "/saml/acs"
	// pending starts a sign-in in a new browser, which it leaves in
	// starter (the only browser that may finish it), and returns the IdP's
	// response and its RelayState, unposted.
	var starter *browser
	pending := func() (response, relay string) {
		b := newBrowser(t)
		starter = b
		login := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
		m := samlForm.FindStringSubmatch(login.Body)
		if m == nil {
			t.Fatal("no SAML response form")
		}
		return html.UnescapeString(m[2]), html.UnescapeString(m[3])
	}
	decode := func(r string) string { b, _ := base64Decode(r); return string(b) }
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherCert := selfSigned(t, otherKey)
	resign := func(r string) string {
		doc := etree.NewDocument()
		_ = doc.ReadFromString(decode(r))
		a := doc.Root().SelectElement("Assertion")
		if sig := a.SelectElement("Signature"); sig != nil {
			a.RemoveChild(sig)
		}
		ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{otherCert.Raw}, PrivateKey: otherKey}))
		signed, err := ctx.SignEnveloped(a)
		if err != nil {
			t.Fatal(err)
		}
		doc.Root().RemoveChild(a)
		doc.Root().AddChild(signed)
		out, _ := doc.WriteToString()
		return base64Encode([]byte(out))
	}
	strip := func(r string) string {
		doc := etree.NewDocument()
		_ = doc.ReadFromString(decode(r))
		for _, el := range []*etree.Element{doc.Root(), doc.Root().SelectElement("Assertion")} {
			if sig := el.SelectElement("Signature"); sig != nil {
				el.RemoveChild(sig)
			}
		}
		out, _ := doc.WriteToString()
		return base64Encode([]byte(out))
	}
	links := func() int64 {
		var n int64
		s.dbs["wiki-as"].Table("links").Count(&n)
		return n
	}
	// The IdP's own key, to sign what the IdP never would: each row made
	// with idpSigned has a valid signature and one thing wrong, so only the
	// check for that thing can refuse it.
	idpKey, idpCert, err := samlcred.LoadOrCreate(context.Background(), s.dbs["idp"], "idp", s.topology.IdP+"/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	idpSigned := func(r string, edit func(resp, a *etree.Element)) string {
		doc := etree.NewDocument()
		_ = doc.ReadFromString(decode(r))
		resp := doc.Root()
		a := resp.SelectElement("Assertion")
		for _, el := range []*etree.Element{resp, a} {
			if sig := el.SelectElement("Signature"); sig != nil {
				el.RemoveChild(sig)
			}
		}
		edit(resp, a)
		// As the IdP signs (crewjam/saml): exclusive C14N 1.0, RSA-SHA256.
		ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{idpCert.Raw}, PrivateKey: idpKey}))
		ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
			t.Fatal(err)
		}
		signed, err := ctx.SignEnveloped(a)
		if err != nil {
			t.Fatal(err)
		}
		resp.RemoveChild(a)
		resp.AddChild(signed)
		out, _ := doc.WriteToString()
		return base64Encode([]byte(out))
	}
	unchanged := func(resp, a *etree.Element) {}
	setAttr := func(path, attr, value string) func(resp, a *etree.Element) {
		return func(resp, a *etree.Element) {
			for _, el := range a.FindElements(path) {
				el.CreateAttr(attr, value)
			}
		}
	}
	// editXML edits the response as text after signing (what a signature
	// over the canonical form does not see).
	editXML := func(r string, edit func(string) string) string { return base64Encode([]byte(edit(decode(r)))) }
	assertionID := func(r string) string {
		doc := etree.NewDocument()
		_ = doc.ReadFromString(decode(r))
		return doc.Root().SelectElement("Assertion").SelectAttrValue("ID", "")
	}
	past, future := time.Now().Add(-10*time.Minute).UTC().Format(time.RFC3339), time.Now().Add(10*time.Minute).UTC().Format(time.RFC3339)

	// signsIn posts a form to the ACS from the browser that started the
	// sign-in and reports whether the wiki AS then knows foo there.
	signsIn := func(form map[string]string) bool {
		b := starter
		b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		b.post(acs, form)
		b.client.CheckRedirect = nil
		return strings.Contains(b.get(s.topology.WikiAS+"/").Body, "Foo Tables")
	}
	// The control: the IdP's key over an unchanged assertion signs in, so
	// every idpSigned row below is refused for its one change alone.
	if r, relay := pending(); !signsIn(map[string]string{"SAMLResponse": idpSigned(r, unchanged), "RelayState": relay}) {
		t.Fatal("the control (re-signed by the IdP, unchanged) did not sign in")
	}

	rows := []struct {
		name string
		form func() map[string]string
		// why is the reason the page must give, when it is a specific one.
		why string
	}{
		{"wrong Audience, signed by the IdP", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": idpSigned(r, func(_, a *etree.Element) {
				a.FindElement(".//Audience").SetText("http://localhost:1/saml/metadata")
			}), "RelayState": relay}
		}, "meant for another service"},
		{"wrong Issuer, signed by the IdP", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": idpSigned(r, func(resp, a *etree.Element) {
				for _, el := range []*etree.Element{resp, a} {
					if iss := el.SelectElement("Issuer"); iss != nil {
						iss.SetText("https://idp.evil.example/saml/metadata")
					}
				}
			}), "RelayState": relay}
		}, "another identity provider"},
		{"wrong Destination, signed by the IdP", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": idpSigned(r, func(resp, _ *etree.Element) {
				resp.CreateAttr("Destination", "https://evil.example/saml/acs")
			}), "RelayState": relay}
		}, "sent to another address"},
		{"wrong Recipient, signed by the IdP", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": idpSigned(r, setAttr(".//SubjectConfirmationData", "Recipient", "https://evil.example/saml/acs")), "RelayState": relay}
		}, "sent to another address"},
		{"expired, signed by the IdP", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": idpSigned(r, func(resp, a *etree.Element) {
				setAttr(".//Conditions", "NotOnOrAfter", past)(resp, a)
				setAttr(".//SubjectConfirmationData", "NotOnOrAfter", past)(resp, a)
			}), "RelayState": relay}
		}, "not valid at this time"},
		{"not yet valid, signed by the IdP", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": idpSigned(r, setAttr(".//Conditions", "NotBefore", future)), "RelayState": relay}
		}, "not valid at this time"},
		{"an assertion ID used before, signed by the IdP for this sign-in", func() map[string]string {
			used, usedRelay := pending()
			if !signsIn(map[string]string{"SAMLResponse": used, "RelayState": usedRelay}) {
				t.Fatal("the first use did not sign in")
			}
			r, relay := pending()
			return map[string]string{"SAMLResponse": idpSigned(r, func(_, a *etree.Element) { a.CreateAttr("ID", assertionID(used)) }), "RelayState": relay}
		}, "used before"},
		{"a second, unsigned assertion before the signed one (signature wrapping)", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": editXML(idpSigned(r, unchanged), func(x string) string {
				doc := etree.NewDocument()
				_ = doc.ReadFromString(x)
				signed := doc.Root().SelectElement("Assertion")
				evil := signed.Copy()
				evil.RemoveChild(evil.SelectElement("Signature"))
				evil.CreateAttr("ID", "_evil")
				evil.FindElement(".//NameID").SetText("someone-else")
				doc.Root().InsertChildAt(signed.Index(), evil)
				out, _ := doc.WriteToString()
				return out
			}), "RelayState": relay}
		}, ""},
		{"the signed assertion wrapped inside an unsigned one (signature wrapping)", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": editXML(idpSigned(r, unchanged), func(x string) string {
				doc := etree.NewDocument()
				_ = doc.ReadFromString(x)
				signed := doc.Root().SelectElement("Assertion")
				evil := signed.Copy()
				evil.RemoveChild(evil.SelectElement("Signature"))
				evil.FindElement(".//NameID").SetText("someone-else")
				evil.AddChild(signed.Copy()) // the signature still finds its ID
				doc.Root().RemoveChild(signed)
				doc.Root().AddChild(evil)
				out, _ := doc.WriteToString()
				return out
			}), "RelayState": relay}
		}, ""},
		{"a comment inside the NameID (truncation)", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": editXML(idpSigned(r, unchanged), func(x string) string {
				return regexp.MustCompile(`(<saml:NameID[^>]*>[^<]{4})`).ReplaceAllString(x, "${1}<!---->")
			}), "RelayState": relay}
		}, ""},
		// Refused at the door, before the form is parsed (web.LimitBodies).
		{"huge (over 64 KiB)", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": editXML(r, func(x string) string {
				return strings.Replace(x, "<saml:NameID", strings.Repeat(" ", 70<<10)+"<saml:NameID", 1)
			}), "RelayState": relay}
		}, "larger than this address takes"},
		{"another sign-in's response (InResponseTo)", func() map[string]string {
			r1, _ := pending()
			_, relay2 := pending()
			return map[string]string{"SAMLResponse": r1, "RelayState": relay2}
		}, "does not answer this sign-in"},
		{"an assertion signed by another certificate", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": resign(r), "RelayState": relay}
		}, "signature is not the identity provider"},
		{"no signature at all", func() map[string]string {
			r, relay := pending()
			return map[string]string{"SAMLResponse": strip(r), "RelayState": relay}
		}, "it is not signed"},
		{"NameID changed after signing", func() map[string]string {
			r, relay := pending()
			x := regexp.MustCompile(`(<saml:NameID[^>]*>)[^<]+`).ReplaceAllString(decode(r), "${1}someone-else")
			return map[string]string{"SAMLResponse": base64Encode([]byte(x)), "RelayState": relay}
		}, "signature is not the identity provider"},
		{"a DTD with an entity", func() map[string]string {
			r, relay := pending()
			x := `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + decode(r)
			return map[string]string{"SAMLResponse": base64Encode([]byte(x)), "RelayState": relay}
		}, ""},
		{"not base64", func() map[string]string {
			_, relay := pending()
			return map[string]string{"SAMLResponse": "%%% not base64 %%%", "RelayState": relay}
		}, ""},
		{"no RelayState", func() map[string]string {
			r, _ := pending()
			return map[string]string{"SAMLResponse": r}
		}, "stale"},
		{"a RelayState never issued", func() map[string]string {
			r, _ := pending()
			return map[string]string{"SAMLResponse": r, "RelayState": "made-up"}
		}, "stale"},
		{"posted from another browser than the one that started it (login CSRF)", func() map[string]string {
			r, relay := pending()
			starter = newBrowser(t) // the victim's, with no sign-in of its own
			return map[string]string{"SAMLResponse": r, "RelayState": relay}
		}, "not started in this browser"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			form := row.form()
			before := links()
			b := starter
			// The ACS's own answer, not wherever a redirect would lead.
			b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			page := b.post(acs, form)
			refused := page.Status == 400 && strings.Contains(page.Body, "Sign-in did not complete") ||
				page.Status == http.StatusRequestEntityTooLarge
			if !refused || !strings.Contains(page.Body, row.why) {
				t.Fatalf("got %d, want 400 saying %q\n%.800s", page.Status, row.why, page.Body)
			}
			b.client.CheckRedirect = nil
			if after := links(); after != before {
				t.Errorf("links %d → %d: a refused response linked someone", before, after)
			}
			if home := b.get(s.topology.WikiAS + "/"); strings.Contains(home.Body, "Foo Tables") {
				t.Error("a refused response signed the browser in")
			}
		})
	}
}

// TestSAMLResourceApp: the todo AS signs tables.fake3 in by SAML too (a
// SAML-based resource app), linking the person by the persistent NameID,
// the IdP's user id; the wiki's ID-JAG for them then finds that account
// ("linked at sign-in"), not a just-in-time one.
func TestSAMLResourceApp(t *testing.T) {
	s := startStack(t, sqliteDB, func(c *configs) {
		for i := range c.todoAS.IDJAGs.Trusted {
			c.todoAS.IDJAGs.Trusted[i].JIT.Enabled = false // only the SAML link may find foo
		}
	})
	post := func(b *browser, login page) page {
		t.Helper()
		m := samlForm.FindStringSubmatch(login.Body)
		if m == nil {
			t.Fatalf("no SAML response form at %s:\n%.1500s", login.URL, login.Body)
		}
		return b.post(html.UnescapeString(m[1]), map[string]string{"SAMLResponse": html.UnescapeString(m[2]), "RelayState": html.UnescapeString(m[3])})
	}
	// foo opens the todo app: SAML at the todo AS.
	b := newBrowser(t)
	todoApp := post(b, b.signIn(s.topology.Todo, "foo@tables.fake3", demo.Password))
	if !strings.Contains(todoApp.Body, demo.FooTodos[0]) {
		t.Fatalf("the todo app after a SAML sign-in: %s\n%.1500s", todoApp.URL, todoApp.Body)
	}
	// Then the wiki, SAML at the wiki AS (single sign-on at the IdP), and
	// My todos through the chain.
	post(b, b.get(s.topology.Wiki+"/login?login_hint=foo%40tables.fake3"))
	if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.FooTodos[0]) {
		t.Fatalf("My todos for foo with no JIT: %d\n%.1500s", p.Status, p.Body)
	}
	if console := b.get(s.topology.Wiki + "/debug").Body; !strings.Contains(console, "linked at sign-in") {
		t.Error("the todo AS did not find foo through the SAML link")
	}
	// The todo AS asks for no ID-JAGs, so it kept no IdP refresh token.
	var refreshTokens int64
	s.dbs["todo-as"].Table("upstream_sessions").Where("refresh_token <> ''").Count(&refreshTokens)
	if refreshTokens != 0 {
		t.Errorf("the todo AS kept %d IdP refresh tokens", refreshTokens)
	}
}

// TestAdminChoosesSignInProtocol: the IdP's admin chooses, per organisation
// and app, SAML 2.0 or OpenID Connect (Admin console, Apps). The IdP then
// answers only that protocol for the organisation's people at that app,
// and says why to whoever arrives by the other; the choice is audited.
func TestAdminChoosesSignInProtocol(t *testing.T) {
	choose := func(t *testing.T, s *stack, admin *browser, csrf, entityID, protocol string) {
		t.Helper()
		var orgID string
		if err := s.dbs["idp"].Table("orgs").Select("id").Where("domain = ?", "tables.fake3").Row().Scan(&orgID); err != nil {
			t.Fatal(err)
		}
		p := admin.post(s.topology.IdP+"/admin/apps/sign-in-protocol", map[string]string{"csrf": csrf, "entity_id": entityID, "org_id": orgID, "protocol": protocol})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "now signs in to") {
			t.Fatalf("choose %s: %d\n%.1500s", protocol, p.Status, p.Body)
		}
	}

	t.Run("the app sends SAML, the admin chose OpenID Connect", func(t *testing.T) {
		s := startStack(t, sqliteDB)
		admin, csrf := adminBrowser(t, s)
		if apps := admin.get(s.topology.IdP + "/admin/apps"); !strings.Contains(apps.Body, "SAML apps") || !strings.Contains(apps.Body, "Use OpenID Connect") {
			t.Fatalf("the Apps tab offers no choice:\n%.2000s", apps.Body)
		}
		choose(t, s, admin, csrf, s.topology.WikiAS+"/saml/metadata", "oidc")
		b := newBrowser(t)
		p := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "signs in to this app with OpenID Connect, not SAML") || samlForm.MatchString(p.Body) {
			t.Fatalf("a SAML sign-in the admin turned off: %d\n%.1500s", p.Status, p.Body)
		}
		audit := admin.get(s.topology.IdP + "/admin/audit?q=tables.fake3")
		if !strings.Contains(audit.Body, "application.lifecycle.update") || !strings.Contains(audit.Body, "OpenID Connect") {
			t.Errorf("the change is not in the audit log:\n%.2000s", audit.Body)
		}
		// And back: SAML again signs foo in.
		choose(t, s, admin, csrf, s.topology.WikiAS+"/saml/metadata", "saml")
		if login := newBrowser(t).signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password); !samlForm.MatchString(login.Body) {
			t.Fatalf("SAML chosen again, no SAML response: %d\n%.1500s", login.Status, login.Body)
		}
	})

	t.Run("the app sends OpenID Connect, the admin chose SAML", func(t *testing.T) {
		// The wiki AS signs all three organisations in with OpenID Connect.
		s := startStack(t, sqliteDB, func(c *configs) {
			c.wikiAS.Tenants = c.wikiAS.Tenants[:1]
			c.wikiAS.Tenants[0].Domains = demo.OrgDomains()
		})
		b := newBrowser(t)
		p := b.signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password)
		if strings.Contains(p.Body, "Foo Tables") || !strings.Contains(p.Body, "SAML 2.0 as the way") {
			t.Fatalf("an OpenID Connect sign-in the admin gave to SAML: %d at %s\n%.1500s", p.Status, p.URL, p.Body)
		}
		admin, csrf := adminBrowser(t, s)
		choose(t, s, admin, csrf, s.topology.WikiAS+"/saml/metadata", "oidc")
		if p := newBrowser(t).signIn(s.topology.Wiki, "foo@tables.fake3", demo.Password); !strings.Contains(p.Body, "Foo Tables") {
			t.Fatalf("OpenID Connect chosen, foo is not signed in: %d at %s\n%.1500s", p.Status, p.URL, p.Body)
		}
	})
}
