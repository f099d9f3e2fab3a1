package debugconsole

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/dpop"
	"xaa.example/shared/trace"
)

// Token is a JWT a step carried, as the console shows it: what kind of
// token it is, its header, and each claim with what it means there. The
// services record only where it was and its header and payload
// (trace.Token); the words are said here.
type Token struct {
	Where  string // the parameter or header it was found in
	Shown  string // header.payload without signature
	Kind   string // what it is, in words
	Header string // pretty JSON
	Claims []Claim
}

// Claim is one decoded claim with what it means.
type Claim struct {
	Name    string
	Value   string
	Meaning string
}

// DecodeToken says what a recorded token is and what its claims mean; a
// token that does not decode is described as such.
func DecodeToken(rec trace.Token) Token {
	t := Token{Where: rec.Where, Shown: rec.Shown}
	if rec.SAML != "" {
		t.decodeSAML(rec.SAML)
		return t
	}
	t.decode()
	return t
}

// decodeSAML shows a SAML assertion as indented XML (its signature values
// already removed) and explains what the receiver reads in it: who issued
// it, whom it names, for whom and until when it holds, what it says.
func (t *Token) decodeSAML(x string) {
	t.Kind = "SAML 2.0 assertion: the IdP's signed statement of who signed in"
	doc := etree.NewDocument()
	if err := doc.ReadFromString(x); err != nil || doc.Root() == nil {
		t.Kind = "Not readable XML"
		return
	}
	doc.Indent(2)
	t.Header, _ = doc.WriteToString()
	root := doc.Root()
	text := func(path string) string {
		if el := root.FindElement(path); el != nil {
			return strings.TrimSpace(el.Text())
		}
		return ""
	}
	attr := func(path, name string) string {
		if el := root.FindElement(path); el != nil {
			return el.SelectAttrValue(name, "")
		}
		return ""
	}
	add := func(name, value, meaning string) {
		if value != "" {
			t.Claims = append(t.Claims, Claim{Name: name, Value: value, Meaning: meaning})
		}
	}
	add("Issuer", text("./Issuer"), "the IdP's entity ID: whose signature the receiver checks")
	add("NameID", text("./Subject/NameID"), "the person, as the IdP names them; persistent: the IdP's user id, like an ID token's sub")
	add("Audience", text("./Conditions/AudienceRestriction/Audience"), "the service provider it is for (its entity ID); the IdP maps it to the client allowed to exchange it")
	add("NotBefore", attr("./Conditions", "NotBefore"), "not valid before")
	add("NotOnOrAfter", attr("./Conditions", "NotOnOrAfter"), "valid until: minutes, which is why the draft exchanges it for a refresh token")
	add("Recipient", attr("./Subject/SubjectConfirmation/SubjectConfirmationData", "Recipient"), "the assertion consumer service it was sent to")
	add("InResponseTo", attr("./Subject/SubjectConfirmation/SubjectConfirmationData", "InResponseTo"), "the AuthnRequest it answers")
	add("AuthnInstant", attr("./AuthnStatement", "AuthnInstant"), "when the person signed in at the IdP")
	for _, a := range root.FindElements("./AttributeStatement/Attribute") {
		name := a.SelectAttrValue("FriendlyName", a.SelectAttrValue("Name", ""))
		if v := a.FindElement("./AttributeValue"); v != nil {
			add("attribute "+name, strings.TrimSpace(v.Text()), "what the IdP says of the person")
		}
	}
}

func (t *Token) decode() {
	parts := strings.SplitN(t.Shown, ".", 3)
	if len(parts) < 2 {
		t.Kind = "Not a JWT (its header or claims are not base64url JSON)"
		return
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	var header, claims map[string]any
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Kind = "Not a JWT (its header or claims are not base64url JSON)"
		return
	}
	pretty, _ := json.MarshalIndent(header, "", "  ")
	t.Header = string(pretty)
	typ, _ := header["typ"].(string)
	kind := tokenKind(typ, claims)
	t.Kind = kindNames[kind]
	names := make([]string, 0, len(claims))
	for k := range claims {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return claimOrder(names[i]) < claimOrder(names[j]) })
	for _, k := range names {
		meaning := claimMeanings[k]
		if m, ok := kindMeanings[kind][k]; ok {
			meaning = m
		}
		t.Claims = append(t.Claims, Claim{Name: k, Value: claimValue(k, claims[k]), Meaning: meaning})
	}
	if kind == kindDPoP {
		// The key's thumbprint, which the bound tokens' cnf.jkt must equal
		// (RFC 9449 §6.1): the presenter shows the three side by side.
		jwk, _ := json.Marshal(header["jwk"])
		var k jose.JSONWebKey
		if json.Unmarshal(jwk, &k) == nil {
			if jkt, err := dpop.Thumbprint(&k); err == nil {
				t.Claims = append(t.Claims, Claim{Name: "jwk thumbprint", Value: jkt,
					Meaning: "computed here from the header's jwk (RFC 7638): a token bound to this key carries it as cnf.jkt"})
			}
		}
	}
}

// Token kinds whose claims read differently.
const (
	kindDPoP   = "dpop"
	kindIDJAG  = "id-jag"
	kindAccess = "access"
	kindID     = "id"
)

// tokenKind tells an ID-JAG, an access token and an ID token apart by
// their typ (RFC 9068 §2.1, draft §3), an ID token by its claims.
func tokenKind(typ string, claims map[string]any) string {
	switch strings.ToLower(typ) {
	case "dpop+jwt":
		return kindDPoP
	case "oauth-id-jag+jwt":
		return kindIDJAG
	case "at+jwt", "application/at+jwt":
		return kindAccess
	}
	_, nonce := claims["nonce"]
	_, email := claims["email"]
	if nonce || email {
		return kindID
	}
	return ""
}

