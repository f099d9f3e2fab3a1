package sessions

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

func TestGormStore(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&SessionRow{}); err != nil {
			t.Fatal(err)
		}
		s := NewGormStore(db)
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

// An unchanged session is not written again on every request just to renew
// its idle expiry; a change, or a renewal more than a minute on, is.
func TestGormStoreWritesOnlyChangesAndRenewals(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&SessionRow{}); err != nil {
			t.Fatal(err)
		}
		s := NewGormStore(db)
		start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		stored := func() (string, time.Time) {
			t.Helper()
			var row SessionRow
			if err := db.Take(&row, "token = ?", "tok").Error; err != nil {
				t.Fatal(err)
			}
			return string(row.Data), row.Expiry.UTC()
		}
		if err := s.CommitCtx(ctx, "tok", []byte("one"), start); err != nil {
			t.Fatal(err)
		}

		// A request that reads the session and only renews it seconds later.
		s.FindCtx(ctx, "tok")
		if err := s.CommitCtx(ctx, "tok", []byte("one"), start.Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, exp := stored(); !exp.Equal(start) {
			t.Fatalf("a renewal 10 s on was written: expiry %v, want %v", exp, start)
		}

		// A request that changes it.
		s.FindCtx(ctx, "tok")
		if err := s.CommitCtx(ctx, "tok", []byte("two"), start.Add(20*time.Second)); err != nil {
			t.Fatal(err)
		}
		if data, exp := stored(); data != "two" || !exp.Equal(start.Add(20*time.Second)) {
			t.Fatalf("a change was not written: %q %v", data, exp)
		}

		// A request that only renews it, more than a minute on.
		s.FindCtx(ctx, "tok")
		if err := s.CommitCtx(ctx, "tok", []byte("two"), start.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, exp := stored(); !exp.Equal(start.Add(2 * time.Minute)) {
			t.Fatalf("a renewal 2 min on was not written: expiry %v", exp)
		}

	})
}

// A session is read from the database on every request: a row another
// replica deleted (a sign-out there) is gone here at once; one this store
// deletes or that expires is gone too.
func TestGormStoreSharedAcrossReplicas(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&SessionRow{}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		s, other := NewGormStore(db), NewGormStore(db)
		s.now = func() time.Time { return now }
		found := func(token string) bool {
			t.Helper()
			_, ok, err := s.FindCtx(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}

		s.CommitCtx(ctx, "a", []byte("one"), now.Add(time.Hour))
		if !found("a") {
			t.Fatal("a session written by this store was not found")
		}
		if err := other.DeleteCtx(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if found("a") {
			t.Fatal("a session another replica deleted was still found here")
		}

		s.CommitCtx(ctx, "b", []byte("two"), now.Add(time.Hour))
		if err := s.DeleteCtx(ctx, "b"); err != nil || found("b") {
			t.Fatalf("a deleted session was found (%v)", err)
		}

		s.CommitCtx(ctx, "c", []byte("three"), now.Add(10*time.Second))
		now = now.Add(20 * time.Second)
		if found("c") {
			t.Fatal("an expired session was answered from memory")
		}
	})
}

// The same session encodes to the same bytes every time, every value comes
// back as the type it went in as, and sessions saved by scs's own codec
// still load.
func TestJSONCodec(t *testing.T) {
	deadline := time.Now().Add(time.Hour).UTC()
	values := map[string]any{"a": "1", "b": int64(2), "c": true, "d": "4", "e": 5, "f": []byte("6"),
		"g": 7.5, "h": deadline, "big": int64(1) << 60}
	first, err := jsonCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := jsonCodec{}.Encode(deadline, values)
		if !bytes.Equal(first, again) {
			t.Fatal("one session encoded two ways")
		}
	}
	gotDeadline, got, err := jsonCodec{}.Decode(first)
	if err != nil || !gotDeadline.Equal(deadline) {
		t.Fatalf("round trip: %v %v", gotDeadline, err)
	}
	for k, want := range values {
		if w, ok := want.(time.Time); ok {
			if g, ok := got[k].(time.Time); !ok || !g.Equal(w) {
				t.Errorf("%s: %#v, want %#v", k, got[k], want)
			}
			continue
		}
		if !reflect.DeepEqual(got[k], want) {
			t.Errorf("%s: %#v, want %#v", k, got[k], want)
		}
	}
	if _, err := (jsonCodec{}).Encode(deadline, map[string]any{"x": struct{}{}}); err == nil {
		t.Error("a struct value was encoded; it would not come back as itself")
	}
	old, _ := scs.GobCodec{}.Encode(deadline, map[string]any{"a": "1", "b": int64(2)})
	if _, got, err := (jsonCodec{}).Decode(old); err != nil || !reflect.DeepEqual(got, map[string]any{"a": "1", "b": int64(2)}) {
		t.Fatalf("a session saved by GobCodec: %v %v", got, err)
	}
}

