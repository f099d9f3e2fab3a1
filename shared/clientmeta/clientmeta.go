package clientmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"xaa.example/shared/jwks"
	"xaa.example/shared/oauth"
	"xaa.example/shared/recent"
)

// Limits on fetching a document. The draft suggests 5 kilobytes as the
// largest document an authorization server need accept (Maximum Response
// Size); a key set named by jwks_uri may be somewhat larger.
const (
	MaxDocumentBytes = 5 << 10
	MaxKeySetBytes   = 16 << 10
	FetchTimeout     = 3 * time.Second
	// A document is used for as long as its Cache-Control says, within
	// these bounds (Metadata Caching), and for DefaultCacheFor when it says
	// nothing; a document that could not be used is not asked for again
	// until FailureCacheFor has passed.
	MinCacheFor     = time.Minute
	DefaultCacheFor = 5 * time.Minute
	MaxCacheFor     = 24 * time.Hour
	FailureCacheFor = 30 * time.Second
	// MaxCached bounds the documents remembered, good and bad together.
	MaxCached = 1000
)

// Resolver is an oauth.ClientStore: registered clients first, then any
// client_id that is an https URL, resolved through its metadata document.
type Resolver struct {
	opts          Options
	public, local *http.Client
	cache         recent.Map[string, cached]
	fetching      singleflight.Group
}

// Options of a Resolver.
type Options struct {
	// Registered clients win, even when their id looks like a URL.
	Registered oauth.ClientStore
	// GrantTypes a client known only by its document may use, whatever
	// the document lists; the todo AS allows the jwt-bearer grant alone, as
	// a document cannot be trusted with redirect URIs no one checked.
	GrantTypes []string
	// LocalHosts are host:port pairs whose documents may be fetched over
	// plain http from a loopback or private address: local development
	// and tests. In production it stays empty.
	LocalHosts []string
	// Wrap, if set, wraps the transports the resolver builds (to trace
	// its fetches for the debug console).
	Wrap func(http.RoundTripper) http.RoundTripper
	// Timeout bounds each fetch, from dialling to the last byte;
	// FetchTimeout when zero.
	Timeout time.Duration
	Now     func() time.Time
}

type cached struct {
	client *oauth.Client
	err    *oauth.Error
	until  time.Time
}

// New returns a resolver.
func New(opts Options) *Resolver {
	if opts.Wrap == nil {
		opts.Wrap = func(rt http.RoundTripper) http.RoundTripper { return rt }
	}
	if opts.Timeout == 0 {
		opts.Timeout = FetchTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Resolver{opts: opts}
	r.cache.For, r.cache.Max = MaxCacheFor, MaxCached
	r.public = fetcher(opts, publicOnly)
	r.local = fetcher(opts, nil)
	return r
}

// fetcher is an HTTP client that never follows a redirect (Client
// Information Discovery: the document is at the client_id URL itself) and
// gives up after FetchTimeout. control, if set, vets each address dialled.
func fetcher(opts Options, control func(network, address string, c syscall.RawConn) error) *http.Client {
	dialer := &net.Dialer{Timeout: opts.Timeout, Control: control}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		// No proxy from the environment: a proxy would dial for us, out of
		// reach of the address check.
	}
	return &http.Client{
		Transport:     opts.Wrap(transport),
		Timeout:       opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// publicOnly refuses to connect to any address that is not a public
// unicast one: loopback, private networks, link-local (cloud metadata
// services live there), multicast and unspecified addresses are out of
// bounds (CIMD, Security Considerations, SSRF). It runs on the address
// actually dialled, so a name that resolves differently the second time
// gains nothing.
func publicOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("unexpected address %q", address)
	}
	ip := ap.Addr().Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return fmt.Errorf("%s is not a public address", ip)
	}
	return nil
}

// Client returns the registered client with id, or the client its
// metadata document describes when id is an https URL.
func (r *Resolver) Client(ctx context.Context, id string) (*oauth.Client, error) {
	c, err := r.opts.Registered.Client(ctx, id)
	if !errors.Is(err, oauth.ErrUnknownClient) {
		return c, err
	}
	if !strings.HasPrefix(id, "https://") && !strings.HasPrefix(id, "http://") {
		return nil, err
	}
	now := r.opts.Now()
	if hit, ok := r.cache.Get(id, now); ok && now.Before(hit.until) {
		return hit.client, errOrNil(hit.err)
	}
	// Concurrent requests for one document share one fetch, which no
	// single caller's going away cuts short (its outcome is cached).
	v, _, _ := r.fetching.Do(id, func() (any, error) {
		c, cacheFor, err := r.resolve(context.WithoutCancel(ctx), id)
		entry := cached{client: c, err: err, until: r.opts.Now().Add(cacheFor)}
		r.cache.Put(id, entry, r.opts.Now())
		return entry, nil
	})
	entry := v.(cached)
	return entry.client, errOrNil(entry.err)
}

