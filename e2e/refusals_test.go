package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"xaa.example/shared/demo"
)

// TestAnIdPThatDoesNotBindTheKey (issue 34, item 11): with DPoP on and an
// IdP that ignores requested_cnf (Okta today), the wiki AS refuses the
// unbound ID-JAG as a downgrade, and the wiki says so, with the way out
// (Bearer mode), instead of "The identity provider is not answering".
func TestAnIdPThatDoesNotBindTheKey(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		c.wrap["idp"] = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") {
					body, _ := io.ReadAll(r.Body)
					form, _ := url.ParseQuery(string(body))
					form.Del("requested_cnf") // as an IdP that does not know it
					enc := form.Encode()
					r.Body, r.ContentLength = io.NopCloser(bytes.NewReader([]byte(enc))), int64(len(enc))
					r.Header.Set("Content-Length", strconv.Itoa(len(enc)))
				}
				h.ServeHTTP(w, r)
			})
		}
	})
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	p := bob.get(s.topology.Wiki + "/todos")
	body := htmlUnescape(p.Body)
	for _, want := range []string{"did not bind the ID-JAG to the wiki's key", "downgrade", "DPOP=false"} {
		if !strings.Contains(body, want) {
			t.Errorf("My todos does not say %q", want)
		}
	}
	if strings.Contains(body, "is not answering") {
		t.Error("My todos says the identity provider is not answering; it answered, with an unbound ID-JAG")
	}
	if t.Failed() {
		t.Logf("My todos: %d\n%.1500s", p.Status, body[strings.Index(body, "<main>"):])
	}
}

// TestRefusalPageIsNoFailedLoad (issue 34, item 12): a refused chain's
// page answers 403, not 502 (which browsers log as a failed resource),
// and offers the console as "See where the chain stopped", not "See how
// this worked".
func TestRefusalPageIsNoFailedLoad(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	admin, csrf := adminBrowser(t, s)
	admin.post(s.topology.IdP+"/admin/connections/1", map[string]string{"csrf": csrf, "action": "disable"})
	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	p := bob.get(s.topology.Wiki + "/todos")
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Access to the todo app is not allowed") {
		t.Fatalf("the refusal page: %d", p.Status)
	}
	if strings.Contains(p.Body, "See how this worked") || !strings.Contains(p.Body, "See where the chain stopped") {
		t.Error("the refusal page offers the console as if the chain had worked")
	}
}
