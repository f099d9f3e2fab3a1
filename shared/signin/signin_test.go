package signin

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/oauth"
	"xaa.example/shared/op"
	"xaa.example/shared/storage/storagetest"
)

// provider is a real OpenID Provider (the project's op core) whose
// authorization endpoint signs Bob in at once: the relying party is tested
// against real codes, PKCE and signed ID tokens.
type provider struct {
	*httptest.Server
	op *op.Provider
}

type bob struct{}

func (bob) Account(context.Context, string) (op.Account, error) {
	return op.Account{ID: "u1", Email: "bob@tables.fake", Name: "Bob"}, nil
}

const rpCallback = "https://app.test/callback"

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{}
	mux := http.NewServeMux()
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	var err error
	p.op, err = op.New(t.Context(), op.Config{
		Issuer: p.URL, DB: storagetest.SQLite(t), TokenPath: "/token", CookieName: "op", Accounts: bob{},
		Clients: oauth.NewStaticClients(oauth.Client{ID: "app", Secret: "s", RedirectURIs: []string{rpCallback},
			GrantTypes: []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}}),
		Sessions: op.SessionPolicy{IDTokenLifetime: time.Hour, AccessTokenLifetime: time.Hour, AccessAudience: p.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.op.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		op.ServeMetadata(w, p.op.Metadata(op.Paths{Authorize: "/authorize", Token: "/token", Keys: "/keys"}))
	})
	mux.Handle("/keys", p.op.Keys)
	mux.Handle("/token", p.op.Token)
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		ar := op.ReadAuthRequest(r.URL.Query().Get)
		if _, problem, e := p.op.CheckAuthRequest(r.Context(), ar); problem != nil || e != nil {
			http.Error(w, "refused", http.StatusBadRequest)
			return
		}
		back, err := p.op.IssueCode(r.Context(), ar, "u1", time.Now(), []string{"pwd"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, back, http.StatusFound)
	})
	return p
}

// flow is one browser's sign-in: Begin's redirect and cookies, the
// provider's answer, and Finish at the callback.
type flow struct {
	t       *testing.T
	rp      *RP
	cookies []*http.Cookie
	// authorize is where Begin sent the browser; tests may change it.
	authorize *url.URL
}

func newRP(p *provider, now func() time.Time) *RP {
	return &RP{
		Upstream: NewUpstream(p.URL, p.Client()), ClientID: "app", ClientSecret: "s", RedirectURL: rpCallback,
		Pending: &Pending{CookieName: "app_signin", Key: []byte("0123456789abcdef0123456789abcdef"), Now: now},
		Now:     now,
	}
}

