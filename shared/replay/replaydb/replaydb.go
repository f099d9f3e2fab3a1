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
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/replay"
	"xaa.example/shared/storage"
)

// SpentJTI is one remembered assertion id (table spent_jtis).
//
// Its key is the time the id may be forgotten (8 bytes, big-endian Unix
// seconds) followed by 24 bytes of SHA-256(issuer, jti). Assertions are
// presented in about the order they expire, so new keys land at one end of
// the index and expired ones leave from the other: the pages being written
// stay few and in memory however large the table grows, where a random key
// sends every insert to its own page of an index larger than memory (at
// a million rows the first layout was 254 MB against MariaDB's default
// 128 MB buffer pool). A replay still collides, because every caller
// derives until from the assertion itself (its exp, iat or NotOnOrAfter)
// and the server's settings: the same assertion gives the same key. The
// digest keeps 192 bits, far beyond any chance of two ids colliding.
type SpentJTI struct {
	Key       []byte    `gorm:"primaryKey;size:32"`
	Issuer    string    `gorm:"size:255;not null"`
	ExpiresAt time.Time `gorm:"not null"` // the key's first 8 bytes, for people reading the table
}

// legacyTable is the first layout's table (a random hex digest as key, an
// index on expiry), renamed to retiredTable when this layout first starts;
// see retire.
const (
	legacyTable  = "used_jtis"
	retiredTable = "used_jtis_retired"
)

// retiredGrace is how long after its last row expired the retired table is
// dropped: a margin for replicas whose clocks run behind, which check it
// until its last row expires by their own clock.
const retiredGrace = 10 * time.Minute

// DB keeps used jtis in the database, so every replica of the
// authorization server sees them; expired rows are purged as it goes.
type DB struct {
	DB  *gorm.DB
	Now func() time.Time
	// Purge paces the deletion of expired rows: every minute, a batch of
	// DefaultPurgeBatch at a time.
	Purge storage.Purge

	// retiredUntil is when the last id of the retired table expires, in
	// Unix nanoseconds; until then every insert also looks the id up there
	// (0: no retired table).
	retiredUntil atomic.Int64

	// statements are the inserts, prepared once each (every grant and
	// every DPoP proof runs one): by guard query ("" for none), whether
	// they look in the retired table, and, for a group's on MariaDB, by
	// how many rows they insert.
	statements sync.Map // insertKind or rowsKind → *sql.Stmt

	// Concurrent Remembers share one commit (group commit): on SQLite one
	// transaction, on MariaDB one statement (multiRow). queued are the
	// inserts waiting, flushing whether a goroutine is committing them.
	groupMu  sync.Mutex
	queued   []*pendingInsert
	flushing bool

	// multiRow is whether the database takes a group as one statement
	// (INSERT IGNORE ... RETURNING, MariaDB 10.5 and later).
	multiRow bool
}

// insertKind names one of the insert statements.
type insertKind struct {
	guard   string // the guard's query, or "" for none
	retired bool   // the id must not be in the retired table either
}

// pendingInsert is one Remember waiting for its group's commit: its kind,
// its own statement and that statement's arguments (the row's key first).
type pendingInsert struct {
	kind insertKind
	stmt *sql.Stmt
	args []any
	done chan error
}

// key is the row's key, the statement's first argument.
func (p *pendingInsert) key() string { return string(p.args[0].([]byte)) }

// rowsKind names a statement inserting rows of one kind at once.
type rowsKind struct {
	insertKind
	rows int
}

// maxRowsPerInsert bounds one statement of a group on MariaDB: a group
// larger than this is sent as several.
const maxRowsPerInsert = 32

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

// DefaultPurgeBatch is the purge's batch. A server doing 3,300 grants a
// second expires about 200,000 rows a minute; deleted in one statement
// they held row locks for seconds, and the grants whose inserts met them
// waited as long. In batches, the Remembers that follow a full batch each
// delete the next one until none is left, each paying a few milliseconds.
const DefaultPurgeBatch = 500

