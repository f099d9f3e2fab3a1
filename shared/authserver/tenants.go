package authserver

import (
	"slices"
	"strings"

	"xaa.example/shared/signin"
)

// tenant is a configured organisation with its sign-in client.
type tenant struct {
	Tenant
	rp *signin.RP // OpenID Connect tenants
	sp samlSP     // SAML tenants
}

// emailDomain is the lower-cased domain of an email address, or "".
func emailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[at+1:]))
}

// tenantFor returns the tenant people with this email sign in with.
func (s *Server) tenantFor(email string) *tenant {
	domain := emailDomain(email)
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

// owns reports whether an email belongs to the tenant.
func (t *tenant) owns(email string) bool {
	if len(t.Domains) == 0 {
		return emailDomain(email) != ""
	}
	return slices.ContainsFunc(t.Domains, func(d string) bool { return strings.EqualFold(d, emailDomain(email)) })
}

func (s *Server) idpIssuers() []string {
	var out []string
	for _, t := range s.tenants {
		if !slices.Contains(out, t.IdP.Issuer) {
			out = append(out, t.IdP.Issuer)
		}
	}
	return out
}
