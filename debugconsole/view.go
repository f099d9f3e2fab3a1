package debugconsole

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"xaa.example/shared/oauth"

	"xaa.example/shared/trace"
)

// Console is what the wiki mounts: the runs and where their steps are.
type Console struct {
	Recorder  *Recorder
	Collector *Collector
	// Help says where the Code tab's hidden values come from.
	Help InputHelp
}

// RunView is a run ready to render.
type RunView struct {
	Run     *Run
	Steps   []Step
	Diagram Diagram
	Outcome string
	// Detail is the outcome's protocol detail, shown on a click.
	Detail string
	Failed bool
	Done   bool
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
			for i := range v.Steps {
				v.Steps[i].Inputs = c.Help.inputs(v.Steps[i])
			}
			v.Outcome, v.Failed, v.Done = r.Outcome()
			v.Detail = r.Detail()
			v.Diagram = diagram(v.Steps)
			out[i] = v
		}()
	}
	wg.Wait()
	return out
}

// partyNameFits is how many characters of a party's name fit its 120 px
// box at the usual size; a longer one ("Agent (MCP client)") is set
// smaller, inside the box.
const partyNameFits = 14

// partyAttacker is the party of an attack scenario's requests: someone
// who copied a token, with none of the wiki's keys.
const partyAttacker = "attacker"

// partyOrder places the parties left to right as the flow goes.
var partyOrder = []string{partyAttacker, "agent", "browser", "wiki", "wiki-as", "idp", "todo-as", "todo"}

var partyNames = map[string]string{
	partyAttacker: "Attacker", "agent": "Agent (MCP client)", "browser": "Browser", "wiki": "Wiki", "wiki-as": "Wiki AS", "idp": "IdP", "todo-as": "Todo AS", "todo": "Todo API",
}

// Diagram is a sequence diagram: a lifeline per party, an arrow per
// request and a dashed one per answer, a step's own requests between the
// two (a key fetch inside the redeem it belongs to).
type Diagram struct {
	Width, Height int
	Parties       []Party
	Arrows        []Arrow
	// SSO is the note on top: the sign-in before the run, which gave the
	// app its ID token, spanning from SSOX1 to SSOX2; SSOText says whose.
	SSO          bool
	SSOX1, SSOX2 int
	SSOText      string
}

// Party is one lifeline.
type Party struct {
	X    int
	Name string
}

// Arrow is one request (Answer false) or its answer (Answer true).
type Arrow struct {
	N         int
	X1, X2, Y int
	// Lines is the label, wrapped to the arrow's length; LineY the y of
	// each line.
	Lines  []string
	LineY  []int
	LabelX int
	Failed bool
	Answer bool
}

const (
	colWidth   = 150
	lineHeight = 14
	topPad     = 52
	ssoHeight  = 34
)

// event is a request leaving or its answer arriving, in time order.
type event struct {
	at     time.Time
	step   Step
	answer bool
}

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
	d := Diagram{Width: max(len(names), 2) * colWidth}
	x := map[string]int{}
	for i, n := range names {
		x[n] = colWidth/2 + i*colWidth
		name := partyNames[n]
		if name == "" {
			name = n
		}
		d.Parties = append(d.Parties, Party{X: x[n], Name: name})
	}
	y := topPad
	// A run that asks for an ID-JAG rests on an earlier sign-in.
	if _, ok := x["wiki-as"]; ok {
		d.SSO, d.SSOX1, d.SSOX2 = true, x["wiki"], x["wiki-as"]
		d.SSOText = "Before this run: single sign-on through the IdP gave the wiki its ID token"
		if samlSignIn(steps) {
			d.SSOText = "Before this run: SAML sign-in at the IdP, then the wiki's ID token"
		}
		if ix, ok := x["idp"]; ok {
			d.SSOX2 = ix
		}
		y += ssoHeight
	} else if ax, ok := x["agent"]; ok {
		// MCP EMA: the agent signed the person in itself and holds the
		// IdP's ID token; no authorization server stands between.
		d.SSO, d.SSOX1, d.SSOX2 = true, ax, ax
		d.SSOText = "Earlier: agent login gave the agent its ID token"
		if ix, ok := x["idp"]; ok {
			d.SSOX2 = ix
		}
		y += ssoHeight
	}

	var events []event
	for _, s := range steps {
		events = append(events, event{at: s.Start, step: s}, event{at: s.Start.Add(s.Duration), step: s, answer: true})
	}
	// In time order; at the same instant a request before an answer, so a
	// step's own requests fall between its arrow and its answer.
	sort.SliceStable(events, func(i, j int) bool {
		if !events[i].at.Equal(events[j].at) {
			return events[i].at.Before(events[j].at)
		}
		return !events[i].answer && events[j].answer
	})
	for _, e := range events {
		s := e.step
		a := Arrow{N: s.N, X1: x[s.From], X2: x[s.To], Failed: s.Err != "" || s.Status >= 400, Answer: e.answer}
		label := s.Label
		if s.Number != "" {
			label = s.Number + " · " + s.Label
		}
		if e.answer {
			a.X1, a.X2 = a.X2, a.X1
			label = answerLabel(s)
		}
		span := max(abs(a.X2-a.X1), colWidth)
		a.Lines = wrap(label, span/7, 4)
		a.LabelX = (a.X1 + a.X2) / 2
		for range a.Lines {
			y += lineHeight
			a.LineY = append(a.LineY, y-2)
		}
		y += 10
		a.Y = y
		y += 8
		d.Arrows = append(d.Arrows, a)
	}
	d.Height = y + 12
	return d
}

