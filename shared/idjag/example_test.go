package idjag_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/idjag"
	"xaa.example/shared/oauth"
	"xaa.example/shared/replay"
)

// es256 signs with one ECDSA key; keys.Set does the same with stored keys.
type es256 struct {
	key *ecdsa.PrivateKey
	kid string
}

func (s es256) Sign(typ string, claims any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", s.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// staticKeys is the IdP's JWKS; in a server, jwks.NewRemote fetches it.
type staticKeys []jose.JSONWebKey

func (k staticKeys) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	for i := range k {
		if k[i].KeyID == kid {
			return &k[i], nil
		}
	}
	return nil, fmt.Errorf("no key %s", kid)
}

// usedOnce is an in-memory replay.Store; servers use replaydb.DB.
type usedOnce map[string]bool

func (u usedOnce) Remember(_ context.Context, iss, jti string, _ time.Time) error {
	if u[iss+jti] {
		return replay.ErrReplayed
	}
	u[iss+jti] = true
	return nil
}

// An IdP issues an ID-JAG; the resource authorization server verifies it
// once, and refuses it the second time.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	idp := es256{key: key, kid: "idp-1"}
	now := time.Now()

	token, _, err := idjag.Issue(idp, idjag.Grant{
		Issuer:   "https://idp.example",
		Subject:  "00u1bob",
		Audience: "https://todo-as.example",
		ClientID: "wiki-at-todo",
		Scope:    oauth.ParseScopes("todos.read"),
		Resource: "https://todo.example/api",
	}, now)
	if err != nil {
		panic(err)
	}

	verifier := &idjag.Verifier{
		Audience: "https://todo-as.example",
		Issuers: []*idjag.TrustedIssuer{{
			Issuer: "https://idp.example",
			Keys:   staticKeys{{Key: &key.PublicKey, KeyID: "idp-1", Algorithm: "ES256"}},
		}},
		Replay: usedOnce{},
		Now:    time.Now,
	}
	v, err := verifier.Verify(context.Background(), token, "wiki-at-todo", nil)
	fmt.Println(v.Claims.Subject, v.Claims.Scope, v.Claims.Resource, err)

	_, err = verifier.Verify(context.Background(), token, "wiki-at-todo", nil)
	fmt.Println(err.(*oauth.Error).Code, "-", err.(*oauth.Error).Description)
	// Output:
	// 00u1bob todos.read [https://todo.example/api] <nil>
	// invalid_grant - assertion was already used (jti replay)
}
