package debugconsole

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/trace"
)

// TestViewsShowOnlyCollectedRuns: a run is shown only with its steps
// collected, newest first; older runs are left out rather than shown as if
// they had made no request.
func TestViewsShowOnlyCollectedRuns(t *testing.T) {
	store := trace.NewStore("wiki")
	rec := NewRecorder()
	c := &Console{Recorder: rec, Collector: &Collector{Local: store, Client: http.DefaultClient}}
	var ids []string
	for range 3 {
		_, run := rec.Start(context.Background(), "run", Viewer{Subject: "bob-sub", Email: "bob"})
		ids = append(ids, run.ID)
		// A step the todo API recorded under the run's trace.
		store.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(
			&nopWriter{h: http.Header{}}, requestWithTrace(run.ID))
		run.Finish("done", false)
	}
	views := c.Views(context.Background(), 2, Viewer{Subject: "bob-sub"})
	if len(views) != 2 || views[0].Run.ID != ids[2] || views[1].Run.ID != ids[1] {
		t.Fatalf("views: %d, want the two newest runs", len(views))
	}
	for _, v := range views {
		if len(v.Steps) != 1 || v.Diagram.Height == 0 {
			t.Errorf("run %s shown with %d steps, want its step collected", v.Run.ID, len(v.Steps))
		}
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func requestWithTrace(id string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/api/todos", nil)
	r.Header.Set(trace.HeaderTrace, id)
	r.Header.Set(trace.HeaderFrom, "wiki")
	return r
}

// TestDiagramNestsAndAnswers: a request made while another waits for its
// answer (the todo AS fetching the IdP's keys during a redeem) is drawn
// between that request and its answer, and listed one level in; every
// request has its answer; long labels wrap instead of being cut.
func TestDiagramNestsAndAnswers(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	all := []trace.Step{
		{Service: "wiki", Side: "client", From: "wiki", To: "todo-as", Method: "POST", URL: "http://as/token", StepID: trace.StepRedeem, Start: at(0), Duration: 10 * time.Millisecond, Status: 200},
		{Service: "todo-as", Side: "client", From: "todo-as", To: "idp", Method: "GET", URL: "http://idp/keys", Label: "GET /keys", Start: at(2), Duration: 3 * time.Millisecond, Status: 200},
		{Service: "wiki", Side: "client", From: "wiki", To: "todo", Method: "GET", URL: "http://todo/api/todos", StepID: trace.StepAPIBearer, Start: at(20), Duration: 2 * time.Millisecond, Status: 403, Response: trace.Message{Body: `{"error":"insufficient_scope"}`}},
	}
	steps := pair(all)
	if steps[1].Depth != 1 || steps[0].Depth != 0 || steps[2].Depth != 0 {
		t.Errorf("depths %d %d %d, want 0 1 0", steps[0].Depth, steps[1].Depth, steps[2].Depth)
	}
	d := diagram(steps)
	var order []string
	for _, a := range d.Arrows {
		kind := "request"
		if a.Answer {
			kind = "answer"
		}
		order = append(order, fmt.Sprintf("%d %s", a.N, kind))
		for _, l := range a.Lines {
			if strings.HasSuffix(l, "…") && a.N == 1 {
				t.Errorf("the redeem's label was cut instead of wrapped: %q", a.Lines)
			}
		}
	}
	want := []string{"1 request", "2 request", "2 answer", "1 answer", "3 request", "3 answer"}
	if !slices.Equal(order, want) {
		t.Errorf("arrows %v, want %v", order, want)
	}
	if last := d.Arrows[len(d.Arrows)-1]; !last.Failed || !strings.Contains(strings.Join(last.Lines, " "), "403 insufficient_scope") {
		t.Errorf("the refused call's answer reads %q", last.Lines)
	}
}

// TestLongPartyNamesFit (issue 34, item 12): "Agent (MCP client)" spilled
// out of its 120 px box; a name longer than fits is set smaller, and no
// name is too long for the smaller size (11 px fits about 18 characters).
func TestLongPartyNamesFit(t *testing.T) {
	t0 := time.Now()
	d := diagram(pair([]trace.Step{
		{Service: "agent", Side: "client", From: "agent", To: "todo", Method: "POST", URL: "http://todo/mcp", Label: "MCP tools/call", Start: t0, Duration: time.Millisecond, Status: 200},
	}))
	var out strings.Builder
	if err := sequence(d).Render(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `class="party-name long">Agent (MCP client)</text>`) {
		t.Errorf("the agent's name is set at the size that spills:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `class="party-name">Todo API</text>`) {
		t.Errorf("a short name is set small too:\n%s", out.String())
	}
	for key, name := range partyNames {
		if len(name) > 18 {
			t.Errorf("%s's name %q is longer than even the small size fits", key, name)
		}
	}
}

// TestOneNumbering (issue 34, item 8): a request is numbered by the step
// of the chain it is, as the README and step-through mode number them, or
// as a request within one; the list and the diagram say the same number.
// Before, the list and the diagram counted requests (the redeem was 4, its
// badge "chain step 3").
func TestOneNumbering(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	grant := func(g string) trace.Message {
		return trace.Message{Body: "grant_type=urn:ietf:params:oauth:grant-type:" + g}
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	steps := pair([]trace.Step{
		{Service: "wiki", Side: "client", From: "wiki", To: "wiki-as", Method: "POST", URL: "http://wiki-as/token", StepID: trace.StepExchange, Request: grant("token-exchange"), Start: at(0), Duration: ms(30), Status: 200},
		{Service: "wiki-as", Side: "client", From: "wiki-as", To: "idp", Method: "POST", URL: "http://idp/token", StepID: trace.StepRelay, Request: grant("token-exchange"), Start: at(5), Duration: ms(15), Status: 200},
		{Service: "wiki", Side: "client", From: "wiki", To: "todo-as", Method: "GET", URL: "http://todo-as/.well-known/oauth-authorization-server", Start: at(35), Duration: ms(2), Status: 200},
		{Service: "wiki", Side: "client", From: "wiki", To: "todo-as", Method: "POST", URL: "http://todo-as/token", StepID: trace.StepRedeem, Request: grant("jwt-bearer"), Start: at(40), Duration: ms(20), Status: 200},
		{Service: "todo-as", Side: "client", From: "todo-as", To: "idp", Method: "GET", URL: "http://idp/keys", Start: at(42), Duration: ms(3), Status: 200},
		{Service: "wiki", Side: "client", From: "wiki", To: "todo", Method: "GET", URL: "http://todo/api/todos", StepID: trace.StepAPIDPoP, Start: at(70), Duration: ms(5), Status: 200},
		{Service: "wiki", Side: "client", From: "wiki", To: "todo-as", Method: "POST", URL: "http://todo-as/token", StepID: trace.StepReplayIDJAG, Request: grant("jwt-bearer"), Start: at(80), Duration: ms(5), Status: 400},
	})
	var got []string
	for _, s := range steps {
		got = append(got, s.Number)
	}
	if want := []string{"2", "2.1", "", "3", "3.1", "4", "3"}; !slices.Equal(got, want) {
		t.Fatalf("numbers %q, want %q", got, want)
	}
	// The diagram's request arrows begin with the same numbers; a request
	// around the steps has none.
	var labels []string
	for _, a := range diagram(steps).Arrows {
		if !a.Answer {
			labels = append(labels, strings.Join(a.Lines, " "))
		}
	}
	for i, s := range steps {
		if s.Number != "" && !strings.HasPrefix(labels[i], s.Number+" · ") || s.Number == "" && strings.Contains(labels[i], " · ") {
			t.Errorf("the diagram labels %q, the list numbers it %q", labels[i], s.Number)
		}
	}
	// The replay is the attacker's.
	if steps[6].From != partyAttacker {
		t.Errorf("the replay is drawn from %q", steps[6].From)
	}
}
