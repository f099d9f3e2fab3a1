package samlidp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"
	crewjamsp "github.com/crewjam/saml/samlsp"
	"gorm.io/gorm"

	"xaa.example/shared/samlxml"
	"xaa.example/shared/storage"
)

// App is the admin's choice, for a registered SAML service provider,
// of which organisations sign in to that app with SAML 2.0: their people
// get SAML responses for it and no OpenID Connect sign-in for its client;
// everyone else signs in to it with OpenID Connect. (In Okta, a SAML and an
// OIDC integration of one app, each assigned to its people.)
//
// An app is registered by the IdP's configuration (the wiki AS and the todo
// AS, each with the OAuth client that speaks for it) or by an administrator
// in the console (any SAML 2.0 service provider, with no client: its people
// sign in to it with SAML, and nothing exchanges its assertions).
type App struct {
	EntityID string `gorm:"primaryKey;size:255"`
	// Name is what the console calls the app.
	Name string `gorm:"size:255"`
	// ClientID is the OAuth client that speaks for the app at the token
	// endpoint; "" for an app an administrator added.
	ClientID string `gorm:"index;size:255;not null"`
	// ACSURL is where responses are posted (HTTP-POST binding).
	ACSURL string `gorm:"size:2048"`
	// Metadata is the service provider's metadata as the administrator
	// gave it, "" when they gave the fields alone: its signing keys verify
	// its AuthnRequests (see GetServiceProvider).
	Metadata string `gorm:"type:text"`
	// Configured apps come from the IdP's configuration, which the console
	// does not remove.
	Configured bool
	OrgIDs     string `gorm:"size:1024"` // space-separated
	UpdatedAt  time.Time
}

