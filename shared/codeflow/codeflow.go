package codeflow

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/oauth"
	"xaa.example/shared/storage"
)

// Lifetimes.
const (
	CodeLifetime    = time.Minute
	RefreshLifetime = 24 * time.Hour
	// RefreshReuseGrace is how long a rotated refresh token still works:
	// two requests of one person that find the ID token expired both
	// refresh with the same token, and the second must not sign them out
	// (Okta's grace period for token rotation, dex's reuse interval).
	RefreshReuseGrace = 30 * time.Second
)

// AuthCode is an issued authorization code.
type AuthCode struct {
	CodeHash    string `gorm:"primaryKey;size:64"`
	ClientID    string `gorm:"size:255;not null"`
	UserID      string `gorm:"size:32;not null"`
	RedirectURI string `gorm:"size:2048;not null"`
	Challenge   string `gorm:"size:64;not null"`
	Nonce       string `gorm:"size:255"`
	Scope       string `gorm:"size:1024"`
	AuthTime    time.Time
	// AMR are the methods the person signed in with (RFC 8176), space-separated.
	AMR       string    `gorm:"size:255"`
	ExpiresAt time.Time `gorm:"index"`
}

// RefreshToken is an issued refresh token.
type RefreshToken struct {
	TokenHash string `gorm:"primaryKey;size:64"`
	ClientID  string `gorm:"size:255;not null"`
	UserID    string `gorm:"index;size:32;not null"`
	Scope     string `gorm:"size:1024"`
	AuthTime  time.Time
	AMR       string    `gorm:"size:255"` // as AuthCode.AMR
	ExpiresAt time.Time `gorm:"index"`
	// UsedAt is when the token was first redeemed: it works until
	// RefreshReuseGrace after that, then never again.
	UsedAt *time.Time `gorm:"index"`
}

// Session is what a code or refresh token stands for: who signed in to
// which client, when, and with what scope.
type Session struct {
	ClientID string
	UserID   string
	Scope    string
	Nonce    string
	AuthTime time.Time
	// AMR are the authentication methods of the sign-in (RFC 8176): what
	// the ID token's amr says, and what the IdP's acr is made from.
	AMR []string
}

// Store keeps codes and refresh tokens in a service's database.
type Store struct {
	DB  *gorm.DB
	Now func() time.Time
}

// NewStore migrates the tables.
func NewStore(db *gorm.DB, now func() time.Time) (*Store, error) {
	if err := storage.Migrate(db, "shared/codeflow", schema...); err != nil {
		return nil, err
	}
	return &Store{DB: db, Now: now}, nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newSecret() string { return rand.Text() + rand.Text() }

// NewCode stores a code for s, to be redeemed at redirectURI with the PKCE
// verifier of challenge, and returns it.
func (st *Store) NewCode(ctx context.Context, s Session, redirectURI, challenge string) (string, error) {
	code := newSecret()
	err := st.DB.WithContext(ctx).Create(&AuthCode{
		CodeHash: digest(code), ClientID: s.ClientID, UserID: s.UserID, RedirectURI: redirectURI,
		Challenge: challenge, Nonce: s.Nonce, Scope: s.Scope, AuthTime: s.AuthTime, AMR: strings.Join(s.AMR, " "),
		ExpiresAt: st.Now().Add(CodeLifetime),
	}).Error
	return code, err
}

// NewRefreshToken stores a refresh token for s and returns it.
func (st *Store) NewRefreshToken(ctx context.Context, s Session) (string, error) {
	token := newSecret()
	err := st.DB.WithContext(ctx).Create(&RefreshToken{
		TokenHash: digest(token), ClientID: s.ClientID, UserID: s.UserID, Scope: s.Scope,
		AuthTime: s.AuthTime, AMR: strings.Join(s.AMR, " "), ExpiresAt: st.Now().Add(RefreshLifetime),
	}).Error
	return token, err
}

// errGone is returned by take when the row is missing or was taken first.
var errGone = errors.New("not found or already used")

// take loads the row with the given digest and deletes it in one
// transaction; of two concurrent callers only one gets the row.
func take[T any](ctx context.Context, db *gorm.DB, column, hash string) (*T, error) {
	var row T
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&row, column+" = ?", hash).Error; err != nil {
			return err
		}
		res := tx.Where(column+" = ?", hash).Delete(new(T))
		if res.Error == nil && res.RowsAffected != 1 {
			return errGone
		}
		return res.Error
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errGone
	}
	return &row, err
}

// Issuer makes the token response for a session: the part of the code and
// refresh grants that differs between servers.
type Issuer func(ctx context.Context, s Session) (*oauth.TokenResponse, error)

