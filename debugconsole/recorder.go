package debugconsole

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limits that keep the recorder's memory bounded.
const (
	MaxRuns      = 20
	MaxSteps     = 32
	MaxBodyBytes = 16 << 10
)

// Recorder keeps the most recent runs.
type Recorder struct {
	Now func() time.Time

	mu   sync.Mutex
	runs []*Run // oldest first
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{Now: time.Now} }

// Run is one user action that went through the chain.
type Run struct {
	ID      string
	Title   string
	User    string
	Started time.Time

	mu      sync.Mutex
	steps   []Step
	outcome string
	failed  bool
}

// Step is one HTTP exchange of a run.
type Step struct {
	Label    string
	Explain  string
	Method   string
	URL      string
	Request  Message
	Response Message
	Status   int
	Duration time.Duration
	Err      string
}

// Message is a request or response as recorded, already redacted.
type Message struct {
	Headers [][2]string
	Body    string
	Tokens  []Token
}

type ctxKey int

const (
	runKey ctxKey = iota
	stepKey
)

type stepInfo struct{ label, explain string }

// Start begins a run; pass the returned context to the calls of the run.
func (r *Recorder) Start(ctx context.Context, title, user string) (context.Context, *Run) {
	run := &Run{ID: rand.Text()[:10], Title: title, User: user, Started: r.Now()}
	r.mu.Lock()
	r.runs = append(r.runs, run)
	if len(r.runs) > MaxRuns {
		r.runs = r.runs[len(r.runs)-MaxRuns:]
	}
	r.mu.Unlock()
	return context.WithValue(ctx, runKey, run), run
}

// WithStep names the next requests made with ctx, and says in a sentence
// what the step is for.
func WithStep(ctx context.Context, label, explain string) context.Context {
	return context.WithValue(ctx, stepKey, stepInfo{label, explain})
}

// Runs returns the recorded runs, newest first.
func (r *Recorder) Runs() []*Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Run, 0, len(r.runs))
	for i := len(r.runs) - 1; i >= 0; i-- {
		out = append(out, r.runs[i])
	}
	return out
}

// Finish records the outcome of the run in plain words.
func (run *Run) Finish(outcome string, failed bool) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.outcome, run.failed = outcome, failed
}

// Snapshot returns a copy of the steps and the outcome.
func (run *Run) Snapshot() (steps []Step, outcome string, failed bool) {
	run.mu.Lock()
	defer run.mu.Unlock()
	return append([]Step(nil), run.steps...), run.outcome, run.failed
}

func (run *Run) add(s Step) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if len(run.steps) < MaxSteps {
		run.steps = append(run.steps, s)
	}
}

// Transport wraps base so that requests made within a run are recorded.
func (r *Recorder) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, now: r.Now}
}

type transport struct {
	base http.RoundTripper
	now  func() time.Time
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	run, _ := req.Context().Value(runKey).(*Run)
	if run == nil {
		return t.base.RoundTrip(req)
	}
	info, _ := req.Context().Value(stepKey).(stepInfo)
	step := Step{Label: info.label, Explain: info.explain, Method: req.Method, URL: req.URL.String()}
	if step.Label == "" {
		step.Label = req.Method + " " + req.URL.Path
	}

	var reqBody []byte
	if req.Body != nil && req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			reqBody, _ = io.ReadAll(io.LimitReader(rc, MaxBodyBytes))
			rc.Close()
		}
	}
	step.Request = redactMessage(req.Header, reqBody, req.Header.Get("Content-Type"))

	start := t.now()
	resp, err := t.base.RoundTrip(req)
	step.Duration = t.now().Sub(start)
	if err != nil {
		step.Err = err.Error()
		run.add(step)
		return nil, err
	}
	// Read the body once, keep a copy for the caller.
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if readErr != nil {
		step.Err = readErr.Error()
	}
	step.Status = resp.StatusCode
	shown := body
	if len(shown) > MaxBodyBytes {
		shown = shown[:MaxBodyBytes]
	}
	step.Response = redactMessage(resp.Header, shown, resp.Header.Get("Content-Type"))
	run.add(step)
	return resp, nil
}

// RequestText is the request as an HTTP message: start line, headers, body.
func (s Step) RequestText() string {
	return httpText(s.Method+" "+s.URL, s.Request)
}

// ResponseText is the response as an HTTP message.
func (s Step) ResponseText() string {
	return httpText(fmt.Sprintf("HTTP %d", s.Status), s.Response)
}

func httpText(first string, m Message) string {
	var b strings.Builder
	b.WriteString(first)
	for _, h := range m.Headers {
		b.WriteString("\n" + h[0] + ": " + h[1])
	}
	if m.Body != "" {
		b.WriteString("\n\n" + m.Body)
	}
	return b.String()
}
