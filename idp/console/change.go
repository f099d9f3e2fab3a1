package console

import (
	"context"

	"xaa.example/idp/provisioning"
	"xaa.example/idp/store"
)

// An administrator's change is told to every part of the IdP that acts on
// it (Config.Reactions), so that a console handler checks and saves, then
// says what changed, and nothing more: the audit log records every change;
// provisioning pushes a person's new state, or everyone's when it is
// switched on for an app; Shared Signals ends the access already given to
// a person or an app.

// Change is one change an administrator made: its audit record, and what
// it changed for the parts that act on it (nil for none).
type Change struct {
	Admin                 *store.User
	Event                 string // the audit event type
	Target, Before, After string

	Person       *PersonChange
	Connection   *ConnectionChange
	Provisioning *provisioning.Target // switched on: everyone is pushed to it
}

// PersonChange is a person created, enabled, disabled or deleted.
type PersonChange struct {
	User  *store.User
	State string // created, enabled, disabled, deleted
}

// ConnectionChange is a connection whose access narrowed.
type ConnectionChange struct {
	Conn     store.Connection
	Disabled bool // it was enabled, and is not
	Narrowed bool // it stays enabled, and allows less
}

// A Reaction is one part's response to an administrator's change.
type Reaction func(ctx context.Context, ch Change)

// changed tells every part that acts on an administrator's change, in
// order (the audit log first).
func (s *Console) changed(ctx context.Context, ch Change) {
	for _, react := range s.cfg.Reactions {
		react(ctx, ch)
	}
}
