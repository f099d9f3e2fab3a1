package idjag

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/oauth"
)

// Signer signs claims as a compact JWS with the given typ header.
type Signer interface {
	Sign(typ string, claims any) (string, error)
}

// DefaultLifetime is Okta's ID-JAG lifetime: five minutes.
const DefaultLifetime = 5 * time.Minute

// Grant describes the ID-JAG an IdP has decided, after its policy, to issue.
type Grant struct {
	Issuer   string
	Subject  string
	Audience string // the resource authorization server's issuer
	ClientID string // the requesting client's id at that server
	Scope    oauth.Scopes
	Resource string
	Email    string
	AuthTime time.Time
	AMR      []string
	ACR      string
	AudSub   string // the resource AS's id for the person, if known
	// AuthorizationDetails granted (RFC 9396), as JSON; nil: none.
	AuthorizationDetails json.RawMessage
	Tenant               string
	Lifetime             time.Duration
	// Bound is the thumbprint of the key the client proved it holds (its
	// DPoP proof, draft § on proof of possession): the ID-JAG's cnf.jkt.
	// Empty, the ID-JAG has no cnf.
	Bound string
}

// Issue signs an ID-JAG for g at time now. It returns the token and its claims.
func Issue(signer Signer, g Grant, now time.Time) (string, *Claims, error) {
	if g.Issuer == "" || g.Subject == "" || g.Audience == "" || g.ClientID == "" {
		return "", nil, errors.New("idjag: issuer, subject, audience and client id are required")
	}
	lifetime := g.Lifetime
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	c := &Claims{
		Issuer:               g.Issuer,
		Subject:              g.Subject,
		Audience:             jwt.Audience{g.Audience},
		ClientID:             g.ClientID,
		ID:                   rand.Text(),
		IssuedAt:             jwt.NewNumericDate(now),
		Expiry:               jwt.NewNumericDate(now.Add(lifetime)),
		Scope:                g.Scope.String(),
		Email:                g.Email,
		AMR:                  g.AMR,
		ACR:                  g.ACR,
		AudSub:               g.AudSub,
		AuthorizationDetails: g.AuthorizationDetails,
		Tenant:               g.Tenant,
	}
	if g.Resource != "" {
		c.Resource = StringList{g.Resource}
	}
	if !g.AuthTime.IsZero() {
		c.AuthTime = jwt.NewNumericDate(g.AuthTime)
	}
	if g.Bound != "" {
		c.Cnf = &oauth.Confirmation{JKT: g.Bound}
	}
	token, err := signer.Sign(oauth.TypIDJAG, c)
	if err != nil {
		return "", nil, err
	}
	return token, c, nil
}
