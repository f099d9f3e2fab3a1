// Package xaaclient is the requesting side of Cross App Access: ask for an
// ID-JAG with a token exchange (RFC 8693, ID-JAG draft §4.3), redeem it with
// the JWT bearer grant (RFC 7523, draft §4.4), and check that each answer is
// what the draft says it must be before using it.
//
// The wiki uses it against its own authorization server, and the wiki's
// authorization server uses the same code against the IdP. It must not
// depend on gin, gorm or any server.
package xaaclient
