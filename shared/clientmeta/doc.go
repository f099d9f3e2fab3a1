// Package clientmeta lets an authorization server accept clients it has
// never registered: a client whose client_id is an https URL is described
// by the JSON document at that URL, its Client ID Metadata Document
// (draft-ietf-oauth-client-id-metadata-document). MCP's Enterprise-Managed
// Authorization allows it for clients redeeming ID-JAGs; the ID-JAG draft
// (§ Cross-Domain Client ID Handling) notes that such URLs are one global
// namespace of client ids, so the IdP needs no per-server mapping.
//
// Fetching a URL a caller chose is a server-side request forgery risk
// (CIMD, Security Considerations, SSRF): documents come only from public
// addresses over https (local development names its hosts), never through
// a redirect, within a size and time bound, and a document that failed is
// not fetched again for a while. Documents are cached as their
// Cache-Control says, between bounds.
//
// It depends on oauth's client types and go-jose, never on gin or gorm.
package clientmeta
