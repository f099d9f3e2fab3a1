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
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Provisioning: the IdP tells an app who exists, by SCIM 2.0 (RFC 7644),
// before anyone signs in there. Per app, off until the admin switches it on
// with the app's SCIM URL and the token the app gave. Creating a person,
// disabling or enabling them, or switching provisioning on (which assigns
// every person to the app) queues a push; a worker sends it: the account
// found by externalId (the IdP user id, which is the ID-JAGs' sub), else by
// userName, is replaced; otherwise it is created. A failed push is retried
// with a doubling wait (1 s up to 15 min) and shown in the admin console
// and the audit log.

const (
	provisioningFirstRetry = time.Second
	provisioningMaxRetry   = 15 * time.Minute
	provisioningTimeout    = 5 * time.Second
)

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

// ProvisioningJob is one push of a person's state to an app.
type ProvisioningJob struct {
	ID       uint   `gorm:"primaryKey"`
	TargetID uint   `gorm:"index;not null"`
	UserID   string `gorm:"size:32;not null"`
	Email    string `gorm:"size:255"`         // for the console, once the person may be gone
	Why      string `gorm:"size:64;not null"` // what queued it: "created", "disabled", ...
	// Delete removes the account at the app (the person was deleted here).
	Delete    bool
	Attempts  int       `gorm:"not null"`
	NextAt    time.Time `gorm:"index;not null"`
	LastError string    `gorm:"size:1024"`
	DoneAt    *time.Time
	CreatedAt time.Time
}

// Done reports whether the push reached the app.
func (j ProvisioningJob) Done() bool { return j.DoneAt != nil }

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

// queuePush queues a push of the person to every enabled app: their
// state, or their account's deletion.
func (s *store) queuePush(ctx context.Context, now time.Time, why string, del bool, u *User) (int, error) {
	var targets []ProvisioningTarget
	if err := s.db.WithContext(ctx).Where("enabled = ?", true).Find(&targets).Error; err != nil {
		return 0, err
	}
	var jobs []ProvisioningJob
	for _, t := range targets {
		jobs = append(jobs, ProvisioningJob{TargetID: t.ID, UserID: u.ID, Email: u.Email, Why: why, Delete: del, NextAt: now})
	}
	if len(jobs) == 0 {
		return 0, nil
	}
	return len(jobs), s.db.WithContext(ctx).CreateInBatches(jobs, 200).Error
}

// queuePushAll queues a push of every person to one app (assigning them
// all when provisioning is switched on).
func (s *store) queuePushAll(ctx context.Context, now time.Time, targetID uint) error {
	var users []User
	if err := s.db.WithContext(ctx).Select("id", "email").Order("id").Find(&users).Error; err != nil {
		return err
	}
	jobs := make([]ProvisioningJob, 0, len(users))
	for _, u := range users {
		jobs = append(jobs, ProvisioningJob{TargetID: targetID, UserID: u.ID, Email: u.Email, Why: "assigned", NextAt: now})
	}
	if len(jobs) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).CreateInBatches(jobs, 200).Error
}

func (s *store) dueJobs(ctx context.Context, now time.Time, limit int) ([]ProvisioningJob, error) {
	var jobs []ProvisioningJob
	err := s.db.WithContext(ctx).Where("done_at IS NULL AND next_at <= ?", now).Order("id").Limit(limit).Find(&jobs).Error
	return jobs, err
}

func (s *store) recentJobs(ctx context.Context, limit int) ([]ProvisioningJob, error) {
	var jobs []ProvisioningJob
	return jobs, s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&jobs).Error
}

func (s *store) finishJob(ctx context.Context, j *ProvisioningJob, now time.Time) error {
	j.DoneAt, j.Attempts, j.LastError = &now, j.Attempts+1, ""
	return s.db.WithContext(ctx).Model(j).Select("done_at", "attempts", "last_error").Updates(j).Error
}

func (s *store) retryJob(ctx context.Context, j *ProvisioningJob, now time.Time, failure string) error {
	j.Attempts++
	wait := provisioningFirstRetry << min(j.Attempts-1, 20)
	j.NextAt, j.LastError = now.Add(min(wait, provisioningMaxRetry)), truncate(failure, 1024)
	return s.db.WithContext(ctx).Model(j).Select("attempts", "next_at", "last_error").Updates(j).Error
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

// provisioner runs the pushes (provisioning, and Shared Signals'
// deliveries): woken when one is queued, and every second for retries that
// have come due.
type provisioner struct {
	s      *Server
	http   *http.Client
	wake   chan struct{}
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func (s *Server) startProvisioner() {
	ctx, cancel := context.WithCancel(context.Background())
	p := &provisioner{s: s, http: &http.Client{Timeout: provisioningTimeout}, wake: make(chan struct{}, 1), cancel: cancel}
	s.provisioner = p
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			case <-tick.C:
			}
			p.runDue(ctx)
			p.runDueDeliveries(ctx)
		}
	}()
}

