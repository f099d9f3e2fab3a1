// Package maildomain answers the question an authority's trust comes down
// to in this project: is an email address at one of the domains the
// authority (an IdP, a SAML IdP, a provisioning client, a Shared Signals
// transmitter) is trusted for? An authority reaches only its own people,
// and its people are those at its domains.
//
// It must depend on nothing but the standard library.
package maildomain

import (
	"slices"
	"strings"
)

// Of is the lower-cased domain of an email address, or "" when it has none.
func Of(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 || at == len(email)-1 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(email[at+1:]))
}

// List is the email domains an authority is trusted for. An empty list is
// trusted for any address with a domain: a server with one authority needs
// no list.
type List []string

// Has reports whether the address is at one of the list's domains.
func (l List) Has(email string) bool {
	domain := Of(email)
	if domain == "" {
		return false
	}
	return len(l) == 0 || slices.ContainsFunc(l, func(d string) bool { return strings.EqualFold(d, domain) })
}
