// Package sessions keeps browser sessions server side, in the service's
// own database: only a random token is in the cookie. Every service with
// sign-in pages uses it, the OpenID Provider core (op) among them.
//
// It must not depend on gin or on any OAuth flow.
package sessions
