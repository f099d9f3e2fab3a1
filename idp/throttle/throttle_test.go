package throttle

import (
	"context"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

// TestThrottleCountsParallelGuesses: guesses sent at once are each counted
// (one UPDATE raises the count), on SQLite and MariaDB, and the lock grows.
func TestThrottleCountsParallelGuesses(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		st, err := Open(db)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		now := time.Now()
		email := "Parallel-" + storagetest.ID() + "@tables.fake"
		key := accountKey(email)
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				if _, err := st.failed(ctx, now, key, freeAccountFailures); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var row Row
		if err := db.Take(&row, "who = ?", key).Error; err != nil {
			t.Fatal(err)
		}
		if row.Failures != 12 {
			t.Errorf("12 parallel failures counted as %d", row.Failures)
		}
		// 12 failures, 5 free: the seventh over locks for 2^6 s.
		if wait, _ := st.LockedFor(ctx, now, email, "192.0.2.1"); wait < 63*time.Second || wait > 64*time.Second { // MariaDB keeps whole seconds
			t.Errorf("locked for %v, want 64s", wait)
		}
		// A quiet spell forgets.
		if wait, _ := st.failed(ctx, now.Add(forgetAfter+time.Minute), key, freeAccountFailures); wait != 0 {
			t.Errorf("after a quiet spell the first failure locks for %v, want no lock", wait)
		}
	})
}