// Configured registers the apps of the IdP's configuration: where their
// responses go and which client speaks for them are the configuration's at
// every start; the organisations signing in to them with SAML are seeded
// once, then the administrator's.
func (i *IdP) Configured(ctx context.Context, apps []App) error {
	return i.cfg.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, app := range apps {
			res := tx.Model(&App{}).Where("entity_id = ?", app.EntityID).
				Updates(map[string]any{"acs_url": app.ACSURL, "client_id": app.ClientID, "configured": true})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected > 0 {
				continue
			}
			app.Configured = true
			if err := tx.Create(&app).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// Title is the app's name for people.
func (a App) Title() string {
	switch {
	case a.Name != "":
		return a.Name
	case a.ClientID != "":
		return a.ClientID
	}
	return a.EntityID
}

// SignsInBySAML reports whether orgID's people sign in to the app by SAML.
func (a App) SignsInBySAML(orgID string) bool {
	return slices.Contains(strings.Fields(a.OrgIDs), orgID)
}

// SignsRequests reports whether the app's metadata says it signs its
// AuthnRequests: the IdP then refuses unsigned ones.
func (a App) SignsRequests() bool {
	if a.Metadata == "" {
		return false
	}
	md, err := ReadMetadata([]byte(a.Metadata))
	return err == nil && signsRequests(md)
}

// TableName keeps the table the IdP has always had.
func (App) TableName() string { return "saml_apps" }

// Apps are the registered apps, by entity ID.
func (i *IdP) Apps(ctx context.Context) ([]App, error) {
	var apps []App
	return apps, i.cfg.DB.WithContext(ctx).Order("entity_id").Find(&apps).Error
}

// App is one app; storage.ErrNotFound if there is none.
func (i *IdP) App(ctx context.Context, entityID string) (*App, error) {
	var a App
	err := i.cfg.DB.WithContext(ctx).Take(&a, "entity_id = ?", entityID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, storage.ErrNotFound
	}
	return &a, err
}

// SAMLOnly is the SAML app of clientID whose organisations include orgID,
// if there is one: that organisation's people sign in to the app by SAML,
// not by OpenID Connect.
func (i *IdP) SAMLOnly(ctx context.Context, clientID, orgID string) (*App, error) {
	var apps []App
	if err := i.cfg.DB.WithContext(ctx).Where("client_id = ?", clientID).Find(&apps).Error; err != nil {
		return nil, err
	}
	for _, a := range apps {
		if a.SignsInBySAML(orgID) {
			return &a, nil
		}
	}
	return nil, nil
}

// SaveApp saves an app.
func (i *IdP) SaveApp(ctx context.Context, a *App) error {
	return i.cfg.DB.WithContext(ctx).Save(a).Error
}

// AddApp registers a new app; storage.ErrAlreadyExists if its entity ID
// is registered already.
func (i *IdP) AddApp(ctx context.Context, a *App) error {
	return storage.Translate(i.cfg.DB.WithContext(ctx).Create(a).Error)
}

// RemoveApp removes an app an administrator added; storage.ErrNotFound
// for none (or a configured one).
func (i *IdP) RemoveApp(ctx context.Context, entityID string) error {
	res := i.cfg.DB.WithContext(ctx).Where("entity_id = ? AND NOT configured", entityID).Delete(&App{})
	if res.Error == nil && res.RowsAffected == 0 {
		return storage.ErrNotFound
	}
	return res.Error
}

// MaxMetadata bounds a service provider's metadata given in the console.
const MaxMetadata = 48 << 10

// ReadMetadata reads a service provider's metadata: XML with no document
// type, comment or processing instruction (samlxml.RefuseMarkup), an
// entity ID, and an SPSSODescriptor with an HTTP-POST assertion consumer
// service, the one binding the IdP answers with.
func ReadMetadata(raw []byte) (*saml.EntityDescriptor, error) {
	if len(raw) > MaxMetadata {
		return nil, fmt.Errorf("the metadata is larger than %d KiB", MaxMetadata>>10)
	}
	if err := samlxml.RefuseMarkup(raw); err != nil {
		return nil, fmt.Errorf("the metadata has %v", err)
	}
	md, err := crewjamsp.ParseMetadata(raw)
	if err != nil {
		return nil, errors.New("the metadata is not SAML 2.0 metadata (an EntityDescriptor)")
	}
	if md.EntityID == "" {
		return nil, errors.New("the metadata names no entity ID")
	}
	if PostACS(md) == "" {
		return nil, errors.New("the metadata has no assertion consumer service with the HTTP-POST binding, the one this IdP answers with")
	}
	return md, nil
}

// PostACS is the metadata's first HTTP-POST assertion consumer service
// (the default one first), or "".
func PostACS(md *saml.EntityDescriptor) string {
	for _, d := range md.SPSSODescriptors {
		acs := slices.Clone(d.AssertionConsumerServices)
		slices.SortStableFunc(acs, func(a, b saml.IndexedEndpoint) int {
			return boolRank(b.IsDefault != nil && *b.IsDefault) - boolRank(a.IsDefault != nil && *a.IsDefault)
		})
		for _, e := range acs {
			if e.Binding == saml.HTTPPostBinding {
				return e.Location
			}
		}
	}
	return ""
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// signsRequests reports whether the metadata says the service provider
// signs its AuthnRequests (AuthnRequestsSigned): the IdP then refuses
// unsigned ones, and verifies every signed one with its signing keys.
func signsRequests(md *saml.EntityDescriptor) bool {
	return slices.ContainsFunc(md.SPSSODescriptors, func(d saml.SPSSODescriptor) bool {
		return d.AuthnRequestsSigned != nil && *d.AuthnRequestsSigned
	})
}

// CheckACSURL accepts an https address, or http on this machine (a demo
// or a test): responses carry people's identities.
func CheckACSURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return fmt.Errorf("the assertion consumer service %q is not an absolute URL", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLocalHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("the assertion consumer service %q must be https (http only on localhost)", raw)
}

func isLocalHost(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "127.0.0.1" || host == "::1"
}
