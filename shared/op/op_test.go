package op

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/codeflow"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
)

type accounts map[string]Account

func (a accounts) Account(_ context.Context, id string) (Account, error) {
	if u, ok := a[id]; ok {
		return u, nil
	}
	return Account{}, errors.New("no such account")
}

var now = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func newProvider(t *testing.T, pol SessionPolicy) *Provider {
	t.Helper()
	p, err := New(t.Context(), Config{
		Issuer: "https://op.test", DB: storagetest.SQLite(t), TokenPath: "/token", CookieName: "op", Sessions: pol,
		Clients: oauth.NewStaticClients(oauth.Client{
			ID: "app", Secret: "s", RedirectURIs: []string{"https://app.test/callback"},
			GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken},
		}, oauth.Client{ID: "robot", Secret: "s", GrantTypes: []string{oauth.GrantJWTBearer}}),
		Accounts: accounts{"u1": {ID: "u1", Email: "bob@tables.fake", Name: "Bob"}, "u2": {ID: "u2", Email: "eve@tables.fake", Disabled: true}},
		Now:      func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestCheckAuthRequest(t *testing.T) {
	p := newProvider(t, SessionPolicy{})
	good := AuthRequest{ClientID: "app", RedirectURI: "https://app.test/callback", ResponseType: "code", Scope: "openid email",
		State: "st", Challenge: strings.Repeat("a", 43), Method: "S256"}
	rows := []struct {
		name    string
		edit    func(*AuthRequest)
		problem string // shown on a page
		code    string // sent back to the client
	}{
		{"good", func(*AuthRequest) {}, "", ""},
		{"unknown client", func(a *AuthRequest) { a.ClientID = "nobody" }, "Unknown application", ""},
		{"unregistered redirect", func(a *AuthRequest) { a.RedirectURI = "https://evil.test/callback" }, "Unexpected return address", ""},
		{"implicit flow", func(a *AuthRequest) { a.ResponseType = "token" }, "", "unsupported_response_type"},
		{"a client with no redirect URI", func(a *AuthRequest) { a.ClientID = "robot" }, "Unexpected return address", ""},
		{"no PKCE", func(a *AuthRequest) { a.Challenge, a.Method = "", "" }, "", "invalid_request"},
		{"plain PKCE", func(a *AuthRequest) { a.Method = "plain" }, "", "invalid_request"},
		{"short challenge", func(a *AuthRequest) { a.Challenge = "abc" }, "", "invalid_request"},
		{"no openid scope", func(a *AuthRequest) { a.Scope = "email" }, "", "invalid_scope"},
	}
	for _, row := range rows {
		ar := good
		row.edit(&ar)
		_, problem, e := p.CheckAuthRequest(t.Context(), ar)
		switch {
		case row.problem != "" && (problem == nil || problem.Title != row.problem):
			t.Errorf("%s: problem %v, want a page %q", row.name, problem, row.problem)
		case row.code != "" && (e == nil || e.Code != row.code):
			t.Errorf("%s: error %v, want %s", row.name, e, row.code)
		case row.problem == "" && row.code == "" && (problem != nil || e != nil):
			t.Errorf("%s: refused: %v %v", row.name, problem, e)
		}
		if e != nil {
			back, _ := url.Parse(p.ErrorRedirect(ar, e))
			if q := back.Query(); q.Get("error") != row.code || q.Get("state") != "st" || q.Get("iss") != "https://op.test" {
				t.Errorf("%s: error redirect %s lacks error, state or iss (RFC 9207)", row.name, back)
			}
		}
	}
	back, err := p.IssueCode(t.Context(), good, "u1", now, []string{"hwk", "user"})
	if u, _ := url.Parse(back); err != nil || u.Query().Get("code") == "" || u.Query().Get("iss") != "https://op.test" || u.Query().Get("state") != "st" {
		t.Fatalf("code redirect %s, %v", back, err)
	}
}

func TestIssueSession(t *testing.T) {
	sess := codeflow.Session{ClientID: "app", UserID: "u1", Scope: "openid email", Nonce: "n", AuthTime: now.Add(-time.Minute)}
	idp := newProvider(t, SessionPolicy{IDTokenLifetime: time.Hour, AccessTokenLifetime: time.Hour, AccessAudience: "https://op.test/userinfo", RefreshOnlyOffline: true, AMR: []string{"pwd"}})
	resp, err := idp.IssueSession(t.Context(), sess)
	if err != nil || resp.RefreshToken != "" || resp.ExpiresIn != 3600 {
		t.Fatalf("without offline_access: %+v %v; want no refresh token", resp, err)
	}
	c, e := idp.VerifyIDToken(resp.IDToken, "app")
	if e != nil || c.Subject != "u1" || c.Nonce != "n" || c.Email != "bob@tables.fake" || !c.EmailVerified || len(c.AMR) != 1 {
		t.Fatalf("ID token %+v %v", c, e)
	}
	// The sign-in's own methods, not the policy's, and the acr they make.
	withACR := newProvider(t, SessionPolicy{IDTokenLifetime: time.Hour, AccessTokenLifetime: time.Hour, AccessAudience: "https://op.test/userinfo",
		AMR: []string{"pwd"}, ACR: func(amr []string) string { return "acr-of-" + strings.Join(amr, "+") }})
	byPasskey := sess
	byPasskey.AMR = []string{"hwk", "user"}
	resp, err = withACR.IssueSession(t.Context(), byPasskey)
	if err != nil {
		t.Fatal(err)
	}
	if c, e := withACR.VerifyIDToken(resp.IDToken, "app"); e != nil || strings.Join(c.AMR, " ") != "hwk user" || c.ACR != "acr-of-hwk+user" {
		t.Fatalf("a passkey sign-in's ID token: %+v %v", c, e)
	}
	// The refresh token remembers them (codeflow keeps amr).
	rt, err := withACR.Codes.NewRefreshToken(t.Context(), byPasskey)
	if err != nil {
		t.Fatal(err)
	}
	if kept, err := withACR.Codes.Peek(t.Context(), rt); err != nil || strings.Join(kept.AMR, " ") != "hwk user" {
		t.Fatalf("the refresh token's session: %+v %v", kept, err)
	}
	sess.Scope += " offline_access"
	if resp, err := idp.IssueSession(t.Context(), sess); err != nil || resp.RefreshToken == "" {
		t.Fatalf("with offline_access: %+v %v", resp, err)
	}
	sess.UserID = "u2"
	if _, err := idp.IssueSession(t.Context(), sess); oauth.AsError(err).Code != "invalid_grant" {
		t.Fatalf("a disabled account: %v", err)
	}

	as := newProvider(t, SessionPolicy{IDTokenLifetime: time.Hour, AccessTokenLifetime: 2 * time.Minute, AccessAudience: "https://op.test"})
	resp, err = as.IssueSession(t.Context(), codeflow.Session{ClientID: "app", UserID: "u1", Scope: "openid", AuthTime: now})
	if err != nil || resp.RefreshToken == "" || resp.ExpiresIn != 120 {
		t.Fatalf("an authorization server's sign-in: %+v %v; want a refresh token and 120 s", resp, err)
	}
}

func TestVerifyIDToken(t *testing.T) {
	p := newProvider(t, SessionPolicy{IDTokenLifetime: time.Hour, AccessTokenLifetime: time.Hour, AccessAudience: "https://op.test"})
	sign := func(edit func(*IDClaims)) string {
		c := IDClaims{Issuer: "https://op.test", Subject: "u1", Audience: jwt.Audience{"app"}, Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now)}
		edit(&c)
		tok, err := p.Keys.Sign(oauth.TypJWT, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rows := []struct {
		name  string
		token string
		want  string
	}{
		{"good", sign(func(*IDClaims) {}), ""},
		{"within the skew", sign(func(c *IDClaims) { c.Expiry = jwt.NewNumericDate(now.Add(-30 * time.Second)) }), ""},
		{"expired", sign(func(c *IDClaims) { c.Expiry = jwt.NewNumericDate(now.Add(-2 * time.Minute)) }), "has expired"},
		{"no exp", sign(func(c *IDClaims) { c.Expiry = nil }), "has expired"},
		{"another issuer", sign(func(c *IDClaims) { c.Issuer = "https://other.test" }), "another server"},
		{"another client", sign(func(c *IDClaims) { c.Audience = jwt.Audience{"robot"} }), "not issued to the authenticated client"},
		{"not a JWT", "nonsense", "is not an ID token"},
	}
	for _, row := range rows {
		_, e := p.VerifyIDToken(row.token, "app")
		if row.want == "" && e != nil || row.want != "" && (e == nil || e.Code != "invalid_grant" || !strings.Contains(e.Description, row.want)) {
			t.Errorf("%s: %v, want %q", row.name, e, row.want)
		}
	}
}
