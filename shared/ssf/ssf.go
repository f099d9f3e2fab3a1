package ssf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/numericdate"
	"xaa.example/shared/replay"
)

// Event types this demo sends (CAEP 1.0, RISC 1.0).
const (
	// EventAccountDisabled: the person's account at the IdP is disabled
	// (RISC). Sent with EventSessionRevoked when an admin disables someone.
	EventAccountDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled"
	// EventSessionRevoked: the sessions (here: the access tokens) of the
	// subject end now (CAEP). Sent for a person, or for an app when its
	// connection is disabled.
	EventSessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	// EventTokenClaimsChange: a claim of the subject's tokens changed
	// (CAEP); here the scope an app's connection allows was narrowed.
	EventTokenClaimsChange = "https://schemas.openid.net/secevent/caep/event-type/token-claims-change"
	// EventVerification: a stream's verification event, carrying the state
	// its receiver asked with (SSF §8.1.4.1); it ends nothing.
	EventVerification = "https://schemas.openid.net/secevent/ssf/event-type/verification"

	// MediaType is a SET's (RFC 8417 §2.3), its JWS typ "secevent+jwt".
	MediaType = "application/secevent+jwt"
	typ       = "secevent+jwt"
	// DeliveryPush names push delivery (RFC 8935) in stream configurations.
	DeliveryPush = "urn:ietf:rfc:8935"
)

// Subject is a subject identifier (RFC 9493): format "email", "iss_sub",
// "opaque", or "complex" with the user and the application it concerns.
type Subject struct {
	Format      string   `json:"format"`
	Email       string   `json:"email,omitempty"`
	Iss         string   `json:"iss,omitempty"`
	Sub         string   `json:"sub,omitempty"`
	ID          string   `json:"id,omitempty"`
	User        *Subject `json:"user,omitempty"`
	Application *Subject `json:"application,omitempty"`
}

// Event is an event's payload: when it happened and, for people, why.
type Event struct {
	// Timestamp is when the event happened; this project's transmitter
	// gives its milliseconds (package numericdate).
	Timestamp   *numericdate.Date `json:"event_timestamp,omitempty"`
	ReasonAdmin map[string]any    `json:"reason_admin,omitempty"`
	// Claims are the changed claims of a token-claims-change.
	Claims map[string]any `json:"claims,omitempty"`
	// State is a verification event's, as the receiver gave it.
	State string `json:"state,omitempty"`
}

// SET is a Security Event Token's claims (RFC 8417 §2.2; SSF §4: the
// subject is sub_id).
type SET struct {
	Issuer   string           `json:"iss"`
	Audience jwt.Audience     `json:"aud"`
	IssuedAt *jwt.NumericDate `json:"iat"`
	ID       string           `json:"jti"`
	Subject  Subject          `json:"sub_id"`
	Events   map[string]Event `json:"events"`
	TxnID    string           `json:"txn,omitempty"`
}

// Signer signs claims with an algorithm and a JWS typ header (keys.Set).
type Signer interface {
	SignWith(alg jose.SignatureAlgorithm, typ string, claims any) (string, error)
}

// Algorithm is what SETs are signed with: RS256, which the CAEP
// interoperability profile requires of transmitters (its §2.6), so that
// any receiver of the profile can verify them; receivers here take ES256
// too.
const Algorithm = jose.RS256

// Sign makes the SET's compact JWS, signed with Algorithm.
func Sign(s Signer, set SET) (string, error) { return s.SignWith(Algorithm, typ, set) }

// KeySource finds a transmitter's verification key by kid (jwks.Remote).
type KeySource interface {
	Key(ctx context.Context, kid string) (*jose.JSONWebKey, error)
}

