package authserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/shared/demo"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/storage"
)

// User is an account of this trust domain.
type User struct {
	ID    string `gorm:"primaryKey;size:32"`
	Email string `gorm:"uniqueIndex;size:255;not null"`
	Name  string `gorm:"size:255"`
	// Deactivated by the IdP's provisioning (SCIM active=false): no sign-in,
	// no grant.
	Deactivated bool
	CreatedAt   time.Time
}

// Link ties an IdP subject to a local user: made at SSO, or just in time by
// an ID-JAG when policy allows. A subject is unique per issuer and tenant
// (ID-JAG draft §3, sub).
type Link struct {
	Issuer    string `gorm:"primaryKey;size:255"`
	Tenant    string `gorm:"primaryKey;size:64"`
	Subject   string `gorm:"primaryKey;size:255"`
	UserID    string `gorm:"index;size:32;not null"`
	CreatedAt time.Time
}

// UpstreamSession keeps the IdP tokens of a user's SSO, server side, for the
// token exchange (docs/PROTOCOL.md, step 2).
type UpstreamSession struct {
	UserID       string `gorm:"primaryKey;size:32"`
	IdPIssuer    string `gorm:"size:255"`
	IDToken      string `gorm:"type:text;not null"`
	RefreshToken string `gorm:"type:text"`
	// SAMLAssertion is a SAML tenant's signed assertion from the sign-in,
	// kept (base64) for the exchange at the IdP.
	SAMLAssertion string `gorm:"type:text"`
	Expiry        time.Time
	UpdatedAt     time.Time
}

// store is this server's tables.
type store struct {
	db *gorm.DB

	// linked is Linked's query, prepared once: every jwt-bearer grant asks
	// it, and parsing it anew took a sixth of the grant's CPU on SQLite.
	linkedOnce sync.Once
	linked     *sql.Stmt
	linkedErr  error

	// replay records the jtis of grants decided on a snapshot
	// (RememberIfUnchanged); snapshots are the accounts Linked found,
	// by link, at most maxSnapshots of them.
	replay      *replaydb.DB
	snapshotsMu sync.Mutex
	snapshots   map[linkKey]jwtbearer.Account
}

// linkKey is what Linked finds a link by.
type linkKey struct{ issuer, tenant, subject string }

// maxSnapshots bounds the accounts kept for grants: one each for the
// people who use the server at once, about 100 bytes apiece.
const maxSnapshots = 10_000

// linkedQuery is the link, its account and whether an IdP provisioned it;
// plain SQL both databases read alike. The tenant must be the link's own:
// "no tenant" is a tenant of its own, never a wildcard (ID-JAG draft §3,
// sub: unique per issuer, or per issuer and tenant for a multi-tenant
// issuer).
const linkedQuery = `SELECT users.id, users.email, users.deactivated, scim_users.user_id IS NOT NULL
	FROM links JOIN users ON users.id = links.user_id LEFT JOIN scim_users ON scim_users.user_id = users.id
	WHERE links.issuer = ? AND links.tenant = ? AND links.subject = ?`

// unchangedQuery returns a row while the link a snapshot came from finds
// its account as the snapshot holds it, active: the guard of
// RememberIfUnchanged. Only primary-key lookups, so that the insert it
// guards stays one cheap statement.
const unchangedQuery = `SELECT 1 FROM links JOIN users ON users.id = links.user_id
	LEFT JOIN scim_users ON scim_users.user_id = users.id
	WHERE links.issuer = ? AND links.tenant = ? AND links.subject = ?
	AND users.id = ? AND users.email = ? AND users.deactivated = ? AND (scim_users.user_id IS NOT NULL) = ?`

func migrate(db *gorm.DB) error {
	return storage.Migrate(db, "shared/authserver", schema...)
}

func newID() string { return strings.ToLower(rand.Text()[:20]) }

func (s *store) user(ctx context.Context, id string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Take(&u, "id = ?", id).Error
	return &u, storage.Translate(err)
}

// Linked implements jwtbearer.Accounts: the account linked to exactly
// (issuer, tenant, subject).
//
// One query, one round trip: the link, its account and whether an IdP
// provisioned that account (every jwt-bearer grant asks this).
func (s *store) Linked(ctx context.Context, issuer, tenant, subject string) (*jwtbearer.Account, error) {
	s.linkedOnce.Do(func() {
		var db *sql.DB
		if db, s.linkedErr = s.db.DB(); s.linkedErr == nil {
			s.linked, s.linkedErr = db.Prepare(linkedQuery)
		}
	})
	if s.linkedErr != nil {
		return nil, s.linkedErr
	}
	var a jwtbearer.Account
	var deactivated bool
	err := s.linked.QueryRowContext(ctx, issuer, tenant, subject).Scan(&a.ID, &a.Email, &deactivated, &a.Provisioned)
	key := linkKey{issuer, tenant, subject}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s.forget(key)
		return nil, jwtbearer.ErrNoAccount
	case err != nil:
		return nil, err
	case deactivated:
		s.forget(key)
		return nil, jwtbearer.ErrDeactivated
	}
	if !s.keepsSnapshots() {
		return &a, nil
	}
	s.snapshotsMu.Lock()
	if s.snapshots == nil {
		s.snapshots = map[linkKey]jwtbearer.Account{}
	}
	if len(s.snapshots) >= maxSnapshots {
		// Full: one goes, whichever the map gives first; it is read
		// again when its person next comes.
		for k := range s.snapshots {
			delete(s.snapshots, k)
			break
		}
	}
	s.snapshots[key] = a
	s.snapshotsMu.Unlock()
	return &a, nil
}

