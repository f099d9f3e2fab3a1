package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/idp/audit"
	"xaa.example/idp/outbox"
)

// Provisioning: the IdP tells an app who exists, by SCIM 2.0 (RFC 7644),
// before anyone signs in there. Per app, off until the admin switches it on
// with the app's SCIM URL and the token the app gave. Creating a person,
// disabling or enabling them, or switching provisioning on (which assigns
// every person to the app) queues a push in the outbox (package outbox,
// kind kindPush); its handler sends it: the account found by externalId
// (the IdP user id, which is the ID-JAGs' sub), else by userName, is
// replaced; otherwise it is created. A failed push is retried by the
// outbox and shown in the admin console and the audit log.

// kindPush is the outbox's kind for provisioning pushes.
const kindPush = "scim-push"

// deliveryTimeout bounds one push to an app.
const deliveryTimeout = 5 * time.Second

// ProvisioningConfig is an app the IdP may provision, as first seeded: off.
type ProvisioningConfig struct {
	Name    string // for people: "Todo AS"
	BaseURL string // the app's SCIM base URL, e.g. https://todo-as/scim/v2
	Token   string // the bearer token the app gave the IdP
}

// ProvisioningTarget is an app the IdP provisions (or may).
type ProvisioningTarget struct {
	ID      uint   `gorm:"primaryKey"`
	Name    string `gorm:"uniqueIndex;size:255;not null"`
	BaseURL string `gorm:"size:1024;not null"`
	// Token is a credential the IdP presents, so it is kept as given; the
	// console never shows it.
	Token     string `gorm:"size:1024;not null"`
	Enabled   bool
	UpdatedAt time.Time
}

// ProvisioningJob is one push of a person's state to an app: the payload
// of an outbox message, and, read back for the console, how it went.
type ProvisioningJob struct {
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
func (j ProvisioningJob) Done() bool { return j.DoneAt != nil }

// message is the job as an outbox message.
func (j ProvisioningJob) message() (outbox.Message, error) {
	return outbox.New(kindPush, strconv.FormatUint(uint64(j.TargetID), 10), j.Email, j)
}

// jobOf reads a push back from its outbox message.
func jobOf(m outbox.Message) ProvisioningJob {
	var j ProvisioningJob
	_ = m.Decode(&j)
	j.Attempts, j.NextAt, j.LastError, j.DoneAt, j.CreatedAt = m.Attempts, m.NextAt, m.LastError, m.DoneAt, m.CreatedAt
	return j
}

// ProvisionedAccount remembers a person's id at an app.
type ProvisionedAccount struct {
	TargetID  uint   `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey;size:32"`
	RemoteID  string `gorm:"size:255;not null"`
	UpdatedAt time.Time
}

func (s *store) seedProvisioning(tx *gorm.DB, cfgs []ProvisioningConfig) error {
	for _, c := range cfgs {
		row := ProvisioningTarget{Name: c.Name, BaseURL: c.BaseURL, Token: c.Token}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
			return err
		}
	}
	return nil
}

func (s *store) provisioningTargets(ctx context.Context) ([]ProvisioningTarget, error) {
	var rows []ProvisioningTarget
	return rows, s.db.WithContext(ctx).Order("name").Find(&rows).Error
}

func (s *store) provisioningTarget(ctx context.Context, id uint) (*ProvisioningTarget, error) {
	var t ProvisioningTarget
	return &t, s.db.WithContext(ctx).Take(&t, "id = ?", id).Error
}

func (s *store) saveProvisioningTarget(ctx context.Context, t *ProvisioningTarget) error {
	return s.db.WithContext(ctx).Save(t).Error
}

// enabledTargets are the apps provisioning is switched on for.
func (s *store) enabledTargets(ctx context.Context) ([]ProvisioningTarget, error) {
	var targets []ProvisioningTarget
	return targets, s.db.WithContext(ctx).Where("enabled = ?", true).Find(&targets).Error
}

// everyone is every person's id and email, for a push to each.
func (s *store) everyone(ctx context.Context) ([]User, error) {
	var users []User
	return users, s.db.WithContext(ctx).Select("id", "email").Order("id").Find(&users).Error
}

func (s *store) remoteID(ctx context.Context, targetID uint, userID string) (string, error) {
	var a ProvisionedAccount
	err := s.db.WithContext(ctx).Take(&a, "target_id = ? AND user_id = ?", targetID, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	return a.RemoteID, err
}

// setRemoteID remembers the person's id at the app; "" forgets it.
func (s *store) setRemoteID(ctx context.Context, targetID uint, userID, remoteID string) error {
	if remoteID == "" {
		return s.db.WithContext(ctx).Where("target_id = ? AND user_id = ?", targetID, userID).Delete(&ProvisionedAccount{}).Error
	}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).
		Create(&ProvisionedAccount{TargetID: targetID, UserID: userID, RemoteID: remoteID}).Error
}

// pusher sends provisioning pushes for the outbox.
type pusher struct {
	s    *Server
	http *http.Client
}

