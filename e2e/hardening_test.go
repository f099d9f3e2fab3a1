package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"xaa.example/shared/demo"
)

// signInAt opens a sign-in address (with its own next=) and answers the
// IdP's sign-in form, returning where the browser lands.
func (b *browser) signInAt(loginURL, email string) page {
	b.t.Helper()
	login := b.get(loginURL)
	m := formAction.FindStringSubmatch(login.Body)
	if m == nil {
		b.t.Fatalf("no sign-in form at %s:\n%.2000s", login.URL, login.Body)
	}
	fields := formFields(login.Body)
	fields["email"], fields["password"] = email, demo.Password
	return b.post(origin(login.URL)+htmlUnescape(m[1]), fields)
}

// TestNoOpenRedirectAfterSignIn: a return address that a browser would read
// as another site's is dropped at the wiki, the todo app and the IdP, and the
// person lands on the service's own start page.
func TestNoOpenRedirectAfterSignIn(t *testing.T) {
	s := startStack(t, sqliteDB)
	for _, next := range []string{"/\t/evil.example", "/\\evil.example", "//evil.example", "/%2f%2fevil.example", "https://evil.example/"} {
		for _, svc := range []string{"wiki", "todo", "idp"} {
			base := s.servers[svc].URL
			b := newBrowser(t)
			landed := b.signInAt(base+"/login?login_hint=bob%40tables.fake&next="+url.QueryEscape(next), "bob@tables.fake")
			if landed.URL != base+"/" {
				t.Errorf("%s, next=%q: landed at %s, want %s/", svc, next, landed.URL, base)
			}
			if strings.Contains(landed.URL, "evil") {
				t.Errorf("%s, next=%q: sent to %s", svc, next, landed.URL)
			}
		}
	}
}

// TestBodiesAreBounded: every service refuses an upload (no route takes
// one) and a body past its limit, before any handler reads it.
func TestBodiesAreBounded(t *testing.T) {
	s := startStack(t, sqliteDB)
	paths := map[string]string{"idp": "/login", "wiki-as": "/token", "todo-as": "/token", "todo": "/todos", "wiki": "/pages"}
	for name, path := range paths {
		for _, tc := range []struct {
			what, contentType string
			size              int
			want              int
		}{
			{what: "multipart", contentType: "multipart/form-data; boundary=x", size: 1 << 20, want: http.StatusUnsupportedMediaType},
			{what: "a 3 MB form", contentType: "application/x-www-form-urlencoded", size: 3 << 20, want: http.StatusRequestEntityTooLarge},
		} {
			req, _ := http.NewRequest(http.MethodPost, s.servers[name].URL+path, strings.NewReader(strings.Repeat("a", tc.size)))
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", name, tc.what, err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s %s: %d, want %d", name, path, tc.what, resp.StatusCode, tc.want)
			}
		}
	}
}
