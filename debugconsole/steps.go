package debugconsole

import (
	"strings"

	"xaa.example/shared/oauth"
	"xaa.example/shared/trace"
)

// stepText is what the console says of a step of the chain: its title and
// a sentence on what it is for. {1}, {2}… are the values the step was
// recorded with (trace.WithStep).
type stepText struct {
	Title   string
	Explain string
}

// stepTexts are the console's words for every step the services name. A
// step is recorded by its id alone (trace.StepID); what it means is said
// here, once, as for checks (checkTexts).
var stepTexts = map[trace.StepID]stepText{
	trace.StepDiscover: {"Discover {1}",
		"Authorization server metadata (RFC 8414, else OpenID Connect discovery): where the server's token endpoint and keys are, and how clients authenticate there. Fetched once, then kept."},
	trace.StepExchange: {"Exchange the ID token for an ID-JAG",
		"Token exchange (RFC 8693) at the wiki's authorization server, which forwards it to the IdP. The IdP checks whether an administrator connected the wiki to {1} and, only if so, signs an ID-JAG for it, with at most the scopes the connection allows (asked for: {2})."},
	trace.StepRelay: {"Ask the IdP for an ID-JAG with {1}",
		"The wiki's authorization server sends the same token exchange to the enterprise IdP, with {1} as the subject token and its own client credentials there."},
	trace.StepSAMLExchange: {"Exchange the SAML assertion for a refresh token",
		"The ID-JAG draft's SAML path: the wiki AS presents the signed assertion to the IdP (token exchange, subject_token_type saml2) and gets a refresh token, which it uses later as the subject token of its ID-JAG requests."},
	trace.StepRedeem: {"Redeem the ID-JAG for an access token",
		"JWT bearer grant (RFC 7523) at the todo authorization server. It verifies the ID-JAG's signature with the IdP's keys, its audience, lifetime, client and single use, maps the user, and issues an access token for the todo API."},
	trace.StepAPIBearer: {"Call the todo API with the access token",
		"An ordinary API call with the access token as a Bearer token. The todo API checks the token's signature, issuer, audience, expiry and scope."},
	trace.StepAPIDPoP: {"Call the todo API with the access token and a DPoP proof",
		"The access token is bound to the wiki's key: it goes as Authorization: DPoP with a fresh proof for this request (RFC 9449). The todo API checks the token, then the proof: its key is the token's cnf.jkt, its htm and htu this request, its ath this token."},
	trace.StepReplayIDJAG: {"Redeem the same ID-JAG again",
		"An attacker who copied the ID-JAG tries it a second time."},
	trace.StepStolenBearer: {"Use the token as a Bearer token",
		"An attacker who copied the access token, but not the wiki's key, sends it as a bearer token."},
	trace.StepStolenOwnKey: {"Use the token with the attacker's own key",
		"The attacker signs a DPoP proof with a key of their own: its thumbprint is not the token's cnf.jkt."},
}

// tokenTypeNames name the subject tokens a step may carry.
var tokenTypeNames = map[string]string{
	oauth.TokenTypeIDToken:      "the user's ID token from the IdP",
	oauth.TokenTypeRefreshToken: "the IdP refresh token given for the SAML sign-in",
	oauth.TokenTypeSAML2:        "the SAML assertion of the sign-in",
}

// stepWords are the console's title and sentence for a step the sender
// named, its values put in; "" for a step it does not know (a newer
// service), which is then named by what it asks for.
func stepWords(s trace.Step) (title, explain string) {
	t, ok := stepTexts[s.StepID]
	if !ok {
		return "", ""
	}
	fill := func(text string) string {
		for i, v := range s.Vars {
			if name, ok := tokenTypeNames[v]; ok {
				v = name
			}
			text = strings.ReplaceAll(text, "{"+string(rune('1'+i))+"}", v)
		}
		return text
	}
	return fill(t.Title), fill(t.Explain)
}
