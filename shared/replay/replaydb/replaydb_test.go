package replaydb

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/replay"
	"xaa.example/shared/storage/storagetest"
)

func TestDB(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		store, err := New(db)
		if err != nil {
			t.Fatal(err)
		}
		store.Now = func() time.Time { return now }

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
