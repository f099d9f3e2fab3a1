package jwtbearer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/idjag"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
	"xaa.example/shared/replay"
)

type signer struct {
	key *ecdsa.PrivateKey
	kid string
}

func (s signer) Sign(typ string, claims any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", s.kid)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

type keys []jose.JSONWebKey

func (k keys) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	for i := range k {
		if k[i].KeyID == kid {
			return &k[i], nil
		}
	}
	return nil, fmt.Errorf("no key %s", kid)
}

type usedOnce map[string]bool

func (u usedOnce) Remember(_ context.Context, iss, jti string, _ time.Time) error {
	if u[iss+jti] {
		return replay.ErrReplayed
	}
	u[iss+jti] = true
	return nil
}

// accounts knows bob, linked when he signed in through the IdP.
type accounts struct{}

func (accounts) Linked(_ context.Context, iss, _, sub string) (*jwtbearer.Account, error) {
	if iss == "https://idp.example" && sub == "00u1bob" {
		return &jwtbearer.Account{ID: "acct-bob", Email: "bob@tables.fake"}, nil
	}
	return nil, jwtbearer.ErrNoAccount
}

func (accounts) LinkJustInTime(context.Context, string, string, string, string) (*jwtbearer.Account, error) {
	return nil, fmt.Errorf("not in this example")
}

// The resource authorization server redeems an ID-JAG for an access token
// for the todo API: the scope is what the ID-JAG, the request and the
// client all allow.
func Example() {
	idpKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	asKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assertion, _, _ := idjag.Issue(signer{idpKey, "idp-1"}, idjag.Grant{
		Issuer: "https://idp.example", Subject: "00u1bob", Audience: "https://todo-as.example",
		ClientID: "wiki-at-todo", Scope: oauth.ParseScopes("todos.read todos.write"), Resource: "https://todo.example/api",
	}, time.Now())

	grant := &jwtbearer.Grant{
		Issuer: "https://todo-as.example",
		Verifier: &idjag.Verifier{
			Audience: "https://todo-as.example",
			Issuers:  []*idjag.TrustedIssuer{{Issuer: "https://idp.example", Keys: keys{{Key: &idpKey.PublicKey, KeyID: "idp-1"}}}},
			Replay:   usedOnce{},
			Now:      time.Now,
		},
		Resources: []jwtbearer.Resource{{URI: "https://todo.example/api", Scopes: []string{"todos.read", "todos.write"}}},
		Accounts:  accounts{},
		Signer:    signer{asKey, "as-1"},
		Lifetime:  15 * time.Minute,
		Now:       time.Now,
	}
	// The token endpoint parses the request once and narrows the scope to
	// what the client may have; the grant then does the rest.
	req := oauth.ParseTokenRequest(url.Values{"assertion": {assertion}, "scope": {"todos.read"}},
		&oauth.Client{ID: "wiki-at-todo", Scopes: []string{"todos.read"}})
	resp, err := grant.Handle(context.Background(), req)
	fmt.Println(resp.TokenType, resp.Scope, resp.Resource, resp.ExpiresIn, resp.RefreshToken == "", err)
	// Output:
	// Bearer todos.read [https://todo.example/api] 900 true <nil>
}
