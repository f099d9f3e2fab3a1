// Package jwks fetches and caches another server's public keys, found by
// OpenID Connect / RFC 8414 discovery from its issuer identifier.
//
// Keys are fetched once and cached; an unknown kid triggers a refetch, at
// most once per MinRefresh, so that a flood of tokens with made-up kids
// cannot turn this server into a load generator against the issuer.
//
// It must not depend on any OAuth grant or on storage.
package jwks
