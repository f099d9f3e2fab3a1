package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/samlsp/samlsptest"

	"github.com/crewjam/saml"

	"xaa.example/shared/demo"
	"xaa.example/shared/npmtest"
)

// nodeSAMLVersion is the release of @node-saml/node-saml (the SAML 2.0
// library under passport-saml, which no one here wrote) that plays a third
// service provider, one the IdP's configuration does not know.
const nodeSAMLVersion = "5.1.0"

// thirdSPScript is a service provider built on node-saml: its metadata at
// /metadata (with its signing key: it signs its AuthnRequests), at /login
// the IdP URL of a new AuthnRequest as the query asks (format: the
// NameIDPolicy Format, "none" for none; force: ForceAuthn; passive:
// IsPassive; unsigned: not signed; otherkey: signed with a key its
// metadata does not have), and at /acs (the test posts the IdP's answer
// there as JSON) what node-saml made of the response.
const thirdSPScript = `import http from "node:http";
import nodeSAML from "@node-saml/node-saml";

const { SAML } = nodeSAML;
const { IDP_SSO, IDP_CERT, SP_KEY, SP_CERT, OTHER_KEY } = process.env;
let base;

function sp(q) {
  const format = q.get("format");
  const options = {
    entryPoint: IDP_SSO, issuer: base + "/metadata", callbackUrl: base + "/acs", idpCert: IDP_CERT,
    signatureAlgorithm: "sha256", wantAssertionsSigned: true, wantAuthnResponseSigned: false,
    forceAuthn: q.get("force") === "1", passive: q.get("passive") === "1", acceptedClockSkewMs: 2000,
  };
  if (format === "none") options.identifierFormat = null;
  else if (format) options.identifierFormat = format;
  if (q.get("otherkey") === "1") options.privateKey = OTHER_KEY;
  else if (q.get("unsigned") !== "1") options.privateKey = SP_KEY;
  return new SAML(options);
}

async function body(req) {
  let s = "";
  for await (const chunk of req) s += chunk;
  return s;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  const answer = (status, value) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(value));
  };
  try {
    if (url.pathname === "/metadata") {
      res.writeHead(200, { "Content-Type": "application/samlmetadata+xml" });
      res.end(new SAML({ entryPoint: IDP_SSO, issuer: base + "/metadata", callbackUrl: base + "/acs", idpCert: IDP_CERT, privateKey: SP_KEY })
        .generateServiceProviderMetadata(null, SP_CERT));
      return;
    }
    if (url.pathname === "/login") {
      answer(200, { url: await sp(url.searchParams).getAuthorizeUrlAsync("relay-1", url.host, {}) });
      return;
    }
    if (url.pathname === "/acs" && req.method === "POST") {
      const { SAMLResponse } = JSON.parse(await body(req));
      try {
        const { profile } = await sp(new URLSearchParams()).validatePostResponseAsync({ SAMLResponse });
        if (!profile) {
          answer(200, { passive: true });
          return;
        }
        const instant = /AuthnInstant="([^"]+)"/.exec(profile.getAssertionXml());
        answer(200, { nameID: profile.nameID, nameIDFormat: profile.nameIDFormat, email: profile.mail || profile.email || "",
          authnInstant: instant ? instant[1] : "" });
      } catch (e) {
        answer(200, { error: String(e && e.message || e) });
      }
      return;
    }
    res.writeHead(404);
    res.end();
  } catch (e) {
    res.writeHead(500, { "Content-Type": "text/plain" });
    res.end(String(e && e.stack || e));
  }
});

server.listen(0, "127.0.0.1", () => {
  base = "http://127.0.0.1:" + server.address().port;
  console.log("listening " + base);
});
`

// thirdSP is the node-saml service provider, in a Node process of the
// test's own.
type thirdSP struct {
	t   *testing.T
	URL string
}

// spAnswer is what node-saml made of a response.
type spAnswer struct {
	NameID, NameIDFormat, Email, AuthnInstant, Error string
	Passive                                          bool
}

