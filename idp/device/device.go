// Package device is the IdP's device authorization grant (RFC 8628), for
// an agent that runs where no browser can reach it (a Codespace, an SSH
// session): it asks here for a code, the person opens /activate on any
// device, signs in and approves, and the agent, polling the token
// endpoint, gets their tokens.
package device

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

// Paths of the grant.
const (
	PathAuthorize = "/oauth2/v1/device/authorize"
	PathActivate  = "/activate"
	codeLifetime  = 10 * time.Minute
)

// Clients authenticates the client of a device authorization request as
// the token endpoint does (oauth.ClientAuth).
type Clients interface {
	Authenticate(ctx context.Context, r *http.Request, form url.Values) (*oauth.Client, error)
}

// Sessions is the IdP's own sign-in: who approves.
type Sessions interface {
	SignedIn(ctx context.Context) (userID string, authTime time.Time)
	// Methods are how the signed-in person authenticated (RFC 8176 amr).
	Methods(ctx context.Context) []string
}

// Forms guards the approval form against cross-site posts.
type Forms interface {
	// Token is the CSRF token to put in a form shown now.
	Token(c *gin.Context) string
	// Valid reports whether a posted form carries it.
	Valid(c *gin.Context) bool
}

// Config is what the grant is given.
type Config struct {
	// Issuer is the IdP's URL; LoginPath its sign-in page, which takes the
	// page to come back to as next.
	Issuer, LoginPath string
	// Interval is how long a device waits between polls (§3.5).
	Interval time.Duration
	DB       *gorm.DB
	Clients  Clients
	// Issue issues the tokens of an approved sign-in.
	Issue    func(ctx context.Context, s codeflow.Session) (*oauth.TokenResponse, error)
	Sessions Sessions
	Forms    Forms
	// Meta is the IdP's look, for the pages.
	Meta func() web.Meta
	Now  func() time.Time
	Log  *slog.Logger
}

// Device is the grant.
type Device struct{ cfg Config }

// New migrates the device codes' table.
func New(cfg Config) (*Device, error) {
	if err := storage.Migrate(cfg.DB, "idp/device", schema...); err != nil {
		return nil, err
	}
	return &Device{cfg: cfg}, nil
}

// Routes serves the device authorization endpoint and the approval page.
func (d *Device) Routes(r gin.IRoutes) {
	r.POST(PathAuthorize, gin.WrapF(d.serveAuthorize))
	r.GET(PathActivate, d.serveActivate)
	r.POST(PathActivate, d.serveActivateDecision)
}

// Code is a device authorization in progress.
type Code struct {
	CodeHash  string `gorm:"primaryKey;size:64"` // SHA-256 of the device_code
	UserCode  string `gorm:"uniqueIndex;size:16;not null"`
	ClientID  string `gorm:"size:255;not null"`
	Scope     string `gorm:"size:1024"`
	ExpiresAt time.Time
	// UserID is set once the person approves; Denied when they refuse.
	UserID   string `gorm:"size:32"`
	AuthTime time.Time
	AMR      string `gorm:"size:255"` // how they signed in, space-separated (RFC 8176)
	Denied   bool
	LastPoll time.Time
}

