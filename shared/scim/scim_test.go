package scim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"xaa.example/shared/scim"
	"xaa.example/shared/scim/scimtest"
)

const (
	token      = "test-scim-token"
	otherToken = "other-idp-scim-token"
)

// service is a Service over scimtest.Memory behind a real server, for two
// IdPs' provisioning.
type service struct {
	srv      *httptest.Server
	accounts *scimtest.Memory
	clients  []scim.Client
}

func newService(t *testing.T) *service {
	t.Helper()
	s := &service{accounts: scimtest.NewMemory(), clients: []scim.Client{
		{Token: token, Issuer: "https://idp.test", Domains: []string{"tables.fake"}},
		{Token: otherToken, Issuer: "https://other-idp.test", Domains: []string{"other.test"}},
	}}
	s.srv = httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(s.srv.Close)
	h, err := (&scim.Service{BaseURL: s.srv.URL + "/scim/v2", Clients: s.clients, Accounts: s.accounts}).Handler()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", h)
	s.srv.Config.Handler = mux
	return s
}

// call sends one SCIM request with a bearer token.
func (s *service) call(t *testing.T, bearer, method, path, body string) (int, map[string]any) {
	t.Helper()
	return scimtest.Call(t, s.srv.URL+"/scim/v2", bearer, method, path, body)
}

// primaryEmail is the value of the primary (or first) email of a SCIM
// resource's emails.
func primaryEmail(v any) string {
	list, _ := v.([]any)
	first := ""
	for _, e := range list {
		m, _ := e.(map[string]any)
		value, _ := m["value"].(string)
		if m["primary"] == true {
			return value
		}
		if first == "" {
			first = value
		}
	}
	return first
}

