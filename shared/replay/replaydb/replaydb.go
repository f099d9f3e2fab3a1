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
	// guarded holds RememberIf's statements, one per guard query, each
	// prepared once.
	guarded sync.Map // guard query → *sql.Stmt

	// On SQLite, concurrent Remembers share one transaction (group
	// commit): queued are the inserts waiting, flushing whether a
	// goroutine is committing them.
	groupMu  sync.Mutex
	queued   []*pendingInsert
	flushing bool
}

// pendingInsert is one Remember waiting for its group's commit: its
// statement and that statement's arguments.
type pendingInsert struct {
	stmt *sql.Stmt
	args []any
	done chan error
}

// Guard is a condition on other tables for RememberIf: a query that
// returns a row (any number of rows) while the condition holds, with its
// arguments.
type Guard struct {
	Query string
	Args  []any
}

// ErrGuardNotMet is returned by RememberIf when its guard found no row:
// nothing was recorded.
var ErrGuardNotMet = errors.New("the guard's condition no longer holds")

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
	s.insertOnce.Do(s.prepare)
	if s.insertErr != nil {
		return s.insertErr
	}
	return s.remember(ctx, s.insert, issuer, jti, until, nil)
}

// RememberIf is Remember on a condition: (issuer, jti) is recorded only if
// the guard's query returns a row, both in one statement (INSERT ...
// SELECT), so that what the guard checks cannot change between the check
// and the record. ErrGuardNotMet when it returns none (nothing recorded),
// ErrReplayed when it does and the jti was used before.
//
// A server that decided a grant on something it read earlier (and kept)
// records the grant's jti this way, on what it read: one round trip, where
// reading it again first would be two.
func (s *DB) RememberIf(ctx context.Context, issuer, jti string, until time.Time, guard Guard) error {
	stmt, err := s.guardedInsert(guard.Query)
	if err != nil {
		return err
	}
	return s.remember(ctx, stmt, issuer, jti, until, guard.Args)
}

// remember runs an insert of used_jtis, whose first three arguments are
// the row's (key, issuer, expires_at) and the rest the guard's.
func (s *DB) remember(ctx context.Context, stmt *sql.Stmt, issuer, jti string, until time.Time, guardArgs []any) error {
	s.purge(ctx)
	sum := sha256.Sum256([]byte(issuer + "\x00" + jti))
	args := append([]any{hex.EncodeToString(sum[:]), issuer, until.UTC()}, guardArgs...)
	if s.DB.Dialector.Name() == "sqlite" {
		return s.rememberInGroup(ctx, stmt, args)
	}
	return s.outcome(stmt.ExecContext(ctx, args...))
}

// outcome reads an insert's result: a duplicate key is a replay, no row
// inserted (only a guarded insert can) a guard not met.
func (s *DB) outcome(res sql.Result, err error) error {
	if err != nil {
		return s.replayed(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrGuardNotMet
	}
	return nil
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
func (s *DB) rememberInGroup(ctx context.Context, stmt *sql.Stmt, args []any) error {
	p := &pendingInsert{stmt: stmt, args: args, done: make(chan error, 1)}
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

// commitGroup inserts a group in one transaction. A duplicate, or a guard
// not met, fails its own row alone (SQLite undoes just that statement);
// any other failure fails every row of the group.
func (s *DB) commitGroup(group []*pendingInsert) {
	ctx := context.Background()
	errs := make([]error, len(group))
	db, err := s.DB.DB()
	var tx *sql.Tx
	if err == nil {
		tx, err = db.BeginTx(ctx, nil)
	}
	if err == nil {
		inTx := map[*sql.Stmt]*sql.Stmt{}
		for i, p := range group {
			stmt := inTx[p.stmt]
			if stmt == nil {
				stmt = tx.StmtContext(ctx, p.stmt)
				inTx[p.stmt] = stmt
			}
			errs[i] = s.outcome(stmt.ExecContext(ctx, p.args...))
			if errs[i] != nil && !errors.Is(errs[i], replay.ErrReplayed) && !errors.Is(errs[i], ErrGuardNotMet) {
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
			p.done <- errs[i]
		}
	}
}

// prepare makes the insert statement.
func (s *DB) prepare() {
	s.insert, s.insertErr = s.prepareInsert("VALUES (?, ?, ?)")
}

// guardedInsert returns the insert that takes its row from guard's query,
// prepared on first use.
func (s *DB) guardedInsert(query string) (*sql.Stmt, error) {
	if stmt, ok := s.guarded.Load(query); ok {
		return stmt.(*sql.Stmt), nil
	}
	// One row or none, whatever the guard's query returns; no FROM, which
	// SQLite and MariaDB both allow.
	stmt, err := s.prepareInsert("SELECT ?, ?, ? WHERE EXISTS (" + query + ")")
	if err != nil {
		return nil, err
	}
	if kept, loaded := s.guarded.LoadOrStore(query, stmt); loaded {
		// Another goroutine prepared it first.
		_ = stmt.Close()
		return kept.(*sql.Stmt), nil
	}
	return stmt, nil
}

// prepareInsert prepares an insert of (key, issuer, expires_at) rows from
// source, quoting the column named key as the database wants (a reserved
// word in MariaDB).
func (s *DB) prepareInsert(source string) (*sql.Stmt, error) {
	var b strings.Builder
	b.WriteString("INSERT INTO used_jtis (")
	s.DB.Dialector.QuoteTo(&b, "key")
	b.WriteString(", issuer, expires_at) " + source)
	db, err := s.DB.DB()
	if err != nil {
		return nil, err
	}
	return db.Prepare(b.String())
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