// New migrates the table, retires the first layout's (retire), and returns
// the store.
func New(db *gorm.DB) (*DB, error) {
	if err := Migrate(db); err != nil {
		return nil, err
	}
	s := &DB{DB: db, Now: time.Now, Purge: storage.Purge{Every: time.Minute, Batch: DefaultPurgeBatch}}
	if db.Dialector.Name() == "mysql" {
		var version string
		if err := db.Raw("SELECT VERSION()").Scan(&version).Error; err != nil {
			return nil, err
		}
		s.multiRow = returnsInserted(version)
	}
	until, err := retire(db, s.Now())
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		s.retiredUntil.Store(until.UnixNano())
	}
	return s, nil
}

// returnsInserted is whether a server of this version (SELECT VERSION())
// has INSERT ... RETURNING: MariaDB from 10.5. MySQL has none, and gets a
// statement per Remember.
func returnsInserted(version string) bool {
	if !strings.Contains(version, "MariaDB") {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 10 || major == 10 && minor >= 5
}

// retire takes the first layout's table out of use, losing none of its
// ids: it is renamed, so that it gets no more rows, and looked in by every
// insert until its last id expires (the time returned), then dropped.
//
// Replicas of the older version still running when the first replica of
// this one starts find their table gone, and refuse grants (a server
// error) rather than accept one they cannot check: upgrading across this
// change costs those replicas' grants until they are replaced, and opens
// no replay. Starting an older replica after that (a rollback) would make
// a new, empty used_jtis and accept, once more, ids spent in the minutes
// before: roll back with every replica stopped for an ID-JAG's lifetime.
func retire(db *gorm.DB, now time.Time) (time.Time, error) {
	m := db.Migrator()
	if m.HasTable(legacyTable) {
		if m.HasTable(retiredTable) {
			// Only an older replica started after this version's first
			// could have made it; its ids would go unseen.
			return time.Time{}, fmt.Errorf("both %[1]s and %[2]s exist: a replica of an older version started after this version did, and records ids where this version does not look. "+
				"Stop every replica of the older version; once the ids it recorded have expired (SELECT MAX(expires_at) FROM %[1]s), drop %[1]s and start this version", legacyTable, retiredTable)
		}
		if err := m.RenameTable(legacyTable, retiredTable); err != nil && !m.HasTable(retiredTable) {
			return time.Time{}, fmt.Errorf("retire %s: %w", legacyTable, err)
		}
		// (Another replica starting at the same moment may have renamed it.)
	}
	if !m.HasTable(retiredTable) {
		return time.Time{}, nil
	}
	var last []time.Time
	if err := db.Table(retiredTable).Order("expires_at DESC").Limit(1).Pluck("expires_at", &last).Error; err != nil {
		return time.Time{}, fmt.Errorf("read %s: %w", retiredTable, err)
	}
	if len(last) == 0 || now.After(last[0].Add(retiredGrace)) {
		return time.Time{}, dropRetired(db)
	}
	return last[0], nil
}

// dropRetired drops the retired table, which another replica may have
// dropped already.
func dropRetired(db *gorm.DB) error {
	if err := db.Migrator().DropTable(retiredTable); err != nil && db.Migrator().HasTable(retiredTable) {
		return fmt.Errorf("drop %s: %w", retiredTable, err)
	}
	return nil
}

// Remember records (issuer, jti); it returns ErrReplayed if already there.
// The primary key makes the check and the insert one atomic statement.
func (s *DB) Remember(ctx context.Context, issuer, jti string, until time.Time) error {
	return s.remember(ctx, issuer, jti, until, Guard{})
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
	return s.remember(ctx, issuer, jti, until, guard)
}

// errNoRow is an insert that added no row: a guard not met, or an id found
// in the retired table.
var errNoRow = errors.New("no row inserted")

// remember runs one insert of spent_jtis (insert), alone or in a group.
func (s *DB) remember(ctx context.Context, issuer, jti string, until time.Time, guard Guard) error {
	s.purge(ctx)
	p, err := s.insert(issuer, jti, until, guard)
	if err != nil {
		return err
	}
	if s.DB.Dialector.Name() == "sqlite" || s.multiRow {
		err = s.rememberInGroup(ctx, p)
	} else {
		err = s.outcome(p.stmt.ExecContext(ctx, p.args...))
	}
	if !errors.Is(err, errNoRow) {
		return err
	}
	switch {
	case !p.kind.retired:
		return ErrGuardNotMet
	case p.kind.guard == "":
		return replay.ErrReplayed
	}
	// Which of the two: the retired table gets no more rows, so reading it
	// now answers as the insert's statement did.
	var n int64
	if err := s.DB.WithContext(ctx).Table(retiredTable).Where(s.quotedKey()+" = ?", legacyKey(digest(issuer, jti))).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return replay.ErrReplayed
	}
	return ErrGuardNotMet
}

