// Package replaydb is the replay store of every server: used token ids in
// a table, checked and recorded in one atomic insert, expired rows purged
// as it goes.
//
// It must not depend on any grant.
package replaydb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
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

	// insert is Remember's statement, prepared once: every grant and every
	// DPoP proof runs it.
	insertOnce sync.Once
	insert     *sql.Stmt
	insertErr  error
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
	s.insertOnce.Do(s.prepare)
	if s.insertErr != nil {
		return s.insertErr
	}
	_, err := s.insert.ExecContext(ctx, hex.EncodeToString(sum[:]), issuer, until.UTC())
	if t, ok := s.DB.Dialector.(gorm.ErrorTranslator); ok && err != nil && errors.Is(t.Translate(err), gorm.ErrDuplicatedKey) {
		return replay.ErrReplayed
	}
	return err
}

// prepare makes the insert statement, quoting the column named key as the
// database wants (a reserved word in MariaDB).
func (s *DB) prepare() {
	var b strings.Builder
	b.WriteString("INSERT INTO used_jtis (")
	s.DB.Dialector.QuoteTo(&b, "key")
	b.WriteString(", issuer, expires_at) VALUES (?, ?, ?)")
	db, err := s.DB.DB()
	if err != nil {
		s.insertErr = err
		return
	}
	s.insert, s.insertErr = db.Prepare(b.String())
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
