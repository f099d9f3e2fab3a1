package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
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
	// Keys are the client's public keys. A client with keys authenticates
	// with private_key_jwt (RFC 7523 §2.2) and never with a secret.
	Keys *jose.JSONWebKeySet
	// AuthMethod, when set, is the one secret method this client may use
	// (RFC 7591 §2 token_endpoint_auth_method): an Okta app set to
	// client_secret_post refuses Basic, and this lets the demo do the same.
	AuthMethod string
	// IDTokenAlg is the client's id_token_signed_response_alg (OpenID
	// Connect Dynamic Client Registration §2): RS256 when empty, as there.
	IDTokenAlg string
	// DelegatesKeys lets the client ask for grants bound to a key its own
	// client proved to it (requested_cnf; identity chaining draft, Delegated
	// Key Binding): an authorization server that relays for its apps.
	DelegatesKeys bool
}

// IDTokenAlgorithm is how the client's ID tokens are signed.
func (c *Client) IDTokenAlgorithm() jose.SignatureAlgorithm {
	if c.IDTokenAlg == "" {
		return jose.RS256
	}
	return jose.SignatureAlgorithm(c.IDTokenAlg)
}

// Client authentication methods (RFC 8414 §2, token_endpoint_auth_methods_supported).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
)

// ClientAssertionType is the client_assertion_type of RFC 7523 §2.2.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AllowsGrant reports whether the client is registered for grantType.
func (c *Client) AllowsGrant(grantType string) bool { return slices.Contains(c.GrantTypes, grantType) }

// AllowsRedirect compares redirect URIs by exact string match (RFC 9700
// §4.1.3), except that a registered loopback URI without a port matches it
// with any port: a native app listens on whatever port is free (RFC 8252
// §7.3).
func (c *Client) AllowsRedirect(uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.Port() == "" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "[::1]" && u.Hostname() != "::1") {
		return false
	}
	u.Host = u.Hostname()
	if strings.Contains(u.Host, ":") {
		u.Host = "[" + u.Host + "]"
	}
	return slices.Contains(c.RedirectURIs, u.String())
}

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
