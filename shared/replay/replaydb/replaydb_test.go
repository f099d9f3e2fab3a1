package replaydb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/replay"
	"xaa.example/shared/storage/storagetest"
)

// storeAt is a store on db whose clock reads *now, so that a test moves
// time by moving now.
func storeAt(t *testing.T, db *gorm.DB, now *time.Time) *DB {
	t.Helper()
	store, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	store.Now = func() time.Time { return *now }
	return store
}

func TestDB(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		store := storeAt(t, db, &now)

		if err := store.Remember(ctx, "https://idp.example", "jti-1", now.Add(time.Minute)); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := store.Remember(ctx, "https://idp.example", "jti-1", now.Add(time.Minute)); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("second use: got %v, want replay.ErrReplayed", err)
		}
		// The same jti from another issuer is another assertion.
		if err := store.Remember(ctx, "https://other.example", "jti-1", now.Add(time.Minute)); err != nil {
			t.Fatalf("same jti, other issuer: %v", err)
		}

		// Expired entries are purged once the purge interval has passed.
		now = now.Add(2 * time.Minute)
		if err := store.Remember(ctx, "https://idp.example", "jti-2", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		var left int64
		db.Model(&SpentJTI{}).Count(&left)
		if left != 1 {
			t.Fatalf("after purge: %d rows, want 1 (only jti-2)", left)
		}
	})
}