func begin(t *testing.T, rp *RP, returnTo string) *flow {
	t.Helper()
	w := httptest.NewRecorder()
	if err := rp.Begin(w, httptest.NewRequest(http.MethodGet, "/login", nil), returnTo, nil); err != nil {
		t.Fatal(err)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || w.Code != http.StatusFound {
		t.Fatalf("Begin: %d %s", w.Code, w.Header().Get("Location"))
	}
	return &flow{t: t, rp: rp, cookies: w.Result().Cookies(), authorize: loc}
}

// atProvider follows the authorization request and returns the callback
// address the provider sent the browser to.
func (f *flow) atProvider() *url.URL {
	f.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(f.authorize.String())
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		f.t.Fatalf("the provider answered %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back
}

// finish calls Finish at callback with the browser's cookies.
func (f *flow) finish(callback *url.URL, cookies []*http.Cookie) (*Result, error) {
	r := httptest.NewRequest(http.MethodGet, "/callback?"+callback.RawQuery, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return f.rp.Finish(context.Background(), httptest.NewRecorder(), r)
}

func callbackCode(err error) string {
	var ce *CallbackError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

func TestSignIn(t *testing.T) {
	p := newProvider(t)
	rp := newRP(p, time.Now)

	f := begin(t, rp, "/pages/home")
	q := f.authorize.Query()
	if q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("the authorization request lacks state, nonce, PKCE S256 or openid: %s", f.authorize)
	}
	if len(f.cookies) != 1 || !f.cookies[0].HttpOnly || f.cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("the pending sign-in cookie: %+v", f.cookies)
	}
	back := f.atProvider()
	res, err := f.finish(back, f.cookies)
	if err != nil || res.Claims.Subject != "u1" || res.Claims.Email != "bob@tables.fake" || res.ReturnTo != "/pages/home" || res.RefreshToken != "" && res.IDToken == "" {
		t.Fatalf("Finish: %+v, %v", res, err)
	}
	// The same callback again, with the cookie Finish asked the browser to
	// drop (an attacker's replay): the provider's code works once.
	if _, err := f.finish(back, f.cookies); callbackCode(err) != "invalid_grant" {
		t.Errorf("the same callback twice: %v, want invalid_grant", err)
	}
}

// TestSignInRefusals: each row breaks one thing a sign-in rests on; the
// relying party refuses, saying which.
func TestSignInRefusals(t *testing.T) {
	p := newProvider(t)
	now := time.Now()
	clock := func() time.Time { return now }
	rows := []struct {
		name string
		run  func(t *testing.T, rp *RP) error
		want string // the CallbackError code, or "" for another error
	}{
		{"another browser's callback (no pending cookie)", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			_, err := f.finish(f.atProvider(), nil)
			return err
		}, "invalid_state"},
		{"a state that was never issued", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			back := f.atProvider()
			q := back.Query()
			q.Set("state", "forged")
			back.RawQuery = q.Encode()
			_, err := f.finish(back, f.cookies)
			return err
		}, "invalid_state"},
		{"a pending cookie whose signature was altered", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			c := *f.cookies[0]
			c.Value = strings.Replace(c.Value, ".", ".x", 1)
			_, err := f.finish(f.atProvider(), []*http.Cookie{&c})
			return err
		}, "invalid_state"},
		{"a sign-in older than its lifetime", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			back := f.atProvider()
			now = now.Add(pendingLifetime + time.Second)
			defer func() { now = now.Add(-pendingLifetime - time.Second) }()
			_, err := f.finish(back, f.cookies)
			return err
		}, "invalid_state"},
		{"an ID token for another nonce", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			q := f.authorize.Query()
			q.Set("nonce", "someone-elses")
			f.authorize.RawQuery = q.Encode()
			_, err := f.finish(f.atProvider(), f.cookies)
			return err
		}, "invalid_nonce"},
		{"a code challenge that is not this sign-in's (PKCE)", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			q := f.authorize.Query()
			q.Set("code_challenge", strings.Repeat("A", 43))
			f.authorize.RawQuery = q.Encode()
			_, err := f.finish(f.atProvider(), f.cookies)
			return err
		}, "invalid_grant"},
		{"the provider refused", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			back, _ := url.Parse(rpCallback + "?" + url.Values{"state": {f.authorize.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"no"}}.Encode())
			_, err := f.finish(back, f.cookies)
			return err
		}, "access_denied"},
		{"a callback with no code", func(t *testing.T, rp *RP) error {
			f := begin(t, rp, "/")
			back, _ := url.Parse(rpCallback + "?" + url.Values{"state": {f.authorize.Query().Get("state")}}.Encode())
			_, err := f.finish(back, f.cookies)
			return err
		}, "invalid_request"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			err := row.run(t, newRP(p, clock))
			if err == nil || callbackCode(err) != row.want {
				t.Fatalf("%v, want a refusal %q", err, row.want)
			}
		})
	}
}

// TestSignInReturnsOnlyHere: where Begin was asked to return is kept only
// when it is a path of this site (SafeReturn).
func TestSignInReturnsOnlyHere(t *testing.T) {
	p := newProvider(t)
	for returnTo, want := range map[string]string{"/todos?x=1": "/todos?x=1", "https://evil.example/": "/", "//evil.example": "/"} {
		f := begin(t, newRP(p, time.Now), returnTo)
		res, err := f.finish(f.atProvider(), f.cookies)
		if err != nil || res.ReturnTo != want {
			t.Errorf("return to %q: %v %v, want %q", returnTo, res, err, want)
		}
	}
}