// Error is a push refused, as RFC 8935 §2.3 answers it: its err code and a
// description.
type Error struct {
	Code        string `json:"err"`
	Description string `json:"description"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// RFC 8935 §2.4's error codes.
const (
	ErrInvalidRequest  = "invalid_request"
	ErrInvalidKey      = "invalid_key"
	ErrInvalidIssuer   = "invalid_issuer"
	ErrInvalidAudience = "invalid_audience"
	ErrAuthentication  = "authentication_failed"
	// ErrAccessDenied: the transmitter may not send this SET here (here: it
	// names someone the transmitter does not vouch for).
	ErrAccessDenied = "access_denied"
)

// Verifier is a receiver's check of pushed SETs.
type Verifier struct {
	Issuer   string // the transmitter
	Audience string // this receiver, as its stream names it
	Keys     KeySource
	Replay   replay.Store
	// MaxAge bounds how old a SET may be when it arrives (default 5 min).
	MaxAge time.Duration
	Now    func() time.Time
}

// MaxSETBytes bounds a pushed SET.
const MaxSETBytes = 16 << 10

// Verify checks a SET: its size, typ, an asymmetric algorithm, the
// transmitter's signature, iss, aud, iat and that its jti is new. The
// signature comes first: nothing unsigned is read.
func (v *Verifier) Verify(ctx context.Context, raw string) (*SET, error) {
	fail := func(code, format string, args ...any) (*SET, error) {
		return nil, &Error{Code: code, Description: fmt.Sprintf(format, args...)}
	}
	if len(raw) > MaxSETBytes {
		return fail(ErrInvalidRequest, "the SET is larger than %d bytes", MaxSETBytes)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		return fail(ErrInvalidRequest, "not a signed JWT with an allowed algorithm (ES256, RS256)")
	}
	h := tok.Headers[0]
	if t, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(strings.TrimPrefix(strings.ToLower(t), "application/"), typ) {
		return fail(ErrInvalidRequest, "typ must be %s", typ)
	}
	if h.KeyID == "" {
		return fail(ErrInvalidKey, "the SET names no key (kid)")
	}
	key, err := v.Keys.Key(ctx, h.KeyID)
	if err != nil {
		return fail(ErrInvalidKey, "the transmitter publishes no key %q", h.KeyID)
	}
	var set SET
	if err := tok.Claims(key.Key, &set); err != nil {
		return fail(ErrInvalidKey, "the signature does not verify with the transmitter's key")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	maxAge := v.MaxAge
	if maxAge <= 0 {
		maxAge = 5 * time.Minute
	}
	switch {
	case set.Issuer != v.Issuer:
		return fail(ErrInvalidIssuer, "iss %q is not the transmitter %s", set.Issuer, v.Issuer)
	case !set.Audience.Contains(v.Audience):
		return fail(ErrInvalidAudience, "aud does not name this receiver (%s)", v.Audience)
	case set.IssuedAt == nil || set.IssuedAt.Time().After(now().Add(time.Minute)) || set.IssuedAt.Time().Before(now().Add(-maxAge)):
		return fail(ErrInvalidRequest, "iat is missing, in the future, or older than %s", maxAge)
	case set.ID == "" || len(set.ID) > 255:
		return fail(ErrInvalidRequest, "jti is missing or too long")
	case len(set.Events) == 0:
		return fail(ErrInvalidRequest, "the SET carries no event")
	}
	// Single use, for as long as the SET could be accepted.
	err = v.Replay.Remember(ctx, "ssf|"+set.Issuer, set.ID, set.IssuedAt.Time().Add(maxAge+time.Minute))
	if errors.Is(err, replay.ErrReplayed) {
		return fail(ErrInvalidRequest, "jti %q was delivered before", set.ID)
	}
	if err != nil {
		return nil, err
	}
	return &set, nil
}

// Push delivers a signed SET to a receiver (RFC 8935 §2): 202 is success;
// a 400 says why in JSON (*Error); anything else is an error to retry.
func Push(ctx context.Context, client *http.Client, endpoint, authorization, set string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(set))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", MediaType)
	req.Header.Set("Accept", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("push to %s: %w", endpoint, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	switch {
	case resp.StatusCode == http.StatusAccepted:
		return nil
	case resp.StatusCode == http.StatusBadRequest:
		var e Error
		if json.Unmarshal(body, &e) == nil && e.Code != "" {
			return &e
		}
	}
	return fmt.Errorf("push to %s: the receiver answered %d %s", endpoint, resp.StatusCode, bytes.TrimSpace(body))
}

// WriteError answers a refused push (RFC 8935 §2.3): 400 with the error,
// or 401/403 for authentication and authorization failures.
func WriteError(w http.ResponseWriter, status int, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}
