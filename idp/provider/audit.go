package provider

import (
	"context"

	"xaa.example/idp/audit"
	"xaa.example/idp/console"
	"xaa.example/shared/exchange"
)

// auditSignIn records a failed sign-in: who was tried, from where, why.
func (s *Server) auditSignIn(ctx context.Context, email, addr, reason string) {
	row := audit.Event{Time: s.cfg.Now().UTC(), Event: audit.SignInFailed, Outcome: "refused", UserEmail: email, Reason: reason + " (from " + addr + ")"}
	if u, err := s.store.UserByEmail(ctx, email); err == nil {
		row.UserID = u.ID
	}
	s.auditLog.Record(ctx, &row)
	s.cfg.Log.Info("sign-in failed", "event", row.Event, "email", row.UserEmail, "addr", addr, "reason", reason)
}

// auditExchange records every issuance and refusal of the token exchange,
// in the audit log and in the log. A failure to record is logged, not
// hidden.
func (s *Server) auditExchange(ctx context.Context, e exchange.Event) {
	row := audit.Event{
		Time: s.cfg.Now().UTC(), Event: audit.IDJAGIssued, Outcome: "issued",
		ClientID: e.ClientID, UserID: e.Subject, UserEmail: e.SubjectEmail, Audience: e.Audience, Resource: e.Resource,
		Scope: e.Scope, Requested: e.Requested, JTI: e.JTI, Reason: e.Reason, Trace: e.Trace,
	}
	if !e.Issued {
		row.Event, row.Outcome = audit.IDJAGRefused, "refused"
	}
	if e.Subject != "" && row.UserEmail == "" {
		if u, err := s.store.User(ctx, e.Subject); err == nil {
			row.UserEmail = u.Email
		}
	}
	s.auditLog.Record(ctx, &row)
	s.cfg.Log.Info("ID-JAG "+row.Outcome, "event", row.Event, "client", row.ClientID, "user", row.UserID,
		"audience", row.Audience, "scope", row.Scope, "jti", row.JTI, "reason", row.Reason)
}

// auditChange records an administrator's change, with what it was before
// and what it is after.
func (s *Server) auditChange(ctx context.Context, ch console.Change) {
	row := audit.Event{Time: s.cfg.Now().UTC(), Event: ch.Event, Outcome: "changed", Actor: ch.Admin.Email, Target: ch.Target,
		Before: ch.Before, After: ch.After}
	s.auditLog.Record(ctx, &row)
	s.cfg.Log.Info("admin change", "event", ch.Event, "admin", ch.Admin.ID, "target", ch.Target, "before", ch.Before, "after", ch.After)
}
