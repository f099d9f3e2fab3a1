package provider

import (
	"context"

	"xaa.example/idp/provisioning"
	"xaa.example/idp/store"
)

// An administrator's change is told to every part of the IdP that acts on
// it, so that a console handler checks and saves, then says what changed,
// and nothing more: the audit log records every change; provisioning
// pushes a person's new state, or everyone's when it is switched on for an
// app; Shared Signals ends the access already given to a person or an app.

// adminChange is one change an administrator made: its audit record, and
// what it changed for the parts that act on it (nil for none).
type adminChange struct {
	Admin                 *store.User
	Event                 string // the audit event type
	Target, Before, After string

	Person       *personChange
	Connection   *connectionChange
	Provisioning *provisioning.Target // switched on: everyone is pushed to it
}

// personChange is a person created, enabled, disabled or deleted.
type personChange struct {
	User  *store.User
	State string // created, enabled, disabled, deleted
}

// connectionChange is a connection whose access narrowed.
type connectionChange struct {
	Conn     store.Connection
	Disabled bool // it was enabled, and is not
	Narrowed bool // it stays enabled, and allows less
}

// A reaction is one part's response to an administrator's change.
type reaction func(ctx context.Context, ch adminChange)

// reactions are the parts that act on administrators' changes, the audit
// log first.
func (s *Server) reactions() []reaction {
	return []reaction{s.auditChange, s.provisionChange, s.signalChange}
}

// changed tells every part of the IdP of an administrator's change.
func (s *Server) changed(ctx context.Context, ch adminChange) {
	for _, react := range s.reactions() {
		react(ctx, ch)
	}
}
