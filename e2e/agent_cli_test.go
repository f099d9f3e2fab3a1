package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"xaa.example/agent/cli"
	"xaa.example/shared/demo"
)

// TestAgentCLI: the agent command as a person uses it, in process against
// the whole stack. Bob runs agent login and signs in in his browser (the
// test's cookie jar, landing on the agent's loopback listener); agent todos
// lists his todos through IdP → ID-JAG → todo AS → MCP; agent add is
// refused in one sentence until the admin grants todos.write; once the
// admin disables the connection the next exchange is refused; logout
// forgets everything.
func TestAgentCLI(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	home := t.TempDir()
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": s.topology.Wiki}
	getenv := func(k string) string { return env[k] }
	agent := func(args ...string) (string, error) {
		t.Helper()
		var out strings.Builder
		err := cli.Run(t.Context(), args, getenv, &out)
		return out.String(), err
	}

	// agent login prints an address; Bob opens it and signs in.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- cli.Run(t.Context(), []string{"login"}, getenv, pw); pw.Close() }()
	lines := bufio.NewScanner(pr)
	var signInURL string
	for lines.Scan() {
		if l := strings.TrimSpace(lines.Text()); strings.HasPrefix(l, "http") {
			signInURL = l
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if signInURL == "" {
		t.Fatal("agent login printed no address to open")
	}
	if u, _ := url.Parse(signInURL); u.Query().Get("code_challenge_method") != "S256" || !strings.HasPrefix(u.Query().Get("redirect_uri"), "http://127.0.0.1:") {
		t.Errorf("the sign-in address %s is not code + PKCE with a loopback redirect", signInURL)
	}
	b := newBrowser(t)
	if landed := b.signInAt(signInURL+"&login_hint="+url.QueryEscape("bob@tables.fake"), "bob@tables.fake"); !strings.Contains(landed.Body, "Signed in") {
		t.Fatalf("the browser landed on %s: %s", landed.URL, landed.Body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent login: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent login did not finish")
	}
	if fi, err := os.Stat(filepath.Join(home, "tokens.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the agent's tokens: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	if out, err := agent("whoami"); err != nil || !strings.Contains(out, "bob@tables.fake") {
		t.Errorf("whoami: %q %v", out, err)
	}

	out, err := agent("todos")
	if err != nil || !strings.Contains(out, demo.BobTodos[0]) || !strings.Contains(out, "open of 3") {
		t.Fatalf("agent todos: %q %v", out, err)
	}
	if out, err := agent("tools"); err != nil || !strings.Contains(out, "add_todo") {
		t.Errorf("agent tools: %q %v", out, err)
	}
	if _, err := agent("add", "Not yet"); err == nil || !strings.Contains(err.Error(), "does not grant todos.write") {
		t.Errorf("agent add with the default read-only connection: %v", err)
	}

	admin, csrf := adminBrowser(t, s)
	conns := admin.get(s.topology.IdP + "/admin/connections").Body
	m := regexp.MustCompile(`id="connection-(\d+)"><div class="spread"><h2 class="flush">Agent → Todo \(MCP\)`).FindStringSubmatch(conns)
	if m == nil {
		t.Fatal("no Agent → Todo (MCP) connection in the admin console")
	}
	admin.post(s.topology.IdP+"/admin/connections/"+m[1], map[string]string{"csrf": csrf, "action": "save", "scopes": "todos.read todos.write", "client_id_at_resource": demo.AgentAtTodoClient})
	if out, err := agent("-v", "add", "Water the plants"); err != nil || !strings.Contains(out, "Added #") || !strings.Contains(out, "ID-JAG: {") {
		t.Fatalf("agent -v add after the admin granted write: %q %v", out, err)
	}
	if out, err := agent("done", "1"); err != nil || !strings.Contains(out, "Done: #1") {
		t.Errorf("agent done 1: %q %v", out, err)
	}
	raw, _ := os.ReadFile(filepath.Join(home, "tokens.json"))
	if strings.Contains(string(raw), "oauth-id-jag") || strings.Contains(strings.ToLower(string(raw)), "idjag") {
		t.Error("the agent stored an ID-JAG")
	}

	// A held token the MCP server refuses (revoked, keys rotated) gets the
	// standard 401, and the agent runs the chain again by itself.
	var held map[string]any
	_ = json.Unmarshal(raw, &held)
	held["access_token"] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LWEtc2lnbmF0dXJl"
	forged, _ := json.Marshal(held)
	_ = os.WriteFile(filepath.Join(home, "tokens.json"), forged, 0o600)
	if out, err := agent("-v", "todos"); err != nil || !strings.Contains(out, "refused the held token (401)") || !strings.Contains(out, demo.BobTodos[1]) {
		t.Errorf("agent todos with a refused held token: %q %v", out, err)
	}
	raw, _ = os.ReadFile(filepath.Join(home, "tokens.json"))

	// Disabled: once the held token is gone, the next exchange is refused.
	admin.post(s.topology.IdP+"/admin/connections/"+m[1], map[string]string{"csrf": csrf, "action": "disable"})
	var st map[string]any
	_ = json.Unmarshal(raw, &st)
	delete(st, "access_token")
	b2, _ := json.Marshal(st)
	_ = os.WriteFile(filepath.Join(home, "tokens.json"), b2, 0o600)
	if _, err := agent("todos"); err == nil || !strings.Contains(err.Error(), "has not allowed the agent") {
		t.Errorf("agent todos with the connection disabled: %v", err)
	}

	if _, err := agent("logout"); err != nil {
		t.Fatal(err)
	}
	if _, err := agent("todos"); err == nil || !strings.Contains(err.Error(), "agent login") {
		t.Errorf("agent todos after logout: %v", err)
	}
}

// TestAgentDeviceLogin: agent login --device (RFC 8628) for a terminal the
// browser cannot reach: the agent shows a code, Bob approves it at the
// IdP's /activate on another device, the agent's polling gets his tokens,
// and agent todos works.
func TestAgentDeviceLogin(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) { c.idp.DeviceInterval = time.Second })
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": t.TempDir(), "AGENT_CONSOLE_URL": s.topology.Wiki}
	getenv := func(k string) string { return env[k] }

	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- cli.Run(t.Context(), []string{"login", "--device"}, getenv, pw); pw.Close() }()
	lines := bufio.NewScanner(pr)
	var activate string
	for lines.Scan() {
		if m := regexp.MustCompile(`\(or open (\S+)\)`).FindStringSubmatch(lines.Text()); m != nil {
			activate = m[1]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if activate == "" {
		t.Fatal("agent login --device showed no address")
	}

	// On another device: Bob opens the address, signs in, approves.
	b := newBrowser(t)
	page := b.signInAt(activate, "bob@tables.fake")
	if !strings.Contains(page.Body, `id="approve"`) {
		t.Fatalf("the activation page does not offer to approve: %d\n%.2000s", page.Status, page.Body)
	}
	approve := page.Body[strings.Index(page.Body, `<form method="post" action="/activate">`):]
	approve = approve[:strings.Index(approve, "</form>")]
	if done := b.post(s.topology.IdP+"/activate", formFields(approve)); !strings.Contains(done.Body, "Your device is signed in") {
		t.Fatalf("approving: %d\n%.1500s", done.Status, done.Body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent login --device: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent login --device did not finish after the approval")
	}
	var out strings.Builder
	if err := cli.Run(t.Context(), []string{"todos"}, getenv, &out); err != nil || !strings.Contains(out.String(), demo.BobTodos[0]) {
		t.Fatalf("agent todos after a device sign-in: %q %v", out.String(), err)
	}
}

// TestDeviceGrantRefusals: the device grant's answers before and after the
// person decides (RFC 8628 §3.5): pending, slow_down, access_denied, one
// use, another client's code.
func TestDeviceGrantRefusals(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	s := startStack(t, sqliteDB, func(c *configs) { c.idp.Now = clk.Now })
	post := func(path string, form url.Values) (int, map[string]any) {
		t.Helper()
		form.Set("client_id", demo.AgentClientAtIdP)
		form.Set("client_secret", demo.AgentSecretAtIdP)
		resp, err := http.PostForm(s.topology.IdP+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	start := func() (device, user string) {
		_, out := post("/oauth2/v1/device/authorize", url.Values{"scope": {"openid email"}})
		device, _ = out["device_code"].(string)
		user, _ = out["user_code"].(string)
		if device == "" || !regexp.MustCompile(`^[B-Z]{4}-[B-Z]{4}$`).MatchString(user) {
			t.Fatalf("device authorization: %v", out)
		}
		return device, user
	}
	poll := func(device string) (int, string) {
		status, out := post("/oauth2/v1/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {device}})
		code, _ := out["error"].(string)
		return status, code
	}

	device, user := start()
	if _, code := poll(device); code != "authorization_pending" {
		t.Errorf("before approval: %s, want authorization_pending", code)
	}
	if _, code := poll(device); code != "slow_down" {
		t.Errorf("polling again at once: %s, want slow_down", code)
	}
	clk.Add(6 * time.Second)

	// Bob refuses.
	b := newBrowser(t)
	page := b.signInAt(s.topology.IdP+"/activate?user_code="+url.QueryEscape(user), "bob@tables.fake")
	deny := page.Body[strings.LastIndex(page.Body, `<form method="post" action="/activate">`):]
	b.post(s.topology.IdP+"/activate", formFields(deny[:strings.Index(deny, "</form>")]))
	if _, code := poll(device); code != "access_denied" {
		t.Errorf("after a refusal: %s, want access_denied", code)
	}

	// Another code, approved: it works once.
	device, user = start()
	page = b.get(s.topology.IdP + "/activate?user_code=" + url.QueryEscape(user))
	approve := page.Body[strings.Index(page.Body, `<form method="post" action="/activate">`):]
	b.post(s.topology.IdP+"/activate", formFields(approve[:strings.Index(approve, "</form>")]))
	if status, code := poll(device); status != http.StatusOK || code != "" {
		t.Errorf("after approval: %d %s, want tokens", status, code)
	}
	if _, code := poll(device); code != "invalid_grant" {
		t.Errorf("the same device code again: %s, want invalid_grant", code)
	}
	if _, code := poll("made-up"); code != "invalid_grant" {
		t.Errorf("a made-up device code: %s, want invalid_grant", code)
	}
	device, _ = start()
	clk.Add(11 * time.Minute)
	if _, code := poll(device); code != "expired_token" {
		t.Errorf("an expired device code: %s, want expired_token", code)
	}
}
