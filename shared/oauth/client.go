package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
)

// Client is a registered OAuth client.
type Client struct {
	ID string
	// Secret is the shared secret for client_secret_basic and
	// client_secret_post. Only its SHA-256 is kept once registered.
	Secret       string
	RedirectURIs []string
	GrantTypes   []string
	// Scopes the client may be granted; empty means no restriction beyond the
	// grant's own policy.
	Scopes []string
}

// AllowsGrant reports whether the client is registered for grantType.
func (c *Client) AllowsGrant(grantType string) bool { return slices.Contains(c.GrantTypes, grantType) }

// AllowsRedirect compares redirect URIs by exact string match (RFC 9700 §4.1.3).
func (c *Client) AllowsRedirect(uri string) bool { return slices.Contains(c.RedirectURIs, uri) }

// ClientStore looks clients up by id. It returns ErrUnknownClient when there
// is no such client.
type ClientStore interface {
	Client(ctx context.Context, id string) (*Client, error)
	// CheckSecret compares a presented secret with the registered one in
	// constant time.
	CheckSecret(ctx context.Context, c *Client, secret string) bool
}

// ErrUnknownClient is returned by a ClientStore for an unregistered id.
var ErrUnknownClient = errors.New("unknown client")

// StaticClients is a ClientStore over a fixed list, as the demo configures
// its clients. Secrets are hashed on construction.
type StaticClients struct {
	clients map[string]*Client
	hashes  map[string][32]byte
}

// NewStaticClients registers the given clients.
func NewStaticClients(clients ...Client) *StaticClients {
	s := &StaticClients{clients: map[string]*Client{}, hashes: map[string][32]byte{}}
	for _, c := range clients {
		c := c
		if c.Secret != "" {
			s.hashes[c.ID] = sha256.Sum256([]byte(c.Secret))
		}
		c.Secret = ""
		s.clients[c.ID] = &c
	}
	return s
}

func (s *StaticClients) Client(_ context.Context, id string) (*Client, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, ErrUnknownClient
	}
	return c, nil
}

func (s *StaticClients) CheckSecret(_ context.Context, c *Client, secret string) bool {
	want, ok := s.hashes[c.ID]
	if !ok || secret == "" {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// AuthenticateClient authenticates the caller of the token endpoint with
// client_secret_basic (RFC 6749 §2.3.1, preferred) or client_secret_post.
// Using both at once is refused, as the RFC allows only one method.
func AuthenticateClient(ctx context.Context, store ClientStore, r *http.Request, form url.Values) (*Client, error) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// The Basic credentials are form-urlencoded first (RFC 6749 §2.3.1).
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, InvalidClient("malformed Basic credentials")
		}
		if form.Has("client_secret") {
			return nil, InvalidRequest("use one client authentication method, not Basic and client_secret together")
		}
		if fid := form.Get("client_id"); fid != "" && fid != id {
			return nil, InvalidClient("client_id does not match the Basic credentials")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" {
		return nil, InvalidClient("client authentication is required")
	}
	c, err := store.Client(ctx, id)
	if errors.Is(err, ErrUnknownClient) {
		return nil, InvalidClient("client authentication failed")
	}
	if err != nil {
		return nil, ServerError(err)
	}
	if !store.CheckSecret(ctx, c, secret) {
		return nil, InvalidClient("client authentication failed")
	}
	return c, nil
}