// queuePushes queues a push of each job and wakes the outbox.
func (s *Server) queuePushes(ctx context.Context, jobs []ProvisioningJob) error {
	msgs := make([]outbox.Message, 0, len(jobs))
	for _, j := range jobs {
		m, err := j.message()
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	return s.outbox.Enqueue(ctx, msgs...)
}

// push is the outbox's handler of provisioning pushes: it sends one and
// audits the attempt (first: whoever sees the push's new state, the admin
// console or a test waiting on it, finds the attempt in the audit log).
func (p *pusher) push(ctx context.Context, m *outbox.Message) outbox.Outcome {
	s := p.s
	var j ProvisioningJob
	if err := m.Decode(&j); err != nil {
		return outbox.Dropped("not a provisioning push")
	}
	t, err := s.store.provisioningTarget(ctx, j.TargetID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
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
		u, uerr := s.store.user(ctx, j.UserID)
		if uerr != nil {
			return outbox.Dropped("the person was deleted since: their deletion is pushed on its own")
		}
		state = pushedState(u)
		remote, err = p.send(ctx, t, u)
	}
	row := audit.Event{Time: s.cfg.Now().UTC(), Event: audit.ProvisionPush, UserID: j.UserID, UserEmail: j.Email, Target: t.Name, After: state}
	row.Outcome = "pushed"
	if err != nil {
		row.Outcome, row.Reason = "failed", err.Error()
	}
	s.auditLog.Record(ctx, &row)
	if err != nil {
		s.cfg.Log.Warn("provisioning: push failed", "app", t.Name, "user", j.UserID, "attempt", m.Attempts+1, "err", err)
		return outbox.Failed(err)
	}
	if err := s.store.setRemoteID(ctx, t.ID, j.UserID, remote); err != nil {
		s.cfg.Log.Error("provisioning: remember the app's id", "err", err)
	}
	s.cfg.Log.Info("provisioning: pushed", "app", t.Name, "user", j.UserID, "state", state)
	return outbox.Delivered()
}

func pushedState(u *User) string {
	if u.Disabled {
		return "deactivated at the app"
	}
	return "active at the app"
}

// send makes the app's account match the person: found by the id the app
// gave before, else by externalId, else by userName (an account the app
// already had), and replaced; or created. It returns the app's id.
func (p *pusher) send(ctx context.Context, t *ProvisioningTarget, u *User) (string, error) {
	id, err := p.s.store.remoteID(ctx, t.ID, u.ID)
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
func (p *pusher) remove(ctx context.Context, t *ProvisioningTarget, userID string) error {
	id, err := p.s.store.remoteID(ctx, t.ID, userID)
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

func (p *pusher) find(ctx context.Context, t *ProvisioningTarget, filter string) (string, error) {
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
func scimUserBody(u *User) map[string]any {
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
func (p *pusher) call(ctx context.Context, t *ProvisioningTarget, method, path string, body, out any) (int, error) {
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

// provisionChange pushes a person's new state to every app provisioning
// is on for, or everyone to an app it was switched on for. A failure to
// queue is logged: the admin's change stands.
func (s *Server) provisionChange(ctx context.Context, ch adminChange) {
	if p := ch.Person; p != nil {
		s.queueProvisioning(ctx, p.State, p.User)
	}
	if t := ch.Provisioning; t != nil {
		if err := s.queueEveryone(ctx, t.ID); err != nil {
			s.cfg.Log.Error("provisioning: queue everyone", "err", err)
		}
	}
}

// queueProvisioning queues pushes of a person to every enabled app.
func (s *Server) queueProvisioning(ctx context.Context, why string, u *User) {
	targets, err := s.store.enabledTargets(ctx)
	if err == nil {
		jobs := make([]ProvisioningJob, 0, len(targets))
		for _, t := range targets {
			jobs = append(jobs, ProvisioningJob{TargetID: t.ID, UserID: u.ID, Email: u.Email, Why: why, Delete: why == "deleted"})
		}
		err = s.queuePushes(ctx, jobs)
	}
	if err != nil {
		s.cfg.Log.Error("provisioning: queue", "err", err)
	}
}

// queueEveryone queues a push of every person to one app (assigning them
// all when provisioning is switched on).
func (s *Server) queueEveryone(ctx context.Context, targetID uint) error {
	users, err := s.store.everyone(ctx)
	if err != nil {
		return err
	}
	jobs := make([]ProvisioningJob, 0, len(users))
	for _, u := range users {
		jobs = append(jobs, ProvisioningJob{TargetID: targetID, UserID: u.ID, Email: u.Email, Why: "assigned"})
	}
	return s.queuePushes(ctx, jobs)
}

// recentPushes are the latest provisioning pushes, newest first.
func (s *Server) recentPushes(ctx context.Context, limit int) ([]ProvisioningJob, error) {
	msgs, err := s.outbox.Recent(ctx, kindPush, limit)
	jobs := make([]ProvisioningJob, 0, len(msgs))
	for _, m := range msgs {
		jobs = append(jobs, jobOf(m))
	}
	return jobs, err
}
