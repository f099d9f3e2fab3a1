package trace

// A StepID names what a request made in a chain run is for. Code records
// the id, and the values its words need (WithStep); what the console says
// of it is in one catalogue (package debugconsole), as for checks.
type StepID string

// The steps the wiki, the wiki AS and the console's scenarios name.
const (
	// StepDiscover reads an authorization server's metadata; one value:
	// the server, named for people.
	StepDiscover StepID = "discover"
	// StepExchange is the wiki's token exchange at its AS (ID token →
	// ID-JAG); values: the resource, named for people; the scope asked.
	StepExchange StepID = "exchange"
	// StepRelay is the wiki AS's token exchange at the IdP, for the wiki;
	// one value: the subject token's type (RFC 8693 §3).
	StepRelay StepID = "relay"
	// StepSAMLExchange is the wiki AS exchanging a SAML assertion for the
	// IdP's refresh token (the ID-JAG draft's SAML path).
	StepSAMLExchange StepID = "saml-exchange"
	// StepRedeem is the jwt-bearer grant at the todo AS (ID-JAG → access
	// token).
	StepRedeem StepID = "redeem"
	// StepAPIBearer and StepAPIDPoP are a call to the todo API with the
	// access token, as a Bearer token or bound to the wiki's key.
	StepAPIBearer StepID = "api-bearer"
	StepAPIDPoP   StepID = "api-dpop"
	// The console's attack scenarios: the same ID-JAG redeemed again, a
	// DPoP-bound token sent as Bearer, or with the attacker's own key.
	StepReplayIDJAG  StepID = "attack-replay-id-jag"
	StepStolenBearer StepID = "attack-stolen-bearer"
	StepStolenOwnKey StepID = "attack-stolen-own-key"
)

// Attack reports whether the step is one an attacker makes in the
// console's scenarios: the console draws it from the attacker, not from
// the app whose client sent it.
func (id StepID) Attack() bool {
	return id == StepReplayIDJAG || id == StepStolenBearer || id == StepStolenOwnKey
}

// Steps are every step id, for the catalogue's test.
var Steps = []StepID{StepDiscover, StepExchange, StepRelay, StepSAMLExchange, StepRedeem, StepAPIBearer, StepAPIDPoP,
	StepReplayIDJAG, StepStolenBearer, StepStolenOwnKey}
