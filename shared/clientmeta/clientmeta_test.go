package clientmeta

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

	"xaa.example/shared/oauth"
)

// site serves client metadata documents at paths the test sets.
type site struct {
	*httptest.Server
	hits  atomic.Int64
	pages map[string]http.HandlerFunc
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{pages: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if h, ok := s.pages[r.URL.Path]; ok {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func jsonPage(v any, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		_ = json.NewEncoder(w).Encode(v)
	}
}

func newKey(t *testing.T) jose.JSONWebKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: k, KeyID: "agent-1", Algorithm: string(jose.ES256), Use: "sig"}
}

// goodDocument is a valid document for the client at url with key's public half.
func goodDocument(url string, key jose.JSONWebKey) map[string]any {
	return map[string]any{
		"client_id":                  url,
		"client_name":                "Someone's agent",
		"token_endpoint_auth_method": "private_key_jwt",
		"grant_types":                []string{oauth.GrantJWTBearer},
		"jwks":                       jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.Public()}},
	}
}

func resolver(s *site, now func() time.Time) *Resolver {
	return New(Options{
		Registered: oauth.NewStaticClients(oauth.Client{ID: "wiki", Secret: "s", GrantTypes: []string{oauth.GrantJWTBearer}}),
		GrantTypes: []string{oauth.GrantJWTBearer},
		LocalHosts: []string{strings.TrimPrefix(s.URL, "http://")},
		Timeout:    300 * time.Millisecond,
		Now:        now,
	})
}

