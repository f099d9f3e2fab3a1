package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
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
	keysMu sync.RWMutex
	keys   jose.JSONWebKeySet

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
// not cached and the last fetch is older than MinRefresh.
func (r *Remote) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	if k := r.cached(kid); k != nil {
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
	r.keysMu.RLock()
	defer r.keysMu.RUnlock()
	return find(r.keys, kid)
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
	if err := getJSON(ctx, r.Client, r.jwksURI, &set); err != nil {
		return fmt.Errorf("fetch JWKS of %s: %w", r.Issuer, err)
	}
	r.keysMu.Lock()
	r.keys = set
	r.keysMu.Unlock()
	return nil
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
