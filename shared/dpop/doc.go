// Package dpop is OAuth 2.0 Demonstrating Proof of Possession (RFC 9449)
// for every party here: a client signs a proof for each request with a key
// of its own (Signer), and a server checks it (Verifier, §4.3) and learns
// the key's thumbprint (RFC 7638), which a token's cnf.jkt binds it to
// (§6). A token bound so is worth nothing to someone who copied it without
// the key.
//
// Servers may ask for a nonce of theirs in every proof (§8, §9: Nonces);
// proofs are single use per key (jti, remembered in a replay.Store).
//
// It must not depend on gin, gorm or any server.
package dpop
