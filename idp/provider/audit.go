package provider

import (
	"context"
	"strings"
	"time"

	"xaa.example/shared/exchange"
)

// AuditEvent is one ID-JAG issued or refused. Okta names issuance
// app.oauth2.token.grant.id_jag; a refusal is recorded with its reason.
type AuditEvent struct {
	ID        uint      `gorm:"primaryKey"`
	Time      time.Time `gorm:"index;not null"`
	Event     string    `gorm:"size:64;not null"`
	Outcome   string    `gorm:"size:16;index;not null"` // issued or refused
	ClientID  string    `gorm:"size:255"`
	UserID    string    `gorm:"size:32;index"`
	UserEmail string    `gorm:"size:255"`
	Audience  string    `gorm:"size:255"`
	Resource  string    `gorm:"size:1024"`
	Scope     string    `gorm:"size:1024"` // granted
	Requested string    `gorm:"size:1024"` // asked for
	JTI       string    `gorm:"size:255"`
	Reason    string    `gorm:"size:1024"`
	// Actor is the administrator behind an admin action; Before and After
	// describe what the action changed.
	Actor  string `gorm:"size:255"`
	Target string `gorm:"size:255"`
	Before string `gorm:"column:change_before;size:1024"` // BEFORE is reserved in MariaDB
	After  string `gorm:"column:change_after;size:1024"`
	// Trace is the debug console run the event belongs to, if any.
	Trace string `gorm:"size:64"`
}

// Audit event names (Okta's where Okta has one).
const (
	EventIDJAGIssued    = "app.oauth2.token.grant.id_jag"
	EventIDJAGRefused   = "app.oauth2.token.grant.id_jag.refused"
	EventSignInFailed   = "user.session.start.failure"
	EventSignInLocked   = "user.account.lock"
	EventSignInUnlocked = "user.account.unlock"
)

// auditSignIn records a failed sign-in: who was tried, from where, why.
func (s *Server) auditSignIn(ctx context.Context, email, addr, reason string) {
	row := AuditEvent{Time: s.cfg.Now().UTC(), Event: EventSignInFailed, Outcome: "refused", UserEmail: truncate(email, 255), Reason: truncate(reason+" (from "+addr+")", 1024)}
	if u, err := s.store.userByEmail(ctx, email); err == nil {
		row.UserID = u.ID
	}
	s.storeAudit(ctx, &row)
	s.cfg.Log.Info("sign-in failed", "event", row.Event, "email", row.UserEmail, "addr", addr, "reason", reason)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// audit records every issuance and refusal of the token exchange, in the
// database and in the log. A failure to record is logged, not hidden.
func (s *Server) audit(ctx context.Context, e exchange.Event) {
	row := AuditEvent{
		Time: s.cfg.Now().UTC(), Event: EventIDJAGIssued, Outcome: "issued",
		ClientID: e.ClientID, UserID: e.Subject, UserEmail: e.SubjectEmail, Audience: e.Audience, Resource: e.Resource,
		Scope: e.Scope, Requested: e.Requested, JTI: e.JTI, Reason: e.Reason, Trace: e.Trace,
	}
	if !e.Issued {
		row.Event, row.Outcome = EventIDJAGRefused, "refused"
	}
	if e.Subject != "" && row.UserEmail == "" {
		if u, err := s.store.user(ctx, e.Subject); err == nil {
			row.UserEmail = u.Email
		}
	}
	s.storeAudit(ctx, &row)
	s.cfg.Log.Info("ID-JAG "+row.Outcome, "event", row.Event, "client", row.ClientID, "user", row.UserID,
		"audience", row.Audience, "scope", row.Scope, "jti", row.JTI, "reason", row.Reason)
}

// Admin action names, after Okta's System Log.
const (
	EventConnectionUpdated = "app.connection.update"
	EventUserActivated     = "user.lifecycle.activate"
	EventUserDeactivated   = "user.lifecycle.deactivate"
	EventKeyRotated        = "system.key.rotate"
	// EventSignInProtocolChanged: an organisation's people now sign in to
	// an app with SAML 2.0, or with OpenID Connect.
	EventSignInProtocolChanged = "application.lifecycle.update"
	// EventSAMLAppAdded, EventSAMLAppRemoved: an administrator added or
	// removed a SAML app (Apps, "Add a SAML app").
	EventSAMLAppAdded        = "application.lifecycle.create"
	EventSAMLAppRemoved      = "application.lifecycle.delete"
	EventUserCreated         = "user.lifecycle.create"
	EventUserDeleted         = "user.lifecycle.delete"
	EventProvisioningChanged = "application.provision.update"
	// EventProvisionPush: a person's account pushed to an app (SCIM),
	// outcome pushed or failed.
	EventProvisionPush = "application.provision.user.push"
	// EventSignalPush: a Security Event Token pushed to a receiver (Shared
	// Signals), outcome pushed or failed.
	EventSignalPush = "security.events.provider.push"
)

// auditChange records an administrator's change, with what it was before
// and what it is after.
func (s *Server) auditChange(ctx context.Context, ch adminChange) {
	row := AuditEvent{Time: s.cfg.Now().UTC(), Event: ch.Event, Outcome: "changed", Actor: ch.Admin.Email, Target: truncate(ch.Target, 255),
		Before: truncate(ch.Before, 1024), After: truncate(ch.After, 1024)}
	s.storeAudit(ctx, &row)
	s.cfg.Log.Info("admin change", "event", ch.Event, "admin", ch.Admin.ID, "target", ch.Target, "before", ch.Before, "after", ch.After)
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	Text    string // matched against user, client, audience, resource, scope, jti and reason
	Outcome string // issued, refused, or empty for both
	Limit   int
}

// auditEvents returns the newest events matching q.
func (s *store) auditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	db := s.db.WithContext(ctx).Order("time desc, id desc")
	if q.Outcome == "issued" || q.Outcome == "refused" || q.Outcome == "changed" {
		db = db.Where("outcome = ?", q.Outcome)
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		// "!" escapes LIKE's wildcards the same way in SQLite and MariaDB
		// (a backslash would not: SQLite has no default escape character).
		like := "%" + strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(strings.ToLower(t)) + "%"
		var conds []string
		var args []any
		for _, col := range []string{"user_email", "user_id", "client_id", "audience", "resource", "scope", "requested", "jti", "reason", "actor", "target", "change_before", "change_after"} {
			conds = append(conds, "LOWER("+col+") LIKE ? ESCAPE '!'")
			args = append(args, like)
		}
		db = db.Where(strings.Join(conds, " OR "), args...)
	}
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var out []AuditEvent
	err := db.Limit(limit).Find(&out).Error
	return out, err
}

// auditWriteTimeout bounds the write of an audit record once its caller
// has gone.
const auditWriteTimeout = 5 * time.Second

// storeAudit writes an audit event; a failure to record is logged, not
// hidden, and does not undo what was audited. The record belongs to the
// decision, not to the request that asked for it: it is written even when
// the caller went away meanwhile (its context cancelled), within
// auditWriteTimeout.
func (s *Server) storeAudit(ctx context.Context, row *AuditEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
	defer cancel()
	if err := s.store.addAuditEvent(ctx, row); err != nil {
		s.cfg.Log.Error("audit event not stored", "err", err, "event", row.Event)
	}
}
