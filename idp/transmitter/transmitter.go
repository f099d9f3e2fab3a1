// Package transmitter is the IdP as a Shared Signals transmitter (OpenID
// SSF 1.0). A receiver (the todo app) registers a stream at /ssf/streams
// with the token the IdP gave it; the IdP then pushes Security Event
// Tokens (RFC 8417, signed with its keys) to the stream's endpoint (RFC
// 8935) when access ends:
//
//   - a person disabled or deleted: RISC account-disabled and CAEP
//     session-revoked, subject their email (RFC 9493 "email" format, the
//     identifier the resource's tokens carry);
//   - a connection disabled: CAEP session-revoked for the app, subject
//     complex{application: opaque client id at the resource}: every token
//     of that app ends;
//   - a connection's scopes narrowed: CAEP token-claims-change for the app
//     with the scope now allowed: its tokens carry more than that.
//
// One event per SET. Each is delivered through the IdP's outbox (kind
// Kind): at once, before the admin's page returns, and retried from the
// outbox when that fails. Each attempt is audited.
package transmitter

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"gorm.io/gorm"

	"xaa.example/idp/audit"
	"xaa.example/idp/outbox"
	"xaa.example/shared/numericdate"
	"xaa.example/shared/ssf"
	"xaa.example/shared/storage"
)

// Kind is the outbox's kind for Security Event Token deliveries.
const Kind = "ssf-set"

// deliveryTimeout bounds one push to a receiver.
const deliveryTimeout = 5 * time.Second

// Config is what the transmitter is given.
type Config struct {
	// Issuer is the IdP's issuer, the SETs' iss; JWKSURI where its keys
	// are published.
	Issuer, JWKSURI string
	// Keys sign the SETs.
	Keys ssf.Signer
	// Receivers may manage a stream here.
	Receivers []Receiver
	DB        *gorm.DB
	Outbox    *outbox.Outbox
	Audit     *audit.Log
	Now       func() time.Time
	Log       *slog.Logger
}

// Transmitter sends the IdP's Security Event Tokens.
type Transmitter struct {
	cfg  Config
	http *http.Client
}

// New migrates the streams' table and hands the outbox its deliveries.
func New(cfg Config) (*Transmitter, error) {
	if err := storage.Migrate(cfg.DB, "idp/transmitter", schema...); err != nil {
		return nil, err
	}
	t := &Transmitter{cfg: cfg, http: &http.Client{Timeout: deliveryTimeout}}
	cfg.Outbox.Handle(Kind, t.deliver)
	return t, nil
}

// Receiver may manage a stream: its name and the bearer token the IdP
// gave it.
type Receiver struct {
	Name  string
	Token string
}

// Stream is a receiver's stream: where and how to push, what it asked
// for.
type Stream struct {
	ID       string `gorm:"primaryKey;size:32"`
	Receiver string `gorm:"uniqueIndex;size:255;not null"`
	// Status is enabled, paused (events are held for later) or disabled
	// (none are sent), as the receiver set it (SSF §8.1.2).
	Status       string `gorm:"size:16;not null;default:'enabled'"`
	StatusReason string `gorm:"size:1024"`
	Audience     string `gorm:"size:1024;not null"`
	Endpoint     string `gorm:"size:1024;not null"`
	// Authorization is the header to push with, as the receiver gave it: a
	// credential, never shown.
	Authorization string `gorm:"size:1024"`
	Events        string `gorm:"size:1024;not null"` // requested and supported, space-separated
	Description   string `gorm:"size:1024"`
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName keeps the table the IdP has always had.
func (Stream) TableName() string { return "ssf_streams" }

// setDelivery is one SET to push to a stream: the payload of an outbox
// message (its target the stream).
type setDelivery struct {
	StreamID string `json:"stream_id"`
	Event    string `json:"event"`
	SET      string `json:"set"`
}

// message is the delivery as an outbox message; about names its subject
// for people.
func (d setDelivery) message(about string) (outbox.Message, error) {
	return outbox.New(Kind, d.StreamID, about, d)
}

func (t *Transmitter) streams(ctx context.Context) ([]Stream, error) {
	var out []Stream
	return out, t.cfg.DB.WithContext(ctx).Find(&out).Error
}

func (t *Transmitter) stream(ctx context.Context, id string) (*Stream, error) {
	var st Stream
	err := t.cfg.DB.WithContext(ctx).Take(&st, "id = ?", id).Error
	return &st, storage.Translate(err)
}

// signal is an event to send: its type, payload, subject, and how the
// admin console names them.
type signal struct {
	Type    string
	Event   ssf.Event
	Subject ssf.Subject
	About   string
}

// PersonRevoked ends every access of a person (disabled or deleted by the
// administrator, as why says).
func (t *Transmitter) PersonRevoked(ctx context.Context, email, why string) {
	t.emitSignals(ctx, personRevoked(email, why, t.cfg.Now())...)
}

// AppRevoked ends every token of an app, known at the resource by its
// client id (its connection disabled, as why says).
func (t *Transmitter) AppRevoked(ctx context.Context, clientID, why string) {
	t.emitSignals(ctx, appRevoked(clientID, why, t.cfg.Now()))
}

// ScopeNarrowed tells the resource an app's tokens may carry only scope
// from now on.
func (t *Transmitter) ScopeNarrowed(ctx context.Context, clientID, scope string) {
	t.emitSignals(ctx, appScopeNarrowed(clientID, scope, t.cfg.Now()))
}

// emitSignals signs a SET per event for every stream that asked for it,
// queues the pushes and wakes the worker. A failure is logged: the admin's
// change stands, and the access tokens still expire on their own.
func (t *Transmitter) emitSignals(ctx context.Context, signals ...signal) {
	streams, err := t.streams(ctx)
	if err != nil {
		t.cfg.Log.Error("Shared Signals: read the streams", "err", err)
		return
	}
	now := t.cfg.Now()
	var msgs []outbox.Message
	for _, st := range streams {
		if st.Status == streamDisabled {
			continue // the receiver asked for nothing (SSF §8.1.2)
		}
		for _, sig := range signals {
			if !slices.Contains(strings.Fields(st.Events), sig.Type) {
				continue
			}
			set, err := ssf.Sign(t.cfg.Keys, ssf.SET{
				Issuer: t.cfg.Issuer, Audience: jwt.Audience{st.Audience}, IssuedAt: jwt.NewNumericDate(now),
				ID: rand.Text(), Subject: sig.Subject, Events: map[string]ssf.Event{sig.Type: sig.Event},
			})
			if err != nil {
				t.cfg.Log.Error("Shared Signals: sign", "err", err)
				continue
			}
			m, err := setDelivery{StreamID: st.ID, Event: sig.Type, SET: set}.message(sig.About)
			if err != nil {
				t.cfg.Log.Error("Shared Signals: queue", "err", err)
				continue
			}
			msgs = append(msgs, m)
		}
	}
	t.deliverNow(ctx, msgs...)
}

// deliverNow delivers SETs before the admin's page (or the receiver's
// verification request) returns, so that the very next call with a revoked
// token fails; what fails is retried by the outbox.
func (t *Transmitter) deliverNow(ctx context.Context, msgs ...outbox.Message) {
	if len(msgs) == 0 {
		return
	}
	push, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliveryTimeout)
	defer cancel()
	if err := t.cfg.Outbox.DeliverNow(push, msgs...); err != nil {
		t.cfg.Log.Error("Shared Signals: queue", "err", err)
	}
}