// answerLabel is what a request's answer says, in a few words.
func answerLabel(s Step) string {
	switch {
	case s.Err != "":
		return "no answer: " + s.Err
	case s.Status >= 400:
		if code := errorCode(s.Response.Body); code != "" {
			return fmt.Sprintf("%d %s", s.Status, code)
		}
		return fmt.Sprint(s.Status)
	}
	for _, t := range s.Response.Tokens {
		return fmt.Sprintf("%d: %s", s.Status, shortKind(DecodeToken(t).Kind))
	}
	return fmt.Sprint(s.Status)
}

func shortKind(kind string) string {
	if i := strings.Index(kind, " ("); i > 0 {
		return kind[:i]
	}
	return kind
}

var errorField = regexp.MustCompile(`"error"\s*:\s*"([a-z_]+)"`)

func errorCode(body string) string {
	if m := errorField.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// wrap breaks s into lines of at most width characters, at most max
// lines, the last one shortened when it does not fit.
func wrap(s string, width, maxLines int) []string {
	width = max(width, 12)
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	if len(lines) > maxLines {
		lines = append(lines[:maxLines-1], shorten(strings.Join(lines[maxLines-1:], " "), width))
	}
	for i, l := range lines {
		lines[i] = shorten(l, width)
	}
	return lines
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// AudienceHop is one token of the chain and whom it is for.
type AudienceHop struct {
	Token, Audience string
}

// Audiences is how the audience changes along a run: the ID token's aud
// (the app), the ID-JAG's (the resource's AS), the access token's (the
// API). Each token appears once, as first seen.
func Audiences(steps []Step) []AudienceHop {
	var out []AudienceHop
	seen := map[string]bool{}
	for _, s := range steps {
		for _, rec := range append(append([]trace.Token(nil), s.Request.Tokens...), s.Response.Tokens...) {
			t := DecodeToken(rec)
			kind := shortKind(t.Kind)
			if seen[kind] || kind == "JWT" || strings.HasPrefix(kind, "Not a JWT") {
				continue
			}
			for _, c := range t.Claims {
				if c.Name == "aud" {
					seen[kind] = true
					out = append(out, AudienceHop{Token: kind, Audience: strings.Trim(c.Value, `[]"`)})
				}
			}
		}
	}
	order := map[string]int{"ID token": 0, "ID-JAG": 1, "Access token": 2}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i].Token] < order[out[j].Token] })
	return out
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
resp, err := xaaclient.RequestIDJAG(ctx, http.DefaultClient, %q,
	xaaclient.Credentials{ClientID: clientID, ClientSecret: clientSecret},
	xaaclient.IDJAGRequest{
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
	if s.StepID == trace.StepAPIBearer || s.StepID == trace.StepAPIDPoP || strings.Contains(s.URL, "/api/") {
		return fmt.Sprintf(`// Call the resource with the access token (RFC 6750).
resp, err := xaaclient.Call(ctx, http.DefaultClient, %q, %q, accessToken, nil, nil)
defer resp.Body.Close()`, s.Method, s.URL)
	}
	return fmt.Sprintf(`req, _ := http.NewRequestWithContext(ctx, %q, %q, nil)
resp, err := http.DefaultClient.Do(req)`, s.Method, s.URL)
}

// Produced are the tokens the app received in a run, in order: for
// step-through mode, which shows what each click brought back.
func Produced(v RunView) []Token {
	var out []Token
	for _, s := range v.Steps {
		if s.From == "wiki" {
			for _, t := range s.Response.Tokens {
				out = append(out, DecodeToken(t))
			}
		}
	}
	return out
}

// samlSignIn reports whether the run rests on a SAML sign-in: its relay
// presents the IdP refresh token given for the assertion, or the assertion.
func samlSignIn(steps []Step) bool {
	for _, s := range steps {
		if t := param(s, "subject_token_type"); t == oauth.TokenTypeRefreshToken || t == oauth.TokenTypeSAML2 {
			return true
		}
	}
	return false
}

// numberShown is the step's number as its circle shows it: a dot for a
// request around the chain's steps.
func numberShown(s Step) string {
	if s.Number == "" {
		return "·"
	}
	return s.Number
}

// numberTitle says what the step's number means, on hover.
func numberTitle(s Step) string {
	whole, _, sub := strings.Cut(s.Number, ".")
	switch {
	case s.Number == "":
		return "A request around the steps of the chain (discovery, a key fetch)"
	case sub:
		return "A request made within step " + whole + " of the chain"
	}
	return "Step " + s.Number + " of the chain, numbered as in the README and in step-through mode"
}

// chainStep is the step of the chain a request belongs to, numbered as in
// the README and the step-through page (1 is the sign-in before the run);
// 0 for requests around them (discovery, key fetches).
func chainStep(s Step) int {
	switch param(s, "grant_type") {
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		return 2
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		return 3
	}
	if p := pathOf(s.URL); strings.Contains(p, "/api/") || strings.HasSuffix(p, "/mcp") {
		return 4
	}
	return 0
}
