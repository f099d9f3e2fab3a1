package provider

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Password guessing is slowed per account and per client address. Each
// key may fail a few times freely; after that every failure locks it for
// twice as long as the one before, up to a ceiling, and a lock is answered
// 429 with Retry-After without looking at the password (so a lock reveals
// nothing about it). A quiet spell forgets the failures; a successful
// sign-in forgets the account's. The counts are in the database, so a
// restart does not reset them and every replica sees them.
const (
	freeAccountFailures = 5
	freeAddressFailures = 20
	firstLock           = time.Second
	longestLock         = 15 * time.Minute
	forgetAfter         = 15 * time.Minute
)

// SignInThrottle is one account's or one client address's failed sign-ins.
type SignInThrottle struct {
	Who         string    `gorm:"primaryKey;size:320"` // "account:<email>" or "address:<ip>"
	Failures    int       `gorm:"not null"`
	LastFailure time.Time `gorm:"not null"`
	LockedUntil time.Time `gorm:"index;not null"`
}

func accountKey(email string) string { return "account:" + strings.ToLower(strings.TrimSpace(email)) }

// clientAddress is the connection's peer address. Forwarding headers are
// not believed: anyone can send them, and this IdP runs behind no proxy.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func addressKey(addr string) string { return "address:" + addr }

// lockedFor returns how long the longest lock among keys still lasts.
func (s *store) lockedFor(ctx context.Context, now time.Time, keys ...string) (time.Duration, error) {
	var rows []SignInThrottle
	if err := s.db.WithContext(ctx).Where("who IN ? AND locked_until > ?", keys, now.UTC()).Find(&rows).Error; err != nil {
		return 0, err
	}
	var longest time.Duration
	for _, r := range rows {
		longest = max(longest, r.LockedUntil.Sub(now))
	}
	return longest, nil
}

// failed counts a failed sign-in against key and locks it once past free
// failures; it returns the lock (zero when none). The count is raised in
// one UPDATE, so that guesses sent in parallel are each counted.
func (s *store) failed(ctx context.Context, now time.Time, key string, free int) (time.Duration, error) {
	db := s.db.WithContext(ctx)
	long := now.Add(-2 * forgetAfter).UTC()
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&SignInThrottle{Who: key, LastFailure: long, LockedUntil: long}).Error; err != nil {
		return 0, err
	}
	err := db.Model(&SignInThrottle{}).Where("who = ?", key).Updates(map[string]any{
		"failures":     gorm.Expr("CASE WHEN last_failure < ? THEN 1 ELSE failures + 1 END", now.Add(-forgetAfter).UTC()),
		"last_failure": now.UTC(),
	}).Error
	if err != nil {
		return 0, err
	}
	var row SignInThrottle
	if err := db.Take(&row, "who = ?", key).Error; err != nil {
		return 0, err
	}
	over := row.Failures - free
	if over <= 0 {
		return 0, nil
	}
	lock := min(longestLock, firstLock<<min(over-1, 20))
	err = db.Model(&SignInThrottle{}).Where("who = ? AND locked_until < ?", key, now.Add(lock).UTC()).
		Update("locked_until", now.Add(lock).UTC()).Error
	return lock, err
}

// forget clears the failures of keys (a successful sign-in, or an admin's
// unlock).
func (s *store) forget(ctx context.Context, keys ...string) error {
	return s.db.WithContext(ctx).Where("who IN ?", keys).Delete(&SignInThrottle{}).Error
}

// lockedAccounts returns the emails of the accounts locked now, and until when.
func (s *store) lockedAccounts(ctx context.Context, now time.Time) (map[string]time.Time, error) {
	var rows []SignInThrottle
	if err := s.db.WithContext(ctx).Where("who LIKE ? AND locked_until > ?", "account:%", now.UTC()).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string]time.Time{}
	for _, r := range rows {
		out[strings.TrimPrefix(r.Who, "account:")] = r.LockedUntil
	}
	return out, nil
}
