package trace

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Redacted replaces a value that must never be shown.
const Redacted = "[redacted]"

// SignatureRemoved replaces a JWT's signature: what is left can be read and
// recognised, but not replayed.
const SignatureRemoved = "[signature removed]"

// secretParams are replaced whole. Opaque tokens and codes have nothing to
// decode, so nothing of them is shown.
var secretParams = []string{"client_secret", "password", "code", "code_verifier", "refresh_token"}

// tokenParams carry JWTs: shown decoded, without signature.
var tokenParams = []string{"subject_token", "actor_token", "assertion", "client_assertion", "access_token", "id_token"}

// shownHeaders are the headers worth reading; the rest is noise.
var shownHeaders = []string{"Authorization", "Content-Type", "Accept", "Cache-Control", "Www-Authenticate", "Location"}

func redactMessage(h http.Header, body []byte, contentType string) Message {
	var m Message
	for _, name := range shownHeaders {
		v := h.Get(name)
		if v == "" {
			continue
		}
		if name == "Authorization" {
			v = m.redactAuthorization(v)
		}
		m.Headers = append(m.Headers, [2]string{name, v})
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	switch {
	case len(body) == 0:
	case mediaType == "application/x-www-form-urlencoded":
		m.Body = m.redactForm(string(body))
	case mediaType == "application/json" || json.Valid(body):
		m.Body = m.redactJSON(body)
	default:
		m.Body = "(" + fmt.Sprint(len(body)) + " bytes of " + mediaType + ")"
	}
	return m
}

func (m *Message) redactAuthorization(v string) string {
	scheme, cred, _ := strings.Cut(v, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return "Basic " + Redacted
		}
		id, _, _ := strings.Cut(string(raw), ":")
		id, _ = url.QueryUnescape(id)
		return "Basic " + Redacted + " (client_id " + id + ", secret hidden)"
	case "bearer":
		return "Bearer " + m.token("Authorization: Bearer", cred)
	}
	return scheme + " " + Redacted
}

func (m *Message) redactForm(body string) string {
	form, err := url.ParseQuery(body)
	if err != nil {
		return Redacted + " (unparseable form)"
	}
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range form[k] {
			switch {
			case slices.Contains(secretParams, k):
				v = Redacted
			case slices.Contains(tokenParams, k):
				v = m.token(k, v)
			}
			// A line break in a name or value would start a line of its own
			// that reads like another parameter.
			fmt.Fprintf(&b, "%s=%s\n", lineBreaks.Replace(k), lineBreaks.Replace(v))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

var lineBreaks = strings.NewReplacer("\r", `\r`, "\n", `\n`)

func (m *Message) redactJSON(body []byte) string {
	// A name written with \u escapes would hide from mentionsAny.
	if !mentionsAny(body, secretParams) && !mentionsAny(body, tokenParams) &&
		!bytes.Contains(body, []byte(`\u`)) && json.Valid(body) {
		// Nothing to hide (a todo list, say): keep it as it came, and
		// indent it when the console reads it.
		m.compactJSON = true
		return string(body)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return Redacted + " (unparseable JSON)"
	}
	v = m.walk("", v)
	out, _ := json.MarshalIndent(v, "", "  ")
	return string(out)
}

// mentionsAny reports whether a JSON body has any of names as a string,
// which any member so named is.
func mentionsAny(body []byte, names []string) bool {
	for _, name := range names {
		if bytes.Contains(body, []byte(`"`+name+`"`)) {
			return true
		}
	}
	return false
}

func (m *Message) walk(key string, v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			t[k] = m.walk(k, val)
		}
		return t
	case []any:
		for i := range t {
			t[i] = m.walk(key, t[i])
		}
		return t
	case string:
		switch {
		case slices.Contains(secretParams, key):
			return Redacted
		case slices.Contains(tokenParams, key):
			return m.token(key, t)
		}
	}
	return v
}

// token records a JWT in m.Tokens and returns it without its signature;
// anything that is not a JWT is hidden whole. Only the shape is checked
// here, on the request's path; the token is decoded for reading when the
// console asks for it (Token.decode), which most recorded steps never are.
func (m *Message) token(where, raw string) string {
	header, payload, ok := jwtParts(raw)
	if !ok {
		return Redacted
	}
	tok := Token{Where: where, Shown: header + "." + payload + "." + SignatureRemoved}
	m.Tokens = append(m.Tokens, tok)
	return tok.Shown
}