// TestEntraPatchDialect: the PATCH forms Entra ID (Azure AD) sends:
// capitalised ops, a boolean as a string, paths with a value filter, and a
// value object with dotted keys.
func TestEntraPatchDialect(t *testing.T) {
	svc := newService(t)
	status, created := svc.call(t, token, http.MethodPost, "/Users", scimtest.OktaUser("erin@tables.fake", "00u-erin", "Erin"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	id := created["id"].(string)
	patch := func(ops string) map[string]any {
		t.Helper()
		status, got := svc.call(t, token, http.MethodPatch, "/Users/"+id,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`+ops+`}`)
		if status != 200 {
			t.Fatalf("PATCH %s: %d %v", ops, status, got)
		}
		return got
	}
	if got := patch(`[{"op":"Replace","path":"active","value":"False"}]`); got["active"] != false {
		t.Errorf("active \"False\": %v", got["active"])
	}
	if got := patch(`[{"op":"Replace","path":"active","value":"True"}]`); got["active"] != true {
		t.Errorf("active \"True\": %v", got["active"])
	}
	got := patch(`[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"erin.tables@tables.fake"}]`)
	if got["userName"] != "erin@tables.fake" || primaryEmail(got["emails"]) != "erin.tables@tables.fake" {
		t.Errorf("emails[type eq work].value: %v", got["emails"])
	}
	got = patch(`[{"op":"Add","path":"name.givenName","value":"Erina"},{"op":"Replace","value":{"displayName":"Erina T.","name.familyName":"Tabula"}}]`)
	name, _ := got["name"].(map[string]any)
	if got["displayName"] != "Erina T." || name["givenName"] != "Erina" || name["familyName"] != "Tabula" {
		t.Errorf("name and displayName: %v", got)
	}
	// The account follows: its email is the primary one now.
	if a, err := svc.accounts.Get(t.Context(), &svc.clients[0], id); err != nil || a.Email != "erin.tables@tables.fake" {
		t.Errorf("the account's email is %+v (%v)", a, err)
	}
}

// TestServiceHostile: what the SCIM endpoint refuses, each in SCIM's error
// format (RFC 7644 §3.12), with nothing stored.
func TestServiceHostile(t *testing.T) {
	svc := newService(t)
	status, mine := svc.call(t, token, http.MethodPost, "/Users", scimtest.OktaUser("fay@tables.fake", "00u-fay", "Fay"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, mine)
	}
	status, theirs := svc.call(t, otherToken, http.MethodPost, "/Users", scimtest.OktaUser("gil@other.test", "00u-gil", "Gil"))
	if status != http.StatusCreated {
		t.Fatalf("create at the other IdP: %d %v", status, theirs)
	}
	theirID := theirs["id"].(string)
	deep := strings.Repeat("(", 2000) + `userName eq "x"` + strings.Repeat(")", 2000)
	rows := []struct {
		name, token, method, path, body string
		status                          int
		scimType                        string
	}{
		{"no token", "", http.MethodGet, "/Users", "", 401, ""},
		{"a wrong token", "not-the-token", http.MethodGet, "/Users", "", 401, ""},
		{"malformed JSON", token, http.MethodPost, "/Users", `{"userName":`, 400, "invalidSyntax"},
		{"not an object", token, http.MethodPost, "/Users", `["hello"]`, 400, "invalidSyntax"},
		{"no userName", token, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"emails":[{"value":"h@tables.fake"}]}`, 400, "invalidValue"},
		{"userName of the wrong type", token, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":42}`, 400, "invalidValue"},
		{"no email anywhere", token, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"harry"}`, 400, "invalidValue"},
		{"a duplicate userName", token, http.MethodPost, "/Users", scimtest.OktaUser("fay@tables.fake", "00u-fay-2", "Fay"), 409, "uniqueness"},
		{"a duplicate externalId", token, http.MethodPost, "/Users", scimtest.OktaUser("fay2@tables.fake", "00u-fay", "Fay"), 409, "uniqueness"},
		{"another IdP's person (get)", token, http.MethodGet, "/Users/" + theirID, "", 404, ""},
		{"another IdP's person (replace)", token, http.MethodPut, "/Users/" + theirID, scimtest.OktaUser("gil@other.test", "00u-gil", "Gil"), 404, ""},
		{"another IdP's person (patch)", token, http.MethodPatch, "/Users/" + theirID, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`, 404, ""},
		{"another IdP's person (delete)", token, http.MethodDelete, "/Users/" + theirID, "", 404, ""},
		{"an invalid filter", token, http.MethodGet, "/Users?filter=" + url.QueryEscape(`userName eq`), "", 400, "invalidFilter"},
		{"a filter on an unknown attribute", token, http.MethodGet, "/Users?filter=" + url.QueryEscape(`shoeSize eq "9"`), "", 400, "invalidFilter"},
		{"a deeply nested filter", token, http.MethodGet, "/Users?filter=" + url.QueryEscape(deep), "", 400, "invalidFilter"},
		{"a huge filter", token, http.MethodGet, "/Users?filter=" + url.QueryEscape(strings.Repeat(`userName eq "x" or `, 3000)+`userName eq "y"`), "", 400, "invalidFilter"},
		{"a PATCH without its schema", token, http.MethodPatch, "/Users/" + mine["id"].(string), `{"Operations":[{"op":"replace","value":{"active":false}}]}`, 400, "invalidValue"},
		{"a PATCH with an unknown op", token, http.MethodPatch, "/Users/" + mine["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"explode","path":"active","value":false}]}`, 400, ""},
		{"a PATCH of an unknown attribute", token, http.MethodPatch, "/Users/" + mine["id"].(string), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"shoeSize","value":"9"}]}`, 400, ""},
	}
	count := func() (n [2]int) {
		_, n[0], _ = svc.accounts.List(t.Context(), &svc.clients[0], scim.Query{Limit: 1})
		_, n[1], _ = svc.accounts.List(t.Context(), &svc.clients[1], scim.Query{Limit: 1})
		return n
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := count()
			status, body := svc.call(t, row.token, row.method, row.path, row.body)
			if status != row.status {
				t.Fatalf("got %d %v, want %d", status, body, row.status)
			}
			if !scimtest.HasSchema(body, "urn:ietf:params:scim:api:messages:2.0:Error") || body["status"] != fmt.Sprint(row.status) {
				t.Errorf("not a SCIM error: %v", body)
			}
			if row.scimType != "" && body["scimType"] != row.scimType {
				t.Errorf("scimType %v, want %s", body["scimType"], row.scimType)
			}
			if after := count(); after != before {
				t.Errorf("accounts %v → %v: a refused request stored something", before, after)
			}
		})
	}
	// An attribute no schema here defines is ignored (RFC 7643 §3.1 leaves
	// that to the service provider; IdPs send custom ones): not stored,
	// not echoed, the rest of the account made.
	status, got := svc.call(t, token, http.MethodPost, "/Users",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ivy@tables.fake","shoeSize":"9","name":{"givenName":"Ivy","hatSize":"7"}}`)
	var kept string
	if a, err := svc.accounts.Get(t.Context(), &svc.clients[0], fmt.Sprint(got["id"])); err == nil {
		b, _ := json.Marshal(a.Attributes)
		kept = string(b)
	}
	if status != http.StatusCreated || got["shoeSize"] != nil || strings.Contains(kept, "Size") {
		t.Errorf("unknown attributes: %d %v, stored %s", status, got, kept)
	}
	// The other IdP's person is still active: the refused PATCH changed nothing.
	if _, got := svc.call(t, otherToken, http.MethodGet, "/Users/"+theirID, ""); got["active"] != true {
		t.Errorf("the other IdP's person: %v", got)
	}
}

// TestAttributesParameters (issue 33, SCIM 2): attributes and
// excludedAttributes (RFC 7644 §3.4.2.5, MUST) choose what a GET, a list
// and a write answer with; id and schemas are always there.
func TestAttributesParameters(t *testing.T) {
	svc := newService(t)
	status, created := svc.call(t, token, http.MethodPost, "/Users", scimtest.OktaUser("gia@tables.fake", "00u-gia", "Gia"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	id := created["id"].(string)
	keys := func(m map[string]any) string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	for _, tt := range []struct {
		name, method, path, body string
		want                     string // the resource's members, sorted
		notWant                  string
	}{
		{name: "GET, attributes=userName", method: http.MethodGet, path: "/Users/" + id + "?attributes=userName", want: "id,schemas,userName"},
		{name: "GET, attributes of another case and a sub-attribute", method: http.MethodGet, path: "/Users/" + id + "?attributes=USERNAME,name.givenName", want: "id,name,schemas,userName"},
		{name: "GET, a URN-qualified attribute", method: http.MethodGet, path: "/Users/" + id + "?attributes=" + url.QueryEscape("urn:ietf:params:scim:schemas:core:2.0:User:displayName"), want: "displayName,id,schemas"},
		{name: "GET, excludedAttributes=name", method: http.MethodGet, path: "/Users/" + id + "?excludedAttributes=name", notWant: "name"},
		{name: "GET, id cannot be excluded", method: http.MethodGet, path: "/Users/" + id + "?excludedAttributes=id,emails", notWant: "emails"},
		{name: "PUT answers with the attributes asked for", method: http.MethodPut, path: "/Users/" + id + "?attributes=active", body: scimtest.OktaUser("gia@tables.fake", "00u-gia", "Gia"), want: "active,id,schemas"},
		{name: "PATCH answers without the attributes excluded", method: http.MethodPatch, path: "/Users/" + id + "?excludedAttributes=emails,meta",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"displayName":"Gia T."}}]}`, notWant: "emails"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, got := svc.call(t, token, tt.method, tt.path, tt.body)
			if status != 200 {
				t.Fatalf("%d %v", status, got)
			}
			if tt.want != "" && keys(got) != tt.want {
				t.Errorf("members %s, want %s", keys(got), tt.want)
			}
			if tt.notWant != "" && (got[tt.notWant] != nil || got["id"] == nil || got["schemas"] == nil) {
				t.Errorf("members %s: %s should be gone, id and schemas there", keys(got), tt.notWant)
			}
			if name, _ := got["name"].(map[string]any); strings.Contains(tt.path, "name.givenName") && (name["givenName"] != "Gia" || name["familyName"] != nil) {
				t.Errorf("name %v, want givenName alone", name)
			}
		})
	}
	t.Run("a list", func(t *testing.T) {
		status, list := svc.call(t, token, http.MethodGet, "/Users?attributes=userName", "")
		resources, _ := list["Resources"].([]any)
		if status != 200 || len(resources) != 1 || keys(resources[0].(map[string]any)) != "id,schemas,userName" {
			t.Errorf("%d %v", status, list)
		}
	})
}

// TestPatchKeepsOnePrimaryEmail (issue 33, SCIM 3): adding a primary email
// unsets the others' primary (RFC 7643 §2.4: at most one).
func TestPatchKeepsOnePrimaryEmail(t *testing.T) {
	svc := newService(t)
	_, created := svc.call(t, token, http.MethodPost, "/Users", scimtest.OktaUser("hana@tables.fake", "00u-hana", "Hana"))
	id := created["id"].(string)
	status, got := svc.call(t, token, http.MethodPatch, "/Users/"+id,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails","value":[{"value":"hana.t@tables.fake","type":"home","primary":true}]}]}`)
	if status != 200 {
		t.Fatalf("%d %v", status, got)
	}
	primaries := 0
	for _, e := range got["emails"].([]any) {
		if e.(map[string]any)["primary"] == true {
			primaries++
		}
	}
	if primaries != 1 || primaryEmail(got["emails"]) != "hana.t@tables.fake" {
		t.Errorf("emails %v: %d primary, want the new one alone", got["emails"], primaries)
	}
	if a, _ := svc.accounts.Get(t.Context(), &svc.clients[0], id); a == nil || a.Email != "hana.t@tables.fake" {
		t.Errorf("the account follows the primary email: %+v", a)
	}
}

