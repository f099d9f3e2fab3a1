// Package provider is the local enterprise identity provider: what Okta is
// in the real deployment, small enough to read in one sitting. It signs
// users in (OIDC authorization code with PKCE S256, refresh tokens), and
// issues ID-JAGs through the token exchange grant for the managed
// connections an admin has enabled (docs/PROTOCOL.md, checks E1 to E7).
//
// It serves Okta's org authorization server paths (/oauth2/v1/...) behind
// standard discovery, so relying parties cannot tell the two apart.
// It must not depend on the apps or their authorization servers.
package provider
