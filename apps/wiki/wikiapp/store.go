package wikiapp

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/shared/storage"
)

// Page is a wiki page written in Markdown.
type Page struct {
	ID        uint   `gorm:"primaryKey"`
	Slug      string `gorm:"uniqueIndex;size:100;not null"`
	Title     string `gorm:"size:200;not null"`
	Body      string `gorm:"type:text;not null"`
	Author    string `gorm:"size:255"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AccessToken is an access token the wiki holds for a user at a resource,
// server side only. ID-JAGs are never stored (ID-JAG draft §4.4.3 and the
// sample's best practices): a new one is asked for when this expires.
type AccessToken struct {
	UserID   string `gorm:"primaryKey;size:64"`
	Resource string `gorm:"primaryKey;size:255"`
	Token    string `gorm:"type:text;not null"`
	Scope    string `gorm:"size:1024"`
	// Requested is the scope the wiki asked for: more than Scope when the
	// administrator's connection narrowed the grant.
	Requested string `gorm:"size:1024"`
	ExpiresAt time.Time
	// TokenType is DPoP when the token is bound to the wiki's key: it is
	// then sent with a proof (RFC 9449 §7.1).
	TokenType string `gorm:"size:16"`
}

// store is the wiki's tables. The access tokens it holds are read from the
// database on every use, never from memory: replicas of the wiki share the
// table, and a token forgotten on one (Forget my access token, a sign-out)
// must not be used by another.
type store struct {
	db  *gorm.DB
	now func() time.Time
}

func migrate(db *gorm.DB) error { return storage.Migrate(db, "apps/wiki", schema...) }

func (s *store) seed(ctx context.Context) error {
	p := Page{Slug: "welcome", Title: "Welcome to the wiki", Author: "Bobby Tables", Body: welcomeBody}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&p).Error
}

func (s *store) pages(ctx context.Context) ([]Page, error) {
	var out []Page
	err := s.db.WithContext(ctx).Order("updated_at desc").Find(&out).Error
	return out, err
}

func (s *store) page(ctx context.Context, slug string) (*Page, error) {
	var p Page
	err := s.db.WithContext(ctx).Take(&p, "slug = ?", slug).Error
	return &p, storage.Translate(err)
}

func (s *store) createPage(ctx context.Context, p *Page) error {
	return storage.Translate(s.db.WithContext(ctx).Create(p).Error)
}

func (s *store) updatePage(ctx context.Context, p *Page) error {
	return s.db.WithContext(ctx).Model(p).Select("title", "body", "author").Updates(p).Error
}

func (s *store) accessToken(ctx context.Context, userID, resource string) (*AccessToken, error) {
	var t AccessToken
	err := s.db.WithContext(ctx).Take(&t, "user_id = ? AND resource = ?", userID, resource).Error
	return &t, storage.Translate(err)
}

func (s *store) saveAccessToken(ctx context.Context, t *AccessToken) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(t).Error
}

func (s *store) forgetAccessToken(ctx context.Context, userID, resource string) error {
	return s.db.WithContext(ctx).Delete(&AccessToken{}, "user_id = ? AND resource = ?", userID, resource).Error
}

const welcomeBody = `This wiki is the **requesting app** of the Cross App Access demo.

Open **My todos** to see your tasks from the todo app. The wiki never asks you
to sign in to the todo app or to approve anything: your company's identity
provider vouches for you with an *Identity Assertion JWT Authorization Grant*
(ID-JAG), for connections your administrator has enabled.

What happens when you open My todos:

1. The wiki exchanges your ID token for an ID-JAG at the wiki's authorization server, which asks the IdP.
2. The wiki presents the ID-JAG to the todo app's authorization server and gets an access token.
3. The wiki calls the todo API with that access token.

The **Debug console** shows each of these requests and responses, with every token decoded.
`

func (s *store) forgetAccessTokens(ctx context.Context, userID string) error {
	return s.db.WithContext(ctx).Delete(&AccessToken{}, "user_id = ?", userID).Error
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Page{}, &AccessToken{}) }},
}