// Expired rows are purged a bounded batch at a time: the Remember that
// finds the purge due deletes one batch, and each Remember after a full
// batch deletes the next, so that no statement locks a minute's worth of
// rows (a single DELETE of them held every grant's insert on MariaDB).
func TestPurgeInBatches(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		store := storeAt(t, db, &now)
		store.Purge.Batch = 2
		for i := range 5 {
			if err := store.Remember(ctx, "https://idp.example", fmt.Sprintf("old-%d", i), now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(2 * time.Minute) // the five have expired; the purge is due
		expired := func() (n int64) {
			if err := db.Model(&SpentJTI{}).Where("expires_at < ?", now).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		for i, want := range []int64{3, 1, 0, 0} {
			if err := store.Remember(ctx, "https://idp.example", fmt.Sprintf("new-%d", i), now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			if got := expired(); got != want {
				t.Fatalf("after Remember %d: %d expired rows left, want %d", i+1, got, want)
			}
		}
	})
}

// A purge that finds expired rows but deletes none is not behind: the next
// batch waits for the purge's interval. On SQLite a key stored as TEXT in
// the BLOB column sorts before every key (TEXT before BLOB) and is found
// by the purge's range, but no DELETE by a BLOB value matches it; counted
// as a full batch, it once sent every Remember into another batch.
func TestPurgeNotBehindOnRowsItCannotDelete(t *testing.T) {
	db := storagetest.SQLite(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	store := storeAt(t, db, &now)
	store.Purge.Batch = 2
	for _, key := range []string{"text-key-1", "text-key-2"} {
		if err := db.Exec(`INSERT INTO spent_jtis ("key", issuer, expires_at) VALUES (?, 'x', ?)`, key, now.Add(time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
	}
	deletes := 0
	if err := db.Callback().Delete().Before("gorm:delete").Register("test:count", func(*gorm.DB) { deletes++ }); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := store.Remember(context.Background(), "https://idp.example", fmt.Sprintf("jti-%d", i), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if deletes != 1 {
		t.Errorf("three Remembers within the purge's interval ran %d purge batches, want 1 (the first, due at once)", deletes)
	}
}

func TestDBFailsClosed(t *testing.T) {
	db := storagetest.SQLite(t)
	store, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrator().DropTable(&SpentJTI{}); err != nil {
		t.Fatal(err)
	}
	err = store.Remember(context.Background(), "https://idp.example", "jti", time.Now().Add(time.Minute))
	if err == nil || errors.Is(err, replay.ErrReplayed) {
		t.Fatalf("with a broken store: got %v, want a store error", err)
	}
}

// TestConcurrentRemembers: many at once (on SQLite they share commits):
// every distinct jti is kept, and of twenty presentations of one jti
// exactly one is.
func TestConcurrentRemembers(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		store, err := New(db)
		if err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Hour)
		var wg sync.WaitGroup
		var mu sync.Mutex
		kept, replayed := 0, 0
		for i := range 100 {
			wg.Go(func() {
				if err := store.Remember(t.Context(), "https://idp.example", fmt.Sprint("distinct-", i), until); err != nil {
					t.Errorf("distinct jti %d: %v", i, err)
				}
			})
		}
		for range 20 {
			wg.Go(func() {
				err := store.Remember(t.Context(), "https://idp.example", "the-same", until)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					kept++
				case errors.Is(err, replay.ErrReplayed):
					replayed++
				default:
					t.Errorf("the same jti: %v", err)
				}
			})
		}
		wg.Wait()
		if kept != 1 || replayed != 19 {
			t.Fatalf("the same jti: kept %d, refused %d; want 1 and 19", kept, replayed)
		}
		var n int64
		db.Model(&SpentJTI{}).Count(&n)
		if n != 101 {
			t.Fatalf("%d rows, want 101", n)
		}
	})
}

// switchRow is the other table a guard of TestRememberIf reads.
type switchRow struct {
	Name string `gorm:"primaryKey;size:32"`
	On   bool
}

// TestRememberIf: a jti is recorded only while the guard's row is there,
// in the one statement; a guard not met records nothing (the jti can be
// used once it is met), and a guarded jti is single-use like any other.
// Concurrent guarded Remembers share SQLite's commits like plain ones.
func TestRememberIf(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		if err := db.AutoMigrate(&switchRow{}); err != nil {
			t.Fatal(err)
		}
		store, err := New(db)
		if err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(time.Hour)
		on := Guard{Query: "SELECT 1 FROM switch_rows WHERE name = ? AND \"on\" = ?", Args: []any{"s", true}}
		if db.Dialector.Name() == "mysql" {
			on.Query = "SELECT 1 FROM switch_rows WHERE name = ? AND `on` = ?"
		}

		if err := store.RememberIf(ctx, "https://idp.example", "jti-1", until, on); !errors.Is(err, ErrGuardNotMet) {
			t.Fatalf("no row: got %v, want ErrGuardNotMet", err)
		}
		if err := db.Create(&switchRow{Name: "s", On: false}).Error; err != nil {
			t.Fatal(err)
		}
		if err := store.RememberIf(ctx, "https://idp.example", "jti-1", until, on); !errors.Is(err, ErrGuardNotMet) {
			t.Fatalf("row off: got %v, want ErrGuardNotMet", err)
		}
		var n int64
		db.Model(&SpentJTI{}).Count(&n)
		if n != 0 {
			t.Fatalf("a guard not met recorded %d rows", n)
		}

		db.Model(&switchRow{}).Where("name = ?", "s").Update("on", true)
		if err := store.RememberIf(ctx, "https://idp.example", "jti-1", until, on); err != nil {
			t.Fatalf("row on: %v", err)
		}
		if err := store.RememberIf(ctx, "https://idp.example", "jti-1", until, on); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("guarded, second use: got %v, want replay.ErrReplayed", err)
		}
		if err := store.Remember(ctx, "https://idp.example", "jti-1", until); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("plain, after a guarded use: got %v, want replay.ErrReplayed", err)
		}

		// Guarded and plain at once, some guards not met.
		off := Guard{Query: on.Query, Args: []any{"s", false}}
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for i := range 60 {
			wg.Go(func() {
				var err error
				switch i % 3 {
				case 0:
					err = store.Remember(ctx, "https://idp.example", fmt.Sprint("c-", i), until)
				case 1:
					err = store.RememberIf(ctx, "https://idp.example", fmt.Sprint("c-", i), until, on)
				default:
					err = store.RememberIf(ctx, "https://idp.example", fmt.Sprint("c-", i), until, off)
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					outcomes["kept"]++
				case errors.Is(err, ErrGuardNotMet):
					outcomes["not met"]++
				default:
					t.Errorf("jti c-%d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if outcomes["kept"] != 40 || outcomes["not met"] != 20 {
			t.Fatalf("concurrent: %v, want 40 kept and 20 not met", outcomes)
		}
		db.Model(&SpentJTI{}).Count(&n)
		if n != 41 {
			t.Fatalf("%d rows, want 41", n)
		}
	})
}

// legacyJTI is a row of the first layout's table, as the version before
// spent_jtis made it.
type legacyJTI struct {
	Key       string    `gorm:"primaryKey;size:64"`
	Issuer    string    `gorm:"size:255;not null"`
	ExpiresAt time.Time `gorm:"index;not null"`
}

func (legacyJTI) TableName() string { return legacyTable }

// The first layout's table is retired, not lost: its unexpired ids are
// still refused, servers of the older version can no longer record into
// it (they fail closed rather than accept what they cannot check), and it
// is dropped once its last id has expired.
func TestRetiresFirstLayout(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		// New reads the wall clock for the retired table's end.
		now := time.Now().UTC().Truncate(time.Second)
		if err := db.AutoMigrate(&legacyJTI{}); err != nil {
			t.Fatal(err)
		}
		const iss = "https://idp.example"
		spentBefore := []legacyJTI{
			{Key: legacyKey(digest(iss, "spent-before")), Issuer: iss, ExpiresAt: now.Add(5 * time.Minute)},
			{Key: legacyKey(digest(iss, "spent-before-2")), Issuer: iss, ExpiresAt: now.Add(4 * time.Minute)},
			{Key: legacyKey(digest(iss, "long-expired")), Issuer: iss, ExpiresAt: now.Add(-time.Hour)},
		}
		if err := db.Create(&spentBefore).Error; err != nil {
			t.Fatal(err)
		}

		store := storeAt(t, db, &now)
		if db.Migrator().HasTable(legacyTable) || !db.Migrator().HasTable(retiredTable) {
			t.Fatalf("after New: want %s renamed to %s", legacyTable, retiredTable)
		}
		// A server of the older version, still running, records no more.
		if err := db.Create(&legacyJTI{Key: legacyKey(digest(iss, "old-server")), Issuer: iss, ExpiresAt: now.Add(time.Minute)}).Error; err == nil {
			t.Fatal("an insert into the first layout's table succeeded after it was retired")
		}

		until := now.Add(5 * time.Minute)
		if err := store.Remember(ctx, iss, "spent-before", until); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("an id spent before the upgrade: got %v, want replay.ErrReplayed", err)
		}
		always, never := Guard{Query: "SELECT 1"}, Guard{Query: "SELECT 1 WHERE 1 = 0"}
		if err := store.RememberIf(ctx, iss, "spent-before-2", until, always); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("guarded, an id spent before the upgrade: got %v, want replay.ErrReplayed", err)
		}
		if err := store.RememberIf(ctx, iss, "fresh", until, never); !errors.Is(err, ErrGuardNotMet) {
			t.Fatalf("guard not met: got %v, want ErrGuardNotMet", err)
		}
		if err := store.RememberIf(ctx, iss, "fresh", until, always); err != nil {
			t.Fatalf("guarded, a fresh id: %v", err)
		}
		if err := store.Remember(ctx, iss, "fresh", until); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("a fresh id, twice: got %v, want replay.ErrReplayed", err)
		}
		// Its key begins with its expiry, so that keys arrive in order.
		var row SpentJTI
		if err := db.Where(store.quotedKey()+" = ?", spentKey(digest(iss, "fresh"), until)).First(&row).Error; err != nil {
			t.Fatal(err)
		}
		if got := int64(binary.BigEndian.Uint64(row.Key)); got != until.Unix() || !row.ExpiresAt.Equal(until) {
			t.Fatalf("row %x expiring %v: want a key beginning with %d, expiring %v", row.Key, row.ExpiresAt, until.Unix(), until)
		}

		// Once its last id has expired (and a margin), the next purge
		// drops the retired table, and inserts stop looking in it.
		now = now.Add(5*time.Minute + retiredGrace + time.Second)
		if err := store.Remember(ctx, iss, "after", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if db.Migrator().HasTable(retiredTable) {
			t.Fatalf("%s still there after its last id expired", retiredTable)
		}
		if err := store.Remember(ctx, iss, "after-2", now.Add(time.Minute)); err != nil {
			t.Fatalf("after the retired table was dropped: %v", err)
		}
	})
}

