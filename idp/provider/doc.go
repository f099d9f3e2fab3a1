// Package provider is the local enterprise identity provider: what Okta is
// in the real deployment, small enough to read in one sitting. It signs
// users in (OIDC authorization code with PKCE S256, refresh tokens, the
// device grant for agents), and issues ID-JAGs through the token exchange
// grant for the managed connections an admin has enabled
// (docs/PROTOCOL.md, checks E1 to E7).
//
// It serves Okta's org authorization server paths (/oauth2/v1/...) behind
// standard discovery, so relying parties cannot tell the two apart.
// It must not depend on the apps or their authorization servers.
//
// The provider wires the IdP's parts, each a package of its own:
//
//	idp/audit         the audit log (audit_events): every decision and change
//	idp/console       the admin console, whose changes the parts act on
//	idp/device        the device authorization grant (RFC 8628) for agents
//	idp/outbox        deliveries that retry (provisioning pushes, SETs)
//	idp/passkey       people's passkeys (WebAuthn) and their ceremonies
//	idp/provisioning  SCIM pushes to the apps
//	idp/samlidp       the SAML 2.0 IdP and the SAML apps it answers
//	idp/store         its people, organisations and managed connections
//	idp/throttle      password guessing slowed per account and address
//	idp/transmitter   the Shared Signals transmitter (streams, SETs)
//
// and keeps what is the IdP's own: sign-in (authorize.go, and with a
// passkey, passkeys.go), the token
// exchange and its SAML path (grant_tokenexchange.go, saml_exchange.go),
// and the reactions to an administrator's change (audit.go,
// provisioning.go, signals.go), which New gives the console in order.
package provider
