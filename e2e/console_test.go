package e2e

import (
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"xaa.example/shared/demo"
	"xaa.example/shared/trace"
)

// usableJWT matches a JWT that still has its signature.
var usableJWT = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16,}`)

// assertNothingUsable fails when text holds a secret, a password, or a
// token that could be replayed.
func assertNothingUsable(t *testing.T, where, text string) {
	t.Helper()
	assertNoSecrets(t, where, text)
	if m := usableJWT.FindString(text); m != "" {
		t.Errorf("%s shows a usable token: %.60s…", where, m)
	}
}

// TestConsoleShowsEveryParty: one My todos run, seen in the console with
// the part of every service and the checks each made.
func TestConsoleShowsEveryParty(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	b.get(s.topology.Wiki + "/todos")
	console := b.get(s.topology.Wiki + "/debug")
	for _, want := range []string{
		// the parties of the sequence diagram
		"<svg", ">Wiki<", ">Wiki AS<", ">IdP<", ">Todo AS<", ">Todo API<",
		// each step, labelled by its sender
		"Exchange the ID token for an ID-JAG", "Ask the IdP for an ID-JAG", "Redeem the ID-JAG for an access token", "Call the todo API with the access token",
		// checks of each receiver
		"subject token: an ID token of this server",                                                                                                          // wiki AS
		"an enabled managed connection from this app to that one",                                                                                            // IdP
		"R2 · typ is oauth-id-jag+jwt", "R6 · aud is exactly this authorization server", "R9 · jti not used before", "R12 · subject maps to a local account", // todo AS
		"access token: typ at+jwt, signed by the authorization server", "the token grants the scope this call needs", "needs todos.read", // todo API
		"client authentication",
		// the tabs and the code
		"Request", "Response", "Checks (", "curl -sS -X POST", "xaaclient.RequestIDJAG", "xaaclient.Redeem",
		"ID-JAG (Identity Assertion JWT Authorization Grant)",
	} {
		if !strings.Contains(words(console.Body), want) {
			t.Errorf("the console does not show %q", want)
		}
	}
	if strings.Contains(console.Body, `class="badge bad">fail`) {
		t.Error("a check failed in a run that should succeed")
	}
	assertNothingUsable(t, "the console", console.Body)

	// What each service serves to the console is as safe, and it is
	// served to the console alone: not to an anonymous caller, nor with
	// the proof of another run.
	run := s.recorder.Runs()[0].ID
	for name, srv := range s.servers {
		for _, tc := range []struct {
			name, auth string
			want       int
		}{
			{name: "anonymous", want: http.StatusUnauthorized},
			{name: "another run's proof", auth: trace.Proof(traceKey, "another-run"), want: http.StatusUnauthorized},
			{name: "another key", auth: trace.Proof([]byte("not-the-console-key-not-the-console-key"), run), want: http.StatusUnauthorized},
			{name: "the console", auth: trace.Proof(traceKey, run), want: http.StatusOK},
		} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/debug/trace/"+run, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s /debug/trace, %s: %d, want %d", name, tc.name, resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusOK && len(body) < 10 {
				t.Errorf("%s /debug/trace: the console got %s", name, body)
			}
			if tc.want != http.StatusOK && strings.Contains(string(body), "bob@tables.fake") {
				t.Errorf("%s /debug/trace, %s: answered with bob's steps", name, tc.name)
			}
			assertNothingUsable(t, name+"'s trace", string(body))
		}
	}
}

// TestConsoleShowsOwnRunsOnly: a person's runs are theirs. John does not see
// Bob's runs in the console, its drawer, or its run list; a console admin
// sees everyone's only when asking for them.
func TestConsoleShowsOwnRunsOnly(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := bob.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Fatalf("bob's todos are not shown: %d", p.Status)
	}
	if p := bob.get(s.topology.Wiki + "/debug"); !strings.Contains(p.Body, demo.BobTodos[0]) || !strings.Contains(p.Body, "bob@tables.fake") {
		t.Fatal("bob's console does not show his own run")
	}

	john := newBrowser(t)
	john.signIn(s.topology.Wiki, "john@tables.fake2", demo.Password)
	for _, path := range []string{"/debug", "/debug/runs", "/debug/latest", "/debug/runs?all=1", "/debug?all=1"} {
		p := john.get(s.topology.Wiki + path)
		if p.Status != http.StatusOK {
			t.Errorf("john's %s: %d", path, p.Status)
		}
		for _, bobs := range []string{"bob@tables.fake", demo.BobTodos[0], s.recorder.Runs()[0].ID[:10]} {
			if strings.Contains(p.Body, bobs) {
				t.Errorf("john's %s shows bob's %q", path, bobs)
			}
		}
	}

	admin := newBrowser(t)
	admin.signIn(s.topology.Wiki, "admin@tables.fake", demo.Password)
	if p := admin.get(s.topology.Wiki + "/debug"); strings.Contains(p.Body, "bob@tables.fake") || !strings.Contains(p.Body, "show everyone's runs") {
		t.Error("the admin's console shows others' runs without asking, or offers no way to see them")
	}
	if p := admin.get(s.topology.Wiki + "/debug?all=1"); !strings.Contains(p.Body, "bob@tables.fake") || !strings.Contains(p.Body, demo.BobTodos[0]) {
		t.Error("the admin's all-users view does not show bob's run")
	}
}

// TestFailureScenarios: each one-click scenario fails where it should, and
// the console says where and why.
func TestFailureScenarios(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	for _, tt := range []struct{ key, failed, why string }{
		{"replay", "R9 · jti not used before (single use)", "assertion was already used"},
		{"expired", "R7 · exp, iat, jti, sub, client_id present; times within skew and lifetime", "assertion has expired"},
		{"audience", "R6 · aud is exactly this authorization server", "assertion aud must be exactly"},
		{"disabled", "an enabled managed connection from this app to that one", "access_denied"},
		{"scope", "scopes narrowed to what the connection allows", "invalid_scope"},
		{"stolen", "a bound token comes as DPoP, with a proof of its key", "this token is bound to a key"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			p := b.post(s.topology.Wiki+"/debug/scenario/"+tt.key, map[string]string{})
			if p.Status != http.StatusOK || !strings.Contains(p.URL, "/debug") {
				t.Fatalf("scenario: %d at %s", p.Status, p.URL)
			}
			// Its story is on the page, in words, not in a tooltip.
			card := regexp.MustCompile(`(?s)<article class="scenario" id="scenario-` + tt.key + `">.*?</article>`).FindString(p.Body)
			if !strings.Contains(card, "<p>") || !strings.Contains(card, "What stops it:") || strings.Contains(card, "title=") {
				t.Errorf("the scenario's story is not shown in words:\n%s", card)
			}
			latest := b.get(s.topology.Wiki + "/debug/latest").Body
			// The headline is the scenario's story in words; the protocol's
			// answer is one click away, below it.
			m := regexp.MustCompile(`alert bad">(.*?)</p>`).FindStringSubmatch(latest)
			if m == nil {
				t.Fatalf("no headline:\n%.2000s", latest)
			}
			headline := htmlUnescape(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))
			if !strings.HasPrefix(headline, "Refused, as it should be. ") || strings.Contains(headline, "invalid_") ||
				strings.Contains(headline, "{") || strings.Contains(headline, tt.why) {
				t.Errorf("the headline is not the story in words: %q", headline)
			}
			if !regexp.MustCompile(`(?s)<summary>Protocol detail</summary>\s*<pre class="wrap">[^<]*` + regexp.QuoteMeta(html.EscapeString(tt.why))).MatchString(latest) {
				t.Errorf("the protocol detail (%q) is not one click away under the headline", tt.why)
			}
			if tt.key == "stolen" || tt.key == "replay" {
				// The attacker's requests are drawn from the attacker.
				if !strings.Contains(latest, `class="party-name">Attacker</text>`) {
					t.Errorf("the diagram draws no attacker")
				}
			}
			for _, want := range []string{"Failure:", tt.failed, `badge bad">fail`} {
				if !strings.Contains(latest, want) {
					t.Errorf("the console does not show %q:\n%.3000s", want, latest)
				}
			}
			assertNothingUsable(t, "the console", latest)
		})
	}
}

