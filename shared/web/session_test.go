package web

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

func TestGormStore(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&SessionRow{}); err != nil {
			t.Fatal(err)
		}
		s := &GormStore{db: db}
		if err := s.CommitCtx(ctx, "tok", []byte("one"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitCtx(ctx, "tok", []byte("two"), time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("overwrite: %v", err)
		}
		b, found, err := s.FindCtx(ctx, "tok")
		if err != nil || !found || string(b) != "two" {
			t.Fatalf("find: %q %v %v, want two", b, found, err)
		}
		if err := s.CommitCtx(ctx, "old", []byte("x"), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.FindCtx(ctx, "old"); found {
			t.Fatal("an expired session was found")
		}
		if err := s.DeleteCtx(ctx, "tok"); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := s.FindCtx(ctx, "tok"); found {
			t.Fatal("a deleted session was found")
		}
		if err := s.PurgeExpired(ctx); err != nil {
			t.Fatal(err)
		}
		var n int64
		db.Model(&SessionRow{}).Count(&n)
		if n != 0 {
			t.Fatalf("%d rows after purge, want 0", n)
		}
	})
}
