// Package store is the IdP's own directory: its organisations (tenants,
// chosen by email domain), its people and the managed Cross App Access
// connections an administrator enables. Every part of the IdP reads and
// writes them here, so each query has one place.
package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/exchange"
	"xaa.example/shared/oauth"
	"xaa.example/shared/op"
	"xaa.example/shared/storage"
)

// Org is a tenant, chosen by email domain.
type Org struct {
	ID     string `gorm:"primaryKey;size:32"`
	Domain string `gorm:"uniqueIndex;size:255;not null"`
	Name   string `gorm:"size:255;not null"`
	// RequirePasskey: the organisation's people must sign in with a
	// passkey (alone, or after their password); set in the admin console.
	RequirePasskey bool `gorm:"not null;default:false"`
}

// User is a person at the IdP. ID is Okta-shaped ("00u..."), immutable: it
// is the sub of every token about the user.
type User struct {
	ID           string `gorm:"primaryKey;size:32"`
	OrgID        string `gorm:"index;size:32;not null"`
	Email        string `gorm:"uniqueIndex;size:255;not null"`
	Name         string `gorm:"size:255;not null"`
	PasswordHash []byte `gorm:"not null"`
	Disabled     bool
	Admin        bool
	CreatedAt    time.Time
}

// Connection is a managed Cross App Access connection.
type Connection struct {
	ID                 uint   `gorm:"primaryKey"`
	RequestingClientID string `gorm:"uniqueIndex:idx_conn;size:255;not null"`
	// Audience is the resource authorization server's issuer, as a token
	// exchange names it (RFC 8693 audience); its column keeps its first
	// name, so that databases made before need no migration.
	Audience           string `gorm:"column:resource_audience;uniqueIndex:idx_conn;size:255;not null"`
	Resource           string `gorm:"size:1024"`
	AllowedScopes      string `gorm:"size:1024"`
	ClientIDAtResource string `gorm:"size:255;not null"`
	Enabled            bool
	// Title names the connection for people ("Wiki → Todo"); OfferedScopes
	// are the scopes the resource app offers, from which the admin picks.
	Title         string `gorm:"size:255"`
	OfferedScopes string `gorm:"size:1024"`
	// StepUpScopes need a stronger or more recent sign-in (ID-JAG draft
	// §8.2): a passkey (StepUpPasskey: acr phr) and/or one no older than
	// StepUpMaxAge seconds (0: any age).
	StepUpScopes  string `gorm:"size:1024"`
	StepUpPasskey bool   `gorm:"not null;default:false"`
	StepUpMaxAge  int    `gorm:"not null;default:0"`
	// AllowedActions are the todo actions (space-separated) a client may
	// ask for in authorization_details (RFC 9396); empty: none.
	AllowedActions string `gorm:"size:255"`
	UpdatedAt      time.Time
}

// StepUp is the connection's step-up policy, as the token exchange reads it.
func (c Connection) StepUp() oauth.StepUpPolicy {
	p := oauth.StepUpPolicy{Scopes: oauth.ParseScopes(c.StepUpScopes), MaxAge: time.Duration(c.StepUpMaxAge) * time.Second}
	if c.StepUpPasskey {
		p.ACR = ACRPhishingResistant
	}
	return p
}

// ACRPhishingResistant is the acr of a sign-in with a passkey (OpenID
// Enterprise Authentication Policy's "phr").
const ACRPhishingResistant = "phr"

// Name is how the admin console calls the connection.
func (c Connection) Name() string {
	if c.Title != "" {
		return c.Title
	}
	return c.RequestingClientID + " → " + c.Audience
}

// Offered are the scopes the admin may allow.
func (c Connection) Offered() []string { return strings.Fields(c.OfferedScopes) }

// Allows reports whether the connection allows scope.
func (c Connection) Allows(scope string) bool { return oauth.ParseScopes(c.AllowedScopes).Has(scope) }

// Store reads and writes the IdP's people, organisations and connections.
type Store struct{ db *gorm.DB }

// Seed is what a first start creates: organisations, people (each with
// the demo password) and connections. A row already there is left as it
// is, so that an administrator's changes survive a restart.
type Seed struct {
	Orgs     []demo.Org
	Users    []demo.User
	Password string
	// Connections are created by (requesting client, audience).
	Connections []Connection
}

