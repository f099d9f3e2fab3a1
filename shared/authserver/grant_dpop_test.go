package authserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/dpop"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
)

// TestJWTBearerKeyBinding: the ID-JAG draft's table at the resource AS,
// every row. An ID-JAG bound to a key (cnf.jkt) sent with no proof, or with
// a proof of another key, was accepted and came back as a Bearer token; it
// is refused with invalid_grant, spending nothing.
func TestJWTBearerKeyBinding(t *testing.T) {
	ras := newResourceAS(t)
	wiki := [2]string{"wiki-at-todo", "wiki-secret"}
	signer := func() *dpop.Signer {
		k, err := dpop.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		s, err := dpop.NewSigner(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mine, theirs := signer(), signer()
	proof := func(s *dpop.Signer, url string) string {
		p, err := s.Proof(http.MethodPost, url, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenURL := ras.srv.URL + "/token"
	bound := func(jkt string) map[string]any {
		c := ras.claims()
		c["cnf"] = map[string]any{"jkt": jkt}
		return c
	}
	strict := func() map[string]any {
		c := ras.claims()
		c["resource"] = strictResource
		return c
	}
	reused := proof(mine, tokenURL)
	if status, body, _ := ras.post(t, wiki, bearerForm(ras.idjag(t, ras.claims())), reused); status != 200 {
		t.Fatalf("setup: %d %v", status, body)
	}

	rows := []struct {
		name      string
		claims    map[string]any
		proofs    []string
		status    int
		error     string
		tokenType string
		jkt       string // the access token's cnf.jkt
	}{
		{name: "cnf and a proof of that key: a DPoP-bound token", claims: bound(mine.Thumbprint), proofs: []string{proof(mine, tokenURL)}, status: 200, tokenType: "DPoP", jkt: mine.Thumbprint},
		{name: "cnf and no proof", claims: bound(mine.Thumbprint), status: 400, error: "invalid_grant"},
		{name: "cnf and a proof of another key", claims: bound(mine.Thumbprint), proofs: []string{proof(theirs, tokenURL)}, status: 400, error: "invalid_grant"},
		{name: "no cnf and a proof: bound to the proof's key", claims: ras.claims(), proofs: []string{proof(theirs, tokenURL)}, status: 200, tokenType: "DPoP", jkt: theirs.Thumbprint},
		{name: "neither: a Bearer token", claims: ras.claims(), status: 200, tokenType: "Bearer"},
		{name: "a resource that requires binding, no proof", claims: strict(), status: 400, error: "invalid_grant"},
		{name: "a resource that requires binding, with a proof", claims: strict(), proofs: []string{proof(mine, tokenURL)}, status: 200, tokenType: "DPoP", jkt: mine.Thumbprint},
		{name: "a proof for another URL", claims: bound(mine.Thumbprint), proofs: []string{proof(mine, ras.srv.URL+"/authorize")}, status: 400, error: "invalid_dpop_proof"},
		{name: "a proof used before", claims: bound(mine.Thumbprint), proofs: []string{reused}, status: 400, error: "invalid_dpop_proof"},
		{name: "two proofs", claims: bound(mine.Thumbprint), proofs: []string{proof(mine, tokenURL), proof(mine, tokenURL)}, status: 400, error: "invalid_dpop_proof"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := ras.stored(t)
			status, body, _ := ras.post(t, wiki, bearerForm(ras.idjag(t, row.claims)), row.proofs...)
			if status != row.status || (row.error != "" && body["error"] != row.error) {
				t.Fatalf("got %d %v, want %d %s", status, body, row.status, row.error)
			}
			if row.status != 200 {
				if _, issued := body["access_token"]; issued {
					t.Error("an access token was issued")
				}
				// A valid proof's jti is spent whatever follows (a proof
				// is good for one request); the ID-JAG's is not.
				want := before
				if row.error == "invalid_grant" && len(row.proofs) == 1 {
					want[0]++
				}
				if after := ras.stored(t); after != want {
					t.Errorf("stored rows %v → %v, want %v: a refused ID-JAG spent its jti", before, after, want)
				}
				if row.error == "invalid_grant" && ras.failedCheck() != jwtbearer.CheckProof {
					t.Errorf("refused by %q, want the key-binding check", ras.failedCheck())
				}
				return
			}
			if body["token_type"] != row.tokenType {
				t.Fatalf("token_type %v, want %s", body["token_type"], row.tokenType)
			}
			var c accesstoken.Claims
			if err := ras.server.op.Keys.Verify(body["access_token"].(string), oauth.TypAccessToken, &c); err != nil {
				t.Fatal(err)
			}
			switch {
			case row.jkt == "" && c.Cnf != nil:
				t.Errorf("a Bearer token carries cnf %+v", c.Cnf)
			case row.jkt != "" && (c.Cnf == nil || c.Cnf.JKT != row.jkt):
				t.Errorf("the access token's cnf is %+v, want jkt %s", c.Cnf, row.jkt)
			}
		})
	}

	// The metadata says which proofs it takes (RFC 9449 §5.1).
	resp, err := http.Get(ras.srv.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&md)
	algs, _ := md["dpop_signing_alg_values_supported"].([]any)
	if len(algs) == 0 || !strings.Contains(strings.Join(func() []string {
		var out []string
		for _, a := range algs {
			out = append(out, a.(string))
		}
		return out
	}(), " "), string(jose.ES256)) {
		t.Errorf("dpop_signing_alg_values_supported: %v", md["dpop_signing_alg_values_supported"])
	}
}
