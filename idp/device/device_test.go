package device

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
	"xaa.example/shared/web"
)

type oneClient struct{}

func (oneClient) Authenticate(_ context.Context, r *http.Request, _ url.Values) (*oauth.Client, error) {
	if id, secret, _ := r.BasicAuth(); id == "agent" && secret == "agent-secret" {
		return &oauth.Client{ID: "agent", GrantTypes: []string{oauth.GrantDeviceCode}}, nil
	}
	return nil, oauth.InvalidClient("unknown client")
}

type signedIn struct{ user string }

func (s signedIn) SignedIn(context.Context) (string, time.Time) {
	return s.user, time.Unix(1_800_000_000, 0)
}

func (s signedIn) Methods(context.Context) []string { return []string{"hwk", "user"} }

type noCSRF struct{}

func (noCSRF) Token(*gin.Context) string { return "t" }
func (noCSRF) Valid(*gin.Context) bool   { return true }

// TestDeviceGrant (RFC 8628 §3.5): a device code is pending until the
// person approves it, slow_down when polled faster than the interval,
// access_denied once refused, expired_token after its lifetime, and
// redeemed once for the approving person's session.
func TestDeviceGrant(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var issued []codeflow.Session
	d, err := New(Config{Issuer: "https://idp.test", LoginPath: "/login", Interval: 5 * time.Second, DB: storagetest.SQLite(t),
		Clients: oneClient{}, Sessions: signedIn{"00u-bob"}, Forms: noCSRF{},
		Issue: func(_ context.Context, s codeflow.Session) (*oauth.TokenResponse, error) {
			issued = append(issued, s)
			return &oauth.TokenResponse{AccessToken: "at"}, nil
		},
		Meta: func() web.Meta { return web.Meta{Service: "IdP"} }, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	d.Routes(r)
	authorize := func() (device, user string) {
		req := httptest.NewRequest(http.MethodPost, PathAuthorize, strings.NewReader("scope=openid+todos.read"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("agent", "agent-secret")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		var out struct {
			DeviceCode string `json:"device_code"`
			UserCode   string `json:"user_code"`
			URI        string `json:"verification_uri"`
		}
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.URI != "https://idp.test"+PathActivate {
			t.Fatalf("device authorization: %d %s", rec.Code, rec.Body)
		}
		return out.DeviceCode, out.UserCode
	}
	poll := func(device string) string {
		_, err := d.Handle(t.Context(), &oauth.TokenRequest{DeviceCode: device, Client: &oauth.Client{ID: "agent"}})
		var e *oauth.Error
		if errors.As(err, &e) {
			return e.Code
		}
		if err != nil {
			t.Fatal(err)
		}
		return "issued"
	}
	decide := func(user, action string) int {
		req := httptest.NewRequest(http.MethodPost, PathActivate, strings.NewReader(url.Values{"user_code": {strings.ToLower(strings.ReplaceAll(user, "-", " "))}, "action": {action}, "csrf": {"t"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		return rec.Code
	}

	device, user := authorize()
	if got := poll(device); got != "authorization_pending" {
		t.Errorf("before approval: %s", got)
	}
	if got := poll(device); got != "slow_down" {
		t.Errorf("polled again at once: %s", got)
	}
	now = now.Add(6 * time.Second)
	if got := poll("not-" + device); got != "invalid_grant" {
		t.Errorf("an unknown code: %s", got)
	}
	if code := decide(user, "approve"); code != 200 {
		t.Fatalf("approve (the code as a person types it): %d", code)
	}
	if got := poll(device); got != "issued" || len(issued) != 1 || issued[0].UserID != "00u-bob" || issued[0].Scope != "openid todos.read" {
		t.Fatalf("after approval: %s %+v", got, issued)
	}
	if got := poll(device); got != "invalid_grant" {
		t.Errorf("redeemed twice: %s", got)
	}

	device, user = authorize()
	decide(user, "deny")
	if got := poll(device); got != "access_denied" {
		t.Errorf("refused: %s", got)
	}

	device, _ = authorize()
	now = now.Add(codeLifetime)
	if got := poll(device); got != "expired_token" {
		t.Errorf("expired: %s", got)
	}
}
