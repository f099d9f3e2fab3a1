package trace

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Headers that carry a trace between services.
const (
	HeaderTrace   = "X-XAA-Trace"   // the run's trace id
	HeaderFrom    = "X-XAA-From"    // the calling service
	HeaderService = "X-XAA-Service" // the answering service, on traced responses
)

// Limits that keep a store's memory bounded.
const (
	MaxTraces    = 100
	MaxSteps     = 32
	MaxBodyBytes = 16 << 10
)

// Check is one thing a server checked, and whether it held.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail,omitempty"`
}

// Step is one HTTP exchange, as its sender (client side) or its receiver
// (server side) saw it.
type Step struct {
	Trace    string        `json:"trace"`
	Service  string        `json:"service"` // who recorded it
	Side     string        `json:"side"`    // "server" or "client"
	From     string        `json:"from"`
	To       string        `json:"to"`
	Label    string        `json:"label,omitempty"`
	Explain  string        `json:"explain,omitempty"`
	Method   string        `json:"method"`
	URL      string        `json:"url"`
	Status   int           `json:"status"`
	Request  Message       `json:"request"`
	Response Message       `json:"response"`
	Checks   []Check       `json:"checks,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"`
	Err      string        `json:"error,omitempty"`
}

// NewID returns a new trace id.
func NewID() string { return strings.ToLower(rand.Text()) }

type ctxKey int

const (
	traceKey ctxKey = iota
	stepKey
	checksKey
)

// WithID returns a context whose requests belong to the trace id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceKey, id)
}

// ID returns the context's trace id, or "".
func ID(ctx context.Context) string {
	id, _ := ctx.Value(traceKey).(string)
	return id
}

type stepInfo struct{ label, explain string }

// WithStep names the requests made with ctx and says in a sentence what
// they are for.
func WithStep(ctx context.Context, label, explain string) context.Context {
	return context.WithValue(ctx, stepKey, stepInfo{label, explain})
}

type checkList struct {
	mu    sync.Mutex
	items []Check
}

func withChecks(ctx context.Context) (context.Context, *checkList) {
	l := &checkList{}
	return context.WithValue(ctx, checksKey, l), l
}

func record(ctx context.Context, c Check) {
	if l, ok := ctx.Value(checksKey).(*checkList); ok {
		l.mu.Lock()
		l.items = append(l.items, c)
		l.mu.Unlock()
	}
}

// Pass records a check that held.
func Pass(ctx context.Context, name string) { record(ctx, Check{Name: name, Passed: true}) }

// PassDetail records a check that held, with what it found.
func PassDetail(ctx context.Context, name, detail string) {
	record(ctx, Check{Name: name, Passed: true, Detail: detail})
}

// Fail records a check that did not hold; detail is public text.
func Fail(ctx context.Context, name, detail string) {
	record(ctx, Check{Name: name, Passed: false, Detail: detail})
}

// Store keeps one service's recent steps, by trace.
type Store struct {
	Service string
	Now     func() time.Time

	mu     sync.Mutex
	traces map[string][]Step
	order  []string // oldest trace first
}

// NewStore returns an empty store for the named service.
func NewStore(service string) *Store {
	return &Store{Service: service, Now: time.Now, traces: map[string][]Step{}}
}

func (s *Store) add(step Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	steps, seen := s.traces[step.Trace]
	if !seen {
		s.order = append(s.order, step.Trace)
		if len(s.order) > MaxTraces {
			delete(s.traces, s.order[0])
			s.order = s.order[1:]
		}
	}
	if len(steps) < MaxSteps {
		s.traces[step.Trace] = append(steps, step)
	}
}

// Steps returns the steps recorded for a trace, ready to read.
func (s *Store) Steps(id string) []Step {
	s.mu.Lock()
	defer s.mu.Unlock()
	steps := s.traces[id]
	// Made readable in place, under the lock, once: later readers share them.
	for i := range steps {
		steps[i].Request.prepare()
		steps[i].Response.prepare()
	}
	return append([]Step(nil), steps...)
}

// ServeHTTP answers GET /debug/trace/{id} with the trace's steps as JSON.
// They are redacted already: nothing here can be replayed.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	steps := s.Steps(id)
	if steps == nil {
		steps = []Step{}
	}
	_ = json.NewEncoder(w).Encode(steps)
}

// Label names a received request for the console by what it asks for.
func Label(r *http.Request, form map[string][]string) string {
	grant := ""
	if g := form["grant_type"]; len(g) > 0 {
		grant = g[0]
	}
	switch grant {
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		return "Token exchange: ID token → ID-JAG"
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		return "JWT bearer grant: ID-JAG → access token"
	case "authorization_code":
		return "Authorization code → tokens"
	case "refresh_token":
		return "Refresh token → fresh tokens"
	}
	return r.Method + " " + r.URL.Path
}

// WithStepDefault names the requests made with ctx unless a caller has
// named them already.
func WithStepDefault(ctx context.Context, label, explain string) context.Context {
	if _, ok := ctx.Value(stepKey).(stepInfo); ok {
		return ctx
	}
	return WithStep(ctx, label, explain)
}
