package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/samlsp/samlsptest"

	"xaa.example/shared/npmtest"
)

// samlifyVersion is the release of samlify (a SAML 2.0 library for Node
// that no one here wrote) that plays an organisation's own SAML IdP.
const samlifyVersion = "2.13.1"

// foreignIdPScript is a SAML IdP built on samlify: its metadata at
// /metadata, SP-initiated sign-in at /sso (HTTP-Redirect AuthnRequest in,
// HTTP-POST response out, answered as JSON for the test to post), and at
// /next the person its next response asserts (NameID, mail, cn), since it
// is the test that plays this IdP's user and, where a row needs it, its
// hostile operator.
const foreignIdPScript = `import http from "node:http";
import samlify from "samlify";
import validator from "@authenio/samlify-node-xmllint";

samlify.setSchemaValidator(validator);
const { IDP_KEY, IDP_CERT } = process.env;
let base, idp;
let next = { nameID: "", mail: "", cn: "" };

const template = '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{StatusCode}"/></samlp:Status><saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}"><saml:Issuer>{Issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{NameID}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Destination}" InResponseTo="{InResponseTo}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{NotBefore}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{AssertionID}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{Attributes}</saml:AttributeStatement></saml:Assertion></samlp:Response>';

function attribute(name, value) {
  if (!value) return "";
  return '<saml:Attribute Name="' + name + '" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xsi:type="xs:string">' +
    value.replace(/&/g, "&amp;").replace(/</g, "&lt;") + "</saml:AttributeValue></saml:Attribute>";
}

async function body(req) {
  let s = "";
  for await (const chunk of req) s += chunk;
  return s;
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, base);
    if (url.pathname === "/metadata") {
      res.writeHead(200, { "Content-Type": "application/samlmetadata+xml" });
      res.end(idp.getMetadata());
      return;
    }
    if (url.pathname === "/next" && req.method === "POST") {
      next = JSON.parse(await body(req));
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname === "/sso") {
      const spMetadata = await (await fetch(process.env.SP_METADATA_URL)).text();
      const sp = samlify.ServiceProvider({ metadata: spMetadata });
      const query = Object.fromEntries(url.searchParams);
      const { extract } = await idp.parseLoginRequest(sp, "redirect", { query });
      const person = next;
      const replace = () => {
        const now = new Date(), later = new Date(now.getTime() + 5 * 60 * 1000);
        const acs = sp.entityMeta.getAssertionConsumerService("post");
        const id = "_" + crypto.randomUUID(), assertionID = "_" + crypto.randomUUID();
        const filled = template.replace("{Attributes}", attribute("mail", person.mail) + attribute("cn", person.cn));
        return {
          id,
          context: samlify.SamlLib.replaceTagsByValue(filled, {
            ID: id, AssertionID: assertionID, IssueInstant: now.toISOString(), Destination: acs,
            InResponseTo: extract.request.id, Issuer: idp.entityMeta.getEntityID(), StatusCode: "urn:oasis:names:tc:SAML:2.0:status:Success",
            NameID: person.nameID, NotBefore: now.toISOString(), NotOnOrAfter: later.toISOString(), Audience: sp.entityMeta.getEntityID(),
          }),
        };
      };
      const out = await idp.createLoginResponse(sp, { extract }, "post", {}, replace);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ action: out.entityEndpoint, SAMLResponse: out.context, RelayState: query.RelayState || "" }));
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
  idp = samlify.IdentityProvider({
    entityID: base + "/metadata",
    privateKey: IDP_KEY,
    signingCert: IDP_CERT,
    nameIDFormat: ["urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"],
    singleSignOnService: [{ Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", Location: base + "/sso" }],
  });
  console.log("listening " + base);
});
`

// foreignSAMLIdP is an organisation's own SAML IdP, run by samlify in a
// Node process of the test's own.
type foreignSAMLIdP struct {
	t   testing.TB
	URL string // its base URL; its metadata (and entity ID) is URL+"/metadata"
}

// Metadata is the URL an SP reads its metadata from, its entity ID too.
func (f *foreignSAMLIdP) Metadata() string { return f.URL + "/metadata" }

// installForeignSAMLIdP installs samlify from npm into a folder of the
// test's own; it is done once per test, before the stack starts.
func installForeignSAMLIdP(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	return npmtest.Install(ctx, t, "the tests with an organisation's own SAML IdP (samlify)", map[string]string{
		"package.json": `{"name":"foreign-saml-idp","private":true,"type":"module","dependencies":{"samlify":"` + samlifyVersion +
			`","@authenio/samlify-node-xmllint":"2.0.0"}}`,
		"idp.mjs": foreignIdPScript,
	})
}

// startForeignSAMLIdP runs the IdP installed in dir, with a key of its own,
// for the service provider whose metadata is at spMetadata.
func startForeignSAMLIdP(t testing.TB, dir, spMetadata string) *foreignSAMLIdP {
	t.Helper()
	key, cert := samlsptest.KeyPair(t, "the organisation's own IdP")
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	base := npmtest.Serve(t, dir, "idp.mjs", "the samlify IdP",
		"IDP_KEY="+string(keyPEM), "IDP_CERT="+string(certPEM), "SP_METADATA_URL="+spMetadata)
	return &foreignSAMLIdP{t: t, URL: base}
}

// assertNext makes the IdP's next response assert this person.
func (f *foreignSAMLIdP) assertNext(nameID, mail, cn string) {
	f.t.Helper()
	b, _ := json.Marshal(map[string]string{"nameID": nameID, "mail": mail, "cn": cn})
	resp, err := http.Post(f.URL+"/next", "application/json", bytes.NewReader(b))
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
}

// signIn starts a sign-in at the app as someone of the IdP's organisation
// (the email picks it), lets the IdP answer as assertNext said, posts the
// response to the service provider's ACS, and returns the page the browser
// lands on.
func (f *foreignSAMLIdP) signIn(b *browser, appURL, email string) page {
	f.t.Helper()
	client := *b.client
	client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), f.URL+"/sso") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := client.Get(appURL + "/login?login_hint=" + urlEscape(email))
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	sso := resp.Header.Get("Location")
	if !strings.HasPrefix(sso, f.URL+"/sso") {
		f.t.Fatalf("the sign-in of %s did not go to the samlify IdP (%d, Location %q)", email, resp.StatusCode, sso)
	}
	resp, err = http.Get(sso)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var answer struct{ Action, SAMLResponse, RelayState string }
	if resp.StatusCode != 200 || json.Unmarshal(raw, &answer) != nil {
		f.t.Fatalf("the samlify IdP answered %d: %s", resp.StatusCode, raw)
	}
	return b.post(answer.Action, map[string]string{"SAMLResponse": answer.SAMLResponse, "RelayState": answer.RelayState})
}