// jwtParts returns a compact JWS's header and payload if raw is one: three
// dot-separated parts, the first a base64url JSON object, the second
// base64url. Anything else is a secret of some other shape.
func jwtParts(raw string) (header, payload string, ok bool) {
	header, rest, ok1 := strings.Cut(raw, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") || payload == "" ||
		strings.Trim(payload, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return "", "", false
	}
	hb, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil || len(hb) == 0 || hb[0] != '{' || !json.Valid(hb) {
		return "", "", false
	}
	return header, payload, true
}

// Token is a JWT seen in a message. Where and Shown are recorded with the
// step; Kind, Header and Claims are decoded when the step is read.
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

// decode fills in what the token says, from Shown; a token that does not
// decode is described as such.
func (t *Token) decode() {
	if t.Kind != "" {
		return // decoded already
	}
	parts := strings.SplitN(t.Shown, ".", 3)
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
}

// Token kinds whose claims read differently.
const (
	kindIDJAG  = "id-jag"
	kindAccess = "access"
	kindID     = "id"
)

// tokenKind tells an ID-JAG, an access token and an ID token apart by
// their typ (RFC 9068 §2.1, draft §3), an ID token by its claims.
func tokenKind(typ string, claims map[string]any) string {
	switch strings.ToLower(typ) {
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
		t := time.Unix(int64(f), 0).UTC()
		return fmt.Sprintf("%d (%s)", int64(f), t.Format("2006-01-02 15:04:05 UTC"))
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var order = []string{"iss", "sub", "aud", "client_id", "scope", "resource", "jti", "iat", "nbf", "exp", "auth_time", "email", "name", "nonce", "amr", "tenant"}

func claimOrder(name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

var claimMeanings = map[string]string{
	"iss":            "issuer: the server that made and signed this token",
	"sub":            "subject: the user, as the issuer identifies them",
	"aud":            "audience: who must accept this token; anyone else must refuse it",
	"client_id":      "the client that may use this token (for an ID-JAG: the requesting app's id at the resource AS)",
	"scope":          "what the token allows",
	"resource":       "the protected resource the access is for (RFC 8707)",
	"jti":            "unique id of this token",
	"iat":            "issued at",
	"nbf":            "not valid before",
	"exp":            "expires at",
	"auth_time":      "when the user last signed in at the IdP",
	"email":          "the user's email, used to find or create their account",
	"email_verified": "whether the IdP verified the email",
	"name":           "the user's display name",
	"nonce":          "binds the ID token to the sign-in request that asked for it",
	"amr":            "how the user authenticated (pwd: password)",
	"tenant":         "the IdP tenant (org) the user belongs to",
}

// Message is a request or response as recorded, already redacted.
type Message struct {
	Headers [][2]string `json:"headers,omitempty"`
	Body    string      `json:"body,omitempty"`
	Tokens  []Token     `json:"tokens,omitempty"`

	compactJSON bool // Body is JSON still to be indented for reading
}

// prepare makes a recorded message readable: JSON indented, tokens decoded.
func (m *Message) prepare() {
	if m.compactJSON {
		var b bytes.Buffer
		if json.Indent(&b, []byte(m.Body), "", "  ") == nil {
			m.Body = b.String()
		}
		m.compactJSON = false
	}
	for i := range m.Tokens {
		m.Tokens[i].decode()
	}
}

// RequestText is the request as an HTTP message: start line, headers, body.
func (s Step) RequestText() string { return httpText(s.Method+" "+s.URL, s.Request) }

// ResponseText is the response as an HTTP message.
func (s Step) ResponseText() string { return httpText(fmt.Sprintf("HTTP %d", s.Status), s.Response) }

func httpText(first string, m Message) string {
	var b strings.Builder
	b.WriteString(first)
	for _, h := range m.Headers {
		b.WriteString("\n" + h[0] + ": " + h[1])
	}
	if m.Body != "" {
		b.WriteString("\n\n" + m.Body)
	}
	return b.String()
}
