package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fakeIssuer serves discovery and a JWKS whose keys the test can change.
type fakeIssuer struct {
	srv        *httptest.Server
	keys       atomic.Pointer[jose.JSONWebKeySet]
	jwksHits   atomic.Int32
	wrongIssue bool
	// cacheControl is the JWKS response's Cache-Control header.
	cacheControl atomic.Pointer[string]
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	f := &fakeIssuer{}
	f.keys.Store(&jose.JSONWebKeySet{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			iss := f.srv.URL
			if f.wrongIssue {
				iss += "/"
			}
			json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": f.srv.URL + "/keys"})
		case "/keys":
			f.jwksHits.Add(1)
			if cc := f.cacheControl.Load(); cc != nil {
				w.Header().Set("Cache-Control", *cc)
			}
			json.NewEncoder(w).Encode(f.keys.Load())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func publicKey(t *testing.T, kid string) jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}
}

func TestRemote(t *testing.T) {
	ctx := context.Background()
	f := newFakeIssuer(t)
	f.keys.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{publicKey(t, "k1")}})
	now := time.Now()
	r := NewRemote(f.srv.URL, f.srv.Client())
	r.Now = func() time.Time { return now }

	if k, err := r.Key(ctx, "k1"); err != nil || k.KeyID != "k1" {
		t.Fatalf("first key: %v %v", k, err)
	}
	if _, err := r.Key(ctx, "k1"); err != nil || f.jwksHits.Load() != 1 {
		t.Fatalf("cached key fetched again: %d fetches, err %v", f.jwksHits.Load(), err)
	}

	// A rotated key appears; a token with its kid triggers one refetch, but
	// only after MinRefresh since the last fetch.
	f.keys.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{publicKey(t, "k1"), publicKey(t, "k2")}})
	if _, err := r.Key(ctx, "k2"); !errors.Is(err, ErrUnknownKey) || f.jwksHits.Load() != 1 {
		t.Fatalf("within MinRefresh: err %v after %d fetches, want ErrUnknownKey without a fetch", err, f.jwksHits.Load())
	}
	now = now.Add(DefaultMinRefresh + time.Second)
	if k, err := r.Key(ctx, "k2"); err != nil || k.KeyID != "k2" || f.jwksHits.Load() != 2 {
		t.Fatalf("after MinRefresh: %v %v, %d fetches", k, err, f.jwksHits.Load())
	}

	// A flood of made-up kids costs at most one fetch per MinRefresh.
	now = now.Add(DefaultMinRefresh + time.Second)
	for i := range 50 {
		_, _ = r.Key(ctx, "made-up-"+string(rune('a'+i%26)))
	}
	if f.jwksHits.Load() != 3 {
		t.Fatalf("%d fetches for a flood of unknown kids, want 3", f.jwksHits.Load())
	}
	if _, err := r.Key(ctx, ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("empty kid: %v", err)
	}
}

func TestDiscoverRequiresTheExactIssuer(t *testing.T) {
	f := newFakeIssuer(t)
	f.wrongIssue = true
	if _, err := Discover(context.Background(), f.srv.Client(), f.srv.URL); err == nil {
		t.Fatal("a discovery document for another issuer (trailing slash) was accepted")
	}
}

// downTransport fails every request and counts them.
type downTransport struct{ calls atomic.Int32 }

func (d *downTransport) RoundTrip(*http.Request) (*http.Response, error) {
	d.calls.Add(1)
	return nil, errors.New("connection refused")
}

func TestRemoteIssuerDown(t *testing.T) {
	down := &downTransport{}
	now := time.Now()
	r := NewRemote("https://idp.test", &http.Client{Transport: down})
	r.Now = func() time.Time { return now }
	for range 20 {
		if _, err := r.Key(context.Background(), "k1"); err == nil || errors.Is(err, ErrUnknownKey) {
			t.Fatalf("got %v, want the fetch error", err)
		}
	}
	// Discovery tries its two well-known paths once; then the backoff holds.
	if n := down.calls.Load(); n != 2 {
		t.Fatalf("%d requests to a down issuer, want 2 (one attempt)", n)
	}
	now = now.Add(FailureBackoff + time.Millisecond)
	_, _ = r.Key(context.Background(), "k1")
	if n := down.calls.Load(); n != 4 {
		t.Fatalf("%d requests after the backoff, want 4 (a second attempt)", n)
	}
}

