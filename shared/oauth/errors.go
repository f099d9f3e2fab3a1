package oauth

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is an OAuth 2.0 error response (RFC 6749 §5.2). Description is public
// text shown to the client; cause is private and only reaches the log.
type Error struct {
	Code        string
	Description string
	Status      int
	// Reason says, for a program, why the request was refused where the
	// code alone does not; "" when the code says all there is.
	Reason Reason
	// StepUp says what sign-in would do, for insufficient_user_authentication.
	StepUp *StepUp
	cause  error
}

// StepUp is what an insufficient_user_authentication refusal asks for
// (RFC 9470 §3, the ID-JAG draft's Step-Up Authentication): a sign-in of
// one of these assurance levels (acr_values, space-separated), and/or no
// older than MaxAge seconds (max_age; nil: any age).
type StepUp struct {
	ACRValues string
	MaxAge    *int
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s (%v)", e.Code, e.Description, e.cause)
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.cause }

// Is matches a Reason, so that a caller asks errors.Is(err,
// oauth.ReasonAccountDisabled) and never reads the description.
func (e *Error) Is(target error) bool {
	r, ok := target.(Reason)
	return ok && r != "" && e.Reason == r
}

// WithReason returns a copy of e that carries a reason for programs.
func (e *Error) WithReason(r Reason) *Error {
	c := *e
	c.Reason = r
	return &c
}

// Reason is why a request was refused, for the program that made it: the
// error response's error_reason member, beside error and error_description
// (an extension member, which clients that do not know it ignore; RFC 6749
// §5.2 leaves the description to people). A Reason is also an error, the
// target of errors.Is.
type Reason string

func (r Reason) Error() string { return string(r) }

// The reasons this project's servers give and its clients act on.
const (
	// ReasonAccountDisabled: an administrator disabled the person's
	// account (at the IdP) or deactivated it (at a resource, by
	// provisioning). Signing in again does not help.
	ReasonAccountDisabled Reason = "account_disabled"
	// ReasonSignInAgain: the person's sign-in (the subject token, or what
	// renews it) is expired, unknown or no longer valid: a new sign-in
	// helps.
	ReasonSignInAgain Reason = "sign_in_again"
	// ReasonConnectionDisabled: the administrator has not enabled the
	// connection from this app to that resource.
	ReasonConnectionDisabled Reason = "connection_disabled"
	// ReasonTokenRevoked: the access token is valid but was revoked (a
	// Shared Signals event ended the person's or the app's access).
	ReasonTokenRevoked Reason = "token_revoked"
	// ReasonNoIDJAGIssuer: the person's organisation signs in with an IdP
	// that issues no ID-JAGs (its own SAML IdP), so no app can be reached
	// on their behalf. Signing in again does not help.
	ReasonNoIDJAGIssuer Reason = "no_id_jag_issuer"
	// ReasonIDJAGNotBound: the IdP returned an ID-JAG without the key
	// binding (cnf.jkt) the requesting side asked for, which refuses it
	// as a downgrade: anyone holding an unbound ID-JAG could redeem it.
	// An IdP that does not take requested_cnf (Okta today) answers so;
	// Bearer mode works with it.
	ReasonIDJAGNotBound Reason = "id_jag_not_bound"
)

// WithCause returns a copy of e that carries an internal cause for the log.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

func newError(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Description: Describe(format, args...), Status: status}
}

// maxDescription bounds an error_description: it may quote what a caller
// sent, which is no reason to send it all back.
const maxDescription = 400

// Describe formats an error_description within RFC 6749 §5.2's character
// set (printable ASCII without '"' and '\\'), as clients may put it in a
// header or a page as it is: a double quote becomes a single one, a
// backslash a slash, and anything else outside the set (control
// characters, non-ASCII text a caller sent) a question mark.
func Describe(format string, args ...any) string {
	in := fmt.Sprintf(format, args...)
	out := make([]byte, 0, min(len(in), maxDescription))
	for _, r := range in {
		if len(out) >= maxDescription {
			return string(out) + "..."
		}
		switch {
		case r == '"':
			out = append(out, '\'')
		case r == '\\':
			out = append(out, '/')
		case r < 0x20 || r > 0x7e:
			out = append(out, '?')
		default:
			out = append(out, byte(r))
		}
	}
	return string(out)
}

// InvalidRequest: a parameter is missing, repeated or malformed (RFC 6749 §5.2).
func InvalidRequest(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "invalid_request", format, args...)
}

// InvalidClient: client authentication failed (RFC 6749 §5.2); always 401.
func InvalidClient(format string, args ...any) *Error {
	return newError(http.StatusUnauthorized, "invalid_client", format, args...)
}

// InvalidGrant: the grant or assertion is invalid, expired, revoked or was
// issued to another client (RFC 6749 §5.2, RFC 7521 §4.1.1).
func InvalidGrant(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "invalid_grant", format, args...)
}

// UnauthorizedClient: the client may not use this grant type.
func UnauthorizedClient(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "unauthorized_client", format, args...)
}

// UnsupportedGrantType: the server does not implement this grant type.
func UnsupportedGrantType(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "unsupported_grant_type", format, args...)
}

// InvalidScope: the requested scope is unknown or exceeds what may be granted.
func InvalidScope(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "invalid_scope", format, args...)
}

// InvalidTarget: the audience or resource is unknown (RFC 8693 §2.2.2, RFC 8707).
func InvalidTarget(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "invalid_target", format, args...)
}

// AccessDenied: policy refuses the request (for example a disabled connection).
func AccessDenied(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "access_denied", format, args...)
}

