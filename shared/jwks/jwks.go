package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

// Metadata is what this project reads of an authorization server's
// metadata (RFC 8414 §2, OpenID Connect Discovery §3): its keys here, its
// endpoints for the clients (signin).
type Metadata struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint"`
	EndSessionEndpoint       string   `json:"end_session_endpoint"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	IDTokenSigningAlgs       []string `json:"id_token_signing_alg_values_supported"`
	// ClientIDMetadataDocuments: the server takes an https URL as a
	// client_id (draft-ietf-oauth-client-id-metadata-document).
	ClientIDMetadataDocuments bool `json:"client_id_metadata_document_supported"`
	// Source is the address the document was read from.
	Source string `json:"-"`
}

// metadataURLs are where an issuer's metadata may be: RFC 8414 §3.1 first
// (the well-known part goes between host and path), then OpenID Connect
// Discovery §4 (appended to the issuer), and, for issuers with a path,
// RFC 8414's name appended as many deployments serve it.
func metadataURLs(issuer string) []string {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil
	}
	path := strings.TrimSuffix(u.Path, "/")
	base := u.Scheme + "://" + u.Host
	urls := []string{base + "/.well-known/oauth-authorization-server" + path, strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"}
	if path != "" {
		urls = append(urls, strings.TrimSuffix(issuer, "/")+"/.well-known/oauth-authorization-server")
	}
	return urls
}

// Discover reads the issuer's metadata from the first address that answers
// with a document for this very issuer (RFC 8414 §3.3: the issuer in the
// document must equal the one asked for, to the byte).
func Discover(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	var problems []string
	for _, addr := range metadataURLs(issuer) {
		var md Metadata
		if err := getJSON(ctx, client, addr, &md); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if md.Issuer != issuer {
			problems = append(problems, fmt.Sprintf("%s names issuer %q, not %q", addr, md.Issuer, issuer))
			continue
		}
		md.Source = addr
		return &md, nil
	}
	return nil, fmt.Errorf("discovery of %s: %s", issuer, strings.Join(problems, "; "))
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
		if md.JWKSURI == "" {
			return fmt.Errorf("discovery of %s has no jwks_uri", r.Issuer)
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

// maxAge is how long a key set response may be used.
func maxAge(h http.Header) time.Duration {
	return CacheFor(h, MinMaxAge, DefaultMaxAge, MaxMaxAge)
}

// CacheFor is how long a response may be used: its Cache-Control max-age
// within [floor, ceiling]; floor for no-cache or no-store; fallback when it
// says nothing.
func CacheFor(h http.Header, floor, fallback, ceiling time.Duration) time.Duration {
	age := fallback
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-cache" || d == "no-store":
			return floor
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age=")); err == nil && n >= 0 {
				age = time.Duration(n) * time.Second
			}
		}
	}
	return min(ceiling, max(floor, age))
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
