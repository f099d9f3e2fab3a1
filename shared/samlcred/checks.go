package samlcred

import "xaa.example/shared/trace"

// The checks an IdP makes on a SAML assertion presented to it as a subject
// token (RFC 8693 token exchange, subject_token_type saml2; the ID-JAG
// draft's SAML section), in the order they run. The debug console says
// what each means.
const (
	CheckMarkup     trace.CheckID = "saml.markup"
	CheckSignature  trace.CheckID = "saml.signature"
	CheckIssuer     trace.CheckID = "saml.issuer"
	CheckConditions trace.CheckID = "saml.conditions"
	CheckAudience   trace.CheckID = "saml.audience"
	CheckSubject    trace.CheckID = "saml.subject"
	// CheckOnce: an assertion is exchanged for a refresh token once.
	CheckOnce trace.CheckID = "saml.once"
)