// kindNames say what each kind of token is, in words.
var kindNames = map[string]string{
	kindDPoP:   "DPoP proof (RFC 9449): the sender holds the key in its header",
	kindIDJAG:  "ID-JAG (Identity Assertion JWT Authorization Grant)",
	kindAccess: "Access token (RFC 9068 JWT)",
	kindID:     "ID token (OpenID Connect)",
	"":         "JWT",
}

// kindMeanings are what a claim means in one kind of token, where that
// differs from claimMeanings: a jti is single use in an ID-JAG (check 9),
// not in an access token; an ID-JAG's aud is an authorization server, an
// access token's a resource, an ID token's a client.
var kindMeanings = map[string]map[string]string{
	kindDPoP: {
		"jti":   "unique id: the receiver remembers it, so this proof works once",
		"iat":   "when it was made: the receiver takes it for about a minute",
		"htm":   "the HTTP method of the one request it is for",
		"htu":   "the URL of the one request it is for (no query, no fragment)",
		"ath":   "hash of the access token sent with it: the proof and the token go together",
		"nonce": "the receiver's nonce (DPoP-Nonce), when it asks for one",
	},
	kindIDJAG: {
		"iss":       "issuer: the enterprise IdP that vouches for the user",
		"sub":       "subject: the user at the IdP, the same id the IdP gives the resource's AS at sign-in",
		"aud":       "audience: the resource's authorization server, the only one that may redeem this ID-JAG",
		"client_id": "the requesting app's client id at the resource's authorization server, which must be the client redeeming it",
		"scope":     "the scopes the admin's connection allows, at most: the resource AS grants no more",
		"jti":       "unique id: the resource AS remembers it, so this ID-JAG can be redeemed once (check 9)",
		"exp":       "expires at: ID-JAGs live minutes (Okta: 5), long enough to be redeemed at once",
		"email":     "the user's email, which the resource AS may use to find or create their account",
	},
	kindAccess: {
		"iss":       "issuer: the resource's authorization server, which the API trusts",
		"sub":       "subject: the user's account at the resource",
		"aud":       "audience: the API this token is for; another API must refuse it",
		"client_id": "the app calling the API on the user's behalf",
		"scope":     "what the API lets this token do (RFC 9068)",
		"jti":       "unique id of this access token, for logs and revocation; it may be used again until it expires",
		"exp":       "expires at: until then the API accepts it, whatever the admin changes meanwhile",
	},
	kindID: {
		"iss":   "issuer: the server the user signed in at",
		"sub":   "subject: the user at that server",
		"aud":   "audience: the app the user signed in to (its client id)",
		"jti":   "unique id of this ID token",
		"exp":   "expires at: after that the app refreshes it before using it as a subject token",
		"nonce": "binds this ID token to the sign-in request that asked for it",
	},
}

func claimValue(name string, v any) string {
	if f, ok := v.(float64); ok && (name == "exp" || name == "iat" || name == "nbf" || name == "auth_time") {
		if f != math.Trunc(f) {
			// A time with its milliseconds (an access token's iat).
			t := time.UnixMilli(int64(math.Round(f * 1000))).UTC()
			return fmt.Sprintf("%.3f (%s)", f, t.Format("2006-01-02 15:04:05.000 UTC"))
		}
		t := time.Unix(int64(f), 0).UTC()
		return fmt.Sprintf("%d (%s)", int64(f), t.Format("2006-01-02 15:04:05 UTC"))
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var order = []string{"htm", "htu", "ath", "iss", "sub", "aud", "client_id", "scope", "resource", "cnf", "jti", "iat", "nbf", "exp", "auth_time", "email", "name", "nonce", "amr", "acr", "aud_sub", "authorization_details", "tenant"}

func claimOrder(name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

var claimMeanings = map[string]string{
	"iss":                   "issuer: the server that made and signed this token",
	"sub":                   "subject: the user, as the issuer identifies them",
	"aud":                   "audience: who must accept this token; anyone else must refuse it",
	"client_id":             "the client that may use this token (for an ID-JAG: the requesting app's id at the resource AS)",
	"scope":                 "what the token allows",
	"resource":              "the protected resource the access is for (RFC 8707)",
	"jti":                   "unique id of this token",
	"iat":                   "issued at",
	"nbf":                   "not valid before",
	"exp":                   "expires at",
	"auth_time":             "when the user last signed in at the IdP",
	"email":                 "the user's email, used to find or create their account",
	"email_verified":        "whether the IdP verified the email",
	"name":                  "the user's display name",
	"nonce":                 "binds the ID token to the sign-in request that asked for it",
	"amr":                   "how the user authenticated, RFC 8176 (pwd: a password; hwk: a key held in an authenticator, a passkey; user: the person was present; mfa: more than one of these)",
	"acr":                   "how sure the IdP is of who signed in (phr: phishing-resistant, a passkey was used; urn:xaa:acr:pwd: a password alone)",
	"tenant":                "the IdP tenant (org) the user belongs to",
	"authorization_details": "fine-grained grants (RFC 9396): for type todo, the actions (read, create, complete) the app may take on the person's todos",
	"aud_sub":               "the resource authorization server's own id for the person, which the IdP learned when it provisioned them (ID-JAG draft §3); read first to find their account",
	"cnf":                   "confirmation: the key this token is bound to (jkt, its thumbprint); it works only with a DPoP proof of that key",
}
