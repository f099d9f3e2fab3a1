package todoas

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/envconfig"
	"xaa.example/shared/idjag"
)

// MaxTrustedIssuers is how many TRUSTED_ISSUER_n variables are read.
const MaxTrustedIssuers = 9

// asymmetric are the algorithms an issuer may be allowed: never "none",
// never HMAC, whose key the resource AS would have to share.
var asymmetric = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// TrustedIssuers reads the IdPs whose ID-JAGs the todo AS accepts, as the
// Node sample's CUSTOMER1..3 do, one numbered group per IdP:
//
//	TRUSTED_ISSUER_1=https://acme.okta.com
//	TRUSTED_ISSUER_1_ALGORITHMS=RS256          (default ES256,RS256)
//	TRUSTED_ISSUER_1_CLOCK_SKEW=60s            (default 60s)
//	TRUSTED_ISSUER_1_MAX_LIFETIME=5m           (default 5m)
//	TRUSTED_ISSUER_1_JIT_DOMAINS=acme.com      (empty: no just-in-time accounts)
//
// With no TRUSTED_ISSUER_n set, def is kept.
func TrustedIssuers(env *envconfig.Reader, def []*idjag.TrustedIssuer) []*idjag.TrustedIssuer {
	var out []*idjag.TrustedIssuer
	for n := 1; n <= MaxTrustedIssuers; n++ {
		prefix := fmt.Sprintf("TRUSTED_ISSUER_%d", n)
		if !env.Set(prefix) {
			continue
		}
		ti := &idjag.TrustedIssuer{
			Issuer:      env.URL(prefix, ""),
			ClockSkew:   env.Duration(prefix+"_CLOCK_SKEW", idjag.DefaultClockSkew),
			MaxLifetime: env.Duration(prefix+"_MAX_LIFETIME", idjag.DefaultMaxLifetime),
		}
		for _, alg := range env.List(prefix+"_ALGORITHMS", []string{"ES256", "RS256"}) {
			a := jose.SignatureAlgorithm(strings.ToUpper(alg))
			if alg == "EdDSA" {
				a = jose.EdDSA
			}
			if !slices.Contains(asymmetric, a) {
				env.Problem("%s_ALGORITHMS: %q is not allowed (only asymmetric algorithms; never none or HMAC)", prefix, alg)
				continue
			}
			ti.Algorithms = append(ti.Algorithms, a)
		}
		if domains := env.List(prefix+"_JIT_DOMAINS", nil); len(domains) > 0 {
			for i := range domains {
				domains[i] = strings.ToLower(domains[i])
			}
			ti.JIT = idjag.JITPolicy{Enabled: true, EmailDomains: domains}
		}
		for _, seen := range out {
			if seen.Issuer == ti.Issuer {
				env.Problem("%s: %s is trusted twice", prefix, ti.Issuer)
			}
		}
		out = append(out, ti)
	}
	if len(out) == 0 {
		return def
	}
	return out
}
