package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/idp/audit"
	"xaa.example/idp/outbox"
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
// One event per SET. Each is delivered through the outbox (kind kindSET):
// at once, before the admin's page returns, and retried as provisioning
// pushes are when that fails.

// kindSET is the outbox's kind for Security Event Token deliveries.
const kindSET = "ssf-set"

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
	return outbox.New(kindSET, d.StreamID, about, d)
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

// signal is an event to send: its type, payload, subject, and how the
// admin console names them.
type signal struct {
	Type    string
	Event   ssf.Event
	Subject ssf.Subject
	About   string
}

// signalChange ends at once the access already given (access tokens the
// resources hold) when an administrator disables or deletes a person,
// disables a connection or narrows its scopes.
func (s *Server) signalChange(ctx context.Context, ch adminChange) {
	now := s.cfg.Now()
	if p := ch.Person; p != nil && (p.State == "disabled" || p.State == "deleted") {
		s.emitSignals(ctx, personRevoked(p.User.Email, "The administrator "+p.State+" the account.", now)...)
	}
	if c := ch.Connection; c != nil {
		switch {
		case c.Disabled:
			s.emitSignals(ctx, appRevoked(c.Conn.ClientIDAtResource, "The administrator disabled the connection "+c.Conn.Name()+".", now))
		case c.Narrowed:
			s.emitSignals(ctx, appScopeNarrowed(c.Conn.ClientIDAtResource, c.Conn.AllowedScopes, now))
		}
	}
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
	var msgs []outbox.Message
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
			m, err := setDelivery{StreamID: st.ID, Event: sig.Type, SET: set}.message(sig.About)
			if err != nil {
				s.cfg.Log.Error("Shared Signals: queue", "err", err)
				continue
			}
			msgs = append(msgs, m)
		}
	}
	s.deliverNow(ctx, msgs...)
}

// deliverNow delivers SETs before the admin's page (or the receiver's
// verification request) returns, so that the very next call with a revoked
// token fails; what fails is retried by the outbox.
func (s *Server) deliverNow(ctx context.Context, msgs ...outbox.Message) {
	if len(msgs) == 0 {
		return
	}
	push, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliveryTimeout)
	defer cancel()
	if err := s.outbox.DeliverNow(push, msgs...); err != nil {
		s.cfg.Log.Error("Shared Signals: queue", "err", err)
	}
}

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

// deliver is the outbox's handler of SET deliveries: it pushes one to its
// stream and audits the attempt (first, as for provisioning).
func (p *pusher) deliver(ctx context.Context, m *outbox.Message) outbox.Outcome {
	s := p.s
	var d setDelivery
	if err := m.Decode(&d); err != nil {
		return outbox.Dropped("not a SET delivery")
	}
	st, err := s.store.stream(ctx, d.StreamID)
	if errors.Is(err, storage.ErrNotFound) {
		return outbox.Dropped("the stream was deleted")
	}
	if err != nil {
		return outbox.Failed(err)
	}
	switch st.Status {
	case streamPaused:
		// Held until the receiver enables its stream again (SSF §8.1.2).
		return outbox.Held(s.cfg.Now().Add(time.Minute), "the stream is paused")
	case streamDisabled:
		return outbox.Dropped("the stream is disabled")
	}
	err = ssf.Push(ctx, p.http, st.Endpoint, st.Authorization, d.SET)
	row := audit.Event{Time: s.cfg.Now().UTC(), Event: audit.SignalPush, Target: st.Receiver, UserEmail: m.About, After: d.Event, Outcome: "pushed"}
	if err != nil {
		row.Outcome, row.Reason = "failed", err.Error()
	}
	s.auditLog.Record(ctx, &row)
	if err != nil {
		s.cfg.Log.Warn("Shared Signals: push failed", "receiver", st.Receiver, "attempt", m.Attempts+1, "err", err)
		return outbox.Failed(err)
	}
	s.cfg.Log.Info("Shared Signals: SET delivered", "receiver", st.Receiver, "event", d.Event)
	return outbox.Delivered()
}
