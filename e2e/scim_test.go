package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"xaa.example/shared/demo"
)

// scimRequest sends a SCIM request to the todo AS as the IdP's provisioning
// does, and decodes the answer.
func scimRequest(t *testing.T, s *stack, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.topology.TodoAS+"/scim/v2"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+demo.TodoSCIMToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestProvisionedPersonWithoutEmail: the IdP's ID-JAGs carry no email, as
// Okta's do, and the todo AS makes no account just in time. A person who
// never opened the todo app is unknown there, until provisioning (SCIM)
// matches their account by userName and sets externalId = their IdP user
// id: then the wiki's chain works for them with nothing but sub. Once
// provisioning deactivates them, a new chain is refused, and so is their
// sign-in at the todo app.
func TestProvisionedPersonWithoutEmail(t *testing.T) {
	s := startStack(t, sqliteDB, func(c *configs) {
		c.idp.IDJAGEmail = false
		for i := range c.todoAS.TrustedIssuers {
			c.todoAS.TrustedIssuers[i].JIT.Enabled = false
		}
	})
	const email = "john@tables.fake2"
	john := newBrowser(t)
	john.signIn(s.topology.Wiki, email, demo.Password)
	if p := john.get(s.topology.Wiki + "/todos"); p.Status == http.StatusOK && strings.Contains(p.Body, `id="held-token"`) {
		t.Fatalf("an ID-JAG with no email found an account nobody provisioned:\n%.1500s", p.Body)
	}

	// Provisioning, as Okta does it: look the person up by userName, then
	// replace the account with the IdP's profile and externalId.
	var idpID string
	if err := s.dbs["idp"].Table("users").Select("id").Where("email = ?", email).Row().Scan(&idpID); err != nil {
		t.Fatal(err)
	}
	status, list := scimRequest(t, s, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "`+email+`"`), "")
	resources, _ := list["Resources"].([]any)
	if status != 200 || len(resources) != 1 {
		t.Fatalf("lookup: %d %v", status, list)
	}
	id := resources[0].(map[string]any)["id"].(string)
	profile := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"externalId":%q,
		"name":{"givenName":"John","familyName":"Tables"},"emails":[{"primary":true,"value":%q,"type":"work"}],"active":true}`, email, idpID, email)
	if status, got := scimRequest(t, s, http.MethodPut, "/Users/"+id, profile); status != 200 || got["externalId"] != idpID {
		t.Fatalf("replace: %d %v", status, got)
	}
	p := john.get(s.topology.Wiki + "/todos")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="held-token"`) {
		t.Fatalf("My todos for a provisioned person: %d\n%.1500s", p.Status, p.Body)
	}
	console := john.get(s.topology.Wiki + "/debug").Body
	if !strings.Contains(console, "provisioned by the IdP") || strings.Contains(console, email+"&#34;") {
		t.Errorf("the console does not show the account found by provisioning, or the ID-JAG carried the email")
	}

	// Deactivated: the next chain (the wiki drops the token it holds) is
	// refused with the todo AS's reason, and the todo app refuses the
	// sign-in.
	deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
	if status, got := scimRequest(t, s, http.MethodPatch, "/Users/"+id, deactivate); status != 200 || got["active"] != false {
		t.Fatalf("deactivate: %d %v", status, got)
	}
	john.post(s.topology.Wiki+"/todos/forget-token", formFields(john.get(s.topology.Wiki+"/todos").Body))
	if p = john.get(s.topology.Wiki + "/todos"); p.Status == http.StatusOK || !strings.Contains(p.Body, "the account was deactivated by the administrator") {
		t.Fatalf("My todos for a deactivated person: %d\n%.1500s", p.Status, p.Body)
	}
	if p := newBrowser(t).signIn(s.topology.Todo, email, demo.Password); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Account deactivated") {
		t.Fatalf("the todo app for a deactivated person: %d\n%.1500s", p.Status, p.Body)
	}
}