func errOrNil(e *oauth.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// CheckSecret is always false for a client known by its document: such a
// client has no secret (Client Authentication: shared secrets are not
// allowed), and registered clients answer for themselves.
func (r *Resolver) CheckSecret(ctx context.Context, c *oauth.Client, secret string) bool {
	if _, err := r.opts.Registered.Client(ctx, c.ID); err != nil {
		return false
	}
	return r.opts.Registered.CheckSecret(ctx, c, secret)
}

// document is the part of the client metadata (RFC 7591 §2) read here.
type document struct {
	ClientID       string              `json:"client_id"`
	ClientName     string              `json:"client_name"`
	AuthMethod     string              `json:"token_endpoint_auth_method"`
	GrantTypes     []string            `json:"grant_types"`
	Scope          string              `json:"scope"`
	JWKS           *jose.JSONWebKeySet `json:"jwks"`
	JWKSURI        string              `json:"jwks_uri"`
	Secret         *string             `json:"client_secret"`
	SecretExpireAt *json.Number        `json:"client_secret_expires_at"`
}

// resolve fetches and checks the document at id. Its errors are
// invalid_client with a description the client's developer can act on.
func (r *Resolver) resolve(ctx context.Context, id string) (*oauth.Client, time.Duration, *oauth.Error) {
	fail := func(format string, args ...any) (*oauth.Client, time.Duration, *oauth.Error) {
		return nil, FailureCacheFor, oauth.InvalidClient("client metadata document %s: %s", id, fmt.Sprintf(format, args...))
	}
	if problem := r.checkURL(id); problem != "" {
		return fail("%s", problem)
	}
	var doc document
	header, problem := r.getJSON(ctx, id, MaxDocumentBytes, &doc)
	if problem != "" {
		return fail("%s", problem)
	}
	switch {
	case doc.ClientID != id:
		// Simple string comparison, no normalisation (Client ID Metadata
		// Document: the client_id property MUST match the URL).
		return fail("its client_id %q is not the URL it was fetched from", doc.ClientID)
	case doc.Secret != nil || doc.SecretExpireAt != nil:
		return fail("it must not carry a client_secret: a document is public")
	case doc.AuthMethod != oauth.AuthPrivateKeyJWT:
		// A client redeeming ID-JAGs is confidential (ID-JAG draft,
		// Cross-Domain Client ID Handling); with no secret, its proof is a
		// key.
		return fail("token_endpoint_auth_method must be %s, not %q", oauth.AuthPrivateKeyJWT, doc.AuthMethod)
	case (doc.JWKS == nil) == (doc.JWKSURI == ""):
		return fail("it must give its keys in exactly one of jwks and jwks_uri")
	}
	grants := slices.DeleteFunc(slices.Clone(doc.GrantTypes), func(g string) bool { return !slices.Contains(r.opts.GrantTypes, g) })
	if len(grants) == 0 {
		return fail("its grant_types %v include none this server allows a client known by its document (%s)", doc.GrantTypes, strings.Join(r.opts.GrantTypes, ", "))
	}
	keys := doc.JWKS
	if doc.JWKSURI != "" {
		if problem := r.checkURL(doc.JWKSURI); problem != "" {
			return fail("jwks_uri: %s", problem)
		}
		keys = &jose.JSONWebKeySet{}
		if _, problem := r.getJSON(ctx, doc.JWKSURI, MaxKeySetBytes, keys); problem != "" {
			return fail("jwks_uri %s: %s", doc.JWKSURI, problem)
		}
	}
	if len(keys.Keys) == 0 {
		return fail("it lists no keys")
	}
	for _, k := range keys.Keys {
		if !k.Valid() || !k.IsPublic() {
			return fail("key %q is not a valid public key", k.KeyID)
		}
	}
	c := &oauth.Client{ID: id, GrantTypes: grants, Keys: keys, Scopes: oauth.ParseScopes(doc.Scope)}
	return c, jwks.CacheFor(header, MinCacheFor, DefaultCacheFor, MaxCacheFor), nil
}

// checkURL applies the draft's rules for a client identifier URL (Client
// Identifier URL): https, a path, no fragment, no user information, no dot
// segments. Plain http is for LocalHosts alone.
func (r *Resolver) checkURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return "not an absolute URL"
	case u.Scheme != "https" && !(u.Scheme == "http" && r.isLocal(u.Host)):
		return "the URL must use https"
	case u.User != nil:
		return "the URL must not contain a user name or password"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "the URL must not contain a fragment"
	case u.Path == "" || u.Path == "/":
		return "the URL must have a path"
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return "the URL must not contain . or .. path segments"
		}
	}
	return ""
}

func (r *Resolver) isLocal(host string) bool { return slices.Contains(r.opts.LocalHosts, host) }

// getJSON fetches a JSON document of at most max bytes into out; it
// returns why not in words for the client, or "".
func (r *Resolver) getJSON(ctx context.Context, raw string, max int64, out any) (http.Header, string) {
	u, _ := url.Parse(raw)
	client := r.public
	if r.isLocal(u.Host) {
		client = r.local
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, "not a URL that can be fetched"
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		if timedOut(err) {
			return nil, fmt.Sprintf("no answer within %s", r.opts.Timeout)
		}
		return nil, "could not be fetched (this server fetches documents from public https addresses only)"
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Sprintf("answered with a redirect (%s); the document must be at the URL itself", resp.Status)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Sprintf("answered %s, not 200 OK", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil, fmt.Sprintf("Content-Type is %q, not application/json", mt)
	}
	if resp.ContentLength > max {
		return nil, fmt.Sprintf("larger than %d bytes", max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	switch {
	case timedOut(err):
		return nil, fmt.Sprintf("not sent within %s", r.opts.Timeout)
	case err != nil:
		return nil, "could not be read"
	case int64(len(body)) > max:
		return nil, fmt.Sprintf("larger than %d bytes", max)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return nil, "not a JSON object of client metadata"
	}
	return resp.Header, ""
}

func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
