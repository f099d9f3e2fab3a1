// Package throttle slows password guessing at the IdP, per account and
// per client address. Each may fail a few times freely; after that every
// failure locks it for twice as long as the one before, up to a ceiling,
// and a lock is answered before the password is looked at (so a lock
// reveals nothing about it). A quiet spell forgets the failures; a
// successful sign-in forgets the account's. The counts are in the
// database, so a restart does not reset them and every replica sees them.
package throttle

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/shared/storage"
)

const (
	freeAccountFailures = 5
	freeAddressFailures = 20
	firstLock           = time.Second
	longestLock         = 15 * time.Minute
	forgetAfter         = 15 * time.Minute
)

// Row is one account's or one client address's failed sign-ins.
type Row struct {
	Who         string    `gorm:"primaryKey;size:320"` // "account:<email>" or "address:<ip>"
	Failures    int       `gorm:"not null"`
	LastFailure time.Time `gorm:"not null"`
	LockedUntil time.Time `gorm:"index;not null"`
}

// TableName keeps the table the IdP has always had.
func (Row) TableName() string { return "sign_in_throttles" }

// Throttle is the failed sign-ins' table.
type Throttle struct{ db *gorm.DB }

// Open migrates the table.
func Open(db *gorm.DB) (*Throttle, error) {
	if err := storage.Migrate(db, "idp/throttle", schema...); err != nil {
		return nil, err
	}
	return &Throttle{db: db}, nil
}

func accountKey(email string) string { return "account:" + strings.ToLower(strings.TrimSpace(email)) }

func addressKey(addr string) string { return "address:" + addr }

// ClientAddress is the connection's peer address. Forwarding headers are
// not believed: anyone can send them, and this IdP runs behind no proxy.
func ClientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// LockedFor is how long a sign-in as email from addr stays locked (the
// longer of the account's and the address's locks); zero when it is not.
func (t *Throttle) LockedFor(ctx context.Context, now time.Time, email, addr string) (time.Duration, error) {
	var rows []Row
	if err := t.db.WithContext(ctx).Where("who IN ? AND locked_until > ?", []string{accountKey(email), addressKey(addr)}, now.UTC()).Find(&rows).Error; err != nil {
		return 0, err
	}
	var longest time.Duration
	for _, r := range rows {
		longest = max(longest, r.LockedUntil.Sub(now))
	}
	return longest, nil
}

// Failed counts a wrong password against the account and the address, and
// returns how long the sign-in is now locked (zero when it is not). An
// error leaves the count it could not raise as it was.
func (t *Throttle) Failed(ctx context.Context, now time.Time, email, addr string) (time.Duration, error) {
	var wait time.Duration
	var firstErr error
	for _, k := range []struct {
		key  string
		free int
	}{{accountKey(email), freeAccountFailures}, {addressKey(addr), freeAddressFailures}} {
		lock, err := t.failed(ctx, now, k.key, k.free)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		wait = max(wait, lock)
	}
	return wait, firstErr
}

// failed counts a failure against key and locks it once past free
// failures; it returns the lock (zero when none). The count is raised in
// one UPDATE, so that guesses sent in parallel are each counted.
func (t *Throttle) failed(ctx context.Context, now time.Time, key string, free int) (time.Duration, error) {
	db := t.db.WithContext(ctx)
	long := now.Add(-2 * forgetAfter).UTC()
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&Row{Who: key, LastFailure: long, LockedUntil: long}).Error; err != nil {
		return 0, err
	}
	err := db.Model(&Row{}).Where("who = ?", key).Updates(map[string]any{
		"failures":     gorm.Expr("CASE WHEN last_failure < ? THEN 1 ELSE failures + 1 END", now.Add(-forgetAfter).UTC()),
		"last_failure": now.UTC(),
	}).Error
	if err != nil {
		return 0, err
	}
	var row Row
	if err := db.Take(&row, "who = ?", key).Error; err != nil {
		return 0, err
	}
	over := row.Failures - free
	if over <= 0 {
		return 0, nil
	}
	lock := min(longestLock, firstLock<<min(over-1, 20))
	err = db.Model(&Row{}).Where("who = ? AND locked_until < ?", key, now.Add(lock).UTC()).
		Update("locked_until", now.Add(lock).UTC()).Error
	return lock, err
}

// Forget clears an account's failures (a successful sign-in, or an
// admin's unlock).
func (t *Throttle) Forget(ctx context.Context, email string) error {
	return t.db.WithContext(ctx).Where("who = ?", accountKey(email)).Delete(&Row{}).Error
}

// LockedAccounts are the emails of the accounts locked now, and until when.
func (t *Throttle) LockedAccounts(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	var rows []Row
	if err := t.db.WithContext(ctx).Where("who LIKE ? AND locked_until > ?", "account:%", now.UTC()).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, r := range rows {
		out[strings.TrimPrefix(r.Who, "account:")] = r.LockedUntil
	}
	return out, nil
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Row{}) }},
}
