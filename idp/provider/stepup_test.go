package provider

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/idp/store"
	"xaa.example/shared/demo"
	"xaa.example/shared/op"
)

// TestStepUpHostile (issue 35, item 2): the connection wiki → todo asks
// for a passkey sign-in within ten minutes for todos.write. A subject
// token that falls short gets insufficient_user_authentication saying
// what sign-in would do (acr_values, max_age), and no ID-JAG; a subject
// token made to look stronger after signing is refused as not this
// IdP's. Scopes the policy does not guard need no step-up.
func TestStepUpHostile(t *testing.T) {
	s := newTestIdP(t)
	var conn store.Connection
	if err := s.cfg.DB.Take(&conn, "requesting_client_id = ? AND resource_audience = ?", demo.WikiASClientAtIdP, testTopology.TodoAS).Error; err != nil {
		t.Fatal(err)
	}
	conn.AllowedScopes, conn.StepUpScopes, conn.StepUpPasskey, conn.StepUpMaxAge = "todos.read todos.write", "todos.write", true, 600
	if err := s.store.SaveConnection(t.Context(), &conn); err != nil {
		t.Fatal(err)
	}
	wiki := demo.WikiASClientAtIdP
	signedIn := func(acr string, amr []string, ago time.Duration) func(*op.IDClaims) {
		return func(c *op.IDClaims) {
			c.ACR, c.AMR, c.AuthTime = acr, amr, jwt.NewNumericDate(time.Now().Add(-ago))
		}
	}
	passkey := s.idToken(t, wiki, signedIn(ACRPhishingResistant, []string{"hwk", "user"}, time.Minute))
	password := s.idToken(t, wiki, signedIn(ACRPassword, []string{"pwd"}, time.Minute))
	// A password sign-in's token, its claims rewritten after signing.
	forged := func(edit map[string]any) string {
		parts := strings.Split(password, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
		var claims map[string]any
		_ = json.Unmarshal(raw, &claims)
		for k, v := range edit {
			claims[k] = v
		}
		raw, _ = json.Marshal(claims)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
	}
	const both = "todos.read todos.write"
	for _, row := range []struct {
		name, subject, scope string
		status               int
		error, acrValues     string
		maxAge               float64
	}{
		{"control: a passkey a minute ago, for todos.write", passkey, both, 200, "", "", 0},
		{"control: a password, for todos.read alone (not guarded)", password, "todos.read", 200, "", "", 0},
		{"a password, for todos.write", password, both, 400, "insufficient_user_authentication", "phr", 600},
		{"a passkey eleven minutes ago (stale auth_time)", s.idToken(t, wiki, signedIn(ACRPhishingResistant, []string{"hwk", "user"}, 11*time.Minute)), both, 400, "insufficient_user_authentication", "phr", 600},
		{"a passkey, no auth_time", s.idToken(t, wiki, func(c *op.IDClaims) { c.ACR, c.AuthTime = ACRPhishingResistant, nil }), both, 400, "insufficient_user_authentication", "phr", 600},
		{"no acr at all (a token from before acr)", s.idToken(t, wiki, signedIn("", []string{"pwd"}, time.Minute)), both, 400, "insufficient_user_authentication", "phr", 600},
		{"another assurance level's name", s.idToken(t, wiki, signedIn("phrh-ish", []string{"hwk"}, time.Minute)), both, 400, "insufficient_user_authentication", "phr", 600},
		{"acr phr forged into a password sign-in", forged(map[string]any{"acr": "phr"}), both, 400, "invalid_grant", "", 0},
		{"amr hwk forged into a password sign-in", forged(map[string]any{"amr": []string{"hwk", "user"}, "acr": "phr"}), both, 400, "invalid_grant", "", 0},
		{"auth_time moved forward after signing", forged(map[string]any{"auth_time": time.Now().Unix()}), both, 400, "invalid_grant", "", 0},
	} {
		status, body := s.exchange(t, wiki, demo.WikiASSecretAtIdP, exchangeForm(row.subject, "scope", row.scope).Encode())
		maxAge, _ := body["max_age"].(float64)
		if status != row.status || (row.error != "" && body["error"] != row.error) || (body["acr_values"] != nil || row.acrValues != "") && body["acr_values"] != row.acrValues || maxAge != row.maxAge {
			t.Errorf("%s: %d %v, want %d %s acr_values=%q max_age=%v", row.name, status, body, row.status, row.error, row.acrValues, row.maxAge)
		}
		if _, issued := body["access_token"]; issued != (row.status == 200) {
			t.Errorf("%s: issued %v", row.name, issued)
		}
	}
}
