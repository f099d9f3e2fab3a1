package debugconsole

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Console is what the wiki mounts: the runs and where their steps are.
type Console struct {
	Recorder  *Recorder
	Collector *Collector
}

// RunView is a run ready to render.
type RunView struct {
	Run     *Run
	Steps   []Step
	Diagram Diagram
	Outcome string
	Failed  bool
	Done    bool
}

// Views prepares the newest limit runs that v may see for rendering,
// newest first, their steps collected from every service, the runs side by
// side; runs named in pinned are shown whatever their age.
func (c *Console) Views(ctx context.Context, limit int, v Viewer, pinned ...string) []RunView {
	var runs []*Run
	for _, r := range c.Recorder.Runs() {
		if v.Sees(r) && (len(runs) < limit || slices.Contains(pinned, r.ID)) {
			runs = append(runs, r)
		}
	}
	out := make([]RunView, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := RunView{Run: r, Steps: c.Collector.Steps(ctx, r.ID)}
			v.Outcome, v.Failed, v.Done = r.Outcome()
			v.Diagram = diagram(v.Steps)
			out[i] = v
		}()
	}
	wg.Wait()
	return out
}

// partyOrder places the parties left to right as the flow goes.
var partyOrder = []string{"browser", "wiki", "wiki-as", "idp", "todo-as", "todo"}

var partyNames = map[string]string{
	"browser": "Browser", "wiki": "Wiki", "wiki-as": "Wiki AS", "idp": "IdP", "todo-as": "Todo AS", "todo": "Todo API",
}

// Diagram is a sequence diagram: a lifeline per party, an arrow per step.
type Diagram struct {
	Width, Height int
	Parties       []Party
	Arrows        []Arrow
}

// Party is one lifeline.
type Party struct {
	X    int
	Name string
}

// Arrow is one numbered step.
type Arrow struct {
	N              int
	X1, X2, Y      int
	Label          string
	LabelX         int
	Failed, Inward bool
}

const (
	colWidth = 140
	rowStep  = 44
	topPad   = 52
)

func diagram(steps []Step) Diagram {
	var names []string
	for _, p := range partyOrder {
		for _, s := range steps {
			if s.From == p || s.To == p {
				names = append(names, p)
				break
			}
		}
	}
	for _, s := range steps {
		for _, p := range []string{s.From, s.To} {
			if !slices.Contains(names, p) {
				names = append(names, p)
			}
		}
	}
	d := Diagram{Width: max(len(names), 2) * colWidth, Height: topPad + len(steps)*rowStep + 16}
	x := map[string]int{}
	for i, n := range names {
		x[n] = colWidth/2 + i*colWidth
		name := partyNames[n]
		if name == "" {
			name = n
		}
		d.Parties = append(d.Parties, Party{X: x[n], Name: name})
	}
	for i, s := range steps {
		a := Arrow{N: s.N, X1: x[s.From], X2: x[s.To], Y: topPad + i*rowStep + 20, Failed: s.Err != "" || s.Status >= 400}
		a.Label = fmt.Sprintf("%d. %s", s.N, shorten(s.Label, 34))
		a.LabelX = (a.X1 + a.X2) / 2
		a.Inward = a.X2 < a.X1
		d.Arrows = append(d.Arrows, a)
	}
	return d
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func statusText(s Step) string {
	if s.Err != "" {
		return "no answer"
	}
	return fmt.Sprint(s.Status)
}

func statusClass(s Step) string {
	if s.Err != "" || s.Status >= 400 {
		return "badge bad"
	}
	return "badge ok"
}

// ms says how long a step took, to a tenth of a millisecond below 10 ms:
// most steps on one machine take less than one.
func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}

func name(party string) string {
	if n := partyNames[party]; n != "" {
		return n
	}
	return party
}

func seenNote(s Step) string {
	switch s.Seen {
	case "sender":
		return "Seen from the sender's side only: the receiver (an IdP such as an Okta org) does not report to this console."
	case "receiver":
		return "Seen from the receiver's side only."
	}
	return ""
}

func failedChecks(s Step) int {
	n := 0
	for _, c := range s.Checks {
		if !c.Passed {
			n++
		}
	}
	return n
}

func stepCount(n int) string {
	if n == 1 {
		return "1 step"
	}
	return fmt.Sprintf("%d steps", n)
}

// stepFailed: the request was refused, did not arrive, or a check failed;
// such a step opens on its Checks, where the reason is.
func stepFailed(s Step) bool { return s.Status >= 400 || s.Err != "" || failedChecks(s) > 0 }

// formOf parses a redacted form body back into its lines.
func formOf(body string) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

func contentType(s Step) string {
	for _, h := range s.Request.Headers {
		if h[0] == "Content-Type" {
			return h[1]
		}
	}
	return ""
}

func param(s Step, name string) string {
	for _, kv := range formOf(s.Request.Body) {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

// GoCode is the same request with this repository's packages.
func GoCode(s Step) string {
	switch param(s, "grant_type") {
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		return fmt.Sprintf(`// Ask for an ID-JAG (RFC 8693 token exchange; ID-JAG draft §4.3).
resp, err := xaaclient.Exchange(ctx, http.DefaultClient, %q,
	xaaclient.Credentials{ClientID: clientID, ClientSecret: clientSecret},
	xaaclient.ExchangeRequest{
		SubjectToken: idToken,
		Audience:     %q,
		Resource:     %q,
		Scope:        oauth.ParseScopes(%q),
	})
// resp.AccessToken is the ID-JAG; Exchange has checked issued_token_type
// and token_type N_A.`, s.URL, param(s, "audience"), param(s, "resource"), param(s, "scope"))
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		return fmt.Sprintf(`// Redeem the ID-JAG (RFC 7523 JWT bearer grant; ID-JAG draft §4.4).
resp, err := xaaclient.Redeem(ctx, http.DefaultClient, %q,
	xaaclient.Credentials{ClientID: clientIDAtResource, ClientSecret: secretAtResource},
	idJAG, oauth.ParseScopes(%q))
// resp.AccessToken is a Bearer token for the resource.`, s.URL, param(s, "scope"))
	}
	if strings.Contains(s.Label, "API") || strings.Contains(s.URL, "/api/") {
		return fmt.Sprintf(`// Call the resource with the access token (RFC 6750).
resp, err := xaaclient.Call(ctx, http.DefaultClient, %q, %q, accessToken, nil)
defer resp.Body.Close()`, s.Method, s.URL)
	}
	return fmt.Sprintf(`req, _ := http.NewRequestWithContext(ctx, %q, %q, nil)
resp, err := http.DefaultClient.Do(req)`, s.Method, s.URL)
}