// insert is the insert that records (issuer, jti), not yet run: its kind,
// its statement, and the statement's arguments, the row's (key, issuer,
// expires_at), the id's key in the retired table while it is looked in,
// then the guard's.
func (s *DB) insert(issuer, jti string, until time.Time, guard Guard) (*pendingInsert, error) {
	kind := insertKind{guard: guard.Query, retired: s.Now().UnixNano() < s.retiredUntil.Load()}
	stmt, err := s.statement(kind)
	if err != nil {
		return nil, err
	}
	sum := digest(issuer, jti)
	args := []any{spentKey(sum, until), issuer, until.UTC()}
	if kind.retired {
		args = append(args, legacyKey(sum))
	}
	return &pendingInsert{kind: kind, stmt: stmt, args: append(args, guard.Args...)}, nil
}

// digest is SHA-256(issuer, jti), which both layouts' keys are made of.
func digest(issuer, jti string) [sha256.Size]byte {
	return sha256.Sum256([]byte(issuer + "\x00" + jti))
}

// Key is the key spent_jtis files (issuer, jti) under, remembered until
// until (SpentJTI), for what writes the table directly: the benchmarks'
// floor.
func Key(issuer, jti string, until time.Time) []byte {
	return spentKey(digest(issuer, jti), until)
}

// spentKey is an id's key in spent_jtis (SpentJTI): its expiry, then 24
// bytes of its digest.
func spentKey(sum [sha256.Size]byte, until time.Time) []byte {
	key := binary.BigEndian.AppendUint64(make([]byte, 0, 32), uint64(until.Unix()))
	return append(key, sum[:24]...)
}

// legacyKey is an id's key in the first layout's table: its digest in hex.
func legacyKey(sum [sha256.Size]byte) string {
	return hex.EncodeToString(sum[:])
}

