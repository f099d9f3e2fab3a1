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
	Scope     string    `gorm:"size:1024"`
	JTI       string    `gorm:"size:255"`
	Reason    string    `gorm:"size:1024"`
}

// Audit event names.
const (
	EventIDJAGIssued  = "app.oauth2.token.grant.id_jag"
	EventIDJAGRefused = "app.oauth2.token.grant.id_jag.refused"
)

// audit records every issuance and refusal of the token exchange, in the
// database and in the log. A failure to record is logged, not hidden.
func (s *Server) audit(ctx context.Context, e exchange.Event) {
	row := AuditEvent{
		Time: s.cfg.Now().UTC(), Event: EventIDJAGIssued, Outcome: "issued",
		ClientID: e.ClientID, UserID: e.Subject, Audience: e.Audience, Resource: e.Resource,
		Scope: e.Scope, JTI: e.JTI, Reason: e.Reason,
	}
	if !e.Issued {
		row.Event, row.Outcome = EventIDJAGRefused, "refused"
	}
	if e.Subject != "" {
		if u, err := s.store.user(ctx, e.Subject); err == nil {
			row.UserEmail = u.Email
		}
	}
	if err := s.cfg.DB.WithContext(ctx).Create(&row).Error; err != nil {
		s.cfg.Log.Error("audit event not stored", "err", err, "event", row.Event)
	}
	s.cfg.Log.Info("ID-JAG "+row.Outcome, "event", row.Event, "client", row.ClientID, "user", row.UserID,
		"audience", row.Audience, "scope", row.Scope, "jti", row.JTI, "reason", row.Reason)
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
	if q.Outcome == "issued" || q.Outcome == "refused" {
		db = db.Where("outcome = ?", q.Outcome)
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		like := "%" + strings.NewReplacer("%", `\%`, "_", `\_`).Replace(strings.ToLower(t)) + "%"
		db = db.Where("LOWER(user_email) LIKE ? OR LOWER(user_id) LIKE ? OR LOWER(client_id) LIKE ? OR LOWER(audience) LIKE ? OR LOWER(resource) LIKE ? OR LOWER(scope) LIKE ? OR LOWER(jti) LIKE ? OR LOWER(reason) LIKE ?",
			like, like, like, like, like, like, like, like)
	}
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	var out []AuditEvent
	err := db.Limit(limit).Find(&out).Error
	return out, err
}
