package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestDiscoveryFollowsTheServer: every provider's discovery document is
// written from one typed metadata, so what it advertises is what it does:
// the client authentication its token endpoint takes (the IdP took
// private_key_jwt and did not say so), the grants it answers and no other,
// the same document at both well-known names.
func TestDiscoveryFollowsTheServer(t *testing.T) {
	t.Parallel()
	s := startStack(t, sqliteDB)
	get := func(u string) map[string]any {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var md map[string]any
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&md) != nil {
			t.Fatalf("%s: %s", u, resp.Status)
		}
		return md
	}
	strs := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	for _, p := range []struct {
		name, issuer string
		exchange     bool
	}{{"idp", s.topology.IdP, true}, {"wiki-as", s.topology.WikiAS, true}, {"todo-as", s.topology.TodoAS, false}} {
		oidc := get(p.issuer + "/.well-known/openid-configuration")
		rfc8414 := get(p.issuer + "/.well-known/oauth-authorization-server")
		if !reflect.DeepEqual(oidc, rfc8414) {
			t.Errorf("%s: the two discovery documents differ", p.name)
		}
		if oidc["issuer"] != p.issuer {
			t.Errorf("%s: issuer %v", p.name, oidc["issuer"])
		}
		methods := strs(oidc["token_endpoint_auth_methods_supported"])
		for _, m := range []string{"client_secret_basic", "client_secret_post", "private_key_jwt"} {
			if !slices.Contains(methods, m) {
				t.Errorf("%s does not advertise %s, which its token endpoint accepts", p.name, m)
			}
		}
		if _, ok := oidc["token_endpoint_auth_signing_alg_values_supported"]; !ok {
			t.Errorf("%s advertises private_key_jwt without its algorithms", p.name)
		}
		if _, ok := oidc["identity_chaining_requested_token_types_supported"]; ok != p.exchange {
			t.Errorf("%s: identity chaining advertised %v, want %v", p.name, ok, p.exchange)
		}
		// Each grant advertised is one the token endpoint knows; one not
		// advertised is unsupported_grant_type.
		token := oidc["token_endpoint"].(string)
		for _, g := range append(strs(oidc["grant_types_supported"]), "password") {
			resp, err := http.PostForm(token, url.Values{"grant_type": {g}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			unsupported := strings.Contains(string(body), "unsupported_grant_type")
			if unsupported != (g == "password") {
				t.Errorf("%s: grant %s: %s", p.name, g, body)
			}
		}
	}
}
