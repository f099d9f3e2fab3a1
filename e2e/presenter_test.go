package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var iconLink = regexp.MustCompile(`<link rel="icon" type="image/svg\+xml" href="([^"]+)"`)
var logo = regexp.MustCompile(`<span class="logo" aria-hidden="true">([^<]+)</span>`)

// TestTabsTellServicesApart: five tabs side by side show five favicons and
// five logos (the wiki AS no longer borrows the wiki's).
func TestTabsTellServicesApart(t *testing.T) {
	s := startStack(t, sqliteDB)
	icons, marks := map[string]string{}, map[string]string{}
	for _, name := range []string{"wiki", "todo", "idp", "wiki-as", "todo-as"} {
		p := newBrowser(t).get(s.servers[name].URL + "/")
		m, l := iconLink.FindStringSubmatch(p.Body), logo.FindStringSubmatch(p.Body)
		if m == nil || l == nil {
			t.Fatalf("%s's start page has no favicon link or logo", name)
		}
		if other, seen := icons[m[1]]; seen {
			t.Errorf("%s and %s share the favicon %s", name, other, m[1])
		}
		if other, seen := marks[l[1]]; seen {
			t.Errorf("%s and %s share the logo %q", name, other, l[1])
		}
		icons[m[1]], marks[l[1]] = name, name
		resp, err := http.Get(s.servers[name].URL + m[1])
		if err != nil {
			t.Fatal(err)
		}
		svg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "image/svg+xml") || !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s's favicon %s: %d %s", name, m[1], resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestSignInFocus: the IdP's form focuses the password when the email is
// already filled in, and the email otherwise; the authorization server's
// page for an unknown domain has a way back to the application.
func TestSignInFocus(t *testing.T) {
	s := startStack(t, sqliteDB)
	hinted := newBrowser(t).get(s.topology.Wiki + "/login?login_hint=" + urlEscape("bob@tables.fake"))
	if !regexp.MustCompile(`name="password"[^>]*autofocus`).MatchString(hinted.Body) || regexp.MustCompile(`name="email"[^>]*autofocus`).MatchString(hinted.Body) {
		t.Error("with the email filled in, the IdP's form does not focus the password")
	}
	if bare := newBrowser(t).get(s.topology.IdP + "/login"); !regexp.MustCompile(`name="email"[^>]*autofocus`).MatchString(bare.Body) {
		t.Error("with no email, the IdP's form does not focus the email")
	}
	unknown := newBrowser(t).get(s.topology.Wiki + "/login?login_hint=" + urlEscape("eve@unknown.example"))
	if !strings.Contains(unknown.Body, "No organisation signs in here") || !strings.Contains(unknown.Body, `href="`+s.topology.Wiki+`/"`) {
		t.Errorf("the unknown-domain page has no way back to the wiki:\n%.1500s", unknown.Body)
	}
}
