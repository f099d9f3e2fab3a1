package authserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/scim"
	"xaa.example/shared/scim/scimtest"
	"xaa.example/shared/storage/storagetest"
)

const (
	scimToken      = "test-scim-token"
	otherSCIMToken = "other-idp-scim-token"
	otherIdP       = "https://other-idp.test"
)

// newSCIMServer is a resource AS that two IdPs provision: the test IdP
// (whose ID-JAGs it trusts) and another.
func newSCIMServer(t *testing.T, db *gorm.DB) *resourceAS {
	t.Helper()
	return newResourceASEdited(t, db, func(c *testServer) {
		c.SCIM = []scim.Client{{Token: scimToken, Issuer: testIdP, Domains: []string{"tables.fake"}}, {Token: otherSCIMToken, Issuer: otherIdP, Domains: []string{"other.test"}}}
	})
}

// scimCall sends one SCIM request with a bearer token and returns the
// status and the decoded body (nil when empty).
func (r *resourceAS) scimCall(t *testing.T, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	return scimtest.Call(t, r.srv.URL+"/scim/v2", token, method, path, body)
}

// oktaUser is a user as Okta's provisioning creates it.
var oktaUser = scimtest.OktaUser

// TestOktaProvisioningSequence: the requests Okta's provisioning sends, in
// the order Okta documents them (SCIM 2.0 reference: check whether the user
// exists, create, fetch, update the profile, deactivate, reactivate),
// against SQLite and MariaDB; then the ID-JAG about the provisioned person,
// with no email and no earlier sign-in, finds the account, and once the
// account is deactivated it is refused.
func TestOktaProvisioningSequence(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ras := newSCIMServer(t, db)
		email := "dana-" + storagetest.ID() + "@tables.fake"
		externalID := "00u" + storagetest.ID()
		filter := "/Users?filter=" + url.QueryEscape(`userName eq "`+email+`"`) + "&startIndex=1&count=100"

		// 1. Does the user exist? No.
		status, list := ras.scimCall(t, scimToken, http.MethodGet, filter, "")
		if status != 200 || list["totalResults"] != 0.0 || !scimtest.HasSchema(list, "urn:ietf:params:scim:api:messages:2.0:ListResponse") {
			t.Fatalf("lookup before create: %d %v", status, list)
		}
		// 2. Create.
		status, created := ras.scimCall(t, scimToken, http.MethodPost, "/Users", oktaUser(email, externalID, "Dana"))
		if status != http.StatusCreated || created["id"] == nil || created["externalId"] != externalID || created["active"] != true {
			t.Fatalf("create: %d %v", status, created)
		}
		if _, ok := created["password"]; ok {
			t.Error("the password came back")
		}
		id := created["id"].(string)
		var kept string
		db.Model(&SCIMUser{}).Select("attributes").Where("user_id = ?", id).Scan(&kept)
		if strings.Contains(kept, "1mP@ssw0rd") {
			t.Error("the password was stored")
		}
		// 3. Fetch it, and find it by userName and by externalId.
		if status, got := ras.scimCall(t, scimToken, http.MethodGet, "/Users/"+id, ""); status != 200 || got["userName"] != email {
			t.Fatalf("get: %d %v", status, got)
		}
		for _, f := range []string{filter, "/Users?filter=" + url.QueryEscape(`externalId eq "`+externalID+`"`)} {
			if status, list := ras.scimCall(t, scimToken, http.MethodGet, f, ""); status != 200 || list["totalResults"] != 1.0 {
				t.Fatalf("lookup %s after create: %d %v", f, status, list)
			}
		}

		// The ID-JAG about Dana: sub = externalId, no email; the issuer
		// allows no just-in-time accounts for it to fall back on.
		wiki := [2]string{"wiki-at-todo", "wiki-secret"}
		grant := func() (int, map[string]any) {
			c := ras.claims()
			c["sub"] = externalID
			delete(c, "email")
			status, body, _ := ras.post(t, wiki, bearerForm(ras.idjag(t, c)))
			return status, body
		}
		status, body := grant()
		if status != 200 {
			t.Fatalf("the ID-JAG of a provisioned person: %d %v", status, body)
		}

		// 4. Profile update (Okta sends the whole user, PUT).
		status, got := ras.scimCall(t, scimToken, http.MethodPut, "/Users/"+id, oktaUser(email, externalID, "Danielle"))
		if status != 200 || got["displayName"] != "Danielle Tables" {
			t.Fatalf("replace: %d %v", status, got)
		}
		// 5. Deactivate (Okta's PATCH, no path).
		deactivate := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`
		if status, got := ras.scimCall(t, scimToken, http.MethodPatch, "/Users/"+id, deactivate); status != 200 || got["active"] != false {
			t.Fatalf("deactivate: %d %v", status, got)
		}
		if status, body := grant(); status != 400 || body["error"] != "invalid_grant" || body["error_description"] != "the account was deactivated by the administrator" {
			t.Fatalf("the ID-JAG of a deactivated person: %d %v", status, body)
		}
		if ras.failedCheck() != jwtbearer.CheckSubject {
			t.Errorf("refused by %q, want the subject check", ras.failedCheck())
		}
		// 6. Reactivate.
		reactivate := strings.Replace(deactivate, "false", "true", 1)
		if status, got := ras.scimCall(t, scimToken, http.MethodPatch, "/Users/"+id, reactivate); status != 200 || got["active"] != true {
			t.Fatalf("reactivate: %d %v", status, got)
		}
		if status, body := grant(); status != 200 {
			t.Fatalf("the ID-JAG after reactivation: %d %v", status, body)
		}
	})
}

// TestSCIMMounted: the SCIM service as this server mounts it: behind its
// bearer tokens and the server's bound on bodies, over its accounts. (What
// the protocol refuses is package scim's TestServiceHostile; who sees whom,
// its conformance suite, TestSCIMAccountsConformance here.)
func TestSCIMMounted(t *testing.T) {
	ras := newSCIMServer(t, storagetest.SQLite(t))
	count := func() (n [2]int64) {
		ras.db.Model(&User{}).Count(&n[0])
		ras.db.Model(&SCIMUser{}).Count(&n[1])
		return n
	}
	for _, row := range []struct {
		name, token, body string
		status            int
	}{
		{"no token", "", oktaUser("kay@tables.fake", "00u-kay", "Kay"), 401},
		{"a wrong token", "not-the-token", oktaUser("kay@tables.fake", "00u-kay", "Kay"), 401},
		{"an oversized body", scimToken, `{"userName":"` + strings.Repeat("a", 70<<10) + `"}`, 413},
	} {
		t.Run(row.name, func(t *testing.T) {
			before := count()
			status, body := ras.scimCall(t, row.token, http.MethodPost, "/Users", row.body)
			if status != row.status || !scimtest.HasSchema(body, "urn:ietf:params:scim:api:messages:2.0:Error") || body["status"] != fmt.Sprint(row.status) {
				t.Errorf("got %d %v, want a SCIM error %d", status, body, row.status)
			}
			if after := count(); after != before {
				t.Errorf("accounts %v → %v: a refused request stored something", before, after)
			}
		})
	}
	if status, body := ras.scimCall(t, scimToken, http.MethodPost, "/Users", oktaUser("kay@tables.fake", "00u-kay", "Kay")); status != http.StatusCreated || body["externalId"] != "00u-kay" {
		t.Errorf("a create: %d %v", status, body)
	}
}

// TestSCIMTenantIsNotAWildcard (issue 31, takeover 2): two SCIM clients of
// one IdP, one with no tenant and one for tenantB. "No tenant" is a
// tenant of its own: the tenant-bound client neither sees nor changes the
// people the tenant-less one provisioned or who signed in from that IdP
// under no tenant, and the reverse; each still reaches its own.
func TestSCIMTenantIsNotAWildcard(t *testing.T) {
	const tenantBToken = "tenant-b-scim-token"
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ras := newResourceASEdited(t, db, func(c *testServer) {
			c.SCIM = []scim.Client{
				{Token: scimToken, Issuer: testIdP, Domains: []string{"tables.fake"}},
				{Token: tenantBToken, Issuer: testIdP, Tenant: "tenantB", Domains: []string{"tenantb.test"}},
			}
		})
		status, plain := ras.scimCall(t, scimToken, http.MethodPost, "/Users", oktaUser("hal@tables.fake", "00u-hal", "Hal"))
		if status != http.StatusCreated {
			t.Fatalf("the tenant-less client's create: %d %v", status, plain)
		}
		status, theirs := ras.scimCall(t, tenantBToken, http.MethodPost, "/Users", oktaUser("ida@tenantb.test", "00u-ida", "Ida"))
		if status != http.StatusCreated {
			t.Fatalf("tenantB's create: %d %v", status, theirs)
		}
		// Bob signed in from the IdP under no tenant: a link, no SCIM row.
		bob, err := ras.server.store.linkUser(t.Context(), testIdP, "", "00u-bob", "bob@tables.fake", "Bobby Tables", nil)
		if err != nil {
			t.Fatal(err)
		}
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"userName":"mallory@tenantb.test","emails":[{"value":"mallory@tenantb.test","primary":true}],"active":false}}]}`
		snapshot := func() string {
			var rows []string
			for _, q := range []string{"SELECT id, email, name, deactivated FROM users ORDER BY id",
				"SELECT issuer, tenant, subject, user_id FROM links ORDER BY user_id, issuer, tenant, subject",
				"SELECT user_id, issuer, tenant, external_id, attributes, version FROM scim_users ORDER BY user_id"} {
				var got []map[string]any
				db.Raw(q).Scan(&got)
				rows = append(rows, fmt.Sprint(got))
			}
			return strings.Join(rows, "\n")
		}
		for _, target := range []struct{ who, id string }{{"the tenant-less client's person", plain["id"].(string)}, {"a person signed in under no tenant", bob.ID}} {
			for _, call := range []struct{ method, body string }{
				{http.MethodGet, ""},
				{http.MethodPut, oktaUser("mallory@tenantb.test", "00u-mallory", "Mallory")},
				{http.MethodPatch, patch},
				{http.MethodDelete, ""},
			} {
				t.Run("tenantB "+call.method+" "+target.who, func(t *testing.T) {
					before := snapshot()
					status, body := ras.scimCall(t, tenantBToken, call.method, "/Users/"+target.id, call.body)
					if status != http.StatusNotFound {
						t.Errorf("got %d %v, want 404", status, body)
					}
					if after := snapshot(); after != before {
						t.Errorf("a refused request changed the accounts:\n%s\n→\n%s", before, after)
					}
				})
			}
		}
		t.Run("tenantB lists only its own", func(t *testing.T) {
			status, list := ras.scimCall(t, tenantBToken, http.MethodGet, "/Users?count=100", "")
			if status != 200 || list["totalResults"] != 1.0 {
				t.Errorf("tenantB's list: %d %v", status, list)
			}
			for _, f := range []string{`userName eq "hal@tables.fake"`, `externalId eq "00u-hal"`, `userName eq "bob@tables.fake"`} {
				if status, list := ras.scimCall(t, tenantBToken, http.MethodGet, "/Users?filter="+url.QueryEscape(f), ""); status != 200 || list["totalResults"] != 0.0 {
					t.Errorf("tenantB's lookup %s: %d %v", f, status, list)
				}
			}
		})
		t.Run("the tenant-less client does not reach tenantB's person", func(t *testing.T) {
			before := snapshot()
			if status, body := ras.scimCall(t, scimToken, http.MethodPatch, "/Users/"+theirs["id"].(string), patch); status != http.StatusNotFound {
				t.Errorf("got %d %v, want 404", status, body)
			}
			if after := snapshot(); after != before {
				t.Errorf("a refused request changed the accounts")
			}
		})
		t.Run("each still reaches its own", func(t *testing.T) {
			if status, got := ras.scimCall(t, scimToken, http.MethodGet, "/Users/"+plain["id"].(string), ""); status != 200 || got["userName"] != "hal@tables.fake" {
				t.Errorf("the tenant-less client's person: %d %v", status, got)
			}
			if status, got := ras.scimCall(t, scimToken, http.MethodGet, "/Users/"+bob.ID, ""); status != 200 || got["userName"] != "bob@tables.fake" {
				t.Errorf("a person signed in under no tenant, to the tenant-less client: %d %v", status, got)
			}
			if status, got := ras.scimCall(t, tenantBToken, http.MethodGet, "/Users/"+theirs["id"].(string), ""); status != 200 || got["userName"] != "ida@tenantb.test" {
				t.Errorf("tenantB's person: %d %v", status, got)
			}
		})
	})
}

