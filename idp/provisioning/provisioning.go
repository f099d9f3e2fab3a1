// Package provisioning is the IdP telling apps who exists, by SCIM 2.0
// (RFC 7644), before anyone signs in there. Per app, off until the admin
// switches it on with the app's SCIM URL and the token the app gave.
// Creating a person, disabling or enabling them, deleting them, or
// switching provisioning on for an app (which assigns every person to it)
// queues a push in the IdP's outbox (kind Kind); its handler sends it: the
// account found by the id the app gave before, else by externalId (the IdP
// user id, which is the ID-JAGs' sub), else by userName, is replaced;
// otherwise it is created; a deleted person's account is deleted. Each
// attempt is audited; a failed one is retried by the outbox and shown in
// the admin console.
package provisioning

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/idp/audit"
	"xaa.example/idp/outbox"
	"xaa.example/shared/storage"
)

// Kind is the outbox's kind for provisioning pushes.
const Kind = "scim-push"

// timeout bounds one call to an app.
const timeout = 5 * time.Second

// App is an app the IdP may provision, as first seeded: off.
type App struct {
	Name    string // for people: "Todo AS"
	BaseURL string // the app's SCIM base URL, e.g. https://todo-as/scim/v2
	Token   string // the bearer token the app gave the IdP
	// Audience is the issuer of the authorization server whose accounts
	// these are: ID-JAGs for it carry the person's id there (aud_sub).
	Audience string
}

// Target is an app the IdP provisions (or may).
type Target struct {
	ID      uint   `gorm:"primaryKey"`
	Name    string `gorm:"uniqueIndex;size:255;not null"`
	BaseURL string `gorm:"size:1024;not null"`
	// Token is a credential the IdP presents, so it is kept as given; the
	// console never shows it.
	Token   string `gorm:"size:1024;not null"`
	Enabled bool
	// Audience: see App.Audience.
	Audience  string `gorm:"index;size:255"`
	UpdatedAt time.Time
}

// TableName keeps the table the IdP has always had.
func (Target) TableName() string { return "provisioning_targets" }

// Describe is the app's provisioning settings, for the audit log (never
// the token).
func (t *Target) Describe() string {
	state := "off"
	if t.Enabled {
		state = "on"
	}
	return state + "; " + t.BaseURL
}

// Account remembers a person's id at an app.
type Account struct {
	TargetID  uint   `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey;size:32"`
	RemoteID  string `gorm:"size:255;not null"`
	UpdatedAt time.Time
}

// TableName keeps the table the IdP has always had.
func (Account) TableName() string { return "provisioned_accounts" }

// Person is what is pushed of someone.
type Person struct {
	ID, Email, Name string
	Disabled        bool
}

// People is the IdP's directory, as provisioning reads it.
type People interface {
	// Person is someone by id; storage.ErrNotFound once they are gone.
	Person(ctx context.Context, id string) (*Person, error)
	// Everyone is every person.
	Everyone(ctx context.Context) ([]Person, error)
}

// Push is one push of a person's state to an app: the payload of an outbox
// message, and, read back for the console, how it went.
type Push struct {
	TargetID uint   `json:"target_id"`
	UserID   string `json:"user_id"`
	Email    string `json:"email"` // for the console, once the person may be gone
	Why      string `json:"why"`   // what queued it: "created", "disabled", ...
	// Delete removes the account at the app (the person was deleted here).
	Delete bool `json:"delete,omitempty"`

	// How it went, from the outbox.
	Attempts  int        `json:"-"`
	NextAt    time.Time  `json:"-"`
	LastError string     `json:"-"`
	DoneAt    *time.Time `json:"-"`
	CreatedAt time.Time  `json:"-"`
}

// Done reports whether the push reached the app.
func (j Push) Done() bool { return j.DoneAt != nil }

