package authserver

import (
	"slices"
	"strings"

	"xaa.example/shared/maildomain"
	"xaa.example/shared/signin"
)

// tenant is a configured organisation with its sign-in client.
type tenant struct {
	Tenant
	rp *signin.RP // OpenID Connect tenants
	sp samlSP     // SAML tenants
}

// tenantFor returns the tenant people with this email sign in with.
func (s *Server) tenantFor(email string) *tenant {
	domain := maildomain.Of(email)
	for _, t := range s.tenants {
		if len(t.Domains) == 0 && domain != "" {
			return t
		}
		for _, d := range t.Domains {
			if strings.EqualFold(d, domain) {
				return t
			}
		}
	}
	return nil
}

// tenantByIssuer returns the tenant of an IdP.
func (s *Server) tenantByIssuer(issuer string) *tenant {
	for _, t := range s.tenants {
		if t.IdP.Issuer == issuer {
			return t
		}
	}
	return nil
}

// owns reports whether an email belongs to the tenant: with no domains,
// every address does (a server with a single IdP).
func (t *tenant) owns(email string) bool { return maildomain.List(t.Domains).Has(email) }

func (s *Server) idpIssuers() []string {
	var out []string
	for _, t := range s.tenants {
		if !slices.Contains(out, t.IdP.Issuer) {
			out = append(out, t.IdP.Issuer)
		}
	}
	return out
}
