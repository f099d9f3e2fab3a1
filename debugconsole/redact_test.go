package debugconsole

import (
	"context"
	"encoding/base64"
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

	rec := NewRecorder()
	client := &http.Client{Transport: rec.Transport(nil)}
	ctx, run := rec.Start(context.Background(), "test", "bob")
	ctx = WithStep(ctx, "exchange", "")
	form := url.Values{
		"client_secret": {"form-secret"}, "password": {"hunter2"}, "subject_token": {exampleJWT},
		"code": {"auth-code-secret"}, "scope": {"todos.read"},
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

	steps, _, _ := run.Snapshot()
	if len(steps) != 1 {
		t.Fatalf("%d steps recorded, want 1", len(steps))
	}
	shown := steps[0].RequestText() + steps[0].ResponseText()
	for _, secret := range []string{"form-secret", "hunter2", "basic-secret", "auth-code-secret", "opaque-refresh-secret", jwtSig} {
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
	if len(tokens) != 2 || !strings.HasPrefix(tokens[0].Kind, "ID-JAG") || tokens[0].Claims[0].Name != "iss" {
		t.Fatalf("decoded tokens: %+v", tokens)
	}
}

func TestRecorderIsBounded(t *testing.T) {
	rec := NewRecorder()
	for range MaxRuns + 5 {
		rec.Start(context.Background(), "run", "bob")
	}
	if n := len(rec.Runs()); n != MaxRuns {
		t.Fatalf("%d runs kept, want %d", n, MaxRuns)
	}
}
