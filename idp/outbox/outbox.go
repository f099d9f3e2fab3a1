// Package outbox is the IdP's one way to deliver something that must
// arrive even when the other side is down: a provisioning push (SCIM), a
// Security Event Token (Shared Signals). A message is written to the
// outbox table first; a handler for its kind delivers it, now or from the
// worker; a failure is retried with a doubling wait (1 s up to 15 min) and
// the last error kept for the admin console; a receiver that asked to wait
// holds it; one that is gone drops it.
//
// What a message carries is its kind's: the outbox reads only the fields it
// schedules by.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage"
)

// Retry waits: the first retry after FirstRetry, each next one twice as
// long, never more than MaxRetry apart.
const (
	FirstRetry = time.Second
	MaxRetry   = 15 * time.Minute
	// batch bounds the messages one round of the worker reads.
	batch = 50
)

// Message is one delivery: what it is (Kind, and the payload its handler
// reads), where it goes (Target), whom it is about (About, for people), and
// how its attempts went.
type Message struct {
	ID     uint   `gorm:"primaryKey"`
	Kind   string `gorm:"size:32;not null;index"`
	Target string `gorm:"size:255;not null;index"`
	About  string `gorm:"size:1024"`
	// Payload is the kind's own JSON.
	Payload   string    `gorm:"type:text;not null"`
	Attempts  int       `gorm:"not null"`
	NextAt    time.Time `gorm:"index;not null"`
	LastError string    `gorm:"size:1024"`
	DoneAt    *time.Time
	CreatedAt time.Time
}

// TableName is the outbox's table.
func (Message) TableName() string { return "outbox" }

// Done reports whether the message was delivered (or dropped).
func (m Message) Done() bool { return m.DoneAt != nil }

// Decode reads the payload into v.
func (m Message) Decode(v any) error { return json.Unmarshal([]byte(m.Payload), v) }

// New is a message of kind for target, about someone, carrying payload
// (encoded as JSON), due now.
func New(kind, target, about string, payload any) (Message, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Message{}, err
	}
	return Message{Kind: kind, Target: target, About: truncate(about, 1024), Payload: string(b)}, nil
}

// Outcome is what a handler made of one attempt.
type Outcome struct {
	done  bool
	err   error
	until time.Time
	note  string
}

// Delivered: the message arrived.
func Delivered() Outcome { return Outcome{done: true} }

// Failed: it did not arrive; it is retried.
func Failed(err error) Outcome { return Outcome{err: err} }

// Held: the receiver asked to wait; tried again at until, why kept.
func Held(until time.Time, why string) Outcome { return Outcome{until: until, note: why} }

// Dropped: it will never be wanted (its receiver is gone); done, why kept.
func Dropped(why string) Outcome { return Outcome{done: true, note: why} }

// A Handler delivers one message of its kind. ctx ends with the worker or
// the caller that delivers inline.
type Handler func(ctx context.Context, m *Message) Outcome