// slowTransport answers the JWKS only when released, to hold a fetch open.
type slowTransport struct {
	base    http.RoundTripper
	release chan struct{}
	entered chan struct{} // receives when a JWKS fetch is held
}

func (s *slowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/keys") {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-s.release:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return s.base.RoundTrip(req)
}

// TestKnownKeyDoesNotWaitForAFetch: while a fetch for an unknown kid is
// held open by a slow issuer, a known kid is still answered.
func TestKnownKeyDoesNotWaitForAFetch(t *testing.T) {
	f := newFakeIssuer(t)
	f.keys.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{publicKey(t, "k1")}})
	slow := &slowTransport{base: http.DefaultTransport, release: make(chan struct{}), entered: make(chan struct{}, 1)}
	now := time.Now()
	r := NewRemote(f.srv.URL, &http.Client{Transport: slow})
	r.Now = func() time.Time { return now }
	close(slow.release) // the first fetch goes through
	if _, err := r.Key(context.Background(), "k1"); err != nil {
		t.Fatal(err)
	}
	<-slow.entered
	slow.release = make(chan struct{})
	now = now.Add(DefaultMinRefresh + time.Second)

	fetching := make(chan struct{})
	go func() {
		defer close(fetching)
		_, _ = r.Key(context.Background(), "unknown") // blocks in the slow fetch
	}()
	<-slow.entered // the unknown kid's fetch is now held open
	known := make(chan error, 1)
	go func() {
		_, err := r.Key(context.Background(), "k1")
		known <- err
	}()
	select {
	case err := <-known:
		if err != nil {
			t.Fatalf("known kid: %v", err)
		}
	case <-fetching:
		t.Fatal("the known kid was answered only after the slow fetch ended")
	case <-time.After(5 * time.Second):
		t.Fatal("a known kid waited for a fetch of an unknown one")
	}
	close(slow.release)
	<-fetching
}

// TestWithdrawnKeyStopsWorking: a key the issuer withdraws from its JWKS is
// trusted only until the set's max-age has passed and a background fetch
// has seen it gone; meanwhile verification never waits for that fetch.
func TestWithdrawnKeyStopsWorking(t *testing.T) {
	ctx := context.Background()
	f := newFakeIssuer(t)
	cc := "public, max-age=60"
	f.cacheControl.Store(&cc)
	f.keys.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{publicKey(t, "k1")}})
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	r := NewRemote(f.srv.URL, f.srv.Client())
	r.Now = func() time.Time { return time.Unix(0, now.Load()) }
	if _, err := r.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	f.keys.Store(&jose.JSONWebKeySet{Keys: []jose.JSONWebKey{publicKey(t, "k2")}})

	now.Add(int64(59 * time.Second))
	if _, err := r.Key(ctx, "k1"); err != nil || f.jwksHits.Load() != 1 {
		t.Fatalf("within max-age: %v after %d fetches; want the cached key, no fetch", err, f.jwksHits.Load())
	}
	now.Add(int64(2 * time.Second))
	if _, err := r.Key(ctx, "k1"); err != nil {
		t.Fatalf("just past max-age the cached key must still answer at once: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := r.Key(ctx, "k1")
		if errors.Is(err, ErrUnknownKey) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the withdrawn key still works after the background fetch (%d fetches)", f.jwksHits.Load())
		}
		time.Sleep(5 * time.Millisecond) // waiting for the background fetch, not for time to pass
	}
	if n := f.jwksHits.Load(); n != 2 {
		t.Errorf("%d fetches, want 2: one background refresh", n)
	}
}

func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"":                         DefaultMaxAge,
		"public, max-age=600":      10 * time.Minute,
		"max-age=1":                MinMaxAge,
		"max-age=99999999":         MaxMaxAge,
		"no-store":                 MinMaxAge,
		"max-age=nonsense":         DefaultMaxAge,
		"Public, Max-Age=120, x=y": 2 * time.Minute,
	} {
		h := http.Header{}
		if cc != "" {
			h.Set("Cache-Control", cc)
		}
		if got := maxAge(h); got != want {
			t.Errorf("Cache-Control %q: %v, want %v", cc, got, want)
		}
	}
}
