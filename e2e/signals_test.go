package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"xaa.example/agent/cli"
	"xaa.example/shared/demo"
	"xaa.example/shared/ssf"
)

// TestSharedSignals: the todo app registered its stream at the IdP when it
// started. Bob holds an access token in the wiki, and the agent holds one
// for the MCP server; the admin disables Bob. The IdP pushes RISC
// account-disabled and CAEP session-revoked, and the todo app revokes his
// tokens at once: the wiki's very next call is refused, it runs the chain
// again, the IdP says no, and Bob reads that his account is disabled, all
// within a second of the admin's click; the agent's next MCP call is
// refused too. The console shows the revocation; the IdP's audit log the
// delivery.
func TestSharedSignals(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := bob.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, `id="held-token"`) {
		t.Fatalf("My todos: %d", p.Status)
	}
	home := t.TempDir()
	signedIn(t, s, home, "bob@tables.fake")
	agentEnv := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home}
	agent := func() (string, error) {
		var out bytes.Buffer
		err := cli.Run(t.Context(), []string{"todos"}, func(k string) string { return agentEnv[k] }, &out)
		return out.String(), err
	}
	if out, err := agent(); err != nil || !strings.Contains(out, demo.BobTodos[0]) {
		t.Fatalf("agent todos: %v\n%s", err, out)
	}

	var bobID string
	if err := s.dbs["idp"].Table("users").Select("id").Where("email = ?", "bob@tables.fake").Row().Scan(&bobID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	admin.post(s.topology.IdP+"/admin/users/"+bobID+"/toggle", map[string]string{"csrf": csrf})
	p := bob.get(s.topology.Wiki + "/todos")
	elapsed := time.Since(start)
	if !strings.Contains(p.Body, "disabled your account") {
		t.Fatalf("Bob's next My todos after he was disabled: %d\n%.2000s", p.Status, p.Body)
	}
	if elapsed >= time.Second {
		t.Errorf("from the admin's click to Bob's refusal took %v, want under a second", elapsed)
	}
	t.Logf("from the admin's click to Bob's refusal: %v", elapsed)
	console := bob.get(s.topology.Wiki + "/debug").Body
	if !strings.Contains(console, "revoked by a Shared Signals event from the IdP") || !strings.Contains(console, "not revoked: no Shared Signals event") {
		t.Errorf("the console does not show the revocation:\n%.3000s", console)
	}
	if out, err := agent(); err == nil || strings.Contains(out, demo.BobTodos[0]) {
		t.Errorf("the agent's MCP call with Bob's token after he was disabled: %v\n%s", err, out)
	}
	var revocations int64
	s.dbs["todo"].Table("revocations").Where("kind = ? AND value = ?", "person", "bob@tables.fake").Count(&revocations)
	if revocations != 2 {
		t.Errorf("%d revocations for Bob at the todo app, want 2 (account-disabled, session-revoked)", revocations)
	}
	audit := admin.get(s.topology.IdP + "/admin/audit?q=bob%40tables.fake").Body
	if !strings.Contains(audit, "security.events.provider.push") || !strings.Contains(audit, "pushed") {
		t.Errorf("the deliveries are not in the audit log:\n%.3000s", audit)
	}
}

// TestSETReceiverHostile: what the todo app's SET endpoint refuses (RFC
// 8935 §2.3 answers), and that a refused SET revokes nothing. The valid
// SET is one the IdP really delivered.
func TestSETReceiverHostile(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{"csrf": csrf, "action": "disable"})
	var payload, auth string
	if err := s.dbs["idp"].Table("outbox").Select("payload").Where("kind = 'ssf-set' AND done_at IS NOT NULL").Row().Scan(&payload); err != nil {
		t.Fatalf("no SET was delivered: %v", err)
	}
	var delivery struct{ SET string }
	if err := json.Unmarshal([]byte(payload), &delivery); err != nil {
		t.Fatal(err)
	}
	delivered := delivery.SET
	if err := s.dbs["idp"].Table("ssf_streams").Select("authorization").Row().Scan(&auth); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(delivered, ".")
	tampered := parts[0] + "." + parts[1][:len(parts[1])-2] + "xy." + parts[2]
	revocations := func() (n int64) {
		s.dbs["todo"].Table("revocations").Count(&n)
		return n
	}
	rows := []struct {
		name, auth, contentType, body string
		status                        int
		code                          string
	}{
		{"no Authorization", "", ssf.MediaType, delivered, 401, ssf.ErrAuthentication},
		{"another Authorization", "Bearer guess", ssf.MediaType, delivered, 401, ssf.ErrAuthentication},
		{"not a SET's media type", auth, "application/json", delivered, 400, ssf.ErrInvalidRequest},
		{"replayed", auth, ssf.MediaType, delivered, 400, ssf.ErrInvalidRequest},
		{"changed after signing", auth, ssf.MediaType, tampered, 400, ssf.ErrInvalidKey},
		{"unsigned", auth, ssf.MediaType, "eyJhbGciOiJub25lIn0." + parts[1] + ".", 400, ssf.ErrInvalidRequest},
		{"not a JWT", auth, ssf.MediaType, "hello", 400, ssf.ErrInvalidRequest},
		{"oversized", auth, ssf.MediaType, strings.Repeat("a", 20<<10), 400, ssf.ErrInvalidRequest},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := revocations()
			req, _ := http.NewRequest(http.MethodPost, s.topology.Todo+"/ssf/events", strings.NewReader(row.body))
			req.Header.Set("Content-Type", row.contentType)
			if row.auth != "" {
				req.Header.Set("Authorization", row.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != row.status || !strings.Contains(string(body), `"err":"`+row.code+`"`) {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, row.status, row.code)
			}
			if after := revocations(); after != before {
				t.Errorf("revocations %d → %d", before, after)
			}
		})
	}
}

// TestStreamConfigurationHostile: the IdP's stream configuration endpoint
// refuses receivers it did not give a token to, and streams it cannot
// serve.
func TestStreamConfigurationHostile(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	streams := s.topology.IdP + "/ssf/streams"
	good := `{"aud":"https://r.test","delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"https://r.test/events"},"events_requested":["` + ssf.EventSessionRevoked + `"]}`
	rows := []struct {
		name, token, body string
		status            int
	}{
		{"no token", "", good, 401},
		{"another token", "guess", good, 401},
		{"poll delivery", demo.TodoSSFStreamToken, strings.Replace(good, "urn:ietf:rfc:8935", "urn:ietf:rfc:8936", 1), 400},
		{"an endpoint that is no URL", demo.TodoSSFStreamToken, strings.Replace(good, "https://r.test/events", "javascript:alert(1)", 1), 400},
		{"no aud", demo.TodoSSFStreamToken, strings.Replace(good, `"aud":"https://r.test",`, "", 1), 400},
		{"not JSON", demo.TodoSSFStreamToken, "{", 400},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, streams, strings.NewReader(row.body))
			req.Header.Set("Content-Type", "application/json")
			if row.token != "" {
				req.Header.Set("Authorization", "Bearer "+row.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != row.status {
				t.Fatalf("got %d, want %d", resp.StatusCode, row.status)
			}
		})
	}
	// The todo app's stream is still the one it registered.
	var endpoint string
	if err := s.dbs["idp"].Table("ssf_streams").Select("endpoint").Row().Scan(&endpoint); err != nil || endpoint != s.topology.Todo+"/ssf/events" {
		t.Errorf("the todo app's stream: %q %v", endpoint, err)
	}
}
