package exchange_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/url"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/exchange"
	"xaa.example/shared/oauth"
)

type signer struct{ key *ecdsa.PrivateKey }

func (s signer) Sign(typ string, claims any) (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// subjects accepts one ID token; an IdP verifies its own ID tokens here.
type subjects struct{}

func (subjects) VerifySubject(_ context.Context, token, _, clientID string) (*exchange.Subject, error) {
	if token != "bob's ID token" || clientID != "wiki-as" {
		return nil, oauth.InvalidGrant("subject_token is not valid")
	}
	return &exchange.Subject{ID: "00u1bob", Email: "bob@tables.fake"}, nil
}

// connections is the admin's list; an IdP keeps it in its database.
type connections []exchange.Connection

func (c connections) ConnectionsTo(_ context.Context, audience string) ([]exchange.Connection, error) {
	var out []exchange.Connection
	for _, conn := range c {
		if conn.Audience == audience {
			out = append(out, conn)
		}
	}
	return out, nil
}

// The IdP's token exchange issues an ID-JAG for an enabled connection, with
// the scope narrowed to what the connection allows, and refuses once the
// admin disables it.
func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	conns := connections{{
		RequestingClientID: "wiki-as", Audience: "https://todo-as.example", Resource: "https://todo.example/api",
		AllowedScopes: oauth.ParseScopes("todos.read"), ClientIDAtResource: "wiki-at-todo", Enabled: true,
	}}
	grant := &exchange.Grant{Issuer: "https://idp.example", Signer: signer{key}, Subjects: subjects{}, Connections: conns}
	req := oauth.ParseTokenRequest(url.Values{
		"requested_token_type": {oauth.TokenTypeIDJAG},
		"subject_token":        {"bob's ID token"},
		"subject_token_type":   {oauth.TokenTypeIDToken},
		"audience":             {"https://todo-as.example"},
		"scope":                {"todos.read todos.write"},
	}, &oauth.Client{ID: "wiki-as"})
	resp, err := grant.Handle(context.Background(), req)
	fmt.Println(resp.IssuedTokenType, resp.TokenType, resp.Scope, resp.ExpiresIn, err)

	conns[0].Enabled = false
	_, err = grant.Handle(context.Background(), req)
	fmt.Println(err.(*oauth.Error).Code)
	// Output:
	// urn:ietf:params:oauth:token-type:id-jag N_A todos.read 300 <nil>
	// access_denied
}
