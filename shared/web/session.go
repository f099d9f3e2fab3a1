package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"
)

// SessionRow is one server-side session. Only the random token is in the
// browser's cookie; everything else stays here.
type SessionRow struct {
	Token  string    `gorm:"primaryKey;size:64"`
	Data   []byte    `gorm:"not null"`
	Expiry time.Time `gorm:"index;not null"`
}

// TableName keeps each service's session table distinct from its own tables.
func (SessionRow) TableName() string { return "web_sessions" }

// GormStore is an scs.CtxStore over gorm.
type GormStore struct{ db *gorm.DB }

var _ scs.CtxStore = (*GormStore)(nil)

func (s *GormStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var row SessionRow
	err := s.db.WithContext(ctx).Where("token = ? AND expiry > ?", token, time.Now().UTC()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return row.Data, true, nil
}

func (s *GormStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	row := SessionRow{Token: token, Data: b, Expiry: expiry.UTC()}
	return s.db.WithContext(ctx).Save(&row).Error
}

func (s *GormStore) DeleteCtx(ctx context.Context, token string) error {
	return s.db.WithContext(ctx).Delete(&SessionRow{Token: token}).Error
}

func (s *GormStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}
func (s *GormStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}
func (s *GormStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// PurgeExpired deletes expired sessions.
func (s *GormStore) PurgeExpired(ctx context.Context) error {
	return s.db.WithContext(ctx).Where("expiry <= ?", time.Now().UTC()).Delete(&SessionRow{}).Error
}

// NewSessions returns a session manager whose cookie is named cookieName:
// every service on localhost needs its own name, because browsers share
// cookies across ports. secure is false only for plain-http local runs.
func NewSessions(db *gorm.DB, cookieName string, secure bool) (*scs.SessionManager, error) {
	if err := db.AutoMigrate(&SessionRow{}); err != nil {
		return nil, err
	}
	store := &GormStore{db: db}
	_ = store.PurgeExpired(context.Background())
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = 12 * time.Hour
	sm.IdleTimeout = 2 * time.Hour
	sm.Cookie.Name = cookieName
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Path = "/"
	return sm, nil
}
