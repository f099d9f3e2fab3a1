package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/scim"
	"xaa.example/shared/storage"
)

// SCIMUser is an account as an IdP provisioned it: its attributes as sent
// (never a password), for SCIM's answers.
type SCIMUser struct {
	UserID     string `gorm:"primaryKey;size:32"`
	Issuer     string `gorm:"index:idx_scim_client;size:255;not null"`
	Tenant     string `gorm:"index:idx_scim_client;size:64;not null"`
	ExternalID string `gorm:"size:255"`
	Attributes string `gorm:"type:text;not null"`
	Version    int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// scimAccounts is this server's accounts as package scim sees them
// (scim.Accounts): the users, the links an IdP's provisioning makes
// (issuer, tenant, externalId), and what it sent.
type scimAccounts struct{ db *gorm.DB }

// visible is the accounts a client may see: those it provisioned, those
// linked under its IdP and tenant exactly (people who signed in from
// there), and those no IdP has claimed yet (seeded) at its domains, which
// it may match by userName and adopt. Another IdP's or another tenant's
// accounts are not there; "no tenant" is a tenant of its own.
func visible(db *gorm.DB, c *scim.Client) *gorm.DB {
	unclaimed := db.Where("id NOT IN (?) AND id NOT IN (?)",
		db.Model(&Link{}).Select("user_id"),
		db.Model(&SCIMUser{}).Select("user_id"))
	if len(c.Domains) > 0 {
		atDomain := db
		for i, d := range c.Domains {
			like := "%@" + likeEscaper.Replace(strings.ToLower(d))
			if i == 0 {
				atDomain = atDomain.Where("email LIKE ? ESCAPE '!'", like)
			} else {
				atDomain = atDomain.Or("email LIKE ? ESCAPE '!'", like)
			}
		}
		unclaimed = unclaimed.Where(atDomain)
	}
	return db.Model(&User{}).Where(
		db.Where("id IN (?)", db.Model(&SCIMUser{}).Select("user_id").Where("issuer = ? AND tenant = ?", c.Issuer, c.Tenant)).
			Or("id IN (?)", db.Model(&Link{}).Select("user_id").Where("issuer = ? AND tenant = ?", c.Issuer, c.Tenant)).
			Or(unclaimed),
	)
}

// likeEscaper escapes LIKE's wildcards with '!'.
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// account is the user with what the client provisioned, if anything.
func (s scimAccounts) account(ctx context.Context, u *User) (*scim.Account, error) {
	a := &scim.Account{ID: u.ID, Email: u.Email, Name: u.Name, Active: !u.Deactivated, Created: u.CreatedAt}
	var row SCIMUser
	err := s.db.WithContext(ctx).Take(&row, "user_id = ?", u.ID).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return a, nil
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal([]byte(row.Attributes), &a.Attributes); err != nil {
		return nil, err
	}
	a.ExternalID, a.Version, a.Modified = row.ExternalID, row.Version, row.UpdatedAt
	return a, nil
}

func (s scimAccounts) Get(ctx context.Context, c *scim.Client, id string) (*scim.Account, error) {
	var u User
	err := visible(s.db.WithContext(ctx), c).Where("id = ?", id).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, scim.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.account(ctx, &u)
}

func (s scimAccounts) List(ctx context.Context, c *scim.Client, q scim.Query) ([]scim.Account, int, error) {
	db := s.db.WithContext(ctx)
	found := visible(db, c)
	switch q.Field {
	case "email":
		found = found.Where("email = ?", strings.ToLower(q.Value))
	case "id":
		found = found.Where("id = ?", q.Value)
	case "externalId":
		found = found.Where("id IN (?)", db.Model(&SCIMUser{}).Select("user_id").Where("issuer = ? AND tenant = ? AND external_id = ?", c.Issuer, c.Tenant, q.Value))
	}
	var total int64
	if err := found.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var users []User
	if err := found.Order("created_at, id").Offset(q.Offset).Limit(q.Limit).Find(&users).Error; err != nil {
		return nil, 0, err
	}
	out := make([]scim.Account, 0, len(users))
	for i := range users {
		a, err := s.account(ctx, &users[i])
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *a)
	}
	return out, int(total), nil
}