// TestRemovingActiveGrantsNothing (issue 33, SCIM 4): removing active from
// a deactivated account, or replacing the account without it, leaves it as
// it was: no write reactivates an account but active true.
func TestRemovingActiveGrantsNothing(t *testing.T) {
	svc := newService(t)
	_, created := svc.call(t, token, http.MethodPost, "/Users", scimtest.OktaUser("ines@tables.fake", "00u-ines", "Ines"))
	id := created["id"].(string)
	patch := func(op string) map[string]any {
		t.Helper()
		status, got := svc.call(t, token, http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+op+`]}`)
		if status != 200 {
			t.Fatalf("%s: %d %v", op, status, got)
		}
		return got
	}
	patch(`{"op":"replace","path":"active","value":false}`)
	if got := patch(`{"op":"remove","path":"active"}`); got["active"] != false {
		t.Errorf("after removing active, active is %v", got["active"])
	}
	without := strings.Replace(scimtest.OktaUser("ines@tables.fake", "00u-ines", "Ines"), `,"active":true`, ``, 1)
	if status, got := svc.call(t, token, http.MethodPut, "/Users/"+id, without); status != 200 || got["active"] != false {
		t.Errorf("a replace without active: %d, active %v", status, got["active"])
	}
	if got := patch(`{"op":"replace","path":"active","value":true}`); got["active"] != true {
		t.Errorf("reactivated: active %v", got["active"])
	}
}

