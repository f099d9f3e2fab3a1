package trace

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A JWT-shaped token: {"alg":"ES256","typ":"oauth-id-jag+jwt"}.{"iss":"https://idp","sub":"00u1"}.sig
var (
	jwtHeader  = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"oauth-id-jag+jwt"}`))
	jwtClaims  = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://idp","sub":"00u1"}`))
	jwtSig     = "c2VjcmV0LXNpZ25hdHVyZS1ieXRlcw"
	exampleJWT = jwtHeader + "." + jwtClaims + "." + jwtSig
)

func TestTransportRedacts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"`+exampleJWT+`","refresh_token":"opaque-refresh-secret","token_type":"N_A"}`)
	}))
	defer srv.Close()

	store := NewStore("wiki")
	client := &http.Client{Transport: store.Transport(nil)}
	ctx := WithStep(WithID(context.Background(), "t1"), "exchange", "")
	form := url.Values{
		"client_secret": {"form-secret"}, "password": {"hunter2"}, "subject_token": {exampleJWT},
		"code": {"auth-code-secret"}, "scope": {"todos.read"},
		// Dotted like a JWT, but its first part is no JSON header.
		"actor_token": {"c2VjcmV0LXBhcnQ.bW9yZS1zZWNyZXQ.sig"},
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("wiki", "basic-secret")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "opaque-refresh-secret") {
		t.Fatal("the caller did not get the real response body")
	}

	steps := store.Steps("t1")
	if len(steps) != 1 {
		t.Fatalf("%d steps recorded, want 1", len(steps))
	}
	shown := steps[0].RequestText() + steps[0].ResponseText()
	for _, secret := range []string{"form-secret", "hunter2", "basic-secret", "auth-code-secret", "opaque-refresh-secret", jwtSig, "c2VjcmV0LXBhcnQ", "bW9yZS1zZWNyZXQ"} {
		if strings.Contains(shown, secret) {
			t.Errorf("the console shows %q", secret)
		}
	}
	for _, want := range []string{"client_id wiki", "scope=todos.read", jwtHeader + "." + jwtClaims + "." + SignatureRemoved} {
		if !strings.Contains(shown, want) {
			t.Errorf("the console does not show %q", want)
		}
	}
	tokens := append(steps[0].Request.Tokens, steps[0].Response.Tokens...)
	if len(tokens) != 2 || tokens[0].Shown != jwtHeader+"."+jwtClaims+"."+SignatureRemoved || tokens[0].Where != "subject_token" {
		t.Fatalf("recorded tokens: %+v", tokens)
	}
}

func TestStoreIsBounded(t *testing.T) {
	store := NewStore("wiki")
	for i := range MaxTraces + 5 {
		for range MaxSteps + 3 {
			store.add(Step{Trace: fmt.Sprint(i)})
		}
	}
	if n := len(store.traces); n != MaxTraces {
		t.Fatalf("%d traces kept, want %d", n, MaxTraces)
	}
	if n := len(store.Steps(fmt.Sprint(MaxTraces + 4))); n != MaxSteps {
		t.Fatalf("%d steps kept, want %d", n, MaxSteps)
	}
	if store.Steps("0") != nil {
		t.Fatal("the oldest trace was not dropped")
	}
}

// A JSON body with nothing to hide is kept as it came and indented when
// read; one that names a secret, however it spells the name, is redacted.
func TestRedactJSON(t *testing.T) {
	for _, tc := range []struct {
		body     string
		hidden   string // must not be shown
		readable string // must be shown once read
	}{
		{body: `{"todos":[{"id":1,"title":"Buy milk"}]}`, readable: "\"title\": \"Buy milk\""},
		{body: `{"refresh_token":"r-secret","scope":"x"}`, hidden: "r-secret", readable: `"scope": "x"`},
		{body: `{"refresh\u005ftoken":"r-secret"}`, hidden: "r-secret"},
		{body: `{"nested":{"client_secret":"c-secret"}}`, hidden: "c-secret"},
		{body: `{"password":"p-secret"`, hidden: "p-secret"}, // not even valid JSON
	} {
		m := redactMessage(http.Header{}, []byte(tc.body), "application/json")
		m.prepare()
		if tc.hidden != "" && strings.Contains(m.Body, tc.hidden) {
			t.Errorf("%s: shown as %q", tc.body, m.Body)
		}
		if !strings.Contains(m.Body, tc.readable) {
			t.Errorf("%s: shown as %q, want %q in it", tc.body, m.Body, tc.readable)
		}
	}
}

// TestDPoPRedacted: a DPoP-bound token (Authorization: DPoP) and its proof
// (the DPoP header) lose their signatures like any token; nothing of
// either can be replayed from the console.
func TestDPoPRedacted(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "DPoP "+exampleJWT)
	h.Set("DPoP", exampleJWT)
	m := redactMessage(h, nil, "")
	shown := httpText("GET /api/todos", m)
	if strings.Contains(shown, jwtSig) {
		t.Fatalf("a signature is shown:\n%s", shown)
	}
	if !strings.Contains(shown, "Authorization: DPoP "+jwtHeader+"."+jwtClaims+"."+SignatureRemoved) || !strings.Contains(shown, "Dpop: "+jwtHeader+"."+jwtClaims+"."+SignatureRemoved) {
		t.Errorf("the token and the proof are not shown as tokens:\n%s", shown)
	}
	if len(m.Tokens) != 2 || m.Tokens[0].Where != "Authorization: DPoP" || m.Tokens[1].Where != "DPoP proof" {
		t.Errorf("tokens: %+v", m.Tokens)
	}
}

// TestSAMLSubjectRedacted: a SAML assertion sent as a subject token is
// kept for the console without its signature values, and the form says
// only that it was there.
func TestSAMLSubjectRedacted(t *testing.T) {
	x := `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:Reference><ds:DigestValue>ZGlnZXN0</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>c2lnbmF0dXJl</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>Y2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature><saml:Subject><saml:NameID>u1</saml:NameID></saml:Subject></saml:Assertion>`
	form := "subject_token=" + base64.RawURLEncoding.EncodeToString([]byte(x)) + "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Asaml2"
	m := redactMessage(http.Header{}, []byte(form), "application/x-www-form-urlencoded")
	if strings.Contains(m.Body, "PHNhbWw") || !strings.Contains(m.Body, "[SAML assertion") {
		t.Errorf("the form shows %q", m.Body)
	}
	if len(m.Tokens) != 1 || m.Tokens[0].SAML == "" {
		t.Fatalf("tokens: %+v", m.Tokens)
	}
	for _, secret := range []string{"c2lnbmF0dXJl", "ZGlnZXN0", "Y2VydA=="} {
		if strings.Contains(m.Tokens[0].SAML, secret) {
			t.Errorf("the recorded assertion keeps %q", secret)
		}
	}
	if !strings.Contains(m.Tokens[0].SAML, "<saml:NameID>u1</saml:NameID>") {
		t.Errorf("the recorded assertion lost its content: %s", m.Tokens[0].SAML)
	}
}