func (s scimAccounts) Create(ctx context.Context, c *scim.Client, a *scim.Account) error {
	u := User{ID: newID(), Email: a.Email, Name: a.Name, Deactivated: !a.Active}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := uniqueEmail(tx, a.Email, ""); err != nil {
			return err
		}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		return s.save(tx, c, u.ID, a, 0)
	})
	if err != nil {
		return takenOrNot(err)
	}
	a.ID, a.Created = u.ID, u.CreatedAt
	return nil
}

func (s scimAccounts) Update(ctx context.Context, c *scim.Client, a *scim.Account) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.mayChange(tx, c, a.ID); err != nil {
			return err
		}
		if err := uniqueEmail(tx, a.Email, a.ID); err != nil {
			return err
		}
		var version int
		if err := tx.Model(&SCIMUser{}).Select("version").Where("user_id = ?", a.ID).Scan(&version).Error; err != nil {
			return err
		}
		u := User{ID: a.ID, Email: a.Email, Name: a.Name, Deactivated: !a.Active}
		if err := tx.Model(&u).Select("email", "name", "deactivated").Updates(&u).Error; err != nil {
			return err
		}
		return s.save(tx, c, a.ID, a, version)
	})
	return takenOrNot(err)
}

// save writes what the client provisioned: its attributes and the link
// from (issuer, tenant, externalId) to the account, the one an ID-JAG's sub
// finds. It sets the account's version and modification time.
func (s scimAccounts) save(tx *gorm.DB, c *scim.Client, userID string, a *scim.Account, version int) error {
	b, err := json.Marshal(a.Attributes)
	if err != nil {
		return err
	}
	row := SCIMUser{UserID: userID, Issuer: c.Issuer, Tenant: c.Tenant, ExternalID: a.ExternalID, Attributes: string(b), Version: version + 1}
	if err := tx.Save(&row).Error; err != nil {
		return err
	}
	a.Version, a.Modified = row.Version, row.UpdatedAt
	if err := tx.Where("user_id = ? AND issuer = ? AND tenant = ?", userID, c.Issuer, c.Tenant).Delete(&Link{}).Error; err != nil {
		return err
	}
	if a.ExternalID == "" {
		return nil
	}
	var taken int64
	if err := tx.Model(&Link{}).Where("issuer = ? AND tenant = ? AND subject = ?", c.Issuer, c.Tenant, a.ExternalID).Count(&taken).Error; err != nil {
		return err
	}
	if taken > 0 {
		return &scim.Taken{Detail: "externalId " + a.ExternalID + " is already another account's here"}
	}
	return tx.Create(&Link{Issuer: c.Issuer, Tenant: c.Tenant, Subject: a.ExternalID, UserID: userID}).Error
}

func uniqueEmail(tx *gorm.DB, email, except string) error {
	var n int64
	if err := tx.Model(&User{}).Where("email = ? AND id <> ?", email, except).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &scim.Taken{Detail: "An account with the email " + email + " exists here already"}
	}
	return nil
}

// takenOrNot passes scim's errors on, and turns a unique-key race into
// scim.ErrTaken.
func takenOrNot(err error) error {
	if err == nil || errors.Is(err, scim.ErrTaken) || errors.Is(err, scim.ErrNotFound) {
		return err
	}
	if errors.Is(storage.Translate(err), storage.ErrAlreadyExists) {
		return scim.ErrTaken
	}
	return err
}

func (s scimAccounts) Delete(ctx context.Context, c *scim.Client, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.mayChange(tx, c, id); err != nil {
			return err
		}
		for _, m := range []any{&Link{}, &SCIMUser{}, &UpstreamSession{}} {
			if err := tx.Where("user_id = ?", id).Delete(m).Error; err != nil {
				return err
			}
		}
		return tx.Delete(&User{}, "id = ?", id).Error
	})
}

// mayChange is scim.ErrNotFound unless the client sees the account.
func (s scimAccounts) mayChange(tx *gorm.DB, c *scim.Client, id string) error {
	var n int64
	if err := visible(tx, c).Where("id = ?", id).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return scim.ErrNotFound
	}
	return nil
}