// outcome reads an insert's result: a duplicate key is a replay, no row
// inserted errNoRow.
func (s *DB) outcome(res sql.Result, err error) error {
	if err != nil {
		return s.replayed(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errNoRow
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

// rememberInGroup is Remember where commits are shared. On SQLite, which
// has one writer, each commit costs a write of the log however small; on
// MariaDB each statement costs a round trip and a commit, which together
// cost the server more than the row. Inserts that arrive while a commit is
// under way wait for the next one and share it. A Remember returns only
// once its group is committed, so a jti it reports kept is as durable as
// with a commit of its own.
func (s *DB) rememberInGroup(ctx context.Context, p *pendingInsert) error {
	p.done = make(chan error, 1)
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
		s.commit(group)
	}
}

// commit commits a group: on MariaDB in shared statements (commitRows),
// on SQLite in one transaction (commitGroup). Each insert's outcome goes
// to its done.
func (s *DB) commit(group []*pendingInsert) {
	if s.multiRow {
		s.commitRows(group)
	} else {
		s.commitGroup(group)
	}
}

// commitRows inserts a group on MariaDB: the rows of each kind in one
// statement, which is its own commit.
func (s *DB) commitRows(group []*pendingInsert) {
	var kinds []insertKind
	byKind := map[insertKind][]*pendingInsert{}
	seen := map[string]bool{}
	for _, p := range group {
		// The same id twice at once: the later presentation is a replay
		// whatever becomes of the first, and is refused without being
		// sent, so that each key returned answers one Remember.
		if seen[p.key()] {
			p.done <- replay.ErrReplayed
			continue
		}
		seen[p.key()] = true
		if _, ok := byKind[p.kind]; !ok {
			kinds = append(kinds, p.kind)
		}
		byKind[p.kind] = append(byKind[p.kind], p)
	}
	for _, kind := range kinds {
		for rows := byKind[kind]; len(rows) > 0; {
			n := min(len(rows), maxRowsPerInsert)
			s.insertRows(context.Background(), kind, rows[:n])
			rows = rows[n:]
		}
	}
}

// insertRows inserts rows of one kind in one statement, INSERT IGNORE ...
// RETURNING: a key already there (a replay), or a row whose condition
// fails, adds nothing and is not returned. Where rows have conditions, the
// keys not returned are then looked up, once, to tell the two apart: those
// are refusals, the rare case. One row alone goes through its own
// statement, as without a group.
func (s *DB) insertRows(ctx context.Context, kind insertKind, rows []*pendingInsert) {
	if len(rows) == 1 {
		rows[0].done <- s.outcome(rows[0].stmt.ExecContext(ctx, rows[0].args...))
		return
	}
	fail := func(err error) {
		for _, p := range rows {
			p.done <- err
		}
	}
	stmt, err := s.rowsStatement(rowsKind{kind, len(rows)})
	if err != nil {
		fail(err)
		return
	}
	var args []any
	for _, p := range rows {
		args = append(args, p.args...)
	}
	inserted, err := s.keys(stmt.QueryContext(ctx, args...))
	if err != nil {
		fail(err)
		return
	}
	var refused []*pendingInsert
	for _, p := range rows {
		if inserted[p.key()] {
			p.done <- nil
		} else {
			refused = append(refused, p)
		}
	}
	if len(refused) == 0 {
		return
	}
	if kind == (insertKind{}) {
		// No condition: the key was there.
		for _, p := range refused {
			p.done <- replay.ErrReplayed
		}
		return
	}
	keys := make([]any, len(refused))
	for i, p := range refused {
		keys[i] = p.args[0]
	}
	query := "SELECT " + s.quotedKey() + " FROM spent_jtis WHERE " + s.quotedKey() + " IN (?" + strings.Repeat(", ?", len(keys)-1) + ")"
	present, err := s.keys(s.DB.WithContext(ctx).Raw(query, keys...).Rows())
	for _, p := range refused {
		switch {
		case err != nil:
			p.done <- err
		case present[p.key()]:
			p.done <- replay.ErrReplayed
		default:
			p.done <- errNoRow
		}
	}
}

// keys reads a result of keys into a set.
func (s *DB) keys(rows *sql.Rows, err error) (map[string]bool, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var key []byte
		if err := rows.Scan(&key); err != nil {
			return nil, err
		}
		set[string(key)] = true
	}
	return set, rows.Err()
}

// commitGroup inserts a group in one transaction (SQLite). A duplicate, or
// no row inserted, fails its own row alone (SQLite undoes just that
// statement); any other failure fails every row of the group.
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
			if errs[i] != nil && !errors.Is(errs[i], replay.ErrReplayed) && !errors.Is(errs[i], errNoRow) {
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

// statement returns the insert of this kind, prepared on first use.
func (s *DB) statement(kind insertKind) (*sql.Stmt, error) {
	return s.prepared(kind, func() string {
		return "INSERT INTO spent_jtis (" + s.quotedKey() + ", issuer, expires_at) " + s.rowSource(kind, "?")
	})
}

// rowsStatement returns the insert of several rows of one kind, prepared
// on first use: INSERT IGNORE, so that a row refused does not fail the
// others, RETURNING the keys inserted.
func (s *DB) rowsStatement(kind rowsKind) (*sql.Stmt, error) {
	return s.prepared(kind, func() string {
		var b strings.Builder
		b.WriteString("INSERT IGNORE INTO spent_jtis (" + s.quotedKey() + ", issuer, expires_at) ")
		if kind.insertKind == (insertKind{}) {
			b.WriteString("VALUES (?, ?, ?)" + strings.Repeat(", (?, ?, ?)", kind.rows-1))
		} else {
			// In a UNION, MariaDB gives the selected key the connection's
			// character set, which turns bytes that are not UTF-8 into '?'
			// (two keys could then collide): the key is cast back to bytes.
			row := s.rowSource(kind.insertKind, "CAST(? AS BINARY)")
			b.WriteString(row + strings.Repeat(" UNION ALL "+row, kind.rows-1))
		}
		b.WriteString(" RETURNING " + s.quotedKey())
		return b.String()
	})
}

// rowSource is where one row of an insert of this kind comes from: its
// values, or, with conditions, a SELECT of them (the key as keyExpr gives
// it) that returns one row or none (no FROM, which SQLite and MariaDB both
// allow).
func (s *DB) rowSource(kind insertKind, keyExpr string) string {
	if kind == (insertKind{}) {
		return "VALUES (?, ?, ?)"
	}
	var conds []string
	if kind.retired {
		conds = append(conds, "NOT EXISTS (SELECT 1 FROM "+retiredTable+" WHERE "+s.quotedKey()+" = ?)")
	}
	if kind.guard != "" {
		conds = append(conds, "EXISTS ("+kind.guard+")")
	}
	return "SELECT " + keyExpr + ", ?, ? WHERE " + strings.Join(conds, " AND ")
}

// prepared returns the statement kept under name, prepared from query's
// text on first use and kept for the store's life.
func (s *DB) prepared(name any, query func() string) (*sql.Stmt, error) {
	if stmt, ok := s.statements.Load(name); ok {
		return stmt.(*sql.Stmt), nil
	}
	db, err := s.DB.DB()
	if err != nil {
		return nil, err
	}
	stmt, err := db.Prepare(query())
	if err != nil {
		return nil, err
	}
	if kept, loaded := s.statements.LoadOrStore(name, stmt); loaded {
		// Another goroutine prepared it first.
		_ = stmt.Close()
		return kept.(*sql.Stmt), nil
	}
	return stmt, nil
}

// purge deletes a batch of expired rows when one is due (s.Purge), and
// drops the retired table once its last id has long expired. A failed
// purge only delays clean-up; the check itself stays exact.
func (s *DB) purge(ctx context.Context) {
	now := s.Now()
	s.Purge.Run(now, func(batch int) (int, error) {
		if until := s.retiredUntil.Load(); until != 0 && now.After(time.Unix(0, until).Add(retiredGrace)) {
			// Its last id expired a while ago, by any replica's clock.
			if dropRetired(s.DB.WithContext(ctx)) == nil {
				s.retiredUntil.Store(0)
			}
		}
		return s.purgeBatch(ctx, now, batch)
	})
}

// purgeBatch deletes up to batch rows expired at now, by their keys: a
// short statement that locks only the rows it deletes. Expired keys are
// those before now's (a key begins with its expiry), at the index's start.
func (s *DB) purgeBatch(ctx context.Context, now time.Time, batch int) (int, error) {
	var keys [][]byte
	before := binary.BigEndian.AppendUint64(nil, uint64(now.Unix()))
	err := s.DB.WithContext(ctx).Model(&SpentJTI{}).Where(s.quotedKey()+" < ?", before).
		Order(s.quotedKey()).Limit(batch).Pluck("key", &keys).Error
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	// Keys as written, not in a map: gorm spreads a []byte value in a map
	// into a list of its bytes.
	res := s.DB.WithContext(ctx).Where(s.quotedKey()+" IN ?", keys).Delete(&SpentJTI{})
	// The rows deleted, not the keys found: a row the purge finds but
	// cannot delete by its value (a key stored as another type, as a
	// defective seeding once wrote on SQLite) would otherwise keep the
	// purge "behind", and every Remember would run another batch.
	return int(res.RowsAffected), res.Error
}

// quotedKey is the column key, quoted as the database wants (a reserved
// word in MariaDB).
func (s *DB) quotedKey() string {
	var b strings.Builder
	s.DB.Dialector.QuoteTo(&b, "key")
	return b.String()
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&SpentJTI{}) }},
}

// Migrate brings the replay table to this version (every service that
// keeps single-use ids runs it, and so does grantload's seed).
func Migrate(db *gorm.DB) error { return storage.Migrate(db, "shared/replay/replaydb", schema...) }