func startThirdSP(t *testing.T, idp string) *thirdSP {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := npmtest.Install(ctx, t, "the third service provider test (@node-saml/node-saml)", map[string]string{
		"package.json": `{"name":"third-sp","private":true,"type":"module","dependencies":{"@node-saml/node-saml":"` + nodeSAMLVersion + `"}}`,
		"sp.mjs":       thirdSPScript,
	})
	keyPEM := func() (string, string) {
		key, cert := samlsptest.KeyPair(t, "a third service provider")
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	}
	spKey, spCert := keyPEM()
	otherKey, _ := keyPEM()

	// The IdP's signing certificate, from its metadata, as an SP's
	// administrator copies it.
	resp, err := http.Get(idp + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(raw, &md); err != nil || len(md.IDPSSODescriptors) == 0 || len(md.IDPSSODescriptors[0].KeyDescriptors) == 0 {
		t.Fatalf("the IdP's metadata: %v\n%s", err, raw)
	}
	idpCert := md.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data

	base := npmtest.Serve(t, dir, "sp.mjs", "the node-saml SP",
		"IDP_SSO="+idp+"/saml/sso", "IDP_CERT="+idpCert, "SP_KEY="+spKey, "SP_CERT="+spCert, "OTHER_KEY="+otherKey)
	return &thirdSP{t: t, URL: base}
}

func (sp *thirdSP) metadata() string {
	sp.t.Helper()
	resp, err := http.Get(sp.URL + "/metadata")
	if err != nil {
		sp.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// request is the IdP URL of a new AuthnRequest, with options (see
// thirdSPScript's /login).
func (sp *thirdSP) request(options url.Values) string {
	sp.t.Helper()
	resp, err := http.Get(sp.URL + "/login?" + options.Encode())
	if err != nil {
		sp.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ URL string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.URL == "" {
		sp.t.Fatalf("the node-saml SP made no request: %v", err)
	}
	return out.URL
}

// read posts the IdP's response to node-saml and returns what it made of it.
func (sp *thirdSP) read(samlResponse string) spAnswer {
	sp.t.Helper()
	b, _ := json.Marshal(map[string]string{"SAMLResponse": samlResponse})
	resp, err := http.Post(sp.URL+"/acs", "application/json", bytes.NewReader(b))
	if err != nil {
		sp.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a spAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		sp.t.Fatal(err)
	}
	return a
}

var samlResponseField = regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`)

// ssoAnswer is what the IdP did with a request: the response it posts
// (base64), or where it sent the browser instead, or the page it showed.
type ssoAnswer struct {
	SAMLResponse, Location string
	Status                 int
	Body                   string
}

func sendRequest(t *testing.T, b *browser, to string) ssoAnswer {
	t.Helper()
	client := *b.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := ssoAnswer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(body)}
	if m := samlResponseField.FindStringSubmatch(a.Body); m != nil {
		a.SAMLResponse = htmlUnescape(m[1])
	}
	return a
}

// signInAtIdP signs b in at the IdP itself, as email.
func signInAtIdP(t *testing.T, b *browser, idp, email string) {
	t.Helper()
	login := b.get(idp + "/login?next=/")
	fields := formFields(login.Body)
	fields["email"], fields["password"] = email, demo.Password
	if p := b.post(idp+"/login", fields); p.Status != http.StatusOK {
		t.Fatalf("%s's sign-in at the IdP: %d\n%.1000s", email, p.Status, p.Body)
	}
}

// TestThirdServiceProvider: a SAML app the IdP's configuration does not
// know, node-saml's, is added by the administrator in the console from its
// metadata (issue 33 item 10), and then signs people in the way its
// requests ask: the NameID format of its NameIDPolicy, or a refusal
// (item 11); ForceAuthn shows the sign-in form again and asserts the new
// AuthnInstant; IsPassive answers NoPassive without a form; its requests
// are verified with the key in its metadata, and unsigned or wrongly
// signed ones are refused (item 12). The IdP's metadata, as the SP's
// administrator copies it, is valid for months (item 13) and names only
// what the IdP does.
func TestThirdServiceProvider(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	sp := startThirdSP(t, s.topology.IdP)
	var fooID, org3 string
	if err := s.dbs["idp"].Table("users").Select("id").Where("email = ?", "foo@tables.fake3").Row().Scan(&fooID); err != nil {
		t.Fatal(err)
	}
	if err := s.dbs["idp"].Table("orgs").Select("id").Where("domain = ?", "tables.fake3").Row().Scan(&org3); err != nil {
		t.Fatal(err)
	}

	t.Run("the IdP's metadata", func(t *testing.T) {
		resp, err := http.Get(s.topology.IdP + "/saml/metadata")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var md saml.EntityDescriptor
		if err := xml.Unmarshal(raw, &md); err != nil {
			t.Fatal(err)
		}
		if left := time.Until(md.ValidUntil); left < 300*24*time.Hour {
			t.Errorf("validUntil is %s from now: an uploaded copy expires too soon", left.Round(time.Second))
		}
		if md.CacheDuration <= 0 || md.CacheDuration > 7*24*time.Hour {
			t.Errorf("cacheDuration %s, want a day or so", md.CacheDuration)
		}
		d := md.IDPSSODescriptors[0]
		var formats []string
		for _, f := range d.NameIDFormats {
			formats = append(formats, string(f))
		}
		if strings.Contains(strings.Join(formats, " "), "transient") || !strings.Contains(strings.Join(formats, " "), "persistent") || !strings.Contains(strings.Join(formats, " "), "emailAddress") {
			t.Errorf("NameID formats %v, want persistent and emailAddress, the ones it issues", formats)
		}
		for _, e := range d.SingleSignOnServices {
			if e.Binding != saml.HTTPRedirectBinding {
				t.Errorf("single sign-on advertised with %s, which /saml/sso does not serve", e.Binding)
			}
		}
	})

	// Before the administrator adds it, the IdP does not know it.
	foo := newBrowser(t)
	signInAtIdP(t, foo, s.topology.IdP, "foo@tables.fake3")
	if a := sendRequest(t, foo, sp.request(nil)); a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "not registered") {
		t.Fatalf("a request from an app not added yet: %d\n%.1000s", a.Status, a.Body)
	}

	admin, csrf := adminBrowser(t, s)
	added := admin.post(s.topology.IdP+"/admin/apps/saml", map[string]string{"csrf": csrf, "name": "Expenses", "metadata": sp.metadata(), "org_id": org3})
	if added.Status != http.StatusOK || !strings.Contains(added.Body, "Expenses is added as a SAML app") ||
		!strings.Contains(added.Body, "Its requests must be signed with the key in its metadata") {
		t.Fatalf("adding the app: %d\n%.2000s", added.Status, added.Body)
	}
	if audit := admin.get(s.topology.IdP + "/admin/audit?q=Expenses"); !strings.Contains(audit.Body, "application.lifecycle.create") {
		t.Errorf("the addition is not in the audit log:\n%.2000s", audit.Body)
	}
	if again := admin.post(s.topology.IdP+"/admin/apps/saml", map[string]string{"csrf": csrf, "metadata": sp.metadata()}); again.Status != http.StatusBadRequest || !strings.Contains(again.Body, "registered already") {
		t.Errorf("the same entity ID again: %d\n%.1000s", again.Status, again.Body)
	}

	var firstInstant time.Time
	t.Run("a signed request, the email format it asks by default", func(t *testing.T) {
		a := sendRequest(t, foo, sp.request(nil))
		if a.SAMLResponse == "" {
			t.Fatalf("no response: %d %s\n%.1000s", a.Status, a.Location, a.Body)
		}
		got := sp.read(a.SAMLResponse)
		if got.Error != "" || got.NameID != "foo@tables.fake3" || got.NameIDFormat != string(saml.EmailAddressNameIDFormat) {
			t.Fatalf("node-saml read %+v", got)
		}
		firstInstant, _ = time.Parse(time.RFC3339, got.AuthnInstant)
	})
	t.Run("the persistent format", func(t *testing.T) {
		a := sendRequest(t, foo, sp.request(url.Values{"format": {string(saml.PersistentNameIDFormat)}}))
		if got := sp.read(a.SAMLResponse); got.Error != "" || got.NameID != fooID || got.NameIDFormat != string(saml.PersistentNameIDFormat) {
			t.Fatalf("node-saml read %+v", got)
		}
	})
	t.Run("no NameIDPolicy", func(t *testing.T) {
		a := sendRequest(t, foo, sp.request(url.Values{"format": {"none"}}))
		if got := sp.read(a.SAMLResponse); got.Error != "" || got.NameID != fooID {
			t.Fatalf("node-saml read %+v", got)
		}
	})
	t.Run("a format the IdP does not issue", func(t *testing.T) {
		a := sendRequest(t, foo, sp.request(url.Values{"format": {string(saml.TransientNameIDFormat)}}))
		raw, _ := base64.StdEncoding.DecodeString(a.SAMLResponse)
		got := sp.read(a.SAMLResponse)
		if !strings.Contains(string(raw), "status:InvalidNameIDPolicy") || got.Error == "" || got.NameID != "" {
			t.Fatalf("a transient NameIDPolicy: node-saml read %+v\n%s", got, raw)
		}
	})
	t.Run("ForceAuthn", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond) // the sign-in's time is in seconds
		a := sendRequest(t, foo, sp.request(url.Values{"force": {"1"}}))
		if a.SAMLResponse != "" || !strings.Contains(a.Location, "/login") {
			t.Fatalf("ForceAuthn answered without a new sign-in: %d %s", a.Status, a.Location)
		}
		next, err := url.Parse(a.Location)
		if err != nil {
			t.Fatal(err)
		}
		login := foo.get(s.topology.IdP + next.RequestURI())
		fields := formFields(login.Body)
		fields["email"], fields["password"] = "foo@tables.fake3", demo.Password
		answered := foo.post(s.topology.IdP+"/login", fields)
		m := samlResponseField.FindStringSubmatch(answered.Body)
		if m == nil {
			t.Fatalf("after the new sign-in, no response: %d at %s\n%.1000s", answered.Status, answered.URL, answered.Body)
		}
		got := sp.read(htmlUnescape(m[1]))
		instant, err := time.Parse(time.RFC3339, got.AuthnInstant)
		if got.Error != "" || err != nil || !instant.After(firstInstant) {
			t.Fatalf("node-saml read %+v; want an AuthnInstant after the first sign-in's (%s)", got, firstInstant)
		}
		// The same request again is a new one to answer: the form again.
		if again := sendRequest(t, foo, sp.request(url.Values{"force": {"1"}})); again.SAMLResponse != "" {
			t.Errorf("a second ForceAuthn request was answered from the session")
		}
	})
	t.Run("IsPassive, no one signed in", func(t *testing.T) {
		a := sendRequest(t, newBrowser(t), sp.request(url.Values{"passive": {"1"}}))
		if a.SAMLResponse == "" {
			t.Fatalf("IsPassive was answered with %d %s, not a response", a.Status, a.Location)
		}
		if got := sp.read(a.SAMLResponse); !got.Passive {
			t.Fatalf("node-saml read %+v, want NoPassive", got)
		}
	})
	t.Run("IsPassive, someone signed in", func(t *testing.T) {
		b := newBrowser(t)
		signInAtIdP(t, b, s.topology.IdP, "foo@tables.fake3")
		if got := sp.read(sendRequest(t, b, sp.request(url.Values{"passive": {"1"}})).SAMLResponse); got.NameID != "foo@tables.fake3" {
			t.Fatalf("node-saml read %+v", got)
		}
	})
	for _, row := range []struct{ name, option string }{
		{"an unsigned request from an app that signs", "unsigned"},
		{"a request signed with a key not in its metadata", "otherkey"},
	} {
		t.Run(row.name, func(t *testing.T) {
			a := sendRequest(t, foo, sp.request(url.Values{row.option: {"1"}}))
			if a.Status != http.StatusBadRequest || a.SAMLResponse != "" || !strings.Contains(a.Body, "must be signed with it") {
				t.Fatalf("got %d\n%.1000s", a.Status, a.Body)
			}
		})
	}
	t.Run("an organisation not assigned", func(t *testing.T) {
		bob := newBrowser(t)
		signInAtIdP(t, bob, s.topology.IdP, "bob@tables.fake")
		a := sendRequest(t, bob, sp.request(nil))
		if a.Status != http.StatusForbidden || a.SAMLResponse != "" || !strings.Contains(a.Body, "is not assigned to Expenses") {
			t.Fatalf("got %d\n%.1000s", a.Status, a.Body)
		}
	})
	t.Run("by its fields, then removed", func(t *testing.T) {
		p := admin.post(s.topology.IdP+"/admin/apps/saml", map[string]string{"csrf": csrf, "name": "Payroll",
			"entity_id": "https://payroll.example/saml", "acs_url": "http://payroll.example/acs"})
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "must be https") {
			t.Errorf("an http ACS elsewhere than this machine: %d\n%.1000s", p.Status, p.Body)
		}
		p = admin.post(s.topology.IdP+"/admin/apps/saml", map[string]string{"csrf": csrf, "name": "Payroll",
			"entity_id": "https://payroll.example/saml", "acs_url": "https://payroll.example/acs"})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Payroll is added") {
			t.Fatalf("adding by fields: %d\n%.1000s", p.Status, p.Body)
		}
		p = admin.post(s.topology.IdP+"/admin/apps/saml/remove", map[string]string{"csrf": csrf, "entity_id": sp.URL + "/metadata"})
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "Expenses is removed") {
			t.Fatalf("removing: %d\n%.1000s", p.Status, p.Body)
		}
		if a := sendRequest(t, foo, sp.request(nil)); a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "not registered") {
			t.Errorf("a request from the removed app: %d", a.Status)
		}
		// Uploaded as a file, as the console's form also takes it.
		var body bytes.Buffer
		form := multipart.NewWriter(&body)
		_ = form.WriteField("csrf", csrf)
		_ = form.WriteField("name", "Expenses")
		file, _ := form.CreateFormFile("metadata_file", "expenses-metadata.xml")
		_, _ = io.WriteString(file, sp.metadata())
		_ = form.Close()
		req, _ := http.NewRequest(http.MethodPost, s.topology.IdP+"/admin/apps/saml", &body)
		req.Header.Set("Content-Type", form.FormDataContentType())
		req.Header.Set("Origin", origin(s.topology.IdP))
		resp, err := admin.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if uploaded := readPage(t, resp); uploaded.Status != http.StatusOK || !strings.Contains(uploaded.Body, "Expenses is added") {
			t.Fatalf("uploading the metadata: %d\n%.1000s", uploaded.Status, uploaded.Body)
		}
		p = admin.post(s.topology.IdP+"/admin/apps/saml/remove", map[string]string{"csrf": csrf, "entity_id": s.topology.WikiAS + "/saml/metadata"})
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "configuration") {
			t.Errorf("removing a configured app: %d\n%.1000s", p.Status, p.Body)
		}
		if audit := admin.get(s.topology.IdP + "/admin/audit?q=Expenses"); !strings.Contains(audit.Body, "application.lifecycle.delete") {
			t.Errorf("the removal is not in the audit log:\n%.2000s", audit.Body)
		}
	})
}