func deviceDigest(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// userCodeAlphabet has no vowels and no look-alikes (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// normalUserCode reads a code as a person types it.
func normalUserCode(s string) string {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
	if len(s) != 8 {
		return ""
	}
	return s[:4] + "-" + s[4:]
}

// serveAuthorize is the device authorization endpoint (RFC 8628 §3.1-3.2).
func (d *Device) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	form, err := oauth.ParseForm(r)
	if err != nil {
		oauth.WriteError(w, d.cfg.Log, err)
		return
	}
	client, err := d.cfg.Clients.Authenticate(r.Context(), r, form)
	if err != nil {
		oauth.WriteError(w, d.cfg.Log, err)
		return
	}
	if !client.AllowsGrant(oauth.GrantDeviceCode) {
		oauth.WriteError(w, d.cfg.Log, oauth.UnauthorizedClient("this client may not use the device authorization grant"))
		return
	}
	if !oauth.ParseScopes(form.Get("scope")).Has("openid") {
		oauth.WriteError(w, d.cfg.Log, oauth.InvalidScope("the openid scope is required"))
		return
	}
	device := rand.Text() + rand.Text()
	row := Code{CodeHash: deviceDigest(device), UserCode: newUserCode(), ClientID: client.ID, Scope: form.Get("scope"), ExpiresAt: d.cfg.Now().Add(codeLifetime).UTC()}
	if err := d.createDeviceCode(r.Context(), &row); err != nil {
		oauth.WriteError(w, d.cfg.Log, oauth.ServerError(err))
		return
	}
	verify := d.cfg.Issuer + PathActivate
	oauth.WriteJSON(w, http.StatusOK, map[string]any{
		"device_code": device, "user_code": row.UserCode, "verification_uri": verify,
		"verification_uri_complete": verify + "?" + url.Values{"user_code": {row.UserCode}}.Encode(),
		"expires_in":                int(codeLifetime.Seconds()), "interval": int(d.cfg.Interval.Seconds()),
	})
}

// Handle redeems an approved device code (RFC 8628 §3.4-3.5): the device
// code grant of the token endpoint.
func (d *Device) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	now := d.cfg.Now()
	row, err := d.deviceCode(ctx, deviceDigest(req.DeviceCode))
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && row.ClientID != req.Client.ID:
		return nil, oauth.InvalidGrant("the device code is not one this server issued to this client")
	case err != nil:
		return nil, oauth.ServerError(err)
	case !now.Before(row.ExpiresAt):
		return nil, deviceError("expired_token", "the device code has expired: start the sign-in again")
	case row.Denied:
		if err := d.takeDeviceCode(ctx, row.CodeHash); err != nil && !errors.Is(err, storage.ErrNotFound) {
			d.cfg.Log.Error("delete refused device code", "err", err)
		}
		return nil, oauth.AccessDenied("the person refused the sign-in")
	case row.UserID == "":
		slow := now.Sub(row.LastPoll) < d.cfg.Interval
		if err := d.devicePolled(ctx, row.CodeHash, now); err != nil {
			return nil, oauth.ServerError(err)
		}
		if slow {
			return nil, deviceError("slow_down", "polling faster than the interval: wait longer between tries")
		}
		return nil, deviceError("authorization_pending", "the person has not approved the sign-in yet")
	}
	// Approved: used once.
	if err := d.takeDeviceCode(ctx, row.CodeHash); errors.Is(err, storage.ErrNotFound) {
		return nil, oauth.InvalidGrant("the device code was already used")
	} else if err != nil {
		return nil, oauth.ServerError(err)
	}
	return d.cfg.Issue(ctx, codeflow.Session{ClientID: row.ClientID, UserID: row.UserID, Scope: row.Scope, AuthTime: row.AuthTime, AMR: strings.Fields(row.AMR)})
}

// deviceError is one of RFC 8628 §3.5's codes, answered with 400.
func deviceError(code, description string) *oauth.Error {
	return &oauth.Error{Code: code, Description: description, Status: http.StatusBadRequest}
}

// serveActivate shows the code to approve, to a signed-in person.
func (d *Device) serveActivate(c *gin.Context) {
	ctx := c.Request.Context()
	code := normalUserCode(c.Query("user_code"))
	if uid, _ := d.cfg.Sessions.SignedIn(ctx); uid == "" {
		c.Redirect(http.StatusFound, d.cfg.LoginPath+"?next="+url.QueryEscape(PathActivate+"?user_code="+code))
		return
	}
	d.renderActivate(c, http.StatusOK, code, "")
}

