package debugconsole

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"xaa.example/shared/dpop"
	"xaa.example/shared/trace"
)

// TestClaimMeaningsByKind: a claim is explained for the token it is in: an
// ID-JAG's jti is single use, an access token's is not.
func TestClaimMeaningsByKind(t *testing.T) {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	meaning := func(typ, claim string) string {
		tok := DecodeToken(trace.Token{Shown: enc(map[string]any{"alg": "ES256", "typ": typ}) + "." + enc(map[string]any{"jti": "x", "aud": "y", "email": "a@b"})})
		for _, c := range tok.Claims {
			if c.Name == claim {
				return c.Meaning
			}
		}
		return ""
	}
	if m := meaning("oauth-id-jag+jwt", "jti"); !strings.Contains(m, "once") {
		t.Errorf("an ID-JAG's jti reads %q", m)
	}
	if m := meaning("at+jwt", "jti"); strings.Contains(m, "once") || !strings.Contains(m, "used again") {
		t.Errorf("an access token's jti reads %q", m)
	}
	if m := meaning("at+jwt", "aud"); !strings.Contains(m, "API") {
		t.Errorf("an access token's aud reads %q", m)
	}
	if m := meaning("oauth-id-jag+jwt", "aud"); !strings.Contains(m, "authorization server") {
		t.Errorf("an ID-JAG's aud reads %q", m)
	}
}

// TestDecodeToken: a recorded token is named by its kind and its claims
// come in the console's order; a token that is not a JWT says so.
func TestDecodeToken(t *testing.T) {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	tok := DecodeToken(trace.Token{Where: "assertion", Shown: enc(map[string]any{"alg": "ES256", "typ": "oauth-id-jag+jwt"}) + "." +
		enc(map[string]any{"exp": 1800000000, "sub": "00u1", "iss": "https://idp.test", "aud": "https://as.test"})})
	if !strings.HasPrefix(tok.Kind, "ID-JAG") || tok.Where != "assertion" || len(tok.Claims) != 4 || tok.Claims[0].Name != "iss" || tok.Claims[3].Name != "exp" {
		t.Fatalf("decoded: %+v", tok)
	}
	if !strings.Contains(tok.Claims[3].Value, "UTC") {
		t.Errorf("exp reads %q, want a date", tok.Claims[3].Value)
	}
	if bad := DecodeToken(trace.Token{Shown: "not.json"}); !strings.HasPrefix(bad.Kind, "Not a JWT") {
		t.Errorf("a broken token reads %q", bad.Kind)
	}
}

// TestDecodeDPoPProof: a proof is named as one, its claims explained, and
// its key's thumbprint computed, to set beside the tokens' cnf.jkt.
func TestDecodeDPoPProof(t *testing.T) {
	key, _ := dpop.NewKey()
	s, _ := dpop.NewSigner(key)
	proof, _ := s.Proof("POST", "https://as.test/token", "", "")
	parts := strings.Split(proof, ".")
	tok := DecodeToken(trace.Token{Where: "DPoP proof", Shown: parts[0] + "." + parts[1] + "." + trace.SignatureRemoved})
	if !strings.HasPrefix(tok.Kind, "DPoP proof") || tok.Claims[0].Name != "htm" {
		t.Fatalf("decoded: %+v", tok)
	}
	last := tok.Claims[len(tok.Claims)-1]
	if last.Name != "jwk thumbprint" || last.Value != s.Thumbprint {
		t.Errorf("the proof's thumbprint row is %+v, want %s", last, s.Thumbprint)
	}
}