func TestResolvesADocument(t *testing.T) {
	s := newSite(t)
	key := newKey(t)
	id := s.URL + "/agent.json"
	s.pages["/agent.json"] = jsonPage(goodDocument(id, key), "Cache-Control", "max-age=120")
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := resolver(s, func() time.Time { return now })

	c, err := r.Client(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || !c.AllowsGrant(oauth.GrantJWTBearer) || c.AllowsGrant(oauth.GrantAuthorizationCode) || len(c.Keys.Keys) != 1 {
		t.Fatalf("client: %+v", c)
	}
	if r.CheckSecret(context.Background(), c, "") || r.CheckSecret(context.Background(), c, "anything") {
		t.Fatal("a client known by its document has no secret to check")
	}
	// Cached for the max-age the document gave, within bounds.
	now = now.Add(119 * time.Second)
	if _, err := r.Client(context.Background(), id); err != nil || s.hits.Load() != 1 {
		t.Fatalf("within max-age: %v, %d fetches", err, s.hits.Load())
	}
	now = now.Add(2 * time.Second)
	if _, err := r.Client(context.Background(), id); err != nil || s.hits.Load() != 2 {
		t.Fatalf("after max-age: %v, %d fetches", err, s.hits.Load())
	}

	// Registered clients win and keep their secrets.
	wiki, err := r.Client(context.Background(), "wiki")
	if err != nil || !r.CheckSecret(context.Background(), wiki, "s") {
		t.Fatalf("registered client: %v", err)
	}
	// An unknown id that is not a URL stays unknown, fetching nothing.
	if _, err := r.Client(context.Background(), "stranger"); !errors.Is(err, oauth.ErrUnknownClient) || s.hits.Load() != 2 {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestResolvesKeysByURI(t *testing.T) {
	s := newSite(t)
	key := newKey(t)
	id := s.URL + "/agent.json"
	doc := goodDocument(id, key)
	delete(doc, "jwks")
	doc["jwks_uri"] = s.URL + "/agent-keys.json"
	s.pages["/agent.json"] = jsonPage(doc)
	s.pages["/agent-keys.json"] = jsonPage(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.Public()}})
	c, err := resolver(s, time.Now).Client(context.Background(), id)
	if err != nil || len(c.Keys.Keys) != 1 || c.Keys.Keys[0].KeyID != "agent-1" {
		t.Fatalf("client %+v, %v", c, err)
	}
}

// TestRefusesBadDocuments: each row is a document, or an answer, that a
// server must not take as a client; the error says why.
func TestRefusesBadDocuments(t *testing.T) {
	key := newKey(t)
	s := newSite(t)
	base := s.URL
	doc := func(path string, change func(map[string]any)) http.HandlerFunc {
		d := goodDocument(base+path, key)
		change(d)
		return jsonPage(d)
	}
	s.pages["/target.json"] = jsonPage(goodDocument(base+"/target.json", key))
	rows := []struct {
		name string
		path string // served at base+path; id is base+path unless id is set
		id   string
		page http.HandlerFunc
		want string
	}{
		{name: "client_id differs", path: "/a", page: doc("/a", func(d map[string]any) { d["client_id"] = base + "/other" }), want: "is not the URL it was fetched from"},
		{name: "client_id differs by a trailing slash", path: "/b", page: doc("/b", func(d map[string]any) { d["client_id"] = base + "/b/" }), want: "is not the URL"},
		{name: "carries a secret", path: "/c", page: doc("/c", func(d map[string]any) { d["client_secret"] = "hunter2" }), want: "must not carry a client_secret"},
		{name: "carries a secret expiry", path: "/c2", page: doc("/c2", func(d map[string]any) { d["client_secret_expires_at"] = 0 }), want: "must not carry a client_secret"},
		{name: "secret authentication", path: "/d", page: doc("/d", func(d map[string]any) { d["token_endpoint_auth_method"] = "client_secret_basic" }), want: "must be private_key_jwt"},
		{name: "no authentication method", path: "/d2", page: doc("/d2", func(d map[string]any) { delete(d, "token_endpoint_auth_method") }), want: "must be private_key_jwt"},
		{name: "no keys", path: "/e", page: doc("/e", func(d map[string]any) { delete(d, "jwks") }), want: "exactly one of jwks and jwks_uri"},
		{name: "both jwks and jwks_uri", path: "/f", page: doc("/f", func(d map[string]any) { d["jwks_uri"] = base + "/keys" }), want: "exactly one of jwks and jwks_uri"},
		{name: "empty key set", path: "/g", page: doc("/g", func(d map[string]any) { d["jwks"] = map[string]any{"keys": []any{}} }), want: "lists no keys"},
		{name: "private key published", path: "/h", page: doc("/h", func(d map[string]any) { d["jwks"] = jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key}} }), want: "not a valid public key"},
		{name: "no grant this server allows", path: "/i", page: doc("/i", func(d map[string]any) { d["grant_types"] = []string{"authorization_code"} }), want: "include none this server allows"},
		{name: "no grant types", path: "/i2", page: doc("/i2", func(d map[string]any) { delete(d, "grant_types") }), want: "include none this server allows"},
		{name: "too large", path: "/j", page: doc("/j", func(d map[string]any) { d["client_name"] = strings.Repeat("x", MaxDocumentBytes) }), want: "larger than 5120 bytes"},
		{name: "too large, length not announced", path: "/k", page: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			for range 8 {
				_, _ = w.Write([]byte(strings.Repeat(" ", 1024)))
				w.(http.Flusher).Flush()
			}
		}, want: "larger than 5120 bytes"},
		{name: "slow to answer", path: "/l", page: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}, want: "within 300ms"},
		{name: "slow to send", path: "/l2", page: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{"))
			w.(http.Flusher).Flush()
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}, want: "within 300ms"},
		{name: "redirect", path: "/m", page: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/target.json", http.StatusFound)
		}, want: "answered with a redirect (302 Found)"},
		{name: "permanent redirect", path: "/m2", page: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/target.json", http.StatusPermanentRedirect)
		}, want: "answered with a redirect"},
		{name: "not found", path: "/n", want: "answered 404 Not Found"},
		{name: "not JSON", path: "/o", page: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>"))
		}, want: `Content-Type is 'text/html'`},
		{name: "malformed JSON", path: "/p", page: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"client_id": `))
		}, want: "not a JSON object"},
		{name: "http to a host not named local", id: strings.Replace(base, "127.0.0.1", "localhost", 1) + "/q", want: "must use https"},
		{name: "fragment", id: base + "/r#frag", want: "must not contain a fragment"},
		{name: "user information", id: strings.Replace(base, "http://", "http://me:pw@", 1) + "/s", want: "user name or password"},
		{name: "dot segment", id: base + "/a/../target.json", want: ". or .. path segments"},
		{name: "no path", id: base + "/", want: "must have a path"},
		// A loopback address over https is a private target: the dial is
		// refused before anything is sent.
		{name: "https to a loopback address", id: "https://127.0.0.1:1/agent.json", want: "public https addresses only"},
		{name: "https to a link-local address", id: "https://169.254.169.254/latest/meta-data", want: "public https addresses only"},
	}
	for _, row := range rows {
		if row.page != nil {
			s.pages[row.path] = row.page
		}
	}
	r := resolver(s, time.Now)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			id := row.id
			if id == "" {
				id = base + row.path
			}
			c, err := r.Client(context.Background(), id)
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != "invalid_client" || !strings.Contains(oe.Description, row.want) {
				t.Fatalf("client %v, error %v; want invalid_client saying %q", c, err, row.want)
			}
		})
	}
	// The redirects were not followed.
	if s.pages["/target.json"] != nil {
		before := s.hits.Load()
		_, _ = resolver(s, time.Now).Client(context.Background(), base+"/m")
		if s.hits.Load() != before+1 {
			t.Fatalf("a redirect was followed: %d fetches for one", s.hits.Load()-before)
		}
	}
}

// TestFailuresAreRemembered: a document that could not be used is not
// fetched again for FailureCacheFor, however often it is asked for.
func TestFailuresAreRemembered(t *testing.T) {
	s := newSite(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := resolver(s, func() time.Time { return now })
	id := s.URL + "/missing.json"
	for range 20 {
		if _, err := r.Client(context.Background(), id); err == nil {
			t.Fatal("a missing document was accepted")
		}
	}
	if s.hits.Load() != 1 {
		t.Fatalf("%d fetches of a failing document within %s; want 1", s.hits.Load(), FailureCacheFor)
	}
	now = now.Add(FailureCacheFor)
	_, _ = r.Client(context.Background(), id)
	if s.hits.Load() != 2 {
		t.Fatalf("%d fetches after %s; want 2", s.hits.Load(), FailureCacheFor)
	}
}
