package oauth

import "strings"

import "encoding/json"

// Grant types.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange" // RFC 8693
	GrantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"     // RFC 7523
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"    // RFC 8628
)

// Token type identifiers (RFC 8693 §3 and the ID-JAG draft §4.3).
const (
	TokenTypeIDJAG        = "urn:ietf:params:oauth:token-type:id-jag"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	// A SAML 2.0 assertion, base64url (RFC 8693 §3).
	TokenTypeSAML2 = "urn:ietf:params:oauth:token-type:saml2"
)

// ProfileIDJAG is advertised in authorization_grant_profiles_supported by a
// resource authorization server (ID-JAG draft §7.2).
const ProfileIDJAG = "urn:ietf:params:oauth:grant-profile:id-jag"

// JWT "typ" header values (RFC 8725 §3.11 explicit typing).
const (
	TypIDJAG       = "oauth-id-jag+jwt"
	TypAccessToken = "at+jwt" // RFC 9068 §2.1
	TypJWT         = "JWT"
)

// TokenResponse is the success body of the token endpoint (RFC 6749 §5.1,
// RFC 8693 §2.2.1).
type TokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in,omitempty"`
	Scope           string `json:"scope,omitempty"`
	// Resource granted (RFC 8707; ID-JAG draft §4.4.1 asks for it).
	Resource     StringList `json:"resource,omitempty"`
	RefreshToken string     `json:"refresh_token,omitempty"`
	IDToken      string     `json:"id_token,omitempty"`
}

// ParamRequestedCnf is the token request parameter by which a relaying
// client asks for a grant bound to a key its own client proved to it
// (identity chaining draft, Delegated Key Binding: requested_cnf).
const ParamRequestedCnf = "requested_cnf"

// Confirmation is a token's cnf claim (RFC 7800 §3.1): here the JWK
// SHA-256 thumbprint of the key it is bound to (RFC 9449 §6.1).
type Confirmation struct {
	JKT string `json:"jkt"`
}

// StringList is a JSON value that is either one string or an array of
// strings (RFC 8707 §2 resource, RFC 7519 aud).
type StringList []string

func (s StringList) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

func (s *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// TypIs reports whether a JWS typ header names the media type want
// (RFC 7515 §4.1.9): media types compare without regard to case (RFC 2045
// §5.1), and "application/" may be left out. Parameters are not accepted.
func TypIs(typ, want string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, want)
}