// Words says the sign-in up asks for, as a person reads it: "a sign-in
// with your passkey, within the last 10 minutes". acr_values names phr
// for a passkey (this project's IdP, OpenID's Enterprise Authentication
// Policy); another value is named as it is.
func (up StepUp) Words() string {
	var need []string
	for _, v := range strings.Fields(up.ACRValues) {
		if v == "phr" {
			need = append(need, "with your passkey")
		} else {
			need = append(need, "of assurance "+v)
		}
	}
	if up.MaxAge != nil {
		n, unit := *up.MaxAge, "second"
		if n >= 60 && n%60 == 0 {
			n, unit = n/60, "minute"
		}
		if n != 1 {
			unit += "s"
		}
		need = append(need, fmt.Sprintf("within the last %d %s", n, unit))
	}
	if len(need) == 0 {
		return "a new sign-in"
	}
	return "a sign-in " + strings.Join(need, ", ")
}

// InsufficientUserAuthentication: the person's sign-in is not strong or
// recent enough for what was asked (RFC 9470 §3); the client sends them to
// sign in again as up says, then retries.
func InsufficientUserAuthentication(up StepUp, format string, args ...any) *Error {
	e := newError(http.StatusBadRequest, "insufficient_user_authentication", format, args...)
	e.StepUp = &up
	return e
}

// InvalidAuthorizationDetails: authorization_details is malformed, of an
// unknown type, or asks for more than may be granted (RFC 9396 §5, §6.1).
func InvalidAuthorizationDetails(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "invalid_authorization_details", format, args...)
}

// UnsupportedResponseType is used at the authorization endpoint.
func UnsupportedResponseType(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "unsupported_response_type", format, args...)
}

// ServerError hides an internal failure behind a generic description.
func ServerError(cause error) *Error {
	return newError(http.StatusInternalServerError, "server_error", "the server could not complete the request").WithCause(cause)
}

// TemporarilyUnavailable: an upstream server did not answer.
func TemporarilyUnavailable(format string, args ...any) *Error {
	return newError(http.StatusServiceUnavailable, "temporarily_unavailable", format, args...)
}

// AsError converts any error into an *Error: OAuth errors pass through,
// anything else becomes server_error with the original as private cause.
func AsError(err error) *Error {
	var oe *Error
	if errors.As(err, &oe) {
		return oe
	}
	return ServerError(err)
}

// StepUpPolicy is a server's demand on the person's sign-in for some
// scopes: a sign-in of assurance ACR (OIDC Core §2 acr) and/or no older
// than MaxAge. The IdP applies a connection's (the ID-JAG draft §8.2), a
// resource authorization server its own (RFC 9470): what falls short is
// refused with insufficient_user_authentication.
type StepUpPolicy struct {
	Scopes Scopes // the scopes it guards; none: no step-up
	ACR    string // the assurance they need ("phr"); "": any
	MaxAge time.Duration
}

// Unmet says how a sign-in of assurance acr at authTime falls short of p
// at now, "" when it does not.
func (p StepUpPolicy) Unmet(acr string, authTime, now time.Time) string {
	switch {
	case p.ACR != "" && acr != p.ACR:
		if acr == "" {
			acr = "none"
		}
		return fmt.Sprintf("a sign-in of assurance %s is required (acr %s)", p.ACR, acr)
	case p.MaxAge > 0 && authTime.IsZero():
		return "a sign-in within " + p.MaxAge.String() + " is required, and when the person signed in is not said (auth_time)"
	case p.MaxAge > 0 && now.Sub(authTime) > p.MaxAge:
		return fmt.Sprintf("a sign-in within %s is required (the person signed in %s ago)", p.MaxAge, now.Sub(authTime).Round(time.Second))
	}
	return ""
}

// Refusal asks for what p requires.
func (p StepUpPolicy) Refusal(problem string) *Error {
	up := StepUp{ACRValues: p.ACR}
	if p.MaxAge > 0 {
		secs := int(p.MaxAge.Seconds())
		up.MaxAge = &secs
	}
	return InsufficientUserAuthentication(up, "%s", problem)
}

// Met says how a sign-in met p for the guarded scopes, for the console.
func (p StepUpPolicy) Met(guarded Scopes, acr string, authTime time.Time) string {
	var need []string
	if p.ACR != "" {
		need = append(need, "acr "+p.ACR)
	}
	if p.MaxAge > 0 {
		need = append(need, "a sign-in within "+p.MaxAge.String())
	}
	return guarded.String() + " needs " + strings.Join(need, " and ") + "; the person signed in at " +
		authTime.UTC().Format(time.TimeOnly) + " UTC with acr " + acr
}

// ChallengeParam is a quoted auth-param of a WWW-Authenticate challenge
// (RFC 9110 §11.2), "" when it has none.
func ChallengeParam(challenge, name string) string {
	for rest := challenge; ; {
		i := strings.Index(rest, name+`="`)
		if i < 0 {
			return ""
		}
		// A whole name: at the start, or after a space or a comma.
		if i == 0 || rest[i-1] == ' ' || rest[i-1] == ',' {
			value, _, _ := strings.Cut(rest[i+len(name)+2:], `"`)
			return value
		}
		rest = rest[i+len(name):]
	}
}

// StepUpChallenge reads a resource's insufficient_user_authentication
// challenge (RFC 9470 §3): what sign-in it asks for, and whether it is one.
func StepUpChallenge(challenge string) (*StepUp, bool) {
	if ChallengeParam(challenge, "error") != "insufficient_user_authentication" {
		return nil, false
	}
	up := &StepUp{ACRValues: ChallengeParam(challenge, "acr_values")}
	if secs, err := strconv.Atoi(ChallengeParam(challenge, "max_age")); err == nil && secs >= 0 {
		up.MaxAge = &secs
	}
	return up, true
}
