package outbox

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

// clock is a test's time, moved by hand.
type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time       { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) add(d time.Duration)  { c.t.Add(int64(d)) }
func newClock(start time.Time) *clock { c := &clock{}; c.t.Store(start.UnixNano()); return c }

func open(t *testing.T, db *gorm.DB, c *clock) *Outbox {
	t.Helper()
	o, err := Open(db, c.now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func message(t *testing.T, kind, target string) Message {
	t.Helper()
	m, err := New(kind, target, "bob@tables.fake", map[string]string{"to": target})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reload is the message as stored.
func reload(t *testing.T, db *gorm.DB, id uint) Message {
	t.Helper()
	var m Message
	if err := db.Take(&m, "id = ?", id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOutcomesAreRecorded: each outcome a handler gives is what the table
// keeps: delivered is done; failed is retried after a doubling wait, its
// error kept; held waits as long as the receiver asked, not counted as an
// attempt; dropped is done with its reason; a kind nobody handles fails.
func TestOutcomesAreRecorded(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
		o := open(t, db, c)
		outcome := map[string]Outcome{
			"delivered": Delivered(),
			"failed":    Failed(errors.New("the app answered 503")),
			"held":      Held(c.now().Add(time.Minute), "the stream is paused"),
			"dropped":   Dropped("the stream was deleted"),
		}
		o.Handle("test", func(_ context.Context, m *Message) Outcome { return outcome[m.Target] })
		var msgs []Message
		for _, target := range []string{"delivered", "failed", "held", "dropped"} {
			msgs = append(msgs, message(t, "test", target))
		}
		msgs = append(msgs, message(t, "nobody-handles-this", "x"))
		if err := o.Enqueue(t.Context(), msgs...); err != nil {
			t.Fatal(err)
		}
		o.runDue(t.Context())
		now := c.now()
		got := func(i int) Message { return reload(t, db, msgs[i].ID) }
		if m := got(0); !m.Done() || m.Attempts != 1 || m.LastError != "" {
			t.Errorf("delivered: %+v", m)
		}
		if m := got(1); m.Done() || m.Attempts != 1 || !m.NextAt.Equal(now.Add(FirstRetry)) || m.LastError != "the app answered 503" {
			t.Errorf("failed: %+v", m)
		}
		if m := got(2); m.Done() || m.Attempts != 0 || !m.NextAt.Equal(now.Add(time.Minute)) || m.LastError != "the stream is paused" {
			t.Errorf("held: %+v", m)
		}
		if m := got(3); !m.Done() || m.LastError != "the stream was deleted" {
			t.Errorf("dropped: %+v", m)
		}
		if m := got(4); m.Done() || m.Attempts != 1 || m.LastError != "no handler for messages of kind nobody-handles-this" {
			t.Errorf("no handler: %+v", m)
		}

		// Not due yet: nothing is tried. Then the failed one, again.
		calls := 0
		o.Handle("test", func(_ context.Context, m *Message) Outcome { calls++; return outcome[m.Target] })
		o.runDue(t.Context())
		if calls != 0 {
			t.Errorf("%d messages tried before they were due", calls)
		}
		c.add(FirstRetry)
		o.runDue(t.Context())
		if m := got(1); calls != 1 || m.Attempts != 2 || !m.NextAt.Equal(c.now().Add(2*FirstRetry)) {
			t.Errorf("second failure (%d calls): %+v", calls, m)
		}

		recent, err := o.Recent(t.Context(), "test", 10)
		if err != nil || len(recent) != 4 || recent[0].Target != "dropped" {
			t.Errorf("recent: %v %+v", err, recent)
		}
	})
}

// TestBackoff: 1 s, then twice as long each time, never over 15 min.
func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 10: 512 * time.Second, 11: MaxRetry, 1000: MaxRetry} {
		if got := Backoff(n); got != want {
			t.Errorf("after %d failures: %s, want %s", n, got, want)
		}
	}
}

// TestDeliverNow: delivered before it returns; what fails there is left
// to the worker, retried as any failure is, and not tried by the worker
// while the inline attempt runs.
func TestDeliverNow(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
		o := open(t, db, c)
		var workerSaw atomic.Int32
		o.Handle("test", func(ctx context.Context, m *Message) Outcome {
			if m.Target == "down" {
				// While it is tried inline, the worker does not see it.
				var due []Message
				db.Where("done_at IS NULL AND next_at <= ?", c.now()).Find(&due)
				workerSaw.Add(int32(len(due)))
				return Failed(errors.New("connection refused"))
			}
			return Delivered()
		})
		up, down := message(t, "test", "up"), message(t, "test", "down")
		if err := o.DeliverNow(t.Context(), up, down); err != nil {
			t.Fatal(err)
		}
		if m := reload(t, db, 1); !m.Done() {
			t.Errorf("delivered inline: %+v", m)
		}
		if m := reload(t, db, 2); m.Done() || m.Attempts != 1 || !m.NextAt.Equal(c.now().Add(FirstRetry)) {
			t.Errorf("failed inline: %+v", m)
		}
		if workerSaw.Load() != 0 {
			t.Errorf("a message tried inline was due for the worker meanwhile")
		}
	})
}

// TestWorker: a queued message is delivered by the running worker without
// waiting for its tick; Stop ends it.
func TestWorker(t *testing.T) {
	db := storagetest.SQLite(t)
	c := newClock(time.Now())
	o := open(t, db, c)
	delivered := make(chan string, 1)
	o.Handle("test", func(_ context.Context, m *Message) Outcome { delivered <- m.Target; return Delivered() })
	o.Start()
	defer o.Stop()
	if err := o.Enqueue(t.Context(), message(t, "test", "app")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-delivered:
		if got != "app" {
			t.Errorf("delivered %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not deliver the message")
	}
}

// TestAStoppedWorkerCountsNoAttempt: a failure because the worker is
// stopping (its context ended) is not an attempt; the message stays due.
func TestAStoppedWorkerCountsNoAttempt(t *testing.T) {
	db := storagetest.SQLite(t)
	c := newClock(time.Now())
	o := open(t, db, c)
	ctx, cancel := context.WithCancel(t.Context())
	o.Handle("test", func(context.Context, *Message) Outcome { cancel(); return Failed(context.Canceled) })
	if err := o.Enqueue(t.Context(), message(t, "test", "app")); err != nil {
		t.Fatal(err)
	}
	o.runDue(ctx)
	if m := reload(t, db, 1); m.Attempts != 0 || m.LastError != "" {
		t.Errorf("%+v", m)
	}
}

// TestDiscard: a receiver that is gone has its undelivered messages
// dropped; what was delivered stays, as do other receivers' messages.
func TestDiscard(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		c := newClock(time.Now())
		o := open(t, db, c)
		o.Handle("test", func(context.Context, *Message) Outcome { return Delivered() })
		if err := o.DeliverNow(t.Context(), message(t, "test", "gone")); err != nil {
			t.Fatal(err)
		}
		if err := o.Enqueue(t.Context(), message(t, "test", "gone"), message(t, "test", "other"), message(t, "other-kind", "gone")); err != nil {
			t.Fatal(err)
		}
		if err := o.Discard(t.Context(), "test", "gone"); err != nil {
			t.Fatal(err)
		}
		var left []Message
		db.Order("id").Find(&left)
		if len(left) != 3 || !left[0].Done() || left[1].Target != "other" || left[2].Kind != "other-kind" {
			t.Errorf("left %+v", left)
		}
	})
}