// poke wakes the worker after pushes were queued.
func (p *provisioner) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *provisioner) stop() {
	p.cancel()
	p.done.Wait()
}

func (p *provisioner) runDue(ctx context.Context) {
	s := p.s
	jobs, err := s.store.dueJobs(ctx, s.cfg.Now(), 50)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Log.Error("provisioning: read the queue", "err", err)
		}
		return
	}
	for i := range jobs {
		if ctx.Err() != nil {
			return
		}
		p.run(ctx, &jobs[i])
	}
}

// run pushes one job and records the outcome, in the queue and the audit
// log.
func (p *provisioner) run(ctx context.Context, j *ProvisioningJob) {
	s := p.s
	t, err := s.store.provisioningTarget(ctx, j.TargetID)
	if err != nil {
		return
	}
	if !t.Enabled {
		_ = s.store.retryJob(ctx, j, s.cfg.Now(), "provisioning to "+t.Name+" is switched off")
		return
	}
	var remote, state string
	if j.Delete {
		state, err = "deleted at the app", p.remove(ctx, t, j.UserID)
	} else {
		u, uerr := s.store.user(ctx, j.UserID)
		if uerr != nil {
			_ = s.store.finishJob(ctx, j, s.cfg.Now()) // deleted since: its own job follows
			return
		}
		state = pushedState(u)
		remote, err = p.push(ctx, t, u)
	}
	now := s.cfg.Now()
	row := AuditEvent{Time: now.UTC(), Event: EventProvisionPush, UserID: j.UserID, UserEmail: j.Email, Target: t.Name, After: state}
	row.Outcome = "pushed"
	if err != nil {
		row.Outcome, row.Reason = "failed", truncate(err.Error(), 1024)
	}
	// The audit record first: whoever sees the job's new state (the admin
	// console, a test waiting on it) finds the attempt in the audit log.
	s.storeAudit(ctx, &row)
	if err != nil {
		if err := s.store.retryJob(ctx, j, now, err.Error()); err != nil {
			s.cfg.Log.Error("provisioning: record a failure", "err", err)
		}
		s.cfg.Log.Warn("provisioning: push failed", "app", t.Name, "user", j.UserID, "attempt", j.Attempts, "retry_at", j.NextAt, "err", err)
		return
	}
	if err := s.store.setRemoteID(ctx, t.ID, j.UserID, remote); err != nil {
		s.cfg.Log.Error("provisioning: remember the app's id", "err", err)
	}
	if err := s.store.finishJob(ctx, j, now); err != nil {
		s.cfg.Log.Error("provisioning: record a push", "err", err)
	}
	s.cfg.Log.Info("provisioning: pushed", "app", t.Name, "user", j.UserID, "state", state)
}

func pushedState(u *User) string {
	if u.Disabled {
		return "deactivated at the app"
	}
	return "active at the app"
}

// push makes the app's account match the person: found by the id the app
// gave before, else by externalId, else by userName (an account the app
// already had), and replaced; or created. It returns the app's id.
func (p *provisioner) push(ctx context.Context, t *ProvisioningTarget, u *User) (string, error) {
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
func (p *provisioner) remove(ctx context.Context, t *ProvisioningTarget, userID string) error {
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

func (p *provisioner) find(ctx context.Context, t *ProvisioningTarget, filter string) (string, error) {
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
func (p *provisioner) call(ctx context.Context, t *ProvisioningTarget, method, path string, body, out any) (int, error) {
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

// queueProvisioning queues pushes of people to every enabled app and wakes
// the worker; a failure to queue is logged (the admin's change stands).
func (s *Server) queueProvisioning(ctx context.Context, why string, u *User) {
	n, err := s.store.queuePush(ctx, s.cfg.Now(), why, why == "deleted", u)
	if err != nil {
		s.cfg.Log.Error("provisioning: queue", "err", err)
		return
	}
	if n > 0 {
		s.provisioner.poke()
	}
}
