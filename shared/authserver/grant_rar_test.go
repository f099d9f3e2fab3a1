package authserver

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/jwtbearer"
)

// TestAuthorizationDetailsRedeemed (issue 35, item 4): the ID-JAG's
// authorization_details (RFC 9396) go into the access token as the IdP
// granted them (R15); ones of a type or action this server does not know
// are refused, with nothing stored.
func TestAuthorizationDetailsRedeemed(t *testing.T) {
	r := newResourceAS(t)
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	for _, row := range []struct {
		name    string
		details any
		ok      bool
	}{
		{"control: todo, read and create", []map[string]any{{"type": "todo", "actions": []string{"read", "create"}}}, true},
		{"a type this server does not know", []map[string]any{{"type": "payment_initiation", "actions": []string{"read"}}}, false},
		{"an action the todo type does not define", []map[string]any{{"type": "todo", "actions": []string{"delete"}}}, false},
		{"a field the todo type does not define", []map[string]any{{"type": "todo", "actions": []string{"read"}, "locations": []string{"https://evil.test"}}}, false},
	} {
		c := r.claims()
		c["authorization_details"] = row.details
		before := r.stored(t)
		status, body, _ := r.post(t, wiki, bearerForm(r.idjag(t, c)))
		if !row.ok {
			if status != 400 || body["error"] != "invalid_grant" || r.failedCheck() != jwtbearer.CheckAuthorizationDetails || r.stored(t) != before {
				t.Errorf("%s: %d %v (refused by %q), want invalid_grant at R15 and nothing stored", row.name, status, body, r.failedCheck())
			}
			continue
		}
		if status != 200 {
			t.Fatalf("%s: %d %v", row.name, status, body)
		}
		tok, err := jwt.ParseSigned(body["access_token"].(string), []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Details json.RawMessage `json:"authorization_details"`
		}
		want, _ := json.Marshal(row.details)
		var got, wanted any
		_ = json.Unmarshal(want, &wanted)
		if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil || json.Unmarshal(claims.Details, &got) != nil || !reflect.DeepEqual(got, wanted) {
			t.Errorf("%s: the access token carries %s, want %s", row.name, claims.Details, want)
		}
	}
}
