package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"

	"xaa.example/shared/storage"
)

// Algorithm is what a service signs with unless told otherwise: ES256 keys
// are small, and their signatures quick to make (ID-JAGs, access tokens).
const Algorithm = jose.ES256

// Algorithms are the algorithms a service has a key for, each rotated on its
// own schedule. RS256 is there because OpenID Connect Discovery §3 requires
// it of every OpenID Provider, and relying parties that know nothing else
// ask for it (id_token_signed_response_alg, whose default is RS256).
var Algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// AlgorithmNames are Algorithms as discovery documents list them
// (id_token_signing_alg_values_supported), RS256 first.
func AlgorithmNames() []string {
	return []string{string(jose.RS256), string(jose.ES256)}
}

// rsaBits is the size of RSA keys: RFC 7518 §3.3's minimum for RS256.
const rsaBits = 2048

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
	// signers holds this key's go-jose signer for each typ header, made on
	// first use: a signer keeps no state between signatures (its Sign only
	// reads it), so one serves every token of this key and typ.
	signers *sync.Map // typ → jose.Signer
}

// LoadOrCreate loads the keys stored in db, creating the first one when there
// is none. It migrates its own table.
func LoadOrCreate(ctx context.Context, db *gorm.DB) (*Set, error) {
	if err := storage.Migrate(db.WithContext(ctx), "shared/keys", schema...); err != nil {
		return nil, fmt.Errorf("migrate signing keys: %w", err)
	}
	s := &Set{db: db, Now: time.Now, PrePublish: DefaultPrePublish, RetireAfter: DefaultRetireAfter}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	for _, alg := range Algorithms {
		s.mu.RLock()
		missing := !slices.ContainsFunc(s.keys, func(k loadedKey) bool { return k.jwk.Algorithm == string(alg) })
		s.mu.RUnlock()
		if missing {
			// The first key of an algorithm signs at once: nobody can have
			// cached it, and a relying party that meets its kid fetches the
			// JWKS again. Two replicas starting together may both create
			// one; both are published, so either one's tokens verify.
			if err := s.add(ctx, alg, firstActivation); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Rotate creates a new key of every algorithm, published now and signing
// after PrePublish, and returns the kid of the new key of Algorithm.
func (s *Set) Rotate(ctx context.Context) (kid string, err error) {
	for _, alg := range Algorithms {
		k, err := newKey(alg, s.Now().Add(s.PrePublish))
		if err != nil {
			return "", err
		}
		if err := s.db.WithContext(ctx).Create(&k).Error; err != nil {
			return "", fmt.Errorf("store signing key: %w", err)
		}
		if alg == Algorithm {
			kid = k.KID
		}
	}
	return kid, s.Reload(ctx)
}

func (s *Set) add(ctx context.Context, alg jose.SignatureAlgorithm, activateAt time.Time) error {
	k, err := newKey(alg, activateAt)
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
	// By algorithm, the activation of the next newer key that is active.
	replacedAt := map[string]time.Time{}
	for _, k := range stored {
		if r := replacedAt[k.Algorithm]; !r.IsZero() && now.Sub(r) > s.RetireAfter {
			s.db.WithContext(ctx).Delete(&SigningKey{}, "k_id = ?", k.KID)
			continue
		}
		jwk, err := parse(k)
		if err != nil {
			return err
		}
		keep = append(keep, loadedKey{jwk: jwk, activateAt: k.ActivateAt, signers: &sync.Map{}})
		// An active key replaces every older one of its algorithm from its
		// activation on.
		if !k.ActivateAt.After(now) {
			replacedAt[k.Algorithm] = k.ActivateAt
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

func newKey(alg jose.SignatureAlgorithm, activateAt time.Time) (SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return SigningKey{}, fmt.Errorf("no keys for %s", alg)
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return SigningKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return SigningKey{}, err
	}
	// The kid is a digest of the public key: stable, and unique per key.
	sum := sha256.Sum256(pub)
	return SigningKey{
		KID:        base64.RawURLEncoding.EncodeToString(sum[:12]),
		Algorithm:  string(alg),
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
	switch priv.(type) {
	case *ecdsa.PrivateKey:
		if k.Algorithm != string(jose.ES256) {
			return jose.JSONWebKey{}, fmt.Errorf("signing key %s is an ECDSA key stored for %s", k.KID, k.Algorithm)
		}
	case *rsa.PrivateKey:
		if k.Algorithm != string(jose.RS256) {
			return jose.JSONWebKey{}, fmt.Errorf("signing key %s is an RSA key stored for %s", k.KID, k.Algorithm)
		}
	default:
		return jose.JSONWebKey{}, fmt.Errorf("signing key %s is of a kind this service does not use", k.KID)
	}
	return jose.JSONWebKey{Key: priv, KeyID: k.KID, Algorithm: k.Algorithm, Use: "sig"}, nil
}

// signing returns the newest key of alg whose activation has come.
func (s *Set) signing(alg jose.SignatureAlgorithm) (loadedKey, error) {
	now := s.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		if k.jwk.Algorithm == string(alg) && !k.activateAt.After(now) {
			return k, nil
		}
	}
	return loadedKey{}, fmt.Errorf("no %s signing key is active yet", alg)
}

// signer returns k's signer for typ, making it the first time.
func (k loadedKey) signer(typ string) (jose.Signer, error) {
	if signer, ok := k.signers.Load(typ); ok {
		return signer.(jose.Signer), nil
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.jwk.Algorithm), Key: k.jwk}, opts)
	if err != nil {
		return nil, err
	}
	got, _ := k.signers.LoadOrStore(typ, signer)
	return got.(jose.Signer), nil
}

// KeyInfo describes a published key for people: what it is and where it
// is in its life.
type KeyInfo struct {
	KID, Algorithm string
	// Status is "next" (published, not signing yet), "active" (signing),
	// or "retiring" (replaced, published until its tokens have expired).
	Status     string
	ActivateAt time.Time
	// RetireAt is when a retiring key leaves the JWKS.
	RetireAt time.Time
}

// Keys lists the published keys, newest first.
func (s *Set) Keys() []KeyInfo {
	now := s.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []KeyInfo
	replacedAt := map[string]time.Time{} // by algorithm, as in Reload
	for _, k := range s.keys {
		info := KeyInfo{KID: k.jwk.KeyID, Algorithm: k.jwk.Algorithm, ActivateAt: k.activateAt}
		alg := k.jwk.Algorithm
		switch {
		case k.activateAt.After(now):
			info.Status = "next"
		case replacedAt[alg].IsZero():
			info.Status = "active"
			replacedAt[alg] = k.activateAt
		default:
			info.Status, info.RetireAt = "retiring", replacedAt[alg].Add(s.RetireAfter)
		}
		out = append(out, info)
	}
	return out
}

// KeyID is the kid of the key of Algorithm that signs now.
func (s *Set) KeyID() string {
	k, _ := s.signing(Algorithm)
	return k.jwk.KeyID
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

// Sign makes a compact JWS of claims with the given "typ" header, signed
// with Algorithm.
func (s *Set) Sign(typ string, claims any) (string, error) {
	return s.SignWith(Algorithm, typ, claims)
}

// SignWith is Sign with another of Algorithms.
func (s *Set) SignWith(alg jose.SignatureAlgorithm, typ string, claims any) (string, error) {
	key, err := s.signing(alg)
	if err != nil {
		return "", err
	}
	signer, err := key.signer(typ)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	// The claims are encoded once, with encoding/json. (go-jose's
	// jwt.Signed(...).Claims would encode them, decode them into a map and
	// encode that again, with its slower copy of encoding/json: a fifth of
	// the todo AS's CPU per grant went to signing.)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}

// ErrInvalid is returned by Verify for any token that is not one of ours.
var ErrInvalid = errors.New("token is not valid")

// Verify checks the signature of a token this service issued and its "typ"
// header, and decodes the claims into out. Claim values (iss, aud, exp) are
// the caller's to check.
func (s *Set) Verify(raw, typ string, out any) error {
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	h := tok.Headers[0]
	if got, _ := h.ExtraHeaders[jose.HeaderType].(string); got != typ {
		return fmt.Errorf("%w: typ is %q, want %q", ErrInvalid, got, typ)
	}
	for _, k := range s.JWKS().Keys {
		if k.KeyID == h.KeyID && k.Algorithm == h.Algorithm {
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

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&SigningKey{}) }},
}
