package todoapp

import (
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/ssf"
)

// TestRevocationFor: what each event revokes; an event type the receiver
// does not act on, or a subject it cannot match, revokes nothing (SSF:
// accepted and ignored).
func TestRevocationFor(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	set := func(sub ssf.Subject) *ssf.SET {
		return &ssf.SET{ID: "s1", IssuedAt: jwt.NewNumericDate(at), Subject: sub}
	}
	email := ssf.Subject{Format: "email", Email: "Bob@Tables.fake"}
	app := ssf.Subject{Format: "complex", Application: &ssf.Subject{Format: "opaque", ID: "wiki-at-todo"}}
	rows := []struct {
		name      string
		eventType string
		subject   ssf.Subject
		kind      string // "" when nothing is revoked
		value     string
	}{
		{"account disabled, by email", ssf.EventAccountDisabled, email, revocationKindPerson, "bob@tables.fake"},
		{"session revoked, complex user", ssf.EventSessionRevoked, ssf.Subject{Format: "complex", User: &email}, revocationKindPerson, "bob@tables.fake"},
		{"session revoked for an app", ssf.EventSessionRevoked, app, revocationKindApp, "wiki-at-todo"},
		{"claims changed for an app", ssf.EventTokenClaimsChange, app, revocationKindApp, "wiki-at-todo"},
		{"an unknown event type", "https://example.com/event-type/unknown", email, "", ""},
		{"a subject it cannot match (iss_sub)", ssf.EventAccountDisabled, ssf.Subject{Format: "iss_sub", Iss: "https://idp", Sub: "00u1"}, "", ""},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			got, ok := revocationFor(row.eventType, ssf.Event{Timestamp: at.Unix()}, set(row.subject))
			if row.kind == "" {
				if ok {
					t.Fatalf("revoked %+v", got)
				}
				return
			}
			if !ok || got.Kind != row.kind || got.Value != row.value || !got.Before.Equal(at.Add(time.Second)) {
				t.Fatalf("got %+v %v", got, ok)
			}
		})
	}
}