// TestGormStorePurgesWhileRunning: expired sessions are deleted while the
// service runs, at most once per purgeEvery, on the way of a write.
func TestGormStorePurgesWhileRunning(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&SessionRow{}); err != nil {
			t.Fatal(err)
		}
		s := NewGormStore(db)
		now := time.Now().UTC()
		s.now = func() time.Time { return now }
		count := func() int64 {
			var n int64
			db.Model(&SessionRow{}).Count(&n)
			return n
		}
		_ = s.CommitCtx(ctx, "short-"+storagetest.ID(), []byte("a"), now.Add(time.Minute))
		now = now.Add(2 * time.Minute)
		_ = s.CommitCtx(ctx, "long-"+storagetest.ID(), []byte("b"), now.Add(time.Hour))
		before := count()
		now = now.Add(purgeEvery)
		_ = s.CommitCtx(ctx, "later-"+storagetest.ID(), []byte("c"), now.Add(time.Hour))
		if after := count(); after != before {
			t.Errorf("sessions %d → %d after a write past purgeEvery, want the expired one gone and one added", before, after)
		}
	})
}

// Expired sessions are deleted a bounded batch at a time: the write that
// finds the purge due deletes one batch, each write after a full batch the
// next, and PurgeExpired all of them, batch by batch.
func TestGormStorePurgesInBatches(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&SessionRow{}); err != nil {
			t.Fatal(err)
		}
		s := NewGormStore(db)
		now := time.Now().UTC().Truncate(time.Second)
		s.now = func() time.Time { return now }
		s.purge.Run(now, func(int) (int, error) { return 0, nil }) // as after a start-up's first purge
		expired := make([]SessionRow, 2*purgeBatch+200)
		for i := range expired {
			expired[i] = SessionRow{Token: fmt.Sprintf("expired-%d-%s", i, storagetest.ID()), Data: []byte("x"), Expiry: now.Add(-time.Hour)}
		}
		if err := db.CreateInBatches(expired, 200).Error; err != nil {
			t.Fatal(err)
		}
		count := func(query string) int64 {
			var n int64
			if err := db.Model(&SessionRow{}).Where(query, now).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			return n
		}
		now = now.Add(purgeEvery)
		for i, want := range []int64{purgeBatch + 200, 200, 0, 0} {
			if err := s.CommitCtx(ctx, fmt.Sprintf("live-%d-%s", i, storagetest.ID()), []byte("y"), now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got := count("expiry <= ?"); got != want {
				t.Fatalf("after write %d: %d expired sessions left, want %d", i+1, got, want)
			}
		}

		more := make([]SessionRow, purgeBatch+1)
		for i := range more {
			more[i] = SessionRow{Token: fmt.Sprintf("more-%d-%s", i, storagetest.ID()), Data: []byte("x"), Expiry: now.Add(-time.Minute)}
		}
		if err := db.CreateInBatches(more, 200).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.PurgeExpired(ctx); err != nil {
			t.Fatal(err)
		}
		if got, live := count("expiry <= ?"), count("expiry > ?"); got != 0 || live != 4 {
			t.Fatalf("after PurgeExpired: %d expired and %d live sessions, want 0 and 4", got, live)
		}
	})
}
