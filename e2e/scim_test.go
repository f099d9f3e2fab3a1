package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/demo"
)

// scimRequest sends a SCIM request to the todo AS as the IdP's provisioning
// does, and decodes the answer.
func scimRequest(t *testing.T, s *stack, method, path, body string) (int, map[string]any) {
	t.Helper()
	return scimAs(t, s, demo.TodoSCIMToken, method, path, body)
}

// scimAs is scimRequest with another client's token.
func scimAs(t testing.TB, s *stack, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	return call(t, method, s.topology.TodoAS+"/scim/v2"+path, "application/scim+json", body, "Authorization", "Bearer "+token)
}

// TestProvisionedPersonWithoutEmail: the IdP's ID-JAGs carry no email, as
// Okta's do, and the todo AS makes no account just in time. A person who
// never opened the todo app is unknown there, until provisioning (SCIM)
// matches their account by userName and sets externalId = their IdP user
// id: then the wiki's chain works for them with nothing but sub. Once
// provisioning deactivates them, a new chain is refused, and so is their
// sign-in at the todo app.
func TestProvisionedPersonWithoutEmail(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		c.idp.IDJAGEmail = false
		for i := range c.todoAS.IDJAGs.Trusted {
			c.todoAS.IDJAGs.Trusted[i].JIT.Enabled = false
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

// TestProvisioningFromTheIdP: the admin switches provisioning to the todo
// AS on in the IdP's console; everyone is pushed. A person added then is
// pushed at once, and their first request through the wiki works with an
// ID-JAG that carries no email; disabling them deactivates the account at
// the todo AS. A push the app refuses (a wrong token) is retried, shown in
// the console and the audit log, and goes through once the token is fixed.
func TestProvisioningFromTheIdP(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB, func(c *configs) {
		c.idp.IDJAGEmail = false
		for i := range c.todoAS.IDJAGs.Trusted {
			c.todoAS.IDJAGs.Trusted[i].JIT.Enabled = false
		}
	})
	admin, csrf := adminBrowser(t, s)
	idp, todoAS := s.dbs["idp"], s.dbs["todo-as"]
	// eventually waits for cond, polling.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("not within 10 s: %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	pending := func() int64 {
		var n int64
		idp.Table("outbox").Where("kind = 'scim-push' AND done_at IS NULL").Count(&n)
		return n
	}
	provisioned := func(email string) (active, ok bool) {
		var deactivated bool
		err := todoAS.Table("users").Select("users.deactivated").Joins("JOIN scim_users ON scim_users.user_id = users.id").
			Where("users.email = ?", email).Row().Scan(&deactivated)
		return !deactivated, err == nil
	}
	setProvisioning := func(form map[string]string) {
		t.Helper()
		form["csrf"] = csrf
		if p := admin.post(s.topology.IdP+"/admin/provisioning/1", form); p.Status != http.StatusOK || !strings.Contains(p.Body, "Todo AS") {
			t.Fatalf("provisioning %v: %d\n%.1500s", form, p.Status, p.Body)
		}
	}

	setProvisioning(map[string]string{"action": "enable"})
	eventually("everyone pushed", func() bool { return pending() == 0 })
	if _, ok := provisioned("bob@tables.fake"); !ok {
		t.Fatal("bob was not provisioned when provisioning was switched on")
	}

	// A new person: pushed, and their first request through the wiki works.
	p := admin.post(s.topology.IdP+"/admin/users", map[string]string{"csrf": csrf, "name": "Zoe Tables", "email": "zoe@tables.fake", "password": demo.Password})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "is added to") {
		t.Fatalf("add a person: %d\n%.1500s", p.Status, p.Body)
	}
	eventually("zoe provisioned", func() bool { _, ok := provisioned("zoe@tables.fake"); return ok })
	zoe := newBrowser(t)
	zoe.signIn(s.topology.Wiki, "zoe@tables.fake", demo.Password)
	if p := zoe.get(s.topology.Wiki + "/todos"); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="held-token"`) {
		t.Fatalf("zoe's first My todos: %d\n%.1500s", p.Status, p.Body)
	}
	if console := zoe.get(s.topology.Wiki + "/debug").Body; !strings.Contains(console, "provisioned by the IdP") {
		t.Error("the console does not say the account was provisioned")
	}
	// Issue 35, item 5: provisioning told the IdP zoe's id at the todo AS,
	// which her ID-JAGs now carry as aud_sub, and which found her account.
	var zoeAtTodo string
	if err := todoAS.Table("users").Select("id").Where("email = ?", "zoe@tables.fake").Row().Scan(&zoeAtTodo); err != nil {
		t.Fatal(err)
	}
	if console := htmlUnescape(zoe.get(s.topology.Wiki + "/debug").Body); !strings.Contains(console, `<td>aud_sub</td><td><code>`+zoeAtTodo+`</code>`) || !strings.Contains(console, "found by aud_sub: account "+zoeAtTodo) {
		i := strings.Index(console, "aud_sub")
		j := strings.Index(console, "found by")
		t.Errorf("zoe's ID-JAG does not carry her id at the todo AS (%s) as aud_sub, or it did not find her account: %d %d %s", zoeAtTodo, i, j, console[max(0, j-100):max(0, j+300)])
	}

	// Disabled at the IdP: deactivated at the todo AS.
	var zoeID string
	if err := idp.Table("users").Select("id").Where("email = ?", "zoe@tables.fake").Row().Scan(&zoeID); err != nil {
		t.Fatal(err)
	}
	admin.post(s.topology.IdP+"/admin/users/"+zoeID+"/toggle", map[string]string{"csrf": csrf})
	eventually("zoe deactivated at the todo AS", func() bool { active, _ := provisioned("zoe@tables.fake"); return !active })

	// A wrong token: refused by the app, retried, shown; fixed, it goes.
	setProvisioning(map[string]string{"action": "save", "token": "not-the-token"})
	admin.post(s.topology.IdP+"/admin/users", map[string]string{"csrf": csrf, "name": "Yan Tables", "email": "yan@tables.fake", "password": demo.Password})
	eventually("a failed push", func() bool {
		var n int64
		idp.Table("outbox").Where("kind = 'scim-push' AND done_at IS NULL AND attempts > 0").Count(&n)
		return n > 0
	})
	page := admin.get(s.topology.IdP + "/admin/provisioning").Body
	if !strings.Contains(page, "yan@tables.fake") || !strings.Contains(page, "retrying") || !strings.Contains(page, "answered 401") {
		t.Errorf("the Provisioning tab does not show the failure:\n%.3000s", page)
	}
	if strings.Contains(page, demo.TodoSCIMToken) {
		t.Error("the Provisioning tab shows the token")
	}
	if audit := admin.get(s.topology.IdP + "/admin/audit?q=yan%40tables.fake").Body; !strings.Contains(audit, "application.provision.user.push") || !strings.Contains(audit, "failed") {
		t.Errorf("the failed push is not in the audit log:\n%.3000s", audit)
	}
	setProvisioning(map[string]string{"action": "save", "token": demo.TodoSCIMToken})
	eventually("yan provisioned after the retry", func() bool { _, ok := provisioned("yan@tables.fake"); return ok })

	// Deleted at the IdP: deleted at the todo AS.
	var yanID string
	if err := idp.Table("users").Select("id").Where("email = ?", "yan@tables.fake").Row().Scan(&yanID); err != nil {
		t.Fatal(err)
	}
	if p := admin.post(s.topology.IdP+"/admin/users/"+yanID+"/delete", map[string]string{"csrf": csrf}); !strings.Contains(p.Body, "yan@tables.fake is deleted") {
		t.Fatalf("delete: %d\n%.1500s", p.Status, p.Body)
	}
	eventually("yan deleted at the todo AS", func() bool {
		var n int64
		todoAS.Table("users").Where("email = ?", "yan@tables.fake").Count(&n)
		return n == 0
	})
}
