package debugconsole

import (
	"strconv"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/exchange"
	"xaa.example/shared/idjag"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
	"xaa.example/shared/samlcred"
	"xaa.example/shared/trace"
	"xaa.example/shared/xaaclient"
)

// checkText is what the console says of a check: its number in
// docs/PROTOCOL.md (T for every token endpoint, W the wiki AS's relay, E
// the IdP's exchange, R the todo AS's redeeming, A the API, S SAML) and
// what it verifies.
type checkText struct {
	Number string
	Title  string
}

// checkTexts are the console's words for every check the servers report.
// A check is recorded by its ID alone (trace.CheckID); what it means is
// said here, once.
var checkTexts = map[trace.CheckID]checkText{
	oauth.CheckClientAuth:   {"T1", "client authentication"},
	oauth.CheckGrantType:    {"T2", "the client may use this grant type"},
	oauth.CheckScopePolicy:  {"T3", "the scope asked for is one the client may have"},
	oauth.CheckSubjectToken: {"W1", "subject token: an ID token of this server, issued to this client, unexpired"},
	oauth.CheckDPoPProof:    {"T4", "DPoP proof (RFC 9449 §4.3): typ dpop+jwt, asymmetric alg, public jwk, signature, htm and htu of this request, fresh iat, jti used once"},

	idjag.CheckShape:     {"R1", "one assertion, a compact JWS of sane size"},
	idjag.CheckType:      {"R2", "typ is oauth-id-jag+jwt"},
	idjag.CheckAlgorithm: {"R3", "alg on the issuer's allow-list; key chosen by kid from its JWKS"},
	idjag.CheckIssuer:    {"R4", "iss is a trusted IdP"},
	idjag.CheckSignature: {"R5", "signature verifies"},
	idjag.CheckAudience:  {"R6", "aud is exactly this authorization server"},
	idjag.CheckClaims:    {"R7", "exp, iat, jti, sub, client_id present; times within skew and lifetime"},
	idjag.CheckClient:    {"R8", "client_id is the authenticated client"},
	idjag.CheckReplay:    {"R9", "jti not used before (single use)"},

	jwtbearer.CheckResource:             {"R10", "resource governed here"},
	jwtbearer.CheckScope:                {"R11", "scope: requested ∩ ID-JAG ∩ client's allowed"},
	jwtbearer.CheckSubject:              {"R12", "subject maps to a local account"},
	jwtbearer.CheckProof:                {"R13", "key binding: an ID-JAG bound to a key (cnf.jkt) only with a DPoP proof of it; a proof binds the access token"},
	jwtbearer.CheckAuthorizationDetails: {"R15", "authorization_details (RFC 9396): of types this server knows; the access token carries them"},
	jwtbearer.CheckStepUp:               {"R14", "step-up: the ID-JAG's acr and auth_time are as strong and recent as this server asks for these scopes"},

	exchange.CheckRequest:              {"E1", "request: requested_token_type id-jag, subject_token_type supported, audience present"},
	exchange.CheckSubject:              {"E2", "subject token: issued by this IdP, to this client, unexpired, user active"},
	exchange.CheckAudience:             {"E3", "audience is a known resource authorization server"},
	exchange.CheckResource:             {"E4", "resource is governed by that authorization server"},
	exchange.CheckConnection:           {"E5", "an enabled managed connection from this app to that one"},
	exchange.CheckScope:                {"E6", "scopes narrowed to what the connection allows"},
	exchange.CheckKeyBinding:           {"E7", "the ID-JAG is bound to the key of the request's DPoP proof (cnf.jkt)"},
	exchange.CheckAuthorizationDetails: {"E9", "authorization_details (RFC 9396): of a known type, and within the actions the connection allows"},
	exchange.CheckStepUp:               {"E8", "step-up: the person's sign-in is as strong (acr) and recent (auth_time) as the connection asks for these scopes"},

	samlcred.CheckMarkup:     {"S1", "SAML assertion: base64, at most 64 KiB, no DTD, entity, comment or processing instruction, a SAML 2.0 Assertion"},
	samlcred.CheckSignature:  {"S2", "XML signature by this IdP's SAML certificate; only the signed element is read (no signature wrapping)"},
	samlcred.CheckIssuer:     {"S3", "Issuer is this IdP's SAML entity ID"},
	samlcred.CheckConditions: {"S4", "Conditions NotBefore and NotOnOrAfter hold now (1 min of clock skew)"},
	samlcred.CheckAudience:   {"S5", "Audience is a service provider this client speaks for (the draft maps the SP to a client)"},
	samlcred.CheckSubject:    {"S6", "persistent NameID is an active person of this IdP"},
	samlcred.CheckOnce:       {"S7", "assertion exchanged for a refresh token once"},

	xaaclient.CheckIdPToken: {"W2", "the user's ID token from the IdP, kept since sign-in (refreshed when expired)"},
	xaaclient.CheckIssued:   {"W3", "the IdP issued an ID-JAG"},

	accesstoken.CheckToken:                {"A1", "access token: typ at+jwt, signed by the authorization server, aud this resource, unexpired"},
	accesstoken.CheckScope:                {"A4", "the token grants the scope this call needs"},
	accesstoken.CheckAuthorizationDetails: {"A6", "authorization_details (RFC 9396): the token's fine-grained grant allows this call's action"},
	accesstoken.CheckStepUp:               {"A5", "step-up: the sign-in behind the token (acr, auth_time) is as strong and recent as this call needs"},
	accesstoken.CheckProof:                {"A2", "a bound token comes as DPoP, with a proof of its key for this request (htm, htu, ath, fresh, used once)"},
	accesstoken.CheckRevoked:              {"A3", "not revoked: no Shared Signals event from the IdP (account disabled, session revoked, claims changed) has ended the person's or the app's access since the token was issued"},
}

// checkLabel names a check for the console: "R3 · alg on the issuer's
// allow-list…", or its ID when the console does not know it (a newer
// service), so that nothing is hidden.
func checkLabel(c trace.Check) string {
	t, ok := checkTexts[c.ID]
	switch {
	case !ok:
		return string(c.ID)
	case t.Number != "":
		return t.Number + " · " + t.Title
	}
	return t.Title
}

// runOrderNote explains a list of checks that is not in its numbers'
// order: the console lists checks as the server ran them, and a reader
// who sees R1, R4, R3, R5 … R13, R9 would otherwise take it for a
// mistake. "" when the order is the numbers'.
func runOrderNote(checks []trace.Check) string {
	last, prefix := 0, ""
	inOrder := true
	for _, c := range checks {
		t, ok := checkTexts[c.ID]
		if !ok || len(t.Number) < 2 {
			continue
		}
		n, err := strconv.Atoi(t.Number[1:])
		if err != nil {
			continue
		}
		if t.Number[:1] == prefix && n < last {
			inOrder = false
		}
		prefix, last = t.Number[:1], n
	}
	if inOrder {
		return ""
	}
	note := "Listed in the order the server ran them, which is not their numbers' order: docs/PROTOCOL.md numbers them as the specifications list them."
	for _, c := range checks {
		if c.ID == idjag.CheckReplay {
			note += " The issuer (R4) is found first because its keys decide the algorithm (R3) and the signature (R5); single use (R9) runs last, after this server's own checks, so that a refused grant spends no jti."
			break
		}
	}
	return note
}