// TestEveryErrorIsSCIMs (issue 33, SCIM 5, 6, 7): what the endpoint refuses
// is answered in SCIM's error format (schemas Error, status a string,
// scimType where one fits), the discovery documents take GET alone (405),
// a body over the limit is 413, and the bearer scheme is read in any case.
func TestEveryErrorIsSCIMs(t *testing.T) {
	svc := newService(t)
	huge := `{"userName":"` + strings.Repeat("a", 10<<20) + `"}`
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
	}{
		{name: "POST /ServiceProviderConfig", method: http.MethodPost, path: "/ServiceProviderConfig", body: `{}`, status: 405},
		{name: "PUT /Schemas", method: http.MethodPut, path: "/Schemas", body: `{}`, status: 405},
		{name: "PATCH /ResourceTypes/User", method: http.MethodPatch, path: "/ResourceTypes/User", body: `{}`, status: 405},
		{name: "DELETE /ServiceProviderConfig", method: http.MethodDelete, path: "/ServiceProviderConfig", status: 405},
		{name: "a 10 MB body", method: http.MethodPost, path: "/Users", body: huge, status: 413},
		{name: "a resource type not served", method: http.MethodGet, path: "/Groups", status: 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, body := svc.call(t, token, tt.method, tt.path, tt.body)
			if status != tt.status || !scimtest.HasSchema(body, "urn:ietf:params:scim:api:messages:2.0:Error") || body["status"] != fmt.Sprint(tt.status) {
				t.Errorf("got %d %v, want a SCIM error %d", status, body, tt.status)
			}
		})
	}
	t.Run("the bearer scheme in lower case", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, svc.srv.URL+"/scim/v2/Users", nil)
		req.Header.Set("Authorization", "bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("got %d, want 200 (RFC 7235 §2.1: the scheme is case-insensitive)", resp.StatusCode)
		}
	})
}