// AuthCodeGrant redeems authorization codes (RFC 6749 §4.1.3).
type AuthCodeGrant struct {
	Store *Store
	Issue Issuer
}

func (g *AuthCodeGrant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	code := req.Code
	if code == "" {
		return nil, oauth.InvalidRequest("code is required")
	}
	ac, err := take[AuthCode](ctx, g.Store.DB, "code_hash", digest(code))
	if errors.Is(err, errGone) {
		return nil, oauth.InvalidGrant("the authorization code is invalid or was already used")
	}
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	switch {
	case ac.ClientID != req.Client.ID:
		return nil, oauth.InvalidGrant("the authorization code was issued to another client")
	case ac.RedirectURI != req.RedirectURI:
		return nil, oauth.InvalidGrant("redirect_uri does not match the authorization request")
	case !g.Store.Now().Before(ac.ExpiresAt):
		return nil, oauth.InvalidGrant("the authorization code has expired")
	case !oauth.VerifyPKCE(req.CodeVerifier, ac.Challenge):
		return nil, oauth.InvalidGrant("code_verifier does not match the code_challenge")
	}
	return g.Issue(ctx, Session{ClientID: ac.ClientID, UserID: ac.UserID, Scope: ac.Scope, Nonce: ac.Nonce, AuthTime: ac.AuthTime, AMR: strings.Fields(ac.AMR)})
}

// RefreshGrant redeems refresh tokens (RFC 6749 §6), rotating them: the
// Issuer is expected to hand out a new one.
type RefreshGrant struct {
	Store *Store
	Issue Issuer
}

func (g *RefreshGrant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	token := req.RefreshToken
	if token == "" {
		return nil, oauth.InvalidRequest("refresh_token is required")
	}
	rt, err := g.Store.use(ctx, digest(token))
	if errors.Is(err, errGone) {
		return nil, oauth.InvalidGrant("the refresh token is invalid or was already used")
	}
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	switch {
	case rt.ClientID != req.Client.ID:
		return nil, oauth.InvalidGrant("the refresh token was issued to another client")
	case !g.Store.Now().Before(rt.ExpiresAt):
		return nil, oauth.InvalidGrant("the refresh token has expired")
	}
	return g.Issue(ctx, Session{ClientID: rt.ClientID, UserID: rt.UserID, Scope: rt.Scope, AuthTime: rt.AuthTime, AMR: strings.Fields(rt.AMR)})
}

// Peek returns what a refresh token stands for without redeeming it: a
// refresh token presented as a subject token (RFC 8693, ID-JAG draft's
// SAML path) stays usable. A used, expired or unknown token is an error.
func (st *Store) Peek(ctx context.Context, token string) (*Session, error) {
	var rt RefreshToken
	err := st.DB.WithContext(ctx).Take(&rt, "token_hash = ?", digest(token)).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && (rt.UsedAt != nil || !st.Now().Before(rt.ExpiresAt)) {
		return nil, errGone
	}
	if err != nil {
		return nil, err
	}
	return &Session{ClientID: rt.ClientID, UserID: rt.UserID, Scope: rt.Scope, AuthTime: rt.AuthTime, AMR: strings.Fields(rt.AMR)}, nil
}

// ErrGone is a refresh token that is unknown, used or expired.
var ErrGone = errGone

// use redeems a refresh token: the first use marks it used (one UPDATE, so
// of concurrent first uses each sees the same mark), and it keeps working
// for RefreshReuseGrace after that. Tokens used longer ago are deleted.
func (st *Store) use(ctx context.Context, hash string) (*RefreshToken, error) {
	db := st.DB.WithContext(ctx)
	now := st.Now().UTC()
	if err := db.Model(&RefreshToken{}).Where("token_hash = ? AND used_at IS NULL", hash).Update("used_at", now).Error; err != nil {
		return nil, err
	}
	var rt RefreshToken
	if err := db.Take(&rt, "token_hash = ?", hash).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errGone
	} else if err != nil {
		return nil, err
	}
	if rt.UsedAt == nil || now.Sub(*rt.UsedAt) > RefreshReuseGrace {
		return nil, errGone
	}
	if err := db.Where("used_at < ?", now.Add(-RefreshReuseGrace)).Delete(&RefreshToken{}).Error; err != nil {
		return nil, err
	}
	return &rt, nil
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&AuthCode{}, &RefreshToken{}) }},
	{ID: "2", Apply: func(tx *gorm.DB) error {
		return errors.Join(storage.AddColumns(tx, &AuthCode{}, "AMR"), storage.AddColumns(tx, &RefreshToken{}, "AMR"))
	}},
}