// TestSCIMClientStaysInItsDomains: a provisioning client creates and
// changes accounts only at the email domains it is trusted for, and may
// adopt an account no IdP has claimed yet only there; a refusal is a SCIM
// error (403) and changes nothing.
func TestSCIMClientStaysInItsDomains(t *testing.T) {
	const tenantBToken = "tenant-b-scim-token"
	ras := newResourceASEdited(t, storagetest.SQLite(t), func(c *testServer) {
		c.SCIM = []scim.Client{
			{Token: scimToken, Issuer: testIdP, Domains: []string{"tables.fake"}},
			{Token: tenantBToken, Issuer: testIdP, Tenant: "tenantB", Domains: []string{"tenantb.test"}},
		}
	})
	var seeded User
	if err := ras.db.Take(&seeded, "email = ?", "bob@tables.fake").Error; err != nil {
		t.Fatalf("the seeded account: %v", err)
	}
	status, mine := ras.scimCall(t, scimToken, http.MethodPost, "/Users", oktaUser("jan@tables.fake", "00u-jan", "Jan"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, mine)
	}
	count := func() (n [3]int64) {
		ras.db.Model(&User{}).Count(&n[0])
		ras.db.Model(&SCIMUser{}).Count(&n[1])
		ras.db.Model(&Link{}).Count(&n[2])
		return n
	}
	moveTo := func(email string) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"userName":"` + email + `","emails":[{"value":"` + email + `","primary":true}]}}]}`
	}
	for _, row := range []struct {
		name, token, method, path, body string
		status                          int
	}{
		{"tenantB creates a person at another organisation's domain", tenantBToken, http.MethodPost, "/Users", oktaUser("kim@tables.fake", "00u-kim", "Kim"), 403},
		{"tenantB reads an unclaimed account at another domain", tenantBToken, http.MethodGet, "/Users/" + seeded.ID, "", 404},
		{"tenantB adopts an unclaimed account at another domain", tenantBToken, http.MethodPut, "/Users/" + seeded.ID, oktaUser("bob@tables.fake", "00u-bob", "Bob"), 404},
		{"a client moves its own person to another organisation's domain", scimToken, http.MethodPatch, "/Users/" + mine["id"].(string), moveTo("jan@tenantb.test"), 403},
		{"a client replaces its own person with another domain's address", scimToken, http.MethodPut, "/Users/" + mine["id"].(string), oktaUser("jan@tenantb.test", "00u-jan", "Jan"), 403},
	} {
		t.Run(row.name, func(t *testing.T) {
			before := count()
			status, body := ras.scimCall(t, row.token, row.method, row.path, row.body)
			if status != row.status || !scimtest.HasSchema(body, "urn:ietf:params:scim:api:messages:2.0:Error") {
				t.Fatalf("got %d %v, want a SCIM error %d", status, body, row.status)
			}
			if after := count(); after != before {
				t.Errorf("accounts %v → %v: a refused request stored something", before, after)
			}
		})
	}
	var email string
	ras.db.Model(&User{}).Select("email").Where("id = ?", mine["id"]).Scan(&email)
	if email != "jan@tables.fake" {
		t.Errorf("the refused move left the email %q", email)
	}
	if status, list := ras.scimCall(t, tenantBToken, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "bob@tables.fake"`), ""); status != 200 || list["totalResults"] != 0.0 {
		t.Errorf("tenantB's lookup of the unclaimed account: %d %v", status, list)
	}
	// The client trusted for tables.fake adopts the unclaimed account.
	if status, got := ras.scimCall(t, scimToken, http.MethodPut, "/Users/"+seeded.ID, oktaUser("bob@tables.fake", "00u-bob", "Bob")); status != 200 || got["externalId"] != "00u-bob" {
		t.Errorf("adopting the unclaimed account at its own domain: %d %v", status, got)
	}
}

// scimFixture is this server's scim.Accounts, with the two ways an account
// comes to be here other than by provisioning.
type scimFixture struct {
	scimAccounts
	store *store
}

func (f scimFixture) Unclaimed(t *testing.T, email string) string {
	t.Helper()
	u := User{ID: newID(), Email: email, Name: email}
	if err := f.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func (f scimFixture) SignedIn(t *testing.T, issuer, tenant, subject, email string) string {
	t.Helper()
	u, err := f.store.linkUser(t.Context(), issuer, tenant, subject, email, email, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestSCIMAccountsConformance: the server's accounts pass package scim's
// conformance suite, on SQLite and on MariaDB.
func TestSCIMAccountsConformance(t *testing.T) {
	for _, kind := range []struct {
		name string
		open func(testing.TB) *gorm.DB
	}{{"SQLite", storagetest.SQLite}, {"MariaDB", storagetest.MariaDB}} {
		t.Run(kind.name, func(t *testing.T) {
			scimtest.Conformance(t, func(t *testing.T) scimtest.Fixture {
				db := kind.open(t)
				if err := migrate(db); err != nil {
					t.Fatal(err)
				}
				return scimFixture{scimAccounts: scimAccounts{db}, store: &store{db: db}}
			})
		})
	}
}
