package idjag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"
)

// UsedJTI is one remembered assertion id. The key is a digest of issuer and
// jti so that the unique index has a fixed, small size on every database.
type UsedJTI struct {
	Key       string    `gorm:"primaryKey;size:64"`
	Issuer    string    `gorm:"size:255;not null"`
	ExpiresAt time.Time `gorm:"index;not null"`
}

// DBReplayStore keeps used jtis in the database, so every replica of the
// authorization server sees them; expired rows are purged as it goes.
type DBReplayStore struct {
	DB            *gorm.DB
	Now           func() time.Time
	PurgeInterval time.Duration

	mu        sync.Mutex
	lastPurge time.Time
}

// NewDBReplayStore migrates the table and returns the store.
func NewDBReplayStore(db *gorm.DB) (*DBReplayStore, error) {
	if err := db.AutoMigrate(&UsedJTI{}); err != nil {
		return nil, err
	}
	return &DBReplayStore{DB: db, Now: time.Now, PurgeInterval: time.Minute}, nil
}

// Remember records (issuer, jti); it returns ErrReplayed if already there.
// The primary key makes the check and the insert one atomic statement.
func (s *DBReplayStore) Remember(ctx context.Context, issuer, jti string, until time.Time) error {
	s.purge(ctx)
	sum := sha256.Sum256([]byte(issuer + "\x00" + jti))
	row := UsedJTI{Key: hex.EncodeToString(sum[:]), Issuer: issuer, ExpiresAt: until.UTC()}
	err := s.DB.WithContext(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrReplayed
	}
	return err
}

func (s *DBReplayStore) purge(ctx context.Context) {
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
