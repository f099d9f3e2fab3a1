// Package scim is a SCIM 2.0 service provider (RFC 7643, RFC 7644) for the
// accounts of an authorization server: an IdP creates a person's account
// ahead of time, with externalId = its user id (the sub of its ID-JAGs),
// changes it, deactivates it (active false) and deletes it. A resource with
// no sign-in page (an MCP server) then knows who an ID-JAG is about with no
// email in it and no earlier sign-in.
//
// github.com/elimity-com/scim speaks the protocol: routing, the discovery
// documents, schema validation of every body, filter parsing, the PATCH
// forms Okta and Entra ID send, SCIM's error format. This package adds who
// may do what (a bearer token per client, each client reaching only the
// accounts of its own issuer, tenant and email domains) and turns SCIM's
// resources into Accounts, an interface its user implements over its own
// tables.
//
// It must not depend on gin, gorm or any one server's tables.
package scim
