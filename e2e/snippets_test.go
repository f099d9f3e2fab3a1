package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"xaa.example/debugconsole"
	"xaa.example/debugconsole/snippettest"
	"xaa.example/shared/demo"
)

// TestSnippetsRunAgainstTheStack (issue 34, item 3): the Code tab's
// snippets of the wiki's chain run as shown against the real services, one
// after the other as the tab tells a person to: step 2's snippet, fed the
// person's ID token from /debug/id-token, gets an ID-JAG; step 3's redeems
// it for an access token; step 4's lists the person's todos with it. With
// DPoP on, every snippet makes its own proof with one key of its own, and
// the tokens come back bound to that key; with DPOP=false, they go as
// Bearer. Each language runs the whole chain, because an ID-JAG is
// redeemed once.
func TestSnippetsRunAgainstTheStack(t *testing.T) {
	t.Parallel()
	key := snippettest.DPoPKeyFile(t)
	for _, on := range []bool{true, false} {
		mode := map[bool]string{true: "dpop", false: "bearer"}[on]
		s := startStack(t, sqliteDB, func(c *configs) { c.wiki.DPoP = on })
		b := newBrowser(t)
		b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
		if p := b.get(s.topology.Wiki + "/todos"); !strings.Contains(p.Body, demo.BobTodos[0]) {
			t.Fatalf("%s: my todos: %d", mode, p.Status)
		}
		idToken := subjectTokenOf(t, b.get(s.topology.Wiki+"/debug/id-token"))

		// What a person copies: the newest run's Code tabs on /debug.
		console := b.get(s.topology.Wiki + "/debug").Body
		chain := map[string]codeTab{}
		for _, n := range []string{"2", "3", "4"} {
			chain[n] = codeTabOf(t, console, n)
		}
		// The Code tab names every variable a snippet reads, and where it is.
		for n, want := range map[string][]string{
			"2": {"SUBJECT_TOKEN", "CLIENT_SECRET in the wiki's settings"},
			"3": {"ASSERTION", "step 2", "CLIENT_SECRET", "WIKI_CLIENT_SECRET_AT_TODO in the wiki's settings"},
			"4": {"ACCESS_TOKEN", "step 3"},
		} {
			if on {
				want = append(want, "DPOP_KEY", "openssl genpkey -algorithm EC")
			}
			for _, w := range want {
				if !strings.Contains(chain[n].inputs, w) {
					t.Errorf("%s: step %s's Code tab does not say %q:\n%s", mode, n, w, chain[n].inputs)
				}
			}
			if n == "2" && !strings.Contains(chain[n].inputs, `href="/debug/id-token"`) {
				t.Errorf("%s: step 2 does not link the person to their ID token:\n%s", mode, chain[n].inputs)
			}
			if !on {
				for _, sn := range chain[n].snippets {
					if strings.Contains(sn.Code, "DPOP_KEY") {
						t.Errorf("bearer: step %s's %s snippet makes a DPoP proof", n, sn.Label)
					}
				}
			}
		}

		exchange, redeem, call := chain["2"].snippets, chain["3"].snippets, chain["4"].snippets
		for i, sn := range exchange {
			if !snippettest.Runnable(sn) {
				continue
			}
			t.Run(mode+"/"+sn.Key, func(t *testing.T) {
				env := map[string]string{"DPOP_KEY": key, "SUBJECT_TOKEN": idToken, "CLIENT_SECRET": demo.WikiSecret}
				idjag := field(t, snippettest.Run(t, sn, env), "access_token")
				if on != strings.Contains(claimsOf(idjag), `"cnf":{"jkt":"`) {
					t.Errorf("the ID-JAG's key binding is not the mode's: %s", claimsOf(idjag))
				}
				env["ASSERTION"], env["CLIENT_SECRET"] = idjag, demo.WikiAtTodoSecret
				answer := snippettest.Run(t, redeem[i], env)
				env["ACCESS_TOKEN"] = field(t, answer, "access_token")
				if tt := field(t, answer, "token_type"); (tt == "DPoP") != on {
					t.Errorf("the redeem's token_type is %s", tt)
				}
				delete(env, "CLIENT_SECRET")
				if todos := snippettest.Run(t, call[i], env); !strings.Contains(todos, demo.BobTodos[0]) {
					t.Errorf("the API call's snippet printed %q, want bob's todos", todos)
				}
			})
		}
	}
}

// subjectTokenOf reads the token from the ID token page's export line.
func subjectTokenOf(t *testing.T, p page) string {
	t.Helper()
	m := regexp.MustCompile(`export SUBJECT_TOKEN=(?:'|&#39;)([A-Za-z0-9_.-]+)(?:'|&#39;)`).FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("/debug/id-token: %d, no export line:\n%s", p.Status, p.Body)
	}
	return m[1]
}

// codeTab is a step's Code tab as the page shows it: the variables it
// lists (HTML) and its snippets, in the page's order.
type codeTab struct {
	inputs   string
	snippets []debugconsole.Snippet
}

// codeTabOf reads the Code tab of the first step numbered n on a console
// page (the newest run comes first).
func codeTabOf(t *testing.T, console, n string) codeTab {
	t.Helper()
	at := strings.Index(console, `data-n="`+n+`"`)
	if at < 0 {
		t.Fatalf("the console shows no step %s", n)
	}
	stepHTML := console[at:]
	if end := strings.Index(stepHTML, `<details class="step"`); end >= 0 {
		stepHTML = stepHTML[:end]
	}
	var tab codeTab
	if m := regexp.MustCompile(`(?s)<dl class="inputs">.*?</dl>`).FindString(stepHTML); m != "" {
		tab.inputs = htmlUnescape(m)
	}
	for _, m := range regexp.MustCompile(`(?s)<div class="lang-panel lang-panel-([a-z]+)">.*?<pre>(.*?)</pre>`).FindAllStringSubmatch(stepHTML, -1) {
		tab.snippets = append(tab.snippets, debugconsole.Snippet{Key: m[1], Label: m[1], Code: htmlUnescape(m[2])})
	}
	if len(tab.snippets) == 0 {
		t.Fatalf("step %s has no snippets on the page", n)
	}
	return tab
}

// field is a field of the JSON a snippet printed after the status.
func field(t *testing.T, out, name string) string {
	t.Helper()
	var answer map[string]any
	if i := strings.IndexByte(out, '{'); i < 0 || json.Unmarshal([]byte(strings.TrimSpace(out[i:])), &answer) != nil {
		t.Fatalf("the snippet printed %q, not a JSON answer", out)
	}
	v, _ := answer[name].(string)
	if v == "" {
		t.Fatalf("the answer has no %s: %s", name, out)
	}
	return v
}
