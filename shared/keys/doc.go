// Package keys keeps a service's JWT signing keys: generated once, persisted
// in the service's own database so that tokens survive a restart, published
// as a JWKS, and used to sign and to verify the service's own tokens.
//
// It depends on gorm for persistence and go-jose for the key formats; it must
// not depend on any OAuth flow.
package keys
