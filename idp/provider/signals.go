package provider

import (
	"context"

	"xaa.example/idp/console"
)

// signalChange ends at once the access already given (access tokens the
// resources hold) when an administrator disables or deletes a person,
// disables a connection or narrows its scopes: the Shared Signals
// transmitter (package transmitter) tells the resources.
func (s *Server) signalChange(ctx context.Context, ch console.Change) {
	if p := ch.Person; p != nil && (p.State == "disabled" || p.State == "deleted") {
		s.signals.PersonRevoked(ctx, p.User.Email, "The administrator "+p.State+" the account.")
	}
	if c := ch.Connection; c != nil {
		switch {
		case c.Disabled:
			s.signals.AppRevoked(ctx, c.Conn.ClientIDAtResource, "The administrator disabled the connection "+c.Conn.Name()+".")
		case c.Narrowed:
			s.signals.ScopeNarrowed(ctx, c.Conn.ClientIDAtResource, c.Conn.AllowedScopes)
		}
	}
}
