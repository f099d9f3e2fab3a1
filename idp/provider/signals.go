package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/ssf"
	"xaa.example/shared/storage"
)

// Shared Signals: the IdP is a transmitter (OpenID SSF 1.0). A receiver
// (the todo app) registers a stream at /ssf/streams with the token the IdP
// gave it; the IdP then pushes Security Event Tokens (RFC 8417, signed with
// its keys) to the stream's endpoint (RFC 8935) when access ends:
//
//   - a person disabled: RISC account-disabled and CAEP session-revoked,
//     subject their email (RFC 9493 "email" format, the identifier the
//     resource's tokens carry);
//   - a connection disabled: CAEP session-revoked for the app, subject
//     complex{application: opaque client id at the resource}: every token
//     of that app ends;
//   - a connection's scopes narrowed: CAEP token-claims-change for the app
//     with the scope now allowed: its tokens carry more than that.
//
// One event per SET. Deliveries wait in a table and go out through the
// provisioning worker, retried as pushes are.

// SSFReceiver may manage a stream: its name and the bearer token the IdP
// gave it.
type SSFReceiver struct {
	Name  string
	Token string
}

// SSFStream is a receiver's stream: where and how to push, what it asked
// for.
type SSFStream struct {
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

// SSFDelivery is one SET waiting for, or past, its push.
type SSFDelivery struct {
	ID        uint      `gorm:"primaryKey"`
	StreamID  string    `gorm:"index;size:32;not null"`
	Event     string    `gorm:"size:255;not null"`
	Subject   string    `gorm:"size:1024;not null"` // for the admin console
	SET       string    `gorm:"column:set_token;type:text;not null"`
	Attempts  int       `gorm:"not null"`
	NextAt    time.Time `gorm:"index;not null"`
	LastError string    `gorm:"size:1024"`
	DoneAt    *time.Time
	CreatedAt time.Time
}

func (s *store) streams(ctx context.Context) ([]SSFStream, error) {
	var out []SSFStream
	return out, s.db.WithContext(ctx).Find(&out).Error
}

func (s *store) stream(ctx context.Context, id string) (*SSFStream, error) {
	var st SSFStream
	err := s.db.WithContext(ctx).Take(&st, "id = ?", id).Error
	return &st, storage.Translate(err)
}

func (s *store) queueDeliveries(ctx context.Context, d []SSFDelivery) error {
	return s.db.WithContext(ctx).Create(&d).Error
}

func (s *store) dueDeliveries(ctx context.Context, now time.Time, limit int) ([]SSFDelivery, error) {
	var due []SSFDelivery
	return due, s.db.WithContext(ctx).Where("done_at IS NULL AND next_at <= ?", now).Order("id").Limit(limit).Find(&due).Error
}

// recordDelivery writes a delivery's attempts and outcome.
func (s *store) recordDelivery(ctx context.Context, d *SSFDelivery) error {
	return s.db.WithContext(ctx).Model(d).Select("attempts", "next_at", "done_at", "last_error").Updates(d).Error
}

// signal is an event to send: its type, payload, subject, and how the
// admin console names them.
type signal struct {
	Type    string
	Event   ssf.Event
	Subject ssf.Subject
	About   string
}

// emitSignals signs a SET per event for every stream that asked for it,
// queues the pushes and wakes the worker. A failure is logged: the admin's
// change stands, and the access tokens still expire on their own.
func (s *Server) emitSignals(ctx context.Context, signals ...signal) {
	streams, err := s.store.streams(ctx)
	if err != nil {
		s.cfg.Log.Error("Shared Signals: read the streams", "err", err)
		return
	}
	now := s.cfg.Now()
	var deliveries []SSFDelivery
	for _, st := range streams {
		if st.Status == streamDisabled {
			continue // the receiver asked for nothing (SSF §8.1.2)
		}
		for _, sig := range signals {
			if !slices.Contains(strings.Fields(st.Events), sig.Type) {
				continue
			}
			set, err := ssf.Sign(s.op.Keys, ssf.SET{
				Issuer: s.cfg.Issuer, Audience: jwt.Audience{st.Audience}, IssuedAt: jwt.NewNumericDate(now),
				ID: rand.Text(), Subject: sig.Subject, Events: map[string]ssf.Event{sig.Type: sig.Event},
			})
			if err != nil {
				s.cfg.Log.Error("Shared Signals: sign", "err", err)
				continue
			}
			// Kept for the worker only should the push below fail.
			deliveries = append(deliveries, SSFDelivery{StreamID: st.ID, Event: sig.Type, Subject: truncate(sig.About, 1024), SET: set, NextAt: now.Add(inlineDeliveryGrace)})
		}
	}
	if len(deliveries) == 0 {
		return
	}
	if err := s.store.queueDeliveries(ctx, deliveries); err != nil {
		s.cfg.Log.Error("Shared Signals: queue", "err", err)
		return
	}
	// Pushed now, before the admin's page returns, so that the very next
	// call with a revoked token fails; what fails here is retried.
	push, cancel := context.WithTimeout(context.WithoutCancel(ctx), provisioningTimeout)
	defer cancel()
	for i := range deliveries {
		s.provisioner.deliver(push, &deliveries[i])
	}
}

// inlineDeliveryGrace keeps a delivery being pushed inline from the
// worker's hands meanwhile.
const inlineDeliveryGrace = 30 * time.Second

// personRevoked: a person's access ends (disabled by the admin).
func personRevoked(email, why string, at time.Time) []signal {
	reason := map[string]any{"en": why}
	subject := ssf.Subject{Format: "email", Email: email}
	return []signal{
		{Type: ssf.EventAccountDisabled, Event: ssf.Event{Timestamp: at.Unix(), ReasonAdmin: reason}, Subject: subject, About: email},
		{Type: ssf.EventSessionRevoked, Event: ssf.Event{Timestamp: at.Unix(), ReasonAdmin: reason}, Subject: subject, About: email},
	}
}

// appRevoked: every token of an app (its client id at the resource) ends.
func appRevoked(clientID, why string, at time.Time) signal {
	return signal{Type: ssf.EventSessionRevoked, Event: ssf.Event{Timestamp: at.Unix(), ReasonAdmin: map[string]any{"en": why}},
		Subject: ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: clientID}}, About: "app " + clientID}
}