// TestStepThrough: one button per step, each shown in the same run.
func TestStepThrough(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	if p := b.post(s.topology.Wiki+"/debug/step/redeem", map[string]string{}); !strings.Contains(words(p.Body), "Exchange the ID token for an ID-JAG first") {
		t.Fatalf("redeem before exchange: %d", p.Status)
	}
	var page page
	for _, step := range []string{"exchange", "redeem", "call"} {
		page = b.post(s.topology.Wiki+"/debug/step/"+step, map[string]string{})
		if page.Status != http.StatusOK || strings.Contains(page.Body, `class="alert bad"`) {
			t.Fatalf("step %s: %d:\n%s", step, page.Status, page.Body)
		}
	}
	for _, want := range []string{"The chain is complete.", "Exchange the ID token for an ID-JAG", "Redeem the ID-JAG for an access token", "Call the todo API",
		`id="produced"`, "ID-JAG (Identity Assertion JWT Authorization Grant) · in", "Access token (RFC 9068 JWT) · in",
		// One numbering (item 8): the run below the steps numbers each
		// request as the steps above do, in its list and its diagram.
		`data-n="2"`, `data-n="3"`, `data-n="4"`, ">2 · Exchange", ">3 · Redeem", ">4 · Call"} {
		if !strings.Contains(words(page.Body), want) {
			t.Errorf("after three steps the page does not show %q", want)
		}
	}
	// Issue 34, item 8: the call is named as it goes (DPoP, the demo's
	// default), and its step is marked done like the others.
	if !strings.Contains(page.Body, "the access token as Authorization: DPoP, with a proof") || strings.Contains(page.Body, "Bearer access token") {
		t.Error("the step-through page does not say the call goes as DPoP")
	}
	if done := strings.Count(page.Body, `<li class="done">`); done != 4 {
		t.Errorf("%d of the 4 steps are marked done after the call", done)
	}
	if regexp.MustCompile(`id="step-\w+"[^>]*>\s*\d\.`).MatchString(page.Body) {
		t.Error("the step buttons still carry their own numbers beside the list's")
	}
	assertNothingUsable(t, "step-through", page.Body)

	// A person with no run yet: the drawer points at the console, not at
	// scenarios "above" that the drawer does not have.
	john := newBrowser(t)
	john.signIn(s.topology.Wiki, "john@tables.fake2", demo.Password)
	if latest := john.get(s.topology.Wiki + "/debug/latest").Body; strings.Contains(latest, "scenario above") || !strings.Contains(latest, `href="/debug"`) {
		t.Errorf("the empty drawer says:\n%.800s", latest)
	}
}
