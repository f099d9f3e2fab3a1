package provider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

// The device authorization grant (RFC 8628), for an agent that runs where
// no browser can reach it (a Codespace, an SSH session): it asks here for
// a code, the person opens /activate on any device, signs in and approves,
// and the agent, polling the token endpoint, gets their tokens.

const (
	pathDeviceAuthorize = "/oauth2/v1/device/authorize"
	pathActivate        = "/activate"
	deviceCodeLifetime  = 10 * time.Minute
)

// DeviceCode is a device authorization in progress.
type DeviceCode struct {
	CodeHash  string `gorm:"primaryKey;size:64"` // SHA-256 of the device_code
	UserCode  string `gorm:"uniqueIndex;size:16;not null"`
	ClientID  string `gorm:"size:255;not null"`
	Scope     string `gorm:"size:1024"`
	ExpiresAt time.Time
	// UserID is set once the person approves; Denied when they refuse.
	UserID   string `gorm:"size:32"`
	AuthTime time.Time
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

// serveDeviceAuthorize is RFC 8628 §3.1-3.2.
func (s *Server) serveDeviceAuthorize(w http.ResponseWriter, r *http.Request) {
	form, err := oauth.ParseForm(r)
	if err != nil {
		oauth.WriteError(w, s.cfg.Log, err)
		return
	}
	client, err := s.op.Token.Auth.Authenticate(r.Context(), r, form)
	if err != nil {
		oauth.WriteError(w, s.cfg.Log, err)
		return
	}
	if !client.AllowsGrant(oauth.GrantDeviceCode) {
		oauth.WriteError(w, s.cfg.Log, oauth.UnauthorizedClient("this client may not use the device authorization grant"))
		return
	}
	if !oauth.ParseScopes(form.Get("scope")).Has("openid") {
		oauth.WriteError(w, s.cfg.Log, oauth.InvalidScope("the openid scope is required"))
		return
	}
	device := rand.Text() + rand.Text()
	row := DeviceCode{CodeHash: deviceDigest(device), UserCode: newUserCode(), ClientID: client.ID, Scope: form.Get("scope"), ExpiresAt: s.cfg.Now().Add(deviceCodeLifetime).UTC()}
	if err := s.store.createDeviceCode(r.Context(), &row); err != nil {
		oauth.WriteError(w, s.cfg.Log, oauth.ServerError(err))
		return
	}
	verify := s.cfg.Issuer + pathActivate
	oauth.WriteJSON(w, http.StatusOK, map[string]any{
		"device_code": device, "user_code": row.UserCode, "verification_uri": verify,
		"verification_uri_complete": verify + "?" + url.Values{"user_code": {row.UserCode}}.Encode(),
		"expires_in":                int(deviceCodeLifetime.Seconds()), "interval": int(s.cfg.DeviceInterval.Seconds()),
	})
}

// deviceGrant redeems an approved device code (RFC 8628 §3.4-3.5).
type deviceGrant struct{ s *Server }

func (g *deviceGrant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	s, now := g.s, g.s.cfg.Now()
	row, err := s.store.deviceCode(ctx, deviceDigest(req.DeviceCode))
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && row.ClientID != req.Client.ID:
		return nil, oauth.InvalidGrant("the device code is not one this server issued to this client")
	case err != nil:
		return nil, oauth.ServerError(err)
	case !now.Before(row.ExpiresAt):
		return nil, deviceError("expired_token", "the device code has expired: start the sign-in again")
	case row.Denied:
		if err := s.store.takeDeviceCode(ctx, row.CodeHash); err != nil && !errors.Is(err, storage.ErrNotFound) {
			s.cfg.Log.Error("delete refused device code", "err", err)
		}
		return nil, oauth.AccessDenied("the person refused the sign-in")
	case row.UserID == "":
		slow := now.Sub(row.LastPoll) < s.cfg.DeviceInterval
		if err := s.store.devicePolled(ctx, row.CodeHash, now); err != nil {
			return nil, oauth.ServerError(err)
		}
		if slow {
			return nil, deviceError("slow_down", "polling faster than the interval: wait longer between tries")
		}
		return nil, deviceError("authorization_pending", "the person has not approved the sign-in yet")
	}
	// Approved: used once.
	if err := s.store.takeDeviceCode(ctx, row.CodeHash); errors.Is(err, storage.ErrNotFound) {
		return nil, oauth.InvalidGrant("the device code was already used")
	} else if err != nil {
		return nil, oauth.ServerError(err)
	}
	return s.op.IssueSession(ctx, codeflow.Session{ClientID: row.ClientID, UserID: row.UserID, Scope: row.Scope, AuthTime: row.AuthTime})
}

// deviceError is one of RFC 8628 §3.5's codes, answered with 400.
func deviceError(code, description string) *oauth.Error {
	return &oauth.Error{Code: code, Description: description, Status: http.StatusBadRequest}
}

// serveActivate shows the code to approve, to a signed-in person.
func (s *Server) serveActivate(c *gin.Context) {
	ctx := c.Request.Context()
	code := normalUserCode(c.Query("user_code"))
	if uid, _ := s.op.SignedIn(ctx); uid == "" {
		c.Redirect(http.StatusFound, "/login?next="+url.QueryEscape(pathActivate+"?user_code="+code))
		return
	}
	s.renderActivate(c, http.StatusOK, code, "")
}

func (s *Server) renderActivate(c *gin.Context, status int, code, problem string) {
	ctx := c.Request.Context()
	row, err := s.store.deviceCodeByUserCode(ctx, code)
	found := code != "" && err == nil && s.cfg.Now().Before(row.ExpiresAt)
	if code != "" && !found && problem == "" {
		problem = "There is no sign-in waiting with the code " + code + ". Check the code, or start the sign-in again on the device."
	}
	csrf := s.formCSRF(c)
	m := s.meta()
	m.Title = "Approve a sign-in"
	web.Render(c, status, web.Layout(m, activatePage(activateView{Code: code, Found: found, Client: row.ClientID, Scope: row.Scope, CSRF: csrf, Problem: problem})))
}

// serveActivateDecision approves or refuses the code for the signed-in person.
func (s *Server) serveActivateDecision(c *gin.Context) {
	ctx := c.Request.Context()
	uid, authTime := s.op.SignedIn(ctx)
	if uid == "" || !s.formCSRFValid(c) {
		web.RenderError(c, http.StatusForbidden, "Not approved", "This form is stale or was not opened here. Open the address the device showed again.")
		return
	}
	code := normalUserCode(c.PostForm("user_code"))
	row, err := s.store.deviceCodeByUserCode(ctx, code)
	if code == "" || err != nil || !s.cfg.Now().Before(row.ExpiresAt) {
		s.renderActivate(c, http.StatusBadRequest, code, "There is no sign-in waiting with that code.")
		return
	}
	approve := c.PostForm("action") == "approve"
	if err := s.store.decideDeviceCode(ctx, row, approve, uid, authTime); err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Not saved", "The decision could not be saved. Try again.")
		return
	}
	s.cfg.Log.Info("device sign-in decided", "client", row.ClientID, "user", uid, "approved", approve)
	m := s.meta()
	m.Title = "Done"
	web.Render(c, http.StatusOK, web.Layout(m, activateDone(approve)))
}
