package todoas

import (
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/demo"
	"xaa.example/shared/envconfig"
)

func TestTrustedIssuers(t *testing.T) {
	def := DefaultConfig(demo.Local()).IDJAGs.Trusted
	t.Run("none configured keeps the local IdP", func(t *testing.T) {
		env := envconfig.New(func(string) string { return "" })
		got := TrustedIssuers(env, def)
		if env.Err() != nil || len(got) != 1 || got[0].Issuer != "http://localhost:4000" || !got[0].JIT.Allows("bob@tables.fake") {
			t.Fatalf("got %+v, %v", got, env.Err())
		}
	})
	t.Run("three customers", func(t *testing.T) {
		vars := map[string]string{
			"TRUSTED_ISSUER_1": "https://customer1.okta.test", "TRUSTED_ISSUER_1_ALGORITHMS": "RS256",
			"TRUSTED_ISSUER_2": "https://customer2.test", "TRUSTED_ISSUER_2_CLOCK_SKEW": "30s", "TRUSTED_ISSUER_2_JIT_DOMAINS": "Customer2.test",
			"TRUSTED_ISSUER_3": "https://customer3.test", "TRUSTED_ISSUER_3_MAX_LIFETIME": "2m",
		}
		env := envconfig.New(func(k string) string { return vars[k] })
		got := TrustedIssuers(env, def)
		if err := env.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("%d issuers, want 3", len(got))
		}
		if len(got[0].Algorithms) != 1 || got[0].Algorithms[0] != jose.RS256 || got[0].JIT.Enabled {
			t.Errorf("customer 1: %+v", got[0])
		}
		if got[1].ClockSkew != 30*time.Second || !got[1].JIT.Allows("ann@customer2.test") || got[1].JIT.Allows("ann@other.test") {
			t.Errorf("customer 2: %+v", got[1])
		}
		if got[2].MaxLifetime != 2*time.Minute {
			t.Errorf("customer 3: %+v", got[2])
		}
	})
	t.Run("bad values are named", func(t *testing.T) {
		vars := map[string]string{
			"TRUSTED_ISSUER_1": "not a url", "TRUSTED_ISSUER_1_ALGORITHMS": "HS256,none",
			"TRUSTED_ISSUER_1_CLOCK_SKEW": "soon",
		}
		env := envconfig.New(func(k string) string { return vars[k] })
		TrustedIssuers(env, def)
		err := env.Err()
		for _, want := range []string{"TRUSTED_ISSUER_1=", `"HS256" is not allowed`, `"none" is not allowed`, "TRUSTED_ISSUER_1_CLOCK_SKEW"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error %v does not name %s", err, want)
			}
		}
	})
}
