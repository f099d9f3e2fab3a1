package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DefaultMinRefresh is how long an unknown kid waits before another fetch.
const DefaultMinRefresh = 30 * time.Second

// FailureBackoff is how long a failed fetch waits before the next try:
// short, so a restarted issuer is seen soon, but a down issuer is not
// asked on every request.
const FailureBackoff = 2 * time.Second

// How long a fetched key set is fresh: the response's Cache-Control max-age
// (RFC 9111 §5.2.2.1), within these bounds, or DefaultMaxAge without one. A
// key the issuer withdraws is trusted no longer than that (plus one fetch).
const (
	DefaultMaxAge = 5 * time.Minute
	MinMaxAge     = 30 * time.Second
	MaxMaxAge     = 24 * time.Hour
)

// ErrUnknownKey is returned when the issuer's JWKS has no key with the kid.
var ErrUnknownKey = errors.New("no key with that kid in the issuer's JWKS")

// Metadata is the part of an authorization server's discovery document that
// this repository reads (RFC 8414 §2).
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

// Discover reads the issuer's metadata: first OpenID Connect discovery, then
// RFC 8414's well-known path. The issuer in the document must equal the
// issuer asked for, to the byte (RFC 8414 §3.3).
func Discover(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	base := strings.TrimSuffix(issuer, "/")
	var lastErr error
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		var md Metadata
		if err := getJSON(ctx, client, base+path, &md); err != nil {
			lastErr = err
			continue
		}
		if md.Issuer != issuer {
			return nil, fmt.Errorf("discovery of %s returned issuer %q", issuer, md.Issuer)
		}
		if md.JWKSURI == "" {
			return nil, fmt.Errorf("discovery of %s has no jwks_uri", issuer)
		}
		return &md, nil
	}
	return nil, fmt.Errorf("discovery of %s: %w", issuer, lastErr)
}

func getJSON(ctx context.Context, client *http.Client, url string, out any) error {
	_, err := getJSONHeader(ctx, client, url, out)
	return err
}

func getJSONHeader(ctx context.Context, client *http.Client, url string, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Header, json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// Remote is the cached key set of one issuer.
type Remote struct {
	Issuer     string
	Client     *http.Client
	MinRefresh time.Duration
	Now        func() time.Time

	// keysMu guards keys; it is held only to read or swap them, so that
	// tokens with a known kid never wait for a fetch. fetchMu serialises
	// fetches and guards the fields below it.
	keysMu     sync.RWMutex
	keys       jose.JSONWebKeySet
	freshUntil time.Time

	fetchMu     sync.Mutex
	jwksURI     string
	lastAttempt time.Time
	lastErr     error
}

// NewRemote returns the key set of issuer; nothing is fetched until a key is
// needed, so a server starts even while the issuer is down.
func NewRemote(issuer string, client *http.Client) *Remote {
	return &Remote{Issuer: issuer, Client: client, MinRefresh: DefaultMinRefresh, Now: time.Now}
}

// Key returns the key with the given kid, fetching the JWKS when the kid is
// not cached and the last fetch is older than MinRefresh. A cached key is
// returned at once; when the set has gone stale (its max-age passed) it is
// fetched again in the background, so that a withdrawn key stops working
// without a verification ever waiting for the issuer.
func (r *Remote) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	if k, stale := r.cachedKey(kid); k != nil {
		if stale {
			go r.refreshStale()
		}
		return k, nil
	}
	r.fetchMu.Lock()
	defer r.fetchMu.Unlock()
	// Another caller may have fetched while this one waited.
	if k := r.cached(kid); k != nil {
		return k, nil
	}
	now := r.Now()
	if !r.lastAttempt.IsZero() {
		wait := r.MinRefresh
		if r.lastErr != nil {
			wait = FailureBackoff
		}
		if now.Sub(r.lastAttempt) < wait {
			if r.lastErr != nil {
				return nil, r.lastErr
			}
			return nil, ErrUnknownKey
		}
	}
	r.lastAttempt = now
	r.lastErr = r.refresh(ctx)
	if r.lastErr != nil {
		return nil, r.lastErr
	}
	if k := r.cached(kid); k != nil {
		return k, nil
	}
	return nil, ErrUnknownKey
}

func (r *Remote) cached(kid string) *jose.JSONWebKey {
	k, _ := r.cachedKey(kid)
	return k
}

func (r *Remote) cachedKey(kid string) (key *jose.JSONWebKey, stale bool) {
	r.keysMu.RLock()
	defer r.keysMu.RUnlock()
	return find(r.keys, kid), r.Now().After(r.freshUntil)
}

// refreshStale fetches the set again unless a fetch is under way or one was
// tried within FailureBackoff.
func (r *Remote) refreshStale() {
	if !r.fetchMu.TryLock() {
		return
	}
	defer r.fetchMu.Unlock()
	now := r.Now()
	r.keysMu.RLock()
	stale := now.After(r.freshUntil)
	r.keysMu.RUnlock()
	if !stale || now.Sub(r.lastAttempt) < FailureBackoff {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.lastAttempt = now
	r.lastErr = r.refresh(ctx)
}

func (r *Remote) refresh(ctx context.Context) error {
	if r.jwksURI == "" {
		md, err := Discover(ctx, r.Client, r.Issuer)
		if err != nil {
			return err
		}
		r.jwksURI = md.JWKSURI
	}
	var set jose.JSONWebKeySet
	header, err := getJSONHeader(ctx, r.Client, r.jwksURI, &set)
	if err != nil {
		return fmt.Errorf("fetch JWKS of %s: %w", r.Issuer, err)
	}
	r.keysMu.Lock()
	r.keys = set
	r.freshUntil = r.Now().Add(maxAge(header))
	r.keysMu.Unlock()
	return nil
}

// maxAge is how long a response may be used: its Cache-Control max-age
// within [MinMaxAge, MaxMaxAge]; MinMaxAge for no-cache or no-store;
// DefaultMaxAge when it says nothing.
func maxAge(h http.Header) time.Duration {
	age := DefaultMaxAge
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-cache" || d == "no-store":
			return MinMaxAge
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age=")); err == nil && n >= 0 {
				age = time.Duration(n) * time.Second
			}
		}
	}
	return min(MaxMaxAge, max(MinMaxAge, age))
}

func find(set jose.JSONWebKeySet, kid string) *jose.JSONWebKey {
	if kid == "" {
		return nil
	}
	for i := range set.Keys {
		if set.Keys[i].KeyID == kid && set.Keys[i].Use != "enc" {
			return &set.Keys[i]
		}
	}
	return nil
}