// personRevoked: a person's access ends (disabled by the admin).
func personRevoked(email, why string, at time.Time) []signal {
	reason := map[string]any{"en": why}
	subject := ssf.Subject{Format: "email", Email: email}
	return []signal{
		{Type: ssf.EventAccountDisabled, Event: ssf.Event{Timestamp: numericdate.New(at), ReasonAdmin: reason}, Subject: subject, About: email},
		{Type: ssf.EventSessionRevoked, Event: ssf.Event{Timestamp: numericdate.New(at), ReasonAdmin: reason}, Subject: subject, About: email},
	}
}

// appRevoked: every token of an app (its client id at the resource) ends.
func appRevoked(clientID, why string, at time.Time) signal {
	return signal{Type: ssf.EventSessionRevoked, Event: ssf.Event{Timestamp: numericdate.New(at), ReasonAdmin: map[string]any{"en": why}},
		Subject: ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: clientID}}, About: "app " + clientID}
}

// appScopeNarrowed: an app's tokens may carry only scope from now on.
func appScopeNarrowed(clientID, scope string, at time.Time) signal {
	return signal{Type: ssf.EventTokenClaimsChange, Event: ssf.Event{Timestamp: numericdate.New(at), Claims: map[string]any{"scope": scope}},
		Subject: ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: clientID}}, About: "app " + clientID + " now " + scope}
}

// deliver is the outbox's handler of SET deliveries: it pushes one to its
// stream and audits the attempt, first: whoever sees the delivery's new
// state finds the attempt in the audit log.
func (t *Transmitter) deliver(ctx context.Context, m *outbox.Message) outbox.Outcome {
	var d setDelivery
	if err := m.Decode(&d); err != nil {
		return outbox.Dropped("not a SET delivery")
	}
	st, err := t.stream(ctx, d.StreamID)
	if errors.Is(err, storage.ErrNotFound) {
		return outbox.Dropped("the stream was deleted")
	}
	if err != nil {
		return outbox.Failed(err)
	}
	switch st.Status {
	case streamPaused:
		// Held until the receiver enables its stream again (SSF §8.1.2).
		return outbox.Held(t.cfg.Now().Add(time.Minute), "the stream is paused")
	case streamDisabled:
		return outbox.Dropped("the stream is disabled")
	}
	err = ssf.Push(ctx, t.http, st.Endpoint, st.Authorization, d.SET)
	row := audit.Event{Time: t.cfg.Now().UTC(), Event: audit.SignalPush, Target: st.Receiver, UserEmail: m.About, After: d.Event, Outcome: "pushed"}
	if err != nil {
		row.Outcome, row.Reason = "failed", err.Error()
	}
	t.cfg.Audit.Record(ctx, &row)
	if err != nil {
		t.cfg.Log.Warn("Shared Signals: push failed", "receiver", st.Receiver, "attempt", m.Attempts+1, "err", err)
		return outbox.Failed(err)
	}
	t.cfg.Log.Info("Shared Signals: SET delivered", "receiver", st.Receiver, "event", d.Event)
	return outbox.Delivered()
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Stream{}) }},
}
