package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"xaa.example/e2e/internal/syncbuf"
	"xaa.example/shared/npmtest"
	"xaa.example/shared/oauth"
)

// TestNodePeer: the peer that PEER=node and PEER=node-sample measure the
// todo AS against (scripts/peer, oidc-provider installed from npm) does
// the work a comparison with it assumes: it grants an RS256 at+jwt for a
// valid ID-JAG, and refuses one signed by another key or meant for another
// server, both at its best and as the sample runs it. Like the sample, it
// keeps no jti: the same ID-JAG is granted twice (the todo AS refuses it).
func TestNodePeer(t *testing.T) {
	files := map[string]string{}
	for _, name := range []string{"package.json", "node-as.mjs"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "..", "scripts", "peer", name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := npmtest.Install(ctx, t, "the Node peer's test (scripts/peer)", files)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	issuer := httptest.NewUnstartedServer(nil)
	issuer.Config.Handler = issuerHandler("http://"+issuer.Listener.Addr().String(), key)
	issuer.Start()
	defer issuer.Close()

	for _, asSample := range []string{"0", "1"} {
		t.Run("AS_SAMPLE="+asSample, func(t *testing.T) {
			port := freePort(t)
			peer := "http://127.0.0.1:" + port
			cmd := exec.CommandContext(ctx, "node", "node-as.mjs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PORT="+port, "ISSUER="+peer, "TRUSTED_ISSUER="+issuer.URL,
				"JWKS_URI="+issuer.URL+"/jwks", "CLIENT_ID=load-peer", "CLIENT_SECRET=peer-secret",
				"RESOURCE=http://localhost:3001/api", "AS_SAMPLE="+asSample)
			logs := &syncbuf.Buffer{}
			cmd.Stdout, cmd.Stderr = logs, logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			waitForPort(t, port, logs)

			o := options{issuer: issuer.URL, todoAS: peer, resource: "http://localhost:3001/api",
				clientID: "load-peer", clientSecret: "peer-secret", users: 1, tokens: 1}
			idjag := signOne(t, key, o)
			client := &http.Client{Timeout: 30 * time.Second}
			grant := func(assertion string) (int, map[string]any) {
				form := url.Values{"grant_type": {oauth.GrantJWTBearer}, "assertion": {assertion}, "scope": {"todos.read"}}
				req, _ := http.NewRequest(http.MethodPost, peer+"/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(o.clientID, o.clientSecret)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				var out map[string]any
				if err := json.Unmarshal(body, &out); err != nil {
					t.Fatalf("%d %s", resp.StatusCode, body)
				}
				return resp.StatusCode, out
			}

			code, out := grant(idjag)
			if code != http.StatusOK || out["token_type"] != "Bearer" || out["scope"] != "todos.read" {
				t.Fatalf("a valid ID-JAG: %d %v\n%s", code, out, logs.String())
			}
			at, _ := out["access_token"].(string)
			header, _ := base64.RawURLEncoding.DecodeString(strings.Split(at, ".")[0])
			if !strings.Contains(string(header), `"alg":"RS256"`) || !strings.Contains(string(header), `"typ":"at+jwt"`) {
				t.Fatalf("access token header %s, want an RS256 at+jwt (as the sample issues)", header)
			}
			if code, _ := grant(idjag); code != http.StatusOK {
				t.Fatalf("the same ID-JAG again: %d; the peer, like the sample, keeps no jti", code)
			}
			if code, out := grant(signOne(t, other, o)); code != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("signed by another key: %d %v, want 400 invalid_grant", code, out)
			}
			elsewhere := o
			elsewhere.todoAS = "http://elsewhere.example"
			if code, out := grant(signOne(t, key, elsewhere)); code != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("meant for another server: %d %v, want 400 invalid_grant", code, out)
			}
			if logged := strings.Contains(logs.String(), "JWT Authorization Grant claims"); logged != (asSample == "1") {
				t.Fatalf("AS_SAMPLE=%s: logged the sample's lines %v\n%s", asSample, logged, logs.String())
			}
		})
	}
}

// signOne is one ID-JAG as grantload run signs them.
func signOne(t *testing.T, key *rsa.PrivateKey, o options) string {
	t.Helper()
	idjags, err := sign(key, o)
	if err != nil {
		t.Fatal(err)
	}
	return idjags[0]
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// waitForPort waits until something listens on port.
func waitForPort(t *testing.T, port string, logs *syncbuf.Buffer) {
	t.Helper()
	for range 300 {
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the peer did not listen on %s\n%s", port, logs.String())
}