// Open migrates the IdP's tables and creates what seed names that is not
// there yet.
func Open(ctx context.Context, db *gorm.DB, seed Seed) (*Store, error) {
	if err := storage.Migrate(db, "idp/store", schema...); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	st := &Store{db: db}
	if err := st.seed(ctx, seed); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return st, nil
}

// oktaID makes an id shaped like Okta's: a prefix and 17 characters.
func oktaID(prefix string) string { return prefix + strings.ToLower(rand.Text()[:17]) }

// seed creates the rows cfg names that are missing.
func (s *Store) seed(ctx context.Context, cfg Seed) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		orgIDs := map[string]string{}
		for _, o := range cfg.Orgs {
			var org Org
			err := tx.Take(&org, "domain = ?", o.Domain).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				org = Org{ID: oktaID("00o"), Domain: o.Domain, Name: o.Name}
				err = tx.Create(&org).Error
			}
			if err != nil {
				return err
			}
			orgIDs[o.Domain] = org.ID
		}
		for _, u := range cfg.Users {
			var n int64
			if err := tx.Model(&User{}).Where("email = ?", u.Email).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			domain := u.Email[strings.LastIndexByte(u.Email, '@')+1:]
			orgID, ok := orgIDs[domain]
			if !ok {
				return errors.New("seed user " + u.Email + " has no org for its domain")
			}
			hash, err := bcrypt.GenerateFromPassword([]byte(cfg.Password), bcrypt.DefaultCost)
			if err != nil {
				return err
			}
			if err := tx.Create(&User{ID: oktaID("00u"), OrgID: orgID, Email: u.Email, Name: u.Name, PasswordHash: hash, Admin: u.Admin}).Error; err != nil {
				return err
			}
		}
		for _, c := range cfg.Connections {
			var n int64
			err := tx.Model(&Connection{}).
				Where("requesting_client_id = ? AND resource_audience = ?", c.RequestingClientID, c.Audience).
				Count(&n).Error
			if err != nil {
				return err
			}
			if n > 0 {
				// Rows made before connections had names get theirs.
				err := tx.Model(&Connection{}).Where("requesting_client_id = ? AND resource_audience = ? AND (title = '' OR title IS NULL)", c.RequestingClientID, c.Audience).
					Updates(map[string]any{"title": c.Title, "offered_scopes": c.OfferedScopes}).Error
				if err != nil {
					return err
				}
				continue
			}
			row := c
			err = tx.Create(&row).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Everyone is every person, by id.
func (s *Store) Everyone(ctx context.Context) ([]User, error) {
	var users []User
	return users, s.db.WithContext(ctx).Select("id", "email", "name", "disabled").Order("id").Find(&users).Error
}

// Account implements op.Accounts: the IdP's ID tokens name its user.
func (s *Store) Account(ctx context.Context, id string) (op.Account, error) {
	u, err := s.User(ctx, id) // never nil, empty when err
	return op.Account{ID: u.ID, Email: u.Email, Name: u.Name, Disabled: u.Disabled}, err
}

// User is the person with id, or ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Take(&u, "id = ?", id).Error
	return &u, storage.Translate(err)
}

// UserByEmail is the person with email (any case), or ErrNotFound.
func (s *Store) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Take(&u, "email = ?", strings.ToLower(strings.TrimSpace(email))).Error
	return &u, storage.Translate(err)
}

// dummyHash keeps the time of a sign-in with an unknown email close to that
// of a wrong password, so the answer time does not reveal who has an account.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)

// CheckPassword returns the user for email and password, or ErrNotFound.
func (s *Store) CheckPassword(ctx context.Context, email, password string) (*User, error) {
	var u User
	err := s.db.WithContext(ctx).Take(&u, "email = ?", strings.ToLower(strings.TrimSpace(email))).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) != nil {
		return nil, storage.ErrNotFound
	}
	return &u, nil
}

