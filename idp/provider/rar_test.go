package provider

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/demo"
)

// TestAuthorizationDetailsHostile (issue 35, item 4): the wiki's
// connection to the todo app allows the todo actions read, create and
// complete; the agent's, read alone. authorization_details within that
// is granted as asked and carried in the ID-JAG; anything else is
// invalid_authorization_details (RFC 9396 §5) and no ID-JAG is issued:
// an unknown type, an unknown action, an action the connection does not
// allow, a field the type does not define, and what is not an array of
// objects.
func TestAuthorizationDetailsHostile(t *testing.T) {
	s := newTestIdP(t)
	wiki := demo.WikiASClientAtIdP
	subject := s.idToken(t, wiki, nil)
	for _, row := range []struct {
		name, details string
		ok            bool
	}{
		{"control: read and create", `[{"type":"todo","actions":["read","create"]}]`, true},
		{"control: every action", `[{"type":"todo","actions":["read","create","complete"]}]`, true},
		{"an unknown type", `[{"type":"payment_initiation","actions":["read"]}]`, false},
		{"an unknown action", `[{"type":"todo","actions":["delete"]}]`, false},
		{"an action twice", `[{"type":"todo","actions":["read","read"]}]`, false},
		{"no actions", `[{"type":"todo"}]`, false},
		{"no type", `[{"actions":["read"]}]`, false},
		{"a field the type does not define", `[{"type":"todo","actions":["read"],"locations":["https://evil.test"]}]`, false},
		{"an object, not an array", `{"type":"todo","actions":["read"]}`, false},
		{"an empty array", `[]`, false},
		{"not JSON", `todo:read`, false},
	} {
		status, body := s.exchange(t, wiki, demo.WikiASSecretAtIdP, exchangeForm(subject, "authorization_details", row.details).Encode())
		if !row.ok {
			if status != 400 || body["error"] != "invalid_authorization_details" || body["access_token"] != nil {
				t.Errorf("%s: %d %v, want invalid_authorization_details and no ID-JAG", row.name, status, body)
			}
			continue
		}
		if status != 200 {
			t.Errorf("%s: %d %v", row.name, status, body)
			continue
		}
		tok, err := jwt.ParseSigned(body["access_token"].(string), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			Details json.RawMessage `json:"authorization_details"`
		}
		if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil || string(claims.Details) != row.details {
			t.Errorf("%s: the ID-JAG carries %s, want %s", row.name, claims.Details, row.details)
		}
	}

	// The agent's connection allows reading alone: creating is refused.
	agent := s.idToken(t, demo.AgentClientAtIdP, nil)
	form := exchangeForm(agent, "resource", testTopology.TodoMCP(), "authorization_details", `[{"type":"todo","actions":["read","create"]}]`)
	status, body := s.exchange(t, demo.AgentClientAtIdP, demo.AgentSecretAtIdP, form.Encode())
	if status != 400 || body["error"] != "invalid_authorization_details" || !strings.Contains(body["error_description"].(string), "create") {
		t.Errorf("the agent asking to create: %d %v", status, body)
	}
	// And the IdP says which types it knows (RFC 9396 §10).
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/openid-configuration", nil))
	var md map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &md)
	if types, _ := md["authorization_details_types_supported"].([]any); len(types) != 1 || types[0] != "todo" {
		t.Errorf("authorization_details_types_supported: %v", md["authorization_details_types_supported"])
	}
}
