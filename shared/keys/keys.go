package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"
)

// Algorithm is the signing algorithm of every key this package makes. ES256
// keys are small and fast to create, which keeps a cold start quick.
const Algorithm = jose.ES256

// SigningKey is the stored form of a key pair.
type SigningKey struct {
	KID        string `gorm:"primaryKey;size:64"`
	Algorithm  string `gorm:"size:16;not null"`
	PrivateDER []byte `gorm:"not null"` // PKCS #8
	CreatedAt  time.Time
}

// Set is the loaded key set: the newest key signs, all keys verify.
type Set struct {
	signing jose.JSONWebKey
	public  jose.JSONWebKeySet
}

// LoadOrCreate loads the keys stored in db, creating the first one when there
// is none. It migrates its own table.
func LoadOrCreate(ctx context.Context, db *gorm.DB) (*Set, error) {
	db = db.WithContext(ctx)
	if err := db.AutoMigrate(&SigningKey{}); err != nil {
		return nil, fmt.Errorf("migrate signing keys: %w", err)
	}
	var stored []SigningKey
	if err := db.Order("created_at desc").Find(&stored).Error; err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	if len(stored) == 0 {
		k, err := newKey()
		if err != nil {
			return nil, err
		}
		// Two replicas starting at once may both create a key; both are kept
		// and both are published, so either one's tokens verify.
		if err := db.Create(&k).Error; err != nil {
			return nil, fmt.Errorf("store signing key: %w", err)
		}
		stored = []SigningKey{k}
	}
	return fromStored(stored)
}

func newKey() (SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return SigningKey{}, err
	}
	// The kid is a digest of the public key: stable, and unique per key.
	sum := sha256.Sum256(pub)
	return SigningKey{
		KID:        base64.RawURLEncoding.EncodeToString(sum[:12]),
		Algorithm:  string(Algorithm),
		PrivateDER: der,
		CreatedAt:  time.Now().UTC(),
	}, nil
}

func fromStored(stored []SigningKey) (*Set, error) {
	s := &Set{}
	for i, k := range stored {
		priv, err := x509.ParsePKCS8PrivateKey(k.PrivateDER)
		if err != nil {
			return nil, fmt.Errorf("parse signing key %s: %w", k.KID, err)
		}
		ec, ok := priv.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s is not an ECDSA key", k.KID)
		}
		jwk := jose.JSONWebKey{Key: ec, KeyID: k.KID, Algorithm: k.Algorithm, Use: "sig"}
		if i == 0 {
			s.signing = jwk
		}
		s.public.Keys = append(s.public.Keys, jwk.Public())
	}
	return s, nil
}

// KeyID is the kid of the key that signs.
func (s *Set) KeyID() string { return s.signing.KeyID }

// JWKS is the public key set (RFC 7517).
func (s *Set) JWKS() jose.JSONWebKeySet { return s.public }

// ServeHTTP serves the JWKS. Relying parties may cache it briefly.
func (s *Set) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(s.public)
}

// Sign makes a compact JWS of claims with the given "typ" header.
func (s *Set) Sign(typ string, claims any) (string, error) {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: s.signing}, opts)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// ErrInvalid is returned by Verify for any token that is not one of ours.
var ErrInvalid = errors.New("token is not valid")

// Verify checks the signature of a token this service issued and its "typ"
// header, and decodes the claims into out. Claim values (iss, aud, exp) are
// the caller's to check.
func (s *Set) Verify(raw, typ string, out any) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{Algorithm})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	h := tok.Headers[0]
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); got != typ {
		return fmt.Errorf("%w: typ is %q, want %q", ErrInvalid, got, typ)
	}
	for _, k := range s.public.Keys {
		if k.KeyID == h.KeyID {
			if err := tok.Claims(k.Key, out); err != nil {
				return fmt.Errorf("%w: %v", ErrInvalid, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: unknown kid %q", ErrInvalid, h.KeyID)
}
