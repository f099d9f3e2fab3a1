// Package replaydb is the replay store of every server: used token ids in
// a table, checked and recorded in one atomic insert, expired rows purged
// as it goes.
//
// It must not depend on any grant.
package replaydb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/replay"
)

// UsedJTI is one remembered assertion id. The key is a digest of issuer and
// jti so that the unique index has a fixed, small size on every database.
type UsedJTI struct {
	Key       string    `gorm:"primaryKey;size:64"`
	Issuer    string    `gorm:"size:255;not null"`
	ExpiresAt time.Time `gorm:"index;not null"`
}

// DB keeps used jtis in the database, so every replica of the
// authorization server sees them; expired rows are purged as it goes.
type DB struct {
	DB            *gorm.DB
	Now           func() time.Time
	PurgeInterval time.Duration

	mu        sync.Mutex
	lastPurge time.Time
}

// New migrates the table and returns the store.
func New(db *gorm.DB) (*DB, error) {
	if err := db.AutoMigrate(&UsedJTI{}); err != nil {
		return nil, err
	}
	return &DB{DB: db, Now: time.Now, PurgeInterval: time.Minute}, nil
}

// Remember records (issuer, jti); it returns ErrReplayed if already there.
// The primary key makes the check and the insert one atomic statement.
func (s *DB) Remember(ctx context.Context, issuer, jti string, until time.Time) error {
	s.purge(ctx)
	sum := sha256.Sum256([]byte(issuer + "\x00" + jti))
	row := UsedJTI{Key: hex.EncodeToString(sum[:]), Issuer: issuer, ExpiresAt: until.UTC()}
	err := s.DB.WithContext(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return replay.ErrReplayed
	}
	return err
}

func (s *DB) purge(ctx context.Context) {
	s.mu.Lock()
	now := s.Now()
	due := now.Sub(s.lastPurge) >= s.PurgeInterval
	if due {
		s.lastPurge = now
	}
	s.mu.Unlock()
	if due {
		// A failed purge only delays clean-up; the check itself stays exact.
		s.DB.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&UsedJTI{})
	}
}
