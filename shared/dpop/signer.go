package dpop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Signer makes proofs with one key: a client's per-session or
// per-installation key (§2).
type Signer struct {
	key    *jose.JSONWebKey // private
	public jose.JSONWebKey
	signer jose.Signer
	// Thumbprint is the key's, which tokens bound to it carry in cnf.jkt.
	Thumbprint string
	Now        func() time.Time
}

// NewKey makes a P-256 key for proofs.
func NewKey() (*jose.JSONWebKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &jose.JSONWebKey{Key: priv, Algorithm: string(jose.ES256), Use: "sig"}, nil
}

// NewSigner returns a signer for key, a private JWK whose Algorithm is one
// of Algorithms.
func NewSigner(key *jose.JSONWebKey) (*Signer, error) {
	if key == nil || key.IsPublic() || !Allowed(key.Algorithm) {
		return nil, fmt.Errorf("a DPoP key must be a private key for one of %v", AlgorithmNames())
	}
	public := key.Public()
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(Typ)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key.Key}, opts)
	if err != nil {
		return nil, err
	}
	jkt, err := Thumbprint(&public)
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, public: public, signer: sig, Thumbprint: jkt, Now: time.Now}, nil
}

// Proof makes a proof for one request: its method and URL (query and
// fragment left out, §4.2), the access token it presents (ath) if any, and
// the server's nonce if it gave one.
func (s *Signer) Proof(method, requestURL, accessToken, nonce string) (string, error) {
	c := Claims{ID: rand.Text(), Method: method, URL: withoutQuery(requestURL), IssuedAt: jwt.NewNumericDate(s.Now()), Nonce: nonce}
	if accessToken != "" {
		c.AccessHash = AccessTokenHash(accessToken)
	}
	return jwt.Signed(s.signer).Claims(c).Serialize()
}

// Key is the signer's private key, for keeping it (a per-installation key).
func (s *Signer) Key() *jose.JSONWebKey { return s.key }
