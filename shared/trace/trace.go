package trace

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
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

// CheckID names one check a server makes. The package that makes the
// check declares its ID; the debug console knows what each means and its
// number in docs/PROTOCOL.md. Here a check is only recorded.
type CheckID string

// Check is one thing a server checked, and whether it held.
type Check struct {
	ID     CheckID `json:"id"`
	Passed bool    `json:"passed"`
	Detail string  `json:"detail,omitempty"`
}

// Step is one HTTP exchange, as its sender (client side) or its receiver
// (server side) saw it.
type Step struct {
	Trace   string `json:"trace"`
	Service string `json:"service"` // who recorded it
	Side    string `json:"side"`    // "server" or "client"
	From    string `json:"from"`
	To      string `json:"to"`
	// StepID is what the sender made the request for, and Vars the values
	// its words need (WithStep); the console says it in words.
	StepID StepID   `json:"step,omitempty"`
	Vars   []string `json:"vars,omitempty"`
	// Label names a received request by what it asks for (Label), when no
	// sender named it.
	Label    string        `json:"label,omitempty"`
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

type stepInfo struct {
	id   StepID
	vars []string
}

// WithStep says what the requests made with ctx are for: a step of the
// chain, and the values its words need.
func WithStep(ctx context.Context, id StepID, vars ...string) context.Context {
	return context.WithValue(ctx, stepKey, stepInfo{id, vars})
}

type checkList struct {
	mu    sync.Mutex
	items []Check
	// shown are tokens the handler holds that the request did not carry
	// (Show).
	shown []Token
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
func Pass(ctx context.Context, id CheckID) { record(ctx, Check{ID: id, Passed: true}) }

// PassDetail records a check that held, with what it found.
func PassDetail(ctx context.Context, id CheckID, detail string) {
	record(ctx, Check{ID: id, Passed: true, Detail: detail})
}

// Fail records a check that did not hold; detail is public text.
func Fail(ctx context.Context, id CheckID, detail string) {
	record(ctx, Check{ID: id, Passed: false, Detail: detail})
}

// Show records, with the request being served, a token the handler holds
// and used for it though the request did not carry it: the SAML assertion
// of a person's sign-in, behind the IdP refresh token a relay presents.
// The console shows it with the request's tokens, as redacted as they are
// (a SAML assertion base64url, or a JWT); where says what it is.
func Show(ctx context.Context, where, token string) {
	l, ok := ctx.Value(checksKey).(*checkList)
	if !ok || token == "" {
		return
	}
	var m Message
	if strings.Count(token, ".") == 2 {
		m.token(where, token)
	} else {
		m.samlAssertion(where, token)
	}
	l.mu.Lock()
	l.shown = append(l.shown, m.Tokens...)
	l.mu.Unlock()
}

// Recording returns a context that collects the checks made with it, and
// a function that returns them in the order they were made: how a test
// asserts which check refused.
func Recording(ctx context.Context) (context.Context, func() []Check) {
	ctx, l := withChecks(ctx)
	return ctx, func() []Check {
		l.mu.Lock()
		defer l.mu.Unlock()
		return append([]Check(nil), l.items...)
	}
}

// Store keeps one service's recent steps, by trace.
type Store struct {
	Service string
	Now     func() time.Time
	// Key authenticates the console to ServeHTTP; without one, no one
	// can read the steps over HTTP.
	Key []byte

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

// ServeHTTP answers GET /debug/trace/{id} with the trace's steps as JSON,
// to the debug console alone: the request must carry the run's proof
// (Proof, in the Authorization header), made with the key the console and
// every service share. A store with no key answers no one. The steps are
// redacted already, but they still say who did what: a person's email,
// their todos' titles.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !s.authorized(r.Header.Get("Authorization"), id) {
		w.Header().Set("WWW-Authenticate", AuthScheme)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"unauthorized","error_description":"only the debug console may read a run's steps"}` + "\n"))
		return
	}
	steps := s.Steps(id)
	if steps == nil {
		steps = []Step{}
	}
	_ = json.NewEncoder(w).Encode(steps)
}

// AuthScheme names the console's credential in the Authorization header.
const AuthScheme = "XAA-Trace"

// Proof is what the console sends to read trace id's steps: an HMAC-SHA256
// of the id under the shared key, so a proof seen for one run opens no
// other, and the key itself never travels.
func Proof(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("xaa-trace:" + id))
	return AuthScheme + " " + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Store) authorized(header, id string) bool {
	if len(s.Key) == 0 || id == "" {
		return false
	}
	return hmac.Equal([]byte(header), []byte(Proof(s.Key, id)))
}

// Label names a received request for the console by what it asks for:
// the grant of a token request, the JSON-RPC method of an MCP request,
// the metadata or keys a well-known address serves.
func Label(r *http.Request, body []byte) string {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		// MCP speaks JSON-RPC over one endpoint: the method says what a
		// POST is (a batch, or anything else, keeps its path).
		var rpc struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &rpc) == nil && rpc.Method != "" {
			if rpc.Params.Name != "" {
				return "MCP " + rpc.Method + " " + rpc.Params.Name
			}
			return "MCP " + rpc.Method
		}
	}
	form, _ := url.ParseQuery(string(body))
	switch form.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		return "Token exchange: ID token → ID-JAG"
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		return "JWT bearer grant: ID-JAG → access token"
	case "authorization_code":
		return "Authorization code → tokens"
	case "refresh_token":
		return "Refresh token → fresh tokens"
	}
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/.well-known/oauth-protected-resource"):
		return "Protected resource metadata (RFC 9728)"
	case strings.HasPrefix(p, "/.well-known/oauth-authorization-server"), strings.HasSuffix(p, "/.well-known/openid-configuration"):
		return "Authorization server metadata"
	case r.Method == http.MethodGet && (strings.HasSuffix(p, "/jwks") || strings.HasSuffix(p, "/keys")):
		return "Signing keys (JWKS)"
	}
	return r.Method + " " + r.URL.Path
}

// WithStepDefault says what the requests made with ctx are for, unless a
// caller has said it already.
func WithStepDefault(ctx context.Context, id StepID, vars ...string) context.Context {
	if _, ok := ctx.Value(stepKey).(stepInfo); ok {
		return ctx
	}
	return WithStep(ctx, id, vars...)
}