// Config is what provisioning is given.
type Config struct {
	// Apps are seeded, off, at the first start.
	Apps   []App
	People People
	DB     *gorm.DB
	Outbox *outbox.Outbox
	Audit  *audit.Log
	Now    func() time.Time
	Log    *slog.Logger
}

// Provisioner pushes people to the apps.
type Provisioner struct {
	cfg  Config
	http *http.Client
}

// New migrates provisioning's tables, seeds the apps not there yet, and
// hands the outbox its pushes.
func New(ctx context.Context, cfg Config) (*Provisioner, error) {
	db := cfg.DB.WithContext(ctx)
	if err := storage.Migrate(db, "idp/provisioning", schema...); err != nil {
		return nil, err
	}
	for _, a := range cfg.Apps {
		row := Target{Name: a.Name, BaseURL: a.BaseURL, Token: a.Token, Audience: a.Audience}
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return nil, err
		}
		// A row made before targets had an audience gets its own.
		if err := db.Model(&Target{}).Where("name = ? AND (audience = '' OR audience IS NULL)", a.Name).Update("audience", a.Audience).Error; err != nil {
			return nil, err
		}
	}
	p := &Provisioner{cfg: cfg, http: &http.Client{Timeout: timeout}}
	cfg.Outbox.Handle(Kind, p.push)
	return p, nil
}

// Targets are the apps, by name.
func (p *Provisioner) Targets(ctx context.Context) ([]Target, error) {
	var rows []Target
	return rows, p.cfg.DB.WithContext(ctx).Order("name").Find(&rows).Error
}

// Target is one app; storage.ErrNotFound if there is none.
func (p *Provisioner) Target(ctx context.Context, id uint) (*Target, error) {
	var t Target
	err := p.cfg.DB.WithContext(ctx).Take(&t, "id = ?", id).Error
	return &t, storage.Translate(err)
}

// SaveTarget saves an app's settings.
func (p *Provisioner) SaveTarget(ctx context.Context, t *Target) error {
	return p.cfg.DB.WithContext(ctx).Save(t).Error
}

// AssignEveryone queues a push of every person to an app (provisioning
// switched on for it).
func (p *Provisioner) AssignEveryone(ctx context.Context, t *Target) error {
	people, err := p.cfg.People.Everyone(ctx)
	if err != nil {
		return err
	}
	pushes := make([]Push, 0, len(people))
	for _, u := range people {
		pushes = append(pushes, Push{TargetID: t.ID, UserID: u.ID, Email: u.Email, Why: "assigned"})
	}
	return p.queue(ctx, pushes)
}

// Changed queues a push of a person to every app provisioning is on for:
// why is what happened to them (created, enabled, disabled, deleted).
func (p *Provisioner) Changed(ctx context.Context, u Person, why string) error {
	var targets []Target
	if err := p.cfg.DB.WithContext(ctx).Where("enabled = ?", true).Find(&targets).Error; err != nil {
		return err
	}
	pushes := make([]Push, 0, len(targets))
	for _, t := range targets {
		pushes = append(pushes, Push{TargetID: t.ID, UserID: u.ID, Email: u.Email, Why: why, Delete: why == "deleted"})
	}
	return p.queue(ctx, pushes)
}

// Recent is the latest pushes, newest first.
func (p *Provisioner) Recent(ctx context.Context, limit int) ([]Push, error) {
	msgs, err := p.cfg.Outbox.Recent(ctx, Kind, limit)
	pushes := make([]Push, 0, len(msgs))
	for _, m := range msgs {
		var j Push
		_ = m.Decode(&j)
		j.Attempts, j.NextAt, j.LastError, j.DoneAt, j.CreatedAt = m.Attempts, m.NextAt, m.LastError, m.DoneAt, m.CreatedAt
		pushes = append(pushes, j)
	}
	return pushes, err
}

