package trace

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
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
var shownHeaders = []string{"Authorization", "Dpop", "Dpop-Nonce", "Content-Type", "Accept", "Cache-Control", "Www-Authenticate", "Location"}

func redactMessage(h http.Header, body []byte, contentType string) Message {
	var m Message
	for _, name := range shownHeaders {
		v := h.Get(name)
		if v == "" {
			continue
		}
		switch name {
		case "Authorization":
			v = m.redactAuthorization(v)
		case "Dpop":
			// A DPoP proof (RFC 9449 §4): shown without its signature,
			// like any token, and decoded for the console.
			v = m.token("DPoP proof", v)
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
	case "dpop":
		return "DPoP " + m.token("Authorization: DPoP", cred)
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
			case k == "subject_token" && form.Get("subject_token_type") == samlTokenType:
				v = m.samlAssertion(k, v)
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

// samlTokenType is RFC 8693's token type of a SAML 2.0 assertion.
const samlTokenType = "urn:ietf:params:oauth:token-type:saml2"

// signatureParts are the elements of an XML signature whose contents would
// let the assertion be presented again: removed, as a JWT's signature is.
var signatureParts = regexp.MustCompile(`(?s)(<(?:[A-Za-z0-9_]+:)?(?:SignatureValue|DigestValue|X509Certificate)\b[^>]*>).*?(</(?:[A-Za-z0-9_]+:)?(?:SignatureValue|DigestValue|X509Certificate)>)`)

// samlAssertion records a SAML assertion sent as a subject token (base64url
// XML, RFC 8693 §3) with its signature's values removed, for the console
// to show; the form shows that it was there.
func (m *Message) samlAssertion(where, raw string) string {
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		if b, err = base64.StdEncoding.DecodeString(raw); err != nil {
			return Redacted
		}
	}
	if !strings.HasPrefix(strings.TrimSpace(string(b)), "<") {
		return Redacted
	}
	elided := signatureParts.ReplaceAllString(string(limit(b)), "${1}"+SignatureRemoved+"${2}")
	m.Tokens = append(m.Tokens, Token{Where: where, SAML: elided})
	return "[SAML assertion, " + SignatureRemoved + "]"
}

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

// Token is a JWT seen in a message, its signature removed: where it was
// and what is left of it. What it is and what its claims mean is the
// console's to say (debugconsole.DecodeToken).
type Token struct {
	Where string // the parameter or header it was found in
	Shown string // header.payload without signature
	// SAML is a SAML assertion's XML, its signature values removed, when
	// the token is one and not a JWT.
	SAML string `json:",omitempty"`
}

// Message is a request or response as recorded, already redacted.
type Message struct {
	Headers [][2]string `json:"headers,omitempty"`
	Body    string      `json:"body,omitempty"`
	Tokens  []Token     `json:"tokens,omitempty"`

	compactJSON bool // Body is JSON still to be indented for reading
}

// prepare makes a recorded message readable: JSON indented.
func (m *Message) prepare() {
	if m.compactJSON {
		var b bytes.Buffer
		if json.Indent(&b, []byte(m.Body), "", "  ") == nil {
			m.Body = b.String()
		}
		m.compactJSON = false
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
