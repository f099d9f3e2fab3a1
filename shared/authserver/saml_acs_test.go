package authserver

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"xaa.example/shared/oauth"
	"xaa.example/shared/samlsp"
	"xaa.example/shared/samlsp/samlsptest"
	"xaa.example/shared/storage/storagetest"
	"xaa.example/shared/trace"
)

// samlAS is a server whose organisation tables.fake3 signs in with SAML at
// a test IdP.
type samlAS struct {
	srv *httptest.Server
	s   *Server
	idp *samlsptest.IdP
}

func newSAMLAS(t *testing.T) *samlAS {
	t.Helper()
	a := &samlAS{idp: samlsptest.New(t, samlsptest.Person{NameID: "u-foo", Email: "foo@tables.fake3", Name: "Foo Tables"})}
	a.srv = httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(a.srv.Close)
	cfg := Config{
		Issuer: a.srv.URL, CookieName: "test_session", DB: storagetest.SQLite(t),
		Log: slog.New(slog.DiscardHandler), Trace: trace.NewStore("wiki-as"),
		Tenants: []Tenant{{Domains: []string{"tables.fake3"}, SAML: true, IdP: Upstream{Issuer: a.idp.MetadataURL, ClientID: "wiki-as", ClientSecret: "s"}}},
		Clients: []oauth.Client{{ID: "wiki", Secret: "wiki-secret", RedirectURIs: []string{"https://wiki.test/callback"},
			GrantTypes: []string{oauth.GrantAuthorizationCode}}},
	}
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	a.s = s
	a.srv.Config.Handler = s.Handler()
	resp, err := http.Get(a.srv.URL + pathSAMLMetadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	md, _ := io.ReadAll(resp.Body)
	a.idp.TrustSP(t, md, false)
	return a
}

// browser is a cookie jar that follows no redirect: each answer is the
// server's own.
func (a *samlAS) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// begin starts foo's sign-in at the wiki's /authorize in b and returns the
// IdP's answer and RelayState, unposted.
func (a *samlAS) begin(t *testing.T, b *http.Client) (samlResponse, relayState string) {
	t.Helper()
	q := url.Values{"client_id": {"wiki"}, "redirect_uri": {"https://wiki.test/callback"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "code_challenge": {strings.Repeat("c", 43)}, "code_challenge_method": {"S256"},
		"login_hint": {"foo@tables.fake3"}}
	resp, err := b.Get(a.srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), a.idp.MetadataURL[:strings.Index(a.idp.MetadataURL, "/idp/")]) {
		t.Fatalf("authorize: %d to %s, not to the IdP", resp.StatusCode, resp.Header.Get("Location"))
	}
	return a.idp.Answer(t, resp.Header.Get("Location"))
}

// post posts a form to the ACS from b: the status and the page.
func (a *samlAS) post(t *testing.T, b *http.Client, form url.Values) (int, string) {
	t.Helper()
	resp, err := b.PostForm(a.srv.URL+pathSAMLACS, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

// signedIn reports whether b is signed in as foo here.
func (a *samlAS) signedIn(t *testing.T, b *http.Client) bool {
	t.Helper()
	resp, err := b.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(page), "Foo Tables")
}

func (a *samlAS) links(t *testing.T) int64 {
	var n int64
	if err := a.s.cfg.DB.Model(&Link{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSAMLACSHostile: which sign-in a response posted to /saml/acs finishes
// is this server's to decide: the one its RelayState names, once, in the
// browser that started it; and a connector's refusal is a page that says
// why. (What the connector refuses in the response itself: package samlsp,
// TestReadResponseHostile.) Each row is refused with a page that says so,
// and nothing is linked or signed in.
func TestSAMLACSHostile(t *testing.T) {
	a := newSAMLAS(t)
	// The control: the IdP's answer, posted from the browser that started
	// the sign-in, signs foo in and links them.
	control := a.browser()
	r, relay := a.begin(t, control)
	if status, page := a.post(t, control, url.Values{"SAMLResponse": {r}, "RelayState": {relay}}); status != http.StatusSeeOther || !a.signedIn(t, control) {
		t.Fatalf("the control did not sign in: %d\n%.800s", status, page)
	}
	if a.links(t) != 1 {
		t.Fatalf("the control made %d links", a.links(t))
	}
	// replayedRelay is the control's RelayState, already taken.
	replayedRelay := relay

	rows := []struct {
		name string
		// form posts, from the browser it returns.
		form func(t *testing.T) (*http.Client, url.Values)
		// status and why: the answer and the reason the page gives.
		status int
		why    string
	}{
		{"no RelayState", func(t *testing.T) (*http.Client, url.Values) {
			b := a.browser()
			r, _ := a.begin(t, b)
			return b, url.Values{"SAMLResponse": {r}}
		}, http.StatusBadRequest, "stale"},
		{"a RelayState never issued", func(t *testing.T) (*http.Client, url.Values) {
			b := a.browser()
			r, _ := a.begin(t, b)
			return b, url.Values{"SAMLResponse": {r}, "RelayState": {"made-up"}}
		}, http.StatusBadRequest, "stale"},
		{"a sign-in already finished", func(t *testing.T) (*http.Client, url.Values) {
			b := a.browser()
			r, _ := a.begin(t, b)
			return b, url.Values{"SAMLResponse": {r}, "RelayState": {replayedRelay}}
		}, http.StatusBadRequest, "stale"},
		{"posted from another browser than the one that started it (login CSRF)", func(t *testing.T) (*http.Client, url.Values) {
			r, relay := a.begin(t, a.browser())
			return a.browser(), url.Values{"SAMLResponse": {r}, "RelayState": {relay}}
		}, http.StatusBadRequest, "not started in this browser"},
		{"another sign-in's response, with this sign-in's RelayState", func(t *testing.T) (*http.Client, url.Values) {
			b := a.browser()
			other, _ := a.begin(t, b)
			_, relay := a.begin(t, b)
			return b, url.Values{"SAMLResponse": {other}, "RelayState": {relay}}
		}, http.StatusBadRequest, "it does not answer this sign-in"},
		{"a response the connector refuses (unsigned)", func(t *testing.T) (*http.Client, url.Values) {
			b := a.browser()
			r, relay := a.begin(t, b)
			return b, url.Values{"SAMLResponse": {samlsptest.Unsigned(t, r)}, "RelayState": {relay}}
		}, http.StatusBadRequest, "The identity provider&#39;s answer did not pass this server&#39;s checks: it is not signed"},
		// Refused at the door, before the form is parsed (web.LimitBodies).
		{"over 64 KiB", func(t *testing.T) (*http.Client, url.Values) {
			b := a.browser()
			r, relay := a.begin(t, b)
			return b, url.Values{"SAMLResponse": {samlsptest.EditText(r, func(x string) string {
				return strings.Replace(x, "<saml:NameID", strings.Repeat(" ", samlsp.MaxResponse)+"<saml:NameID", 1)
			})}, "RelayState": {relay}}
		}, http.StatusRequestEntityTooLarge, "larger than this address takes"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			b, form := row.form(t)
			before := a.links(t)
			status, page := a.post(t, b, form)
			if status != row.status || !strings.Contains(page, row.why) {
				t.Fatalf("got %d, want %d saying %q\n%.800s", status, row.status, row.why, page)
			}
			if after := a.links(t); after != before {
				t.Errorf("links %d → %d: a refused response linked someone", before, after)
			}
			if a.signedIn(t, b) {
				t.Error("a refused response signed the browser in")
			}
		})
	}
}