// ConnectionsTo lists the managed connections to a resource AS; every
// exchange reads them afresh, so an admin's change applies at once.
func (s *Store) ConnectionsTo(ctx context.Context, audience string) ([]exchange.Connection, error) {
	var rows []Connection
	if err := s.db.WithContext(ctx).Where("resource_audience = ?", audience).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]exchange.Connection, len(rows))
	for i, r := range rows {
		out[i] = exchange.Connection{
			RequestingClientID: r.RequestingClientID, Audience: r.Audience, Resource: r.Resource,
			AllowedScopes: oauth.ParseScopes(r.AllowedScopes), ClientIDAtResource: r.ClientIDAtResource, Enabled: r.Enabled,
			StepUp: r.StepUp(), AllowedActions: strings.Fields(r.AllowedActions),
		}
	}
	return out, nil
}

// OrgByEmail returns the org whose domain the email has, or ErrNotFound.
func (s *Store) OrgByEmail(ctx context.Context, email string) (*Org, error) {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return nil, storage.ErrNotFound
	}
	var o Org
	err := s.db.WithContext(ctx).Take(&o, "domain = ?", strings.ToLower(strings.TrimSpace(email[at+1:]))).Error
	return &o, storage.Translate(err)
}

// Connections are every managed connection, by id.
func (s *Store) Connections(ctx context.Context) ([]Connection, error) {
	var conns []Connection
	err := s.db.WithContext(ctx).Order("id").Find(&conns).Error
	return conns, err
}

// Connection is the connection with id, or ErrNotFound.
func (s *Store) Connection(ctx context.Context, id uint) (Connection, error) {
	var conn Connection
	err := s.db.WithContext(ctx).Take(&conn, id).Error
	return conn, storage.Translate(err)
}

// SaveConnection saves every field of conn.
func (s *Store) SaveConnection(ctx context.Context, conn *Connection) error {
	return s.db.WithContext(ctx).Save(conn).Error
}

// UsersAndOrgs are every person, by email, and every organisation.
func (s *Store) UsersAndOrgs(ctx context.Context) ([]User, []Org, error) {
	var users []User
	var orgs []Org
	db := s.db.WithContext(ctx)
	if err := db.Order("email").Find(&users).Error; err != nil {
		return nil, nil, err
	}
	if err := db.Find(&orgs).Error; err != nil {
		return nil, nil, err
	}
	return users, orgs, nil
}

// SetDisabled saves u's Disabled as it is.
func (s *Store) SetDisabled(ctx context.Context, u *User) error {
	return s.db.WithContext(ctx).Model(u).Update("disabled", u.Disabled).Error
}

// Orgs are every organisation, by domain.
func (s *Store) Orgs(ctx context.Context) ([]Org, error) {
	var orgs []Org
	return orgs, s.db.WithContext(ctx).Order("domain").Find(&orgs).Error
}

// OrgIDsByDomain is every organisation's id by its email domain.
func (s *Store) OrgIDsByDomain(ctx context.Context) (map[string]string, error) {
	orgs, err := s.Orgs(ctx)
	ids := map[string]string{}
	for _, o := range orgs {
		ids[o.Domain] = o.ID
	}
	return ids, err
}

// Org is the organisation with id, or ErrNotFound.
func (s *Store) Org(ctx context.Context, id string) (*Org, error) {
	var o Org
	err := s.db.WithContext(ctx).Take(&o, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, storage.ErrNotFound
	}
	return &o, err
}

// CreateUser adds a person to an organisation, with a new id unless u
// has one.
func (s *Store) CreateUser(ctx context.Context, u *User) error {
	if u.ID == "" {
		u.ID = oktaID("00u")
	}
	return storage.Translate(s.db.WithContext(ctx).Create(u).Error)
}

// DeleteUser removes a person.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Delete(&User{}, "id = ?", id).Error
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Org{}, &User{}, &Connection{}) }},
	{ID: "2", Apply: func(tx *gorm.DB) error { return storage.AddColumns(tx, &Org{}, "RequirePasskey") }},
	{ID: "3", Apply: func(tx *gorm.DB) error {
		return storage.AddColumns(tx, &Connection{}, "StepUpScopes", "StepUpPasskey", "StepUpMaxAge")
	}},
	{ID: "4", Apply: func(tx *gorm.DB) error { return storage.AddColumns(tx, &Connection{}, "AllowedActions") }},
}

// SetPasskeyRequired says whether the organisation's people must sign in
// with a passkey.
func (s *Store) SetPasskeyRequired(ctx context.Context, orgID string, required bool) error {
	return s.db.WithContext(ctx).Model(&Org{}).Where("id = ?", orgID).Update("require_passkey", required).Error
}
