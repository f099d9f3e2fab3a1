// Package codeflow keeps authorization codes and refresh tokens, and
// implements the two grants that redeem them (RFC 6749 §4.1.3 with PKCE
// RFC 7636 §4.6, and §6), for any server here that signs users in: the IdP
// and both apps' authorization servers. Only the issuing of tokens differs
// between them; that is the Issue function a server provides.
//
// Codes and refresh tokens are stored by SHA-256 digest, so a database dump
// holds nothing usable, and each is taken (read and deleted) in one
// transaction, so it works once.
package codeflow
