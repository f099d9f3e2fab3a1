package debugconsole

import (
	"strings"
	"testing"

	"xaa.example/shared/trace"
)

// TestSnippetInputs: the Code tab names each variable a step's snippets
// read and where the person finds it; a token that never leaves a server
// sends the person to the step they can run instead.
func TestSnippetInputs(t *testing.T) {
	help := InputHelp{Self: "wiki", IDTokenURL: "/debug/id-token", Secrets: map[string]string{"wiki": "CLIENT_SECRET in the wiki's settings."}}
	form := "grant_type=urn:ietf:params:oauth:grant-type:token-exchange\nsubject_token=eyJh.eyJz.[signature removed]"
	basic := func(client string) [2]string {
		return [2]string{"Authorization", "Basic [redacted] (client_id " + client + ", secret hidden)"}
	}
	formType := [2]string{"Content-Type", "application/x-www-form-urlencoded"}
	for _, c := range []struct {
		name string
		step Step
		want []string // name=where fragments, in order
	}{
		{"the wiki's exchange", Step{From: "wiki", To: "wiki-as", Number: "2", Step: trace.Step{Method: "POST", URL: "http://as/token",
			Request: trace.Message{Headers: [][2]string{basic("wiki"), {"Dpop", "x.y.[signature removed]"}, formType}, Body: form}}},
			[]string{"DPOP_KEY=P-256 key of your own", "SUBJECT_TOKEN=your ID token from the Wiki AS", "CLIENT_SECRET=the secret of client wiki at the Wiki AS: CLIENT_SECRET in the wiki's settings."}},
		{"the relay's exchange at the IdP", Step{From: "wiki-as", To: "idp", Number: "2.1", Step: trace.Step{Method: "POST", URL: "http://idp/token",
			Request: trace.Message{Headers: [][2]string{basic("wiki-as"), formType}, Body: form}}},
			[]string{"SUBJECT_TOKEN=never leaves the Wiki AS. Run step 2's snippet instead", "CLIENT_SECRET=the secret of client wiki-as at the IdP, from that client's settings."}},
		{"the redeem", Step{From: "wiki", To: "todo-as", Number: "3", Step: trace.Step{Method: "POST", URL: "http://todo-as/token",
			Request: trace.Message{Headers: [][2]string{formType}, Body: "assertion=a.b.[signature removed]\nclient_id=wiki-at-todo\nclient_secret=[redacted]"}}},
			[]string{"ASSERTION=answer to step 2", "CLIENT_SECRET=the secret of client wiki-at-todo at the Todo AS, from"}},
		{"the call", Step{From: "wiki", To: "todo", Number: "4", Step: trace.Step{Method: "GET", URL: "/api/todos",
			Request: trace.Message{Headers: [][2]string{{"Authorization", "Bearer a.b.[signature removed]"}}}}},
			[]string{"BASE_URL=the address of the Todo API", "ACCESS_TOKEN=answer to step 3"}},
	} {
		got := help.inputs(c.step)
		if len(got) != len(c.want) {
			t.Errorf("%s: %d variables, want %d: %+v", c.name, len(got), len(c.want), got)
			continue
		}
		for i, w := range c.want {
			name, where, _ := strings.Cut(w, "=")
			if got[i].Name != name || !strings.Contains(got[i].Where, where) {
				t.Errorf("%s: variable %d is %s (%q), want %s (%q)", c.name, i, got[i].Name, got[i].Where, name, where)
			}
		}
		if c.step.Number == "2" && got[1].Link != "/debug/id-token" {
			t.Errorf("%s: SUBJECT_TOKEN does not link to the person's ID token", c.name)
		}
	}
}
