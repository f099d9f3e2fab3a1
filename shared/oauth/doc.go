// Package oauth holds the pieces of RFC 6749 every authorization server in
// this repository shares: the error type and its JSON writer, client
// registration and authentication, PKCE (RFC 7636), scope sets, and the token
// endpoint that authenticates the client once and dispatches on grant_type.
//
// It must not depend on gin, gorm or any one server's storage: grants and
// client stores are small interfaces implemented elsewhere.
package oauth