// Outbox is the table and the worker that empties it.
type Outbox struct {
	db       *gorm.DB
	now      func() time.Time
	log      *slog.Logger
	handlers map[string]Handler

	wake   chan struct{}
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// Open migrates the outbox's table.
func Open(db *gorm.DB, now func() time.Time, log *slog.Logger) (*Outbox, error) {
	if err := storage.Migrate(db, "idp/outbox", schema...); err != nil {
		return nil, err
	}
	return &Outbox{db: db, now: now, log: log, handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}, nil
}

// Handle makes h the handler of kind; set before Start.
func (o *Outbox) Handle(kind string, h Handler) { o.handlers[kind] = h }

// Enqueue writes messages, due at their NextAt (now when zero), and wakes
// the worker.
func (o *Outbox) Enqueue(ctx context.Context, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	now := o.now()
	for i := range msgs {
		if msgs[i].NextAt.IsZero() {
			msgs[i].NextAt = now
		}
	}
	if err := o.db.WithContext(ctx).CreateInBatches(msgs, 200).Error; err != nil {
		return err
	}
	o.Poke()
	return nil
}

// inlineGrace keeps a message being delivered inline (DeliverNow) from the
// worker's hands meanwhile.
const inlineGrace = 30 * time.Second

// DeliverNow writes messages and delivers them at once, before the caller
// answers (a revocation must reach the resource before the admin's page
// returns); what fails is retried by the worker. ctx should outlive the
// caller's request (context.WithoutCancel), with a timeout.
func (o *Outbox) DeliverNow(ctx context.Context, msgs ...Message) error {
	now := o.now()
	for i := range msgs {
		msgs[i].NextAt = now.Add(inlineGrace)
	}
	if err := o.Enqueue(ctx, msgs...); err != nil {
		return err
	}
	for i := range msgs {
		o.deliver(ctx, &msgs[i])
	}
	return nil
}

// Start runs the worker: woken when messages are queued, and every second
// for retries come due. Stop ends it.
func (o *Outbox) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	o.done.Add(1)
	go func() {
		defer o.done.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-o.wake:
			case <-tick.C:
			}
			o.runDue(ctx)
		}
	}()
}

// Stop ends the worker and waits for its round to finish.
func (o *Outbox) Stop() {
	if o.cancel != nil {
		o.cancel()
		o.done.Wait()
	}
}

// Poke wakes the worker.
func (o *Outbox) Poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *Outbox) runDue(ctx context.Context) {
	var due []Message
	err := o.db.WithContext(ctx).Where("done_at IS NULL AND next_at <= ?", o.now()).Order("id").Limit(batch).Find(&due).Error
	if err != nil {
		if ctx.Err() == nil {
			o.log.Error("outbox: read the due messages", "err", err)
		}
		return
	}
	for i := range due {
		if ctx.Err() != nil {
			return
		}
		o.deliver(ctx, &due[i])
	}
}

// deliver runs m's handler once and records the outcome.
func (o *Outbox) deliver(ctx context.Context, m *Message) {
	h, ok := o.handlers[m.Kind]
	var out Outcome
	if ok {
		out = h(ctx, m)
	} else {
		out = Failed(errors.New("no handler for messages of kind " + m.Kind))
	}
	if ctx.Err() != nil && out.err != nil {
		return // the worker stops: the attempt does not count
	}
	now := o.now()
	switch {
	case out.done:
		m.DoneAt, m.LastError = &now, truncate(out.note, 1024)
		m.Attempts++
	case !out.until.IsZero():
		m.NextAt, m.LastError = out.until, truncate(out.note, 1024)
	default:
		m.Attempts++
		m.NextAt, m.LastError = now.Add(Backoff(m.Attempts)), truncate(out.err.Error(), 1024)
	}
	// Recorded whatever the caller does next: the attempt was made.
	err := o.db.WithContext(context.WithoutCancel(ctx)).Model(m).Select("attempts", "next_at", "done_at", "last_error").Updates(m).Error
	if err != nil {
		o.log.Error("outbox: record an attempt", "err", err, "kind", m.Kind, "message", m.ID)
	}
}

// Backoff is the wait after the n-th failed attempt.
func Backoff(n int) time.Duration {
	return min(FirstRetry<<min(max(n-1, 0), 20), MaxRetry)
}

// Recent is the latest messages of kind, newest first.
func (o *Outbox) Recent(ctx context.Context, kind string, limit int) ([]Message, error) {
	var out []Message
	return out, o.db.WithContext(ctx).Where("kind = ?", kind).Order("id DESC").Limit(limit).Find(&out).Error
}

// Discard drops the undelivered messages of kind for target (a receiver
// that is gone).
func (o *Outbox) Discard(ctx context.Context, kind, target string) error {
	return o.db.WithContext(ctx).Where("kind = ? AND target = ? AND done_at IS NULL", kind, target).Delete(&Message{}).Error
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Message{}) }},
}
