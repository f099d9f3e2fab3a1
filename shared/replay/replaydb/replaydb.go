// Package replaydb is the replay store of every server: used token ids in
// a table, checked and recorded in one atomic insert, expired rows purged
// as it goes, a bounded batch at a time.
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
	// PurgeBatch bounds the expired rows one purge statement deletes.
	PurgeBatch int

	mu        sync.Mutex
	lastPurge time.Time
	purging   bool // a Remember is purging a batch
	behind    bool // the last batch was full: more expired rows wait

	// insert is Remember's statement, prepared once: every grant and every
	// DPoP proof runs it.
	insertOnce sync.Once
	insert     *sql.Stmt
	insertErr  error

	// On SQLite, concurrent Remembers share one transaction (group
	// commit): queued are the inserts waiting, flushing whether a
	// goroutine is committing them.
	groupMu  sync.Mutex
	queued   []*pendingInsert
	flushing bool
}

// pendingInsert is one Remember waiting for its group's commit.
type pendingInsert struct {
	key, issuer string
	until       time.Time
	done        chan error
}

// DefaultPurgeBatch is PurgeBatch's default. A server doing 3,300 grants a
// second expires about 200,000 rows a minute; deleted in one statement
// they held row locks for seconds, and the grants whose inserts met them
// waited as long. In batches, the Remembers that follow a full batch each
// delete the next one until none is left, each paying a few milliseconds.
const DefaultPurgeBatch = 500

// New migrates the table and returns the store.
func New(db *gorm.DB) (*DB, error) {
	if err := db.AutoMigrate(&UsedJTI{}); err != nil {
		return nil, err
	}
	return &DB{DB: db, Now: time.Now, PurgeInterval: time.Minute, PurgeBatch: DefaultPurgeBatch}, nil
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
	key := hex.EncodeToString(sum[:])
	if s.DB.Dialector.Name() == "sqlite" {
		return s.rememberInGroup(ctx, key, issuer, until.UTC())
	}
	_, err := s.insert.ExecContext(ctx, key, issuer, until.UTC())
	return s.replayed(err)
}

// replayed turns a duplicate key into replay.ErrReplayed.
func (s *DB) replayed(err error) error {
	if t, ok := s.DB.Dialector.(gorm.ErrorTranslator); ok && err != nil && errors.Is(t.Translate(err), gorm.ErrDuplicatedKey) {
		return replay.ErrReplayed
	}
	return err
}

// rememberInGroup is Remember on SQLite: SQLite has one writer, and each
// commit costs a write of the log however small; inserts that arrive while
// a commit is under way wait for the next one and share it. A Remember
// returns only once its group is committed, so a jti it reports kept is as
// durable as with a commit of its own.
func (s *DB) rememberInGroup(ctx context.Context, key, issuer string, until time.Time) error {
	p := &pendingInsert{key: key, issuer: issuer, until: until, done: make(chan error, 1)}
	s.groupMu.Lock()
	s.queued = append(s.queued, p)
	start := !s.flushing
	s.flushing = true
	s.groupMu.Unlock()
	if start {
		// The goroutine ends as soon as nothing waits: no lifecycle to
		// manage, nothing left running when the store is idle.
		go s.flush()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// It may still be recorded: the jti then counts as used, which
		// fails safe.
		return ctx.Err()
	}
}

// flush commits queued inserts, a group per transaction, until none wait.
func (s *DB) flush() {
	for {
		s.groupMu.Lock()
		group := s.queued
		s.queued = nil
		if len(group) == 0 {
			s.flushing = false
			s.groupMu.Unlock()
			return
		}
		s.groupMu.Unlock()
		s.commitGroup(group)
	}
}

// commitGroup inserts a group in one transaction. A duplicate fails its own
// row alone (SQLite undoes just that statement); any other failure fails
// every row of the group.
func (s *DB) commitGroup(group []*pendingInsert) {
	ctx := context.Background()
	errs := make([]error, len(group))
	db, err := s.DB.DB()
	var tx *sql.Tx
	if err == nil {
		tx, err = db.BeginTx(ctx, nil)
	}
	if err == nil {
		stmt := tx.StmtContext(ctx, s.insert)
		for i, p := range group {
			_, errs[i] = stmt.ExecContext(ctx, p.key, p.issuer, p.until)
			if errs[i] != nil && !errors.Is(s.replayed(errs[i]), replay.ErrReplayed) {
				err = errs[i]
				break
			}
		}
		if err == nil {
			err = tx.Commit()
		} else {
			_ = tx.Rollback()
		}
	}
	for i, p := range group {
		switch {
		case err != nil:
			p.done <- err
		default:
			p.done <- s.replayed(errs[i])
		}
	}
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

// purge deletes a batch of expired rows when the purge interval has passed
// since the last purge began, or when the last batch was full; one
// Remember at a time purges. A failed purge only delays clean-up; the
// check itself stays exact.
func (s *DB) purge(ctx context.Context) {
	s.mu.Lock()
	now := s.Now()
	due := !s.purging && (s.behind || now.Sub(s.lastPurge) >= s.PurgeInterval)
	if due {
		s.purging = true
		if !s.behind {
			s.lastPurge = now
		}
	}
	s.mu.Unlock()
	if !due {
		return
	}
	batch := max(s.PurgeBatch, 1)
	deleted, err := s.purgeBatch(ctx, now, batch)
	s.mu.Lock()
	s.purging = false
	s.behind = err == nil && deleted == batch
	s.mu.Unlock()
}

// purgeBatch deletes up to batch rows expired at now, by their keys: a
// short statement that locks only the rows it deletes.
func (s *DB) purgeBatch(ctx context.Context, now time.Time, batch int) (int, error) {
	var keys []string
	err := s.DB.WithContext(ctx).Model(&UsedJTI{}).Where("expires_at < ?", now.UTC()).
		Limit(batch).Pluck("key", &keys).Error
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	err = s.DB.WithContext(ctx).Where(map[string]any{"key": keys}).Delete(&UsedJTI{}).Error
	return len(keys), err
}