// A replica of the older version started after this one made used_jtis
// again, next to the retired one: its ids would go unseen, so this version
// refuses to start and says why.
func TestRefusesBothLayouts(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&legacyJTI{}); err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&legacyJTI{Key: legacyKey(digest("i", "j")), Issuer: "i", ExpiresAt: time.Now().Add(time.Minute)}).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := New(db); err != nil {
			t.Fatal(err)
		}
		// The older replica's start. On SQLite it fails half-way: the
		// retired table kept its index's name, which is the database's.
		startErr := db.AutoMigrate(&legacyJTI{})
		if !db.Migrator().HasTable(legacyTable) {
			if startErr == nil {
				t.Fatal("the older replica started without making its table")
			}
			return
		}
		_, err := New(db)
		if err == nil || !strings.Contains(err.Error(), "older version") {
			t.Fatalf("New with both tables: got %v, want an error naming the older version", err)
		}
	})
}

// TestGroupOutcomes: one group committed at once (on MariaDB in shared
// INSERT IGNORE ... RETURNING statements, on SQLite in one transaction)
// gives each insert the outcome it would have had alone: kept, a replay
// (of a row already there, or of an id twice in the group), a guard not
// met, an id found in the retired table; and a group larger than one
// statement takes is split. Once with the retired table looked in (every
// insert has a condition), once without (plain inserts have none).
func TestGroupOutcomes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		now := time.Now().UTC().Truncate(time.Second)
		until := now.Add(5 * time.Minute)
		const iss = "https://idp.example"
		if err := db.AutoMigrate(&legacyJTI{}); err != nil {
			t.Fatal(err)
		}
		for _, jti := range []string{"retired", "retired-2"} {
			if err := db.Create(&legacyJTI{Key: legacyKey(digest(iss, jti)), Issuer: iss, ExpiresAt: until}).Error; err != nil {
				t.Fatal(err)
			}
		}
		store := storeAt(t, db, &now)
		if db.Dialector.Name() == "mysql" && !store.multiRow {
			t.Fatal("MariaDB 10.5 or later, yet a statement per insert: the shared statements go untested")
		}
		if err := store.Remember(t.Context(), iss, "spent", until); err != nil {
			t.Fatal(err)
		}
		always, never := Guard{Query: "SELECT 1"}, Guard{Query: "SELECT 1 WHERE 1 = 0"}

		type want struct {
			jti   string
			guard Guard
			err   error
		}
		commit := func(store *DB, wants []want) {
			t.Helper()
			for i := range 2 * maxRowsPerInsert {
				wants = append(wants, want{fmt.Sprint("many-", i, "-", len(wants)), Guard{}, nil})
			}
			group := make([]*pendingInsert, len(wants))
			for i, w := range wants {
				p, err := store.insert(iss, w.jti, until, w.guard)
				if err != nil {
					t.Fatal(err)
				}
				p.done = make(chan error, 1)
				group[i] = p
			}
			store.commit(group)
			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range wants {
				if err := <-group[i].done; !errors.Is(err, w.err) && !(err == nil && w.err == nil) {
					t.Errorf("%s (%d of the group): got %v, want %v", w.jti, i, err, w.err)
				}
				// Kept under its own key, byte for byte (keys are not UTF-8).
				var n int
				q := "SELECT COUNT(*) FROM spent_jtis WHERE " + store.quotedKey() + " = ?"
				if err := sqlDB.QueryRow(q, group[i].args[0]).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if w.err == nil && n != 1 {
					t.Errorf("%s (%d of the group): kept, but %d rows with its key", w.jti, i, n)
				}
			}
		}
		rows := func() int64 {
			var n int64
			db.Model(&SpentJTI{}).Count(&n)
			return n
		}

		commit(store, []want{
			{"fresh", Guard{}, nil},
			{"fresh", Guard{}, replay.ErrReplayed}, // twice in the group
			{"spent", Guard{}, replay.ErrReplayed},
			{"retired", Guard{}, errNoRow}, // Remember reads this as a replay
			{"guarded", always, nil},
			{"guarded", always, replay.ErrReplayed},
			{"spent", always, replay.ErrReplayed},
			{"not-met", never, errNoRow},
			{"retired-2", always, errNoRow},
		})
		if n, want := rows(), int64(3+2*maxRowsPerInsert); n != want {
			t.Fatalf("with the retired table: %d rows, want %d", n, want)
		}

		if err := dropRetired(db); err != nil {
			t.Fatal(err)
		}
		store = storeAt(t, db, &now)
		commit(store, []want{
			{"fresh-2", Guard{}, nil},
			{"fresh-2", Guard{}, replay.ErrReplayed},
			{"spent", Guard{}, replay.ErrReplayed},
			{"guarded-2", always, nil},
			{"not-met", never, errNoRow},
		})
		if n, want := rows(), int64(5+4*maxRowsPerInsert); n != want {
			t.Fatalf("without: %d rows, want %d", n, want)
		}
	})
}

// returnsInserted: only MariaDB from 10.5 has INSERT ... RETURNING.
func TestReturnsInserted(t *testing.T) {
	for version, want := range map[string]bool{
		"10.11.19-MariaDB-0+deb12u1": true,
		"11.4.2-MariaDB":             true,
		"10.5.0-MariaDB":             true,
		"10.4.34-MariaDB":            false,
		"8.0.36":                     false,
		"5.5.5-10.11.6-MariaDB":      false, // unreadable: a statement per insert, as before
	} {
		if got := returnsInserted(version); got != want {
			t.Errorf("%q: got %v, want %v", version, got, want)
		}
	}
}
