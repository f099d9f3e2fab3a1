package trace

import (
	"bytes"
	"io"
	"net/http"
)

// Middleware records every traced request the service receives: the
// request and response as on the wire, redacted, and the checks the
// handler made. Untraced requests pass through untouched.
func (s *Store) Middleware(next http.Handler) http.Handler {
	return s.middleware(Label)(next)
}

func (s *Store) middleware(label func(r *http.Request, body []byte) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(HeaderTrace)
			if id == "" || len(id) > 64 {
				next.ServeHTTP(w, r)
				return
			}
			var body []byte
			if r.Body != nil {
				body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			ctx, checks := withChecks(WithID(r.Context(), id))
			w.Header().Set(HeaderService, s.Service)
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			start := s.Now()
			next.ServeHTTP(rec, r.WithContext(ctx))

			step := Step{
				Trace: id, Service: s.Service, Side: "server", From: r.Header.Get(HeaderFrom), To: s.Service,
				Method: r.Method, URL: r.URL.Path, Status: rec.status, Start: start, Duration: s.Now().Sub(start),
				Request:  redactMessage(r.Header, limit(body), r.Header.Get("Content-Type")),
				Response: redactMessage(rec.Header(), limit(rec.body.Bytes()), rec.Header().Get("Content-Type")),
			}
			if label != nil {
				step.Label = label(r, body)
			}
			checks.mu.Lock()
			step.Checks = append([]Check(nil), checks.items...)
			step.Request.Tokens = append(step.Request.Tokens, checks.shown...)
			checks.mu.Unlock()
			s.add(step)
		})
	}
}

// recorder keeps a copy of what a handler writes, up to MaxBodyBytes.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if room := MaxBodyBytes - r.body.Len(); room > 0 {
		r.body.Write(b[:min(len(b), room)])
	}
	return r.ResponseWriter.Write(b)
}

// Flush lets streaming responses through.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func limit(b []byte) []byte {
	if len(b) > MaxBodyBytes {
		return b[:MaxBodyBytes]
	}
	return b
}

// Transport carries the trace to the services this one calls, and records
// each traced request it sends (the client side; the answering service
// records the server side, with its checks). Untraced requests pass
// through untouched.
func (s *Store) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{store: s, base: base}
}

type transport struct {
	store *Store
	base  http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	id := ID(req.Context())
	if id == "" {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set(HeaderTrace, id)
	req.Header.Set(HeaderFrom, t.store.Service)

	info, _ := req.Context().Value(stepKey).(stepInfo)
	step := Step{
		Trace: id, Service: t.store.Service, Side: "client", From: t.store.Service, To: req.URL.Host,
		StepID: info.id, Vars: info.vars, Method: req.Method, URL: req.URL.String(), Start: t.store.Now(),
	}
	var body []byte
	if req.Body != nil && req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, _ = io.ReadAll(io.LimitReader(rc, MaxBodyBytes))
			rc.Close()
		}
	}
	step.Request = redactMessage(req.Header, body, req.Header.Get("Content-Type"))

	resp, err := t.base.RoundTrip(req)
	step.Duration = t.store.Now().Sub(step.Start)
	if err != nil {
		step.Err = err.Error()
		t.store.add(step)
		return nil, err
	}
	answer, readErr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if readErr != nil {
		step.Err = readErr.Error()
	}
	if svc := resp.Header.Get(HeaderService); svc != "" {
		step.To = svc
	}
	step.Status = resp.StatusCode
	step.Response = redactMessage(resp.Header, limit(answer), resp.Header.Get("Content-Type"))
	t.store.add(step)
	return resp, nil
}

// Wrap records the traced requests h receives; with no store (the console
// turned off), h is returned as it is.
func (s *Store) Wrap(h http.Handler) http.Handler {
	if s == nil {
		return h
	}
	return s.Middleware(h)
}

// Client returns a copy of c whose requests carry and record traces; with
// no store, c itself.
func (s *Store) Client(c *http.Client) *http.Client {
	if s == nil {
		return c
	}
	traced := *c
	traced.Transport = s.Transport(c.Transport)
	return &traced
}
