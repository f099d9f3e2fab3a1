package replaydb

import (
	"context"
	"errors"
	"fmt"
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
		db.Model(&UsedJTI{}).Count(&left)
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
		store.PurgeBatch = 2
		for i := range 5 {
			if err := store.Remember(ctx, "https://idp.example", fmt.Sprintf("old-%d", i), now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(2 * time.Minute) // the five have expired; the purge is due
		expired := func() (n int64) {
			if err := db.Model(&UsedJTI{}).Where("expires_at < ?", now).Count(&n).Error; err != nil {
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

func TestDBFailsClosed(t *testing.T) {
	db := storagetest.SQLite(t)
	store, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrator().DropTable(&UsedJTI{}); err != nil {
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
		db.Model(&UsedJTI{}).Count(&n)
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
		db.Model(&UsedJTI{}).Count(&n)
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
		db.Model(&UsedJTI{}).Count(&n)
		if n != 41 {
			t.Fatalf("%d rows, want 41", n)
		}
	})
}