// keepsSnapshots: snapshots save a round trip to a database server. On
// SQLite, Linked is a read in this process on a connection of its own,
// beside the one writer, while the guard would add its lookups to that
// writer's work, which every grant waits for: measured, the grant cost
// more CPU with snapshots (the sixth sitting in the history of
// docs/PERFORMANCE.md), so SQLite reads.
func (s *store) keepsSnapshots() bool { return s.db.Dialector.Name() != "sqlite" }

// Snapshot implements jwtbearer.AccountSnapshots: the account Linked last
// found for the link, active then.
func (s *store) Snapshot(issuer, tenant, subject string) (*jwtbearer.Account, bool) {
	if !s.keepsSnapshots() {
		return nil, false
	}
	s.snapshotsMu.Lock()
	defer s.snapshotsMu.Unlock()
	a, ok := s.snapshots[linkKey{issuer, tenant, subject}]
	return &a, ok
}

// RememberIfUnchanged implements jwtbearer.AccountSnapshots: the grant's
// jti is inserted by the statement that finds the link and its account as
// acct holds them, still active (docs/PROTOCOL.md checks R12 and R9 in one round
// trip). An administrator's change on any replica since the snapshot was
// read fails it: the snapshot is dropped, nothing is recorded.
func (s *store) RememberIfUnchanged(ctx context.Context, issuer, tenant, subject string, acct *jwtbearer.Account, jti string, until time.Time) error {
	guard := replaydb.Guard{Query: unchangedQuery, Args: []any{
		issuer, tenant, subject, acct.ID, acct.Email, false, acct.Provisioned,
	}}
	err := s.replay.RememberIf(ctx, issuer, jti, until, guard)
	if errors.Is(err, replaydb.ErrGuardNotMet) {
		s.forget(linkKey{issuer, tenant, subject})
		return jwtbearer.ErrAccountChanged
	}
	return err
}

func (s *store) forget(key linkKey) {
	s.snapshotsMu.Lock()
	delete(s.snapshots, key)
	s.snapshotsMu.Unlock()
}

// LinkJustInTime implements jwtbearer.Accounts.
func (s *store) LinkJustInTime(ctx context.Context, issuer, tenant, subject, email string) (*jwtbearer.Account, error) {
	u, err := s.linkUser(ctx, issuer, tenant, subject, email, email, nil)
	if err != nil {
		return nil, err
	}
	return &jwtbearer.Account{ID: u.ID, Email: u.Email}, nil
}

// ErrOtherOrganisation is linkUser's refusal of an account, found by the
// authority's own link, that is not in the organisation the authority is
// trusted for (its email is in another's domain).
var ErrOtherOrganisation = errors.New("the account belongs to another organisation")

// linkUser returns the user linked to (issuer, tenant, subject), or links the
// user with that email, creating the account when there is none. All in one
// transaction, so a failure leaves nothing half written.
//
// owns, when set, is the organisation the authority is trusted for: the
// account found must belong to it, checked on the account itself and not
// only on the email that came with the assertion (issue 31: a link can
// outlive the configuration that made it). The email given must already
// have passed it; an account found by a link that fails it is refused with
// ErrOtherOrganisation, and nothing is written.
func (s *store) linkUser(ctx context.Context, issuer, tenant, subject, email, name string, owns func(email string) bool) (*User, error) {
	u, err := s.linkUserOnce(ctx, issuer, tenant, subject, email, name, owns)
	if errors.Is(err, storage.ErrAlreadyExists) {
		// A concurrent request (two first grants for the same person) made
		// the link or the account first; the second try finds it.
		u, err = s.linkUserOnce(ctx, issuer, tenant, subject, email, name, owns)
	}
	return u, err
}

func (s *store) linkUserOnce(ctx context.Context, issuer, tenant, subject, email, name string, owns func(string) bool) (*User, error) {
	var out User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var l Link
		err := tx.Take(&l, "issuer = ? AND tenant = ? AND subject = ?", issuer, tenant, subject).Error
		if err == nil {
			if err := tx.Take(&out, "id = ?", l.UserID).Error; err != nil {
				return err
			}
			if owns != nil && !owns(out.Email) {
				return ErrOtherOrganisation
			}
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		err = tx.Take(&out, "email = ?", strings.ToLower(email)).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			out = User{ID: newID(), Email: strings.ToLower(email), Name: name}
			err = tx.Create(&out).Error
		}
		if err != nil {
			return err
		}
		if out.Deactivated {
			return jwtbearer.ErrDeactivated // nothing linked
		}
		return tx.Create(&Link{Issuer: issuer, Tenant: tenant, Subject: subject, UserID: out.ID}).Error
	})
	if err == nil && out.Deactivated {
		err = jwtbearer.ErrDeactivated
	}
	if errors.Is(err, jwtbearer.ErrDeactivated) || errors.Is(err, ErrOtherOrganisation) {
		return nil, err
	}
	return &out, storage.Translate(err)
}

func (s *store) saveUpstream(ctx context.Context, us *UpstreamSession) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(us).Error
}

func (s *store) upstream(ctx context.Context, userID string) (*UpstreamSession, error) {
	var us UpstreamSession
	err := s.db.WithContext(ctx).Take(&us, "user_id = ?", userID).Error
	return &us, storage.Translate(err)
}

// seedUsers creates the configured accounts that do not exist yet.
func (s *store) seedUsers(ctx context.Context, users []demo.User) error {
	for _, u := range users {
		email := strings.ToLower(u.Email)
		row := User{ID: demo.AccountID(email), Email: email, Name: u.Name}
		err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error {
		return tx.AutoMigrate(&User{}, &Link{}, &UpstreamSession{}, &SAMLRequest{}, &SCIMUser{})
	}},
}
