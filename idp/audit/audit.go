// Package audit is the IdP's audit log, after Okta's System Log: every
// ID-JAG issued or refused, every failed sign-in, every administrator's
// change and every delivery to an app (a provisioning push, a Security
// Event Token), with who, what and why. A record belongs to the decision
// it describes, not to the request that asked for it: it is kept even when
// the caller goes away meanwhile.
package audit

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage"
)

// Event is one record of the log.
type Event struct {
	ID        uint      `gorm:"primaryKey"`
	Time      time.Time `gorm:"index;not null"`
	Event     string    `gorm:"size:64;not null"`
	Outcome   string    `gorm:"size:16;index;not null"` // issued, refused, changed, pushed, failed
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

// TableName keeps the table the IdP has always had.
func (Event) TableName() string { return "audit_events" }

// Event names (Okta's where Okta has one).
const (
	IDJAGIssued    = "app.oauth2.token.grant.id_jag"
	IDJAGRefused   = "app.oauth2.token.grant.id_jag.refused"
	SignInFailed   = "user.session.start.failure"
	SignInLocked   = "user.account.lock"
	SignInUnlocked = "user.account.unlock"

	ConnectionUpdated = "app.connection.update"
	UserActivated     = "user.lifecycle.activate"
	UserDeactivated   = "user.lifecycle.deactivate"
	UserCreated       = "user.lifecycle.create"
	UserDeleted       = "user.lifecycle.delete"
	KeyRotated        = "system.key.rotate"
	// An organisation's sign-in policy (a passkey required or not).
	SignInPolicyUpdated = "policy.lifecycle.update"
	// SignInProtocolChanged: an organisation's people now sign in to an
	// app with SAML 2.0, or with OpenID Connect (or are assigned to a SAML
	// app, or not).
	SignInProtocolChanged = "application.lifecycle.update"
	// SAMLAppAdded, SAMLAppRemoved: an administrator added or removed a
	// SAML app.
	SAMLAppAdded        = "application.lifecycle.create"
	SAMLAppRemoved      = "application.lifecycle.delete"
	ProvisioningChanged = "application.provision.update"
	// ProvisionPush: a person's account pushed to an app (SCIM), outcome
	// pushed or failed.
	ProvisionPush = "application.provision.user.push"
	// SignalPush: a Security Event Token pushed to a receiver (Shared
	// Signals), outcome pushed or failed.
	SignalPush = "security.events.provider.push"
)

// writeTimeout bounds the write of a record once its caller has gone.
const writeTimeout = 5 * time.Second

// Log is the audit log's table.
type Log struct {
	db  *gorm.DB
	log *slog.Logger
}

// Open migrates the log's table.
func Open(db *gorm.DB, log *slog.Logger) (*Log, error) {
	if err := storage.Migrate(db, "idp/audit", schema...); err != nil {
		return nil, err
	}
	return &Log{db: db, log: log}, nil
}

// Record writes e, its long fields cut to their columns. A failure to
// record is logged, not hidden, and does not undo what was audited. It is
// written even when the caller went away meanwhile (ctx cancelled), within
// writeTimeout.
func (l *Log) Record(ctx context.Context, e *Event) {
	for _, f := range []*string{&e.UserEmail, &e.Target, &e.Actor, &e.ClientID, &e.Audience, &e.JTI} {
		*f = Truncate(*f, 255)
	}
	for _, f := range []*string{&e.Reason, &e.Before, &e.After, &e.Resource, &e.Scope, &e.Requested} {
		*f = Truncate(*f, 1024)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := l.db.WithContext(ctx).Create(e).Error; err != nil {
		l.log.Error("audit event not stored", "err", err, "event", e.Event)
	}
}

// Query filters the log.
type Query struct {
	Text    string // matched against user, client, audience, resource, scope, jti, reason, actor and change
	Outcome string // issued, refused, changed, or empty for all
	Limit   int
}

// Search returns the newest events matching q.
func (l *Log) Search(ctx context.Context, q Query) ([]Event, error) {
	db := l.db.WithContext(ctx).Order("time desc, id desc")
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
	var out []Event
	return out, db.Limit(limit).Find(&out).Error
}

// Get is one event; storage.ErrNotFound if there is none.
func (l *Log) Get(ctx context.Context, id uint) (*Event, error) {
	var e Event
	err := l.db.WithContext(ctx).Take(&e, id).Error
	return &e, storage.Translate(err)
}

// Truncate cuts s to at most n bytes.
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Event{}) }},
}