// appScopeNarrowed: an app's tokens may carry only scope from now on.
func appScopeNarrowed(clientID, scope string, at time.Time) signal {
	return signal{Type: ssf.EventTokenClaimsChange, Event: ssf.Event{Timestamp: at.Unix(), Claims: map[string]any{"scope": scope}},
		Subject: ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: clientID}}, About: "app " + clientID + " now " + scope}
}

// runDueDeliveries pushes the SETs that are due, and records each outcome
// (retried as provisioning pushes are).
func (p *provisioner) runDueDeliveries(ctx context.Context) {
	s := p.s
	due, err := s.store.dueDeliveries(ctx, s.cfg.Now(), 50)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Log.Error("Shared Signals: read the queue", "err", err)
		}
		return
	}
	for i := range due {
		if ctx.Err() != nil {
			return
		}
		p.deliver(ctx, &due[i])
	}
}

// deliver pushes one SET to its stream and records the outcome, in the
// queue (retried as provisioning pushes are) and the audit log.
func (p *provisioner) deliver(ctx context.Context, d *SSFDelivery) {
	s := p.s
	record := func() {
		if err := s.store.recordDelivery(ctx, d); err != nil {
			s.cfg.Log.Error("Shared Signals: record a delivery", "err", err, "delivery", d.ID)
		}
	}
	st, err := s.store.stream(ctx, d.StreamID)
	if errors.Is(err, storage.ErrNotFound) {
		now := s.cfg.Now()
		d.DoneAt, d.LastError = &now, "the stream was deleted"
		record()
		return
	}
	if err != nil {
		return // tried again on the worker's next round
	}
	now := s.cfg.Now()
	switch st.Status {
	case streamPaused:
		// Held until the receiver enables its stream again (SSF §8.1.2).
		d.NextAt = now.Add(time.Minute)
		record()
		return
	case streamDisabled:
		d.DoneAt, d.LastError = &now, "the stream is disabled"
		record()
		return
	}
	err = ssf.Push(ctx, p.http, st.Endpoint, st.Authorization, d.SET)
	d.Attempts++
	row := AuditEvent{Time: now.UTC(), Event: EventSignalPush, Target: st.Receiver, UserEmail: truncate(d.Subject, 255), After: d.Event}
	if err != nil {
		d.NextAt, d.LastError = now.Add(min(provisioningFirstRetry<<min(d.Attempts-1, 20), provisioningMaxRetry)), truncate(err.Error(), 1024)
		row.Outcome, row.Reason = "failed", d.LastError
		s.cfg.Log.Warn("Shared Signals: push failed", "receiver", st.Receiver, "attempt", d.Attempts, "err", err)
	} else {
		d.DoneAt, d.LastError = &now, ""
		row.Outcome = "pushed"
		s.cfg.Log.Info("Shared Signals: SET delivered", "receiver", st.Receiver, "event", d.Event)
	}
	// The audit record first, as for provisioning: whoever sees the
	// delivery's new state finds the attempt audited.
	s.storeAudit(ctx, &row)
	record()
}