func (d *Device) renderActivate(c *gin.Context, status int, code, problem string) {
	ctx := c.Request.Context()
	row, err := d.deviceCodeByUserCode(ctx, code)
	found := code != "" && err == nil && d.cfg.Now().Before(row.ExpiresAt)
	if code != "" && !found && problem == "" {
		problem = "There is no sign-in waiting with the code " + code + ". Check the code, or start the sign-in again on the device."
	}
	csrf := d.cfg.Forms.Token(c)
	m := d.cfg.Meta()
	m.Title = "Approve a sign-in"
	web.Render(c, status, web.Layout(m, activatePage(activateView{Code: code, Found: found, Client: row.ClientID, Scope: row.Scope, CSRF: csrf, Problem: problem})))
}

// serveActivateDecision approves or refuses the code for the signed-in person.
func (d *Device) serveActivateDecision(c *gin.Context) {
	ctx := c.Request.Context()
	uid, authTime := d.cfg.Sessions.SignedIn(ctx)
	if uid == "" || !d.cfg.Forms.Valid(c) {
		web.RenderError(c, http.StatusForbidden, "Not approved", "This form is stale or was not opened here. Open the address the device showed again.")
		return
	}
	code := normalUserCode(c.PostForm("user_code"))
	row, err := d.deviceCodeByUserCode(ctx, code)
	if code == "" || err != nil || !d.cfg.Now().Before(row.ExpiresAt) {
		d.renderActivate(c, http.StatusBadRequest, code, "There is no sign-in waiting with that code.")
		return
	}
	approve := c.PostForm("action") == "approve"
	if err := d.decideDeviceCode(ctx, row, approve, uid, authTime, d.cfg.Sessions.Methods(ctx)); err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The decision could not be saved. Try again.")
		return
	}
	d.cfg.Log.Info("device sign-in decided", "client", row.ClientID, "user", uid, "approved", approve)
	m := d.cfg.Meta()
	m.Title = "Done"
	web.Render(c, http.StatusOK, web.Layout(m, activateDone(approve)))
}

// TableName keeps the table the IdP has always had.
func (Code) TableName() string { return "device_codes" }

// The device codes' reads and writes.

func (d *Device) createDeviceCode(ctx context.Context, row *Code) error {
	return d.cfg.DB.WithContext(ctx).Create(row).Error
}

func (d *Device) deviceCode(ctx context.Context, hash string) (*Code, error) {
	var row Code
	err := d.cfg.DB.WithContext(ctx).Take(&row, "code_hash = ?", hash).Error
	return &row, storage.Translate(err)
}

func (d *Device) deviceCodeByUserCode(ctx context.Context, userCode string) (*Code, error) {
	var row Code
	err := d.cfg.DB.WithContext(ctx).Take(&row, "user_code = ?", userCode).Error
	return &row, storage.Translate(err)
}

func (d *Device) devicePolled(ctx context.Context, hash string, at time.Time) error {
	return d.cfg.DB.WithContext(ctx).Model(&Code{}).Where("code_hash = ?", hash).Update("last_poll", at.UTC()).Error
}

// takeDeviceCode deletes the code; storage.ErrNotFound when another
// request took it first (one use: RFC 8628 §3.5).
func (d *Device) takeDeviceCode(ctx context.Context, hash string) error {
	res := d.cfg.DB.WithContext(ctx).Where("code_hash = ?", hash).Delete(&Code{})
	switch {
	case res.Error != nil:
		return res.Error
	case res.RowsAffected != 1:
		return storage.ErrNotFound
	}
	return nil
}

// decideDeviceCode records the person's approval or refusal.
func (d *Device) decideDeviceCode(ctx context.Context, row *Code, approve bool, userID string, authTime time.Time, amr []string) error {
	update := map[string]any{"denied": !approve}
	if approve {
		update["user_id"], update["auth_time"], update["amr"] = userID, authTime.UTC(), strings.Join(amr, " ")
	}
	return d.cfg.DB.WithContext(ctx).Model(row).Updates(update).Error
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Code{}) }},
	{ID: "2", Apply: func(tx *gorm.DB) error { return storage.AddColumns(tx, &Code{}, "AMR") }},
}
