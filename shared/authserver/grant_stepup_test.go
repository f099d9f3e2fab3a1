package authserver

import (
	"testing"
	"time"

	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
	"xaa.example/shared/storage/storagetest"
)

// TestStepUpAtTheResourceHostile (issue 35, item 3): the todo AS's own
// policy says todos.write needs a passkey sign-in (acr phr) within ten
// minutes, whatever the IdP's connection asked. An ID-JAG whose acr or
// auth_time falls short is refused with insufficient_user_authentication
// naming what would do (R14), and nothing is stored: no jti spent, no
// account made. Reading is not guarded.
func TestStepUpAtTheResourceHostile(t *testing.T) {
	r := newResourceASEdited(t, storagetest.SQLite(t), func(c *testServer) {
		for i := range c.IDJAGs.Resources {
			c.IDJAGs.Resources[i].StepUp = oauth.StepUpPolicy{Scopes: oauth.Scopes{"todos.write"}, ACR: "phr", MaxAge: 10 * time.Minute}
		}
	})
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	signedIn := func(scope, acr string, ago time.Duration) map[string]any {
		c := r.claims()
		c["scope"] = scope
		if acr != "" {
			c["acr"] = acr
		}
		if ago >= 0 {
			c["auth_time"] = r.now.Add(-ago).Unix()
		}
		return c
	}
	for _, row := range []struct {
		name   string
		claims map[string]any
		status int
		error  string
		maxAge float64
	}{
		{"control: a passkey a minute ago, for todos.write", signedIn("todos.read todos.write", "phr", time.Minute), 200, "", 0},
		{"control: a password, for todos.read alone", signedIn("todos.read", "urn:xaa:acr:pwd", time.Minute), 200, "", 0},
		{"a password, for todos.write", signedIn("todos.read todos.write", "urn:xaa:acr:pwd", time.Minute), 400, "insufficient_user_authentication", 600},
		{"a passkey eleven minutes ago", signedIn("todos.read todos.write", "phr", 11*time.Minute), 400, "insufficient_user_authentication", 600},
		{"a passkey, no auth_time", signedIn("todos.read todos.write", "phr", -1), 400, "insufficient_user_authentication", 600},
		{"no acr", signedIn("todos.read todos.write", "", time.Minute), 400, "insufficient_user_authentication", 600},
		{"acr as a number, not a string", func() map[string]any {
			c := signedIn("todos.read todos.write", "", time.Minute)
			c["acr"] = 3
			return c
		}(), 400, "invalid_grant", 0},
	} {
		before := r.stored(t)
		status, body, _ := r.post(t, wiki, bearerForm(r.idjag(t, row.claims)))
		maxAge, _ := body["max_age"].(float64)
		if status != row.status || (row.error != "" && body["error"] != row.error) || maxAge != row.maxAge {
			t.Errorf("%s: %d %v, want %d %s max_age %v", row.name, status, body, row.status, row.error, row.maxAge)
			continue
		}
		if row.error == "insufficient_user_authentication" {
			if body["acr_values"] != "phr" || r.failedCheck() != jwtbearer.CheckStepUp {
				t.Errorf("%s: acr_values %v, refused by %s", row.name, body["acr_values"], r.failedCheck())
			}
		}
		if row.status != 200 && r.stored(t) != before {
			t.Errorf("%s: a refused grant stored something: %v → %v", row.name, before, r.stored(t))
		}
	}
}