// queue writes the pushes to the outbox, which wakes its worker.
func (p *Provisioner) queue(ctx context.Context, pushes []Push) error {
	msgs := make([]outbox.Message, 0, len(pushes))
	for _, j := range pushes {
		m, err := outbox.New(Kind, strconv.FormatUint(uint64(j.TargetID), 10), j.Email, j)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	return p.cfg.Outbox.Enqueue(ctx, msgs...)
}

// push is the outbox's handler of provisioning pushes: it sends one and
// audits the attempt, first: whoever sees the push's new state (the admin
// console, a test waiting on it) finds the attempt in the audit log.
func (p *Provisioner) push(ctx context.Context, m *outbox.Message) outbox.Outcome {
	var j Push
	if err := m.Decode(&j); err != nil {
		return outbox.Dropped("not a provisioning push")
	}
	t, err := p.Target(ctx, j.TargetID)
	if errors.Is(err, storage.ErrNotFound) {
		return outbox.Dropped("the app is no longer one the IdP provisions")
	}
	if err != nil {
		return outbox.Failed(err)
	}
	if !t.Enabled {
		return outbox.Failed(errors.New("provisioning to " + t.Name + " is switched off"))
	}
	var remote, state string
	if j.Delete {
		state, err = "deleted at the app", p.remove(ctx, t, j.UserID)
	} else {
		u, uerr := p.cfg.People.Person(ctx, j.UserID)
		if errors.Is(uerr, storage.ErrNotFound) {
			return outbox.Dropped("the person was deleted since: their deletion is pushed on its own")
		}
		if uerr != nil {
			return outbox.Failed(uerr)
		}
		state = pushedState(u)
		remote, err = p.send(ctx, t, u)
	}
	row := audit.Event{Time: p.cfg.Now().UTC(), Event: audit.ProvisionPush, UserID: j.UserID, UserEmail: j.Email, Target: t.Name, After: state, Outcome: "pushed"}
	if err != nil {
		row.Outcome, row.Reason = "failed", err.Error()
	}
	p.cfg.Audit.Record(ctx, &row)
	if err != nil {
		p.cfg.Log.Warn("provisioning: push failed", "app", t.Name, "user", j.UserID, "attempt", m.Attempts+1, "err", err)
		return outbox.Failed(err)
	}
	if err := p.setRemoteID(ctx, t.ID, j.UserID, remote); err != nil {
		p.cfg.Log.Error("provisioning: remember the app's id", "err", err)
	}
	p.cfg.Log.Info("provisioning: pushed", "app", t.Name, "user", j.UserID, "state", state)
	return outbox.Delivered()
}

func pushedState(u *Person) string {
	if u.Disabled {
		return "deactivated at the app"
	}
	return "active at the app"
}

func (p *Provisioner) remoteID(ctx context.Context, targetID uint, userID string) (string, error) {
	var a Account
	err := p.cfg.DB.WithContext(ctx).Take(&a, "target_id = ? AND user_id = ?", targetID, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	return a.RemoteID, err
}

// setRemoteID remembers the person's id at the app; "" forgets it.
func (p *Provisioner) setRemoteID(ctx context.Context, targetID uint, userID, remoteID string) error {
	db := p.cfg.DB.WithContext(ctx)
	if remoteID == "" {
		return db.Where("target_id = ? AND user_id = ?", targetID, userID).Delete(&Account{}).Error
	}
	return db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Account{TargetID: targetID, UserID: userID, RemoteID: remoteID}).Error
}

// send makes the app's account match the person: found by the id the app
// gave before, else by externalId, else by userName (an account the app
// already had), and replaced; or created. It returns the app's id.
func (p *Provisioner) send(ctx context.Context, t *Target, u *Person) (string, error) {
	id, err := p.remoteID(ctx, t.ID, u.ID)
	if err != nil {
		return "", err
	}
	if id == "" {
		if id, err = p.find(ctx, t, `externalId eq "`+u.ID+`"`); err != nil {
			return "", err
		}
	}
	if id == "" {
		if id, err = p.find(ctx, t, `userName eq "`+u.Email+`"`); err != nil {
			return "", err
		}
	}
	body := scimUserBody(u)
	if id != "" {
		var out struct{ ID string }
		status, err := p.call(ctx, t, http.MethodPut, "/Users/"+url.PathEscape(id), body, &out)
		if status != http.StatusNotFound {
			return id, err
		}
		// Deleted at the app since: made again.
	}
	var out struct{ ID string }
	if _, err := p.call(ctx, t, http.MethodPost, "/Users", body, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("the app created the account but gave no id")
	}
	return out.ID, nil
}

// remove deletes the person's account at the app (RFC 7644 §3.6); one the
// app no longer has is gone already.
func (p *Provisioner) remove(ctx context.Context, t *Target, userID string) error {
	id, err := p.remoteID(ctx, t.ID, userID)
	if err != nil {
		return err
	}
	if id == "" {
		if id, err = p.find(ctx, t, `externalId eq "`+userID+`"`); err != nil || id == "" {
			return err
		}
	}
	status, err := p.call(ctx, t, http.MethodDelete, "/Users/"+url.PathEscape(id), nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	return err
}

func (p *Provisioner) find(ctx context.Context, t *Target, filter string) (string, error) {
	var list struct {
		Resources []struct{ ID string }
	}
	if _, err := p.call(ctx, t, http.MethodGet, "/Users?filter="+url.QueryEscape(filter), nil, &list); err != nil {
		return "", err
	}
	if len(list.Resources) == 0 {
		return "", nil
	}
	return list.Resources[0].ID, nil
}

// scimUserBody is the person as a SCIM User (RFC 7643 §4.1), the IdP's id
// as externalId.
func scimUserBody(u *Person) map[string]any {
	given, family, _ := strings.Cut(u.Name, " ")
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    u.Email,
		"externalId":  u.ID,
		"displayName": u.Name,
		"name":        map[string]any{"givenName": given, "familyName": family, "formatted": u.Name},
		"emails":      []map[string]any{{"value": u.Email, "type": "work", "primary": true}},
		"active":      !u.Disabled,
	}
}

// call sends one SCIM request with the app's token and decodes a 2xx
// answer into out; any other answer is an error that says what the app
// said (SCIM's detail, RFC 7644 §3.12).
func (p *Provisioner) call(ctx context.Context, t *Target, method, path string, body, out any) (int, error) {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(t.BaseURL, "/")+path, reader)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+t.Token)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: the app could not be reached (%v)", method, t.BaseURL, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		var e struct {
			Detail   string `json:"detail"`
			ScimType string `json:"scimType"`
		}
		_ = json.Unmarshal(data, &e)
		why := e.Detail
		if why == "" {
			why = http.StatusText(resp.StatusCode)
		}
		return resp.StatusCode, fmt.Errorf("%s %s: the app answered %d: %s", method, path, resp.StatusCode, why)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: the app's answer is not SCIM JSON", method, path)
		}
	}
	return resp.StatusCode, nil
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Target{}, &Account{}) }},
	{ID: "2", Apply: func(tx *gorm.DB) error { return storage.AddColumns(tx, &Target{}, "Audience") }},
}

// AudienceSubject is the person's id at the authorization server whose
// issuer is audience, as that app's SCIM service answered when the IdP
// provisioned them; "" when it never did. The ID-JAG draft's aud_sub.
func (p *Provisioner) AudienceSubject(ctx context.Context, audience, userID string) (string, error) {
	var remote []string
	err := p.cfg.DB.WithContext(ctx).Model(&Account{}).
		Joins("JOIN provisioning_targets ON provisioning_targets.id = provisioned_accounts.target_id").
		Where("provisioning_targets.audience = ? AND provisioned_accounts.user_id = ?", audience, userID).
		Limit(1).Pluck("provisioned_accounts.remote_id", &remote).Error
	if err != nil || len(remote) == 0 {
		return "", err
	}
	return remote[0], nil
}
