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
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"
)

// Algorithm is the signing algorithm of every key this package makes. ES256
// keys are small and fast to create, which keeps a cold start quick.
const Algorithm = jose.ES256

// Rotation timing.
const (
	// DefaultPrePublish is how long a new key is published before it signs.
	// Relying parties refetch a JWKS on an unknown kid at most every 30 s
	// (jwks.DefaultMinRefresh), so after this long every one of them can
	// find the new key the first time it sees it.
	DefaultPrePublish = time.Minute
	// DefaultRetireAfter is how long a replaced key stays published: longer
	// than any token it signed lives (ID tokens: one hour).
	DefaultRetireAfter = 2 * time.Hour
	// WatchInterval is how often a running server reloads its keys: well
	// within DefaultPrePublish, so a key rotated elsewhere is published by
	// every replica before it signs.
	WatchInterval = 20 * time.Second
)

// firstActivation is when a service's first key starts signing: always
// already, whatever clock a test injects.
var firstActivation = time.Unix(0, 0).UTC()

// SigningKey is the stored form of a key pair.
type SigningKey struct {
	KID        string    `gorm:"primaryKey;size:64"`
	Algorithm  string    `gorm:"size:16;not null"`
	PrivateDER []byte    `gorm:"not null"` // PKCS #8
	ActivateAt time.Time `gorm:"index"`    // signs from then on, until a newer key activates
	CreatedAt  time.Time
}

// Set is a service's keys, kept in its database: the newest active key
// signs, every published key verifies.
type Set struct {
	db          *gorm.DB
	Now         func() time.Time
	PrePublish  time.Duration
	RetireAfter time.Duration

	mu   sync.RWMutex
	keys []loadedKey // newest activation first
}

type loadedKey struct {
	jwk        jose.JSONWebKey
	activateAt time.Time
}

// LoadOrCreate loads the keys stored in db, creating the first one when there
// is none. It migrates its own table.
func LoadOrCreate(ctx context.Context, db *gorm.DB) (*Set, error) {
	if err := db.WithContext(ctx).AutoMigrate(&SigningKey{}); err != nil {
		return nil, fmt.Errorf("migrate signing keys: %w", err)
	}
	s := &Set{db: db, Now: time.Now, PrePublish: DefaultPrePublish, RetireAfter: DefaultRetireAfter}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	empty := len(s.keys) == 0
	s.mu.RUnlock()
	if empty {
		// The first key signs at once: nobody can have cached a JWKS yet.
		// Two replicas starting together may both create one; both are
		// published, so either one's tokens verify.
		if err := s.add(ctx, firstActivation); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Rotate creates a new key, published now and signing after PrePublish.
func (s *Set) Rotate(ctx context.Context) (kid string, err error) {
	k, err := newKey(s.Now().Add(s.PrePublish))
	if err != nil {
		return "", err
	}
	if err := s.db.WithContext(ctx).Create(&k).Error; err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return k.KID, s.Reload(ctx)
}

func (s *Set) add(ctx context.Context, activateAt time.Time) error {
	k, err := newKey(activateAt)
	if err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Create(&k).Error; err != nil {
		return fmt.Errorf("store signing key: %w", err)
	}
	return s.Reload(ctx)
}

// Reload reads the keys again, so that a rotation made by another process
// or replica is seen, and deletes keys replaced longer than RetireAfter ago.
func (s *Set) Reload(ctx context.Context) error {
	var stored []SigningKey
	if err := s.db.WithContext(ctx).Order("activate_at desc, created_at desc").Find(&stored).Error; err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	now := s.Now()
	var keep []loadedKey
	var replacedAt time.Time // activation of the next newer key that is active
	for _, k := range stored {
		if !replacedAt.IsZero() && now.Sub(replacedAt) > s.RetireAfter {
			s.db.WithContext(ctx).Delete(&SigningKey{}, "k_id = ?", k.KID)
			continue
		}
		jwk, err := parse(k)
		if err != nil {
			return err
		}
		keep = append(keep, loadedKey{jwk: jwk, activateAt: k.ActivateAt})
		// An active key replaces every older one from its activation on.
		if !k.ActivateAt.After(now) {
			replacedAt = k.ActivateAt
		}
	}
	s.mu.Lock()
	s.keys = keep
	s.mu.Unlock()
	return nil
}

// Watch reloads the keys every interval until ctx ends.
func (s *Set) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.Reload(ctx)
		}
	}
}

func newKey(activateAt time.Time) (SigningKey, error) {
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
		ActivateAt: activateAt.UTC(),
		CreatedAt:  time.Now().UTC(),
	}, nil
}

func parse(k SigningKey) (jose.JSONWebKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(k.PrivateDER)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("parse signing key %s: %w", k.KID, err)
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s is not an ECDSA key", k.KID)
	}
	return jose.JSONWebKey{Key: ec, KeyID: k.KID, Algorithm: k.Algorithm, Use: "sig"}, nil
}

// signing returns the newest key whose activation has come.
func (s *Set) signing() (jose.JSONWebKey, error) {
	now := s.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if !k.activateAt.After(now) {
			return k.jwk, nil
		}
	}
	return jose.JSONWebKey{}, errors.New("no signing key is active yet")
}

// KeyID is the kid of the key that signs now.
func (s *Set) KeyID() string {
	k, _ := s.signing()
	return k.KeyID
}

// JWKS is the public key set (RFC 7517): every published key.
func (s *Set) JWKS() jose.JSONWebKeySet {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var set jose.JSONWebKeySet
	for _, k := range s.keys {
		set.Keys = append(set.Keys, k.jwk.Public())
	}
	return set
}

// ServeHTTP serves the JWKS. Relying parties may cache it briefly.
func (s *Set) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_ = json.NewEncoder(w).Encode(s.JWKS())
}

// Sign makes a compact JWS of claims with the given "typ" header.
func (s *Set) Sign(typ string, claims any) (string, error) {
	key, err := s.signing()
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: Algorithm, Key: key}, opts)
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
	for _, k := range s.JWKS().Keys {
		if k.KeyID == h.KeyID {
			if err := tok.Claims(k.Key, out); err != nil {
				return fmt.Errorf("%w: %v", ErrInvalid, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: unknown kid %q", ErrInvalid, h.KeyID)
}

// RotateCommand rotates the keys in db and reports the new kid: what each
// service's "rotate-keys" command does.
func RotateCommand(ctx context.Context, db *gorm.DB, out io.Writer) error {
	s, err := LoadOrCreate(ctx, db)
	if err != nil {
		return err
	}
	kid, err := s.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "new signing key %s published; it signs from %s (running servers reload their keys every %s)\n",
		kid, s.Now().Add(s.PrePublish).UTC().Format(time.RFC3339), WatchInterval)
	return nil
}
