package todoapp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/jwks"
	"xaa.example/shared/maildomain"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/ssf"
	"xaa.example/shared/web"
)

// Shared Signals: the todo app receives the IdPs' Security Event Tokens
// (push delivery, RFC 8935, at /ssf/events) and ends access at once. An
// account disabled at an IdP (RISC account-disabled, CAEP session-revoked
// for the person) or an app's connection disabled or narrowed (CAEP
// session-revoked or token-claims-change for the app) revokes the access
// tokens issued before the event: the next API or MCP call with one gets
// 401, and the requesting app must run the chain again, where the IdP
// says no.
//
// The todo app registers its stream at each IdP itself (SSF stream
// configuration) with a bearer token the IdP gave it, naming where to push
// and the Authorization header to push with, one of its own per IdP.
//
// Each IdP vouches only for its own people: its events end only the tokens
// granted on its own ID-JAGs (their idp claim), and a SET that names a
// person outside its domains is refused whole (access_denied).

// SignalsConfig turns the receiver on: the IdPs whose events it acts on.
type SignalsConfig struct {
	Transmitters []Transmitter
}

// Transmitter is an IdP that tells this app when access ends.
type Transmitter struct {
	// Issuer is the IdP's issuer; its SSF configuration is at
	// /.well-known/ssf-configuration and its keys are its JWKS.
	Issuer string
	// StreamToken is the bearer token the IdP gave this app to manage its
	// stream there.
	StreamToken string
	// Domains are the email domains of the people its events may name;
	// none: any address.
	Domains []string
}

// Revocation ends the access tokens of a person (by email) or of an app
// (by its client id at the todo AS), granted on ID-JAGs of one IdP, issued
// before a time.
type Revocation struct {
	ID uint `gorm:"primaryKey"`
	// Issuer is the IdP whose event it is: only tokens whose idp claim
	// names it are revoked.
	Issuer string    `gorm:"size:255;not null;default:''"`
	Kind   string    `gorm:"size:16;not null"` // "person" or "app"
	Value  string    `gorm:"size:255;not null"`
	Before time.Time `gorm:"not null"`
	// Why is said to whoever presents a revoked token.
	Why       string `gorm:"size:1024;not null"`
	CreatedAt time.Time
}

const (
	revocationKindPerson = "person"
	revocationKindApp    = "app"
)

// revocations are read from the table on every API and MCP call, with one
// prepared query: replicas of the app share the table, and a token revoked
// through one must be refused by all at once.
type revocations struct {
	db    *gorm.DB
	once  sync.Once
	query *sql.Stmt
	err   error
}

const revokedQuery = `SELECT why FROM revocations
	WHERE issuer = ? AND ((kind = 'person' AND value = ?) OR (kind = 'app' AND value = ?)) AND ` + "`before`" + ` > ?
	ORDER BY id DESC LIMIT 1`

// record keeps revocations, all or none.
func (r *revocations) record(ctx context.Context, rows []Revocation) error {
	if len(rows) == 0 {
		return nil
	}
	return r.db.WithContext(ctx).Create(&rows).Error
}

// revoked says why a token is revoked, or "".
func (r *revocations) revoked(ctx context.Context, c *accesstoken.Claims) string {
	if c.IssuedAt == nil {
		return ""
	}
	r.once.Do(func() {
		var db *sql.DB
		if db, r.err = r.db.DB(); r.err == nil {
			q := revokedQuery
			if r.db.Dialector.Name() != "mysql" {
				q = strings.ReplaceAll(q, "`", `"`)
			}
			r.query, r.err = db.Prepare(q)
		}
	})
	if r.err != nil {
		return "revocations could not be read" // fail closed
	}
	var why string
	err := r.query.QueryRowContext(ctx, c.IdP, strings.ToLower(c.Email), c.ClientID, c.IssuedAt.Time().UTC()).Scan(&why)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ""
	case err != nil:
		return "revocations could not be read" // fail closed
	}
	return why
}

// receiver is the SET endpoint's state.
type receiver struct {
	audience    string
	streams     []*stream // one per transmitter
	revocations *revocations
	http        *http.Client
}

// stream is what the receiver knows of one transmitter: the Authorization
// it pushes with and the check of its SETs.
type stream struct {
	Transmitter
	pushAuth string
	verifier *ssf.Verifier
}

func (a *App) newReceiver(ctx context.Context) (*receiver, error) {
	secret, err := web.SecretKey(ctx, a.cfg.DB, "ssf-push")
	if err != nil {
		return nil, err
	}
	seen, err := replaydb.New(a.cfg.DB)
	if err != nil {
		return nil, err
	}
	client := a.cfg.Trace.Client(a.cfg.HTTPClient)
	rc := &receiver{audience: a.cfg.BaseURL, http: client, revocations: &revocations{db: a.cfg.DB}}
	for _, t := range a.cfg.Signals.Transmitters {
		// Each transmitter pushes with a credential of its own, so that
		// a push names its stream before its SET is read.
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(t.Issuer))
		rc.streams = append(rc.streams, &stream{
			Transmitter: t,
			pushAuth:    "Bearer " + hex.EncodeToString(mac.Sum(nil)),
			verifier: &ssf.Verifier{Issuer: t.Issuer, Audience: a.cfg.BaseURL,
				Keys: jwks.NewRemote(t.Issuer, client), Replay: seen, Now: a.cfg.Now},
		})
	}
	return rc, nil
}

// streamOf is the stream whose push credential the request bears, or nil.
func (rc *receiver) streamOf(r *http.Request) *stream {
	got := []byte(r.Header.Get("Authorization"))
	for _, st := range rc.streams {
		if subtle.ConstantTimeCompare(got, []byte(st.pushAuth)) == 1 {
			return st
		}
	}
	return nil
}

// serveEvents takes a pushed SET (RFC 8935 §2): 202 when accepted, or 400
// with the reason in RFC 8935's form; unknown event types are accepted and
// ignored (SSF §9). The SET must be signed by the transmitter whose
// credential the push bears, and may name only its own people.
func (rc *receiver) serveEvents(c *gin.Context) {
	r := c.Request
	st := rc.streamOf(r)
	if st == nil {
		ssf.WriteError(c.Writer, http.StatusUnauthorized, &ssf.Error{Code: ssf.ErrAuthentication, Description: "this endpoint takes SETs from its streams' transmitters, with the Authorization header each stream names"})
		return
	}
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media != ssf.MediaType {
		ssf.WriteError(c.Writer, http.StatusBadRequest, &ssf.Error{Code: ssf.ErrInvalidRequest, Description: "Content-Type must be " + ssf.MediaType})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, ssf.MaxSETBytes+1))
	if err != nil {
		ssf.WriteError(c.Writer, http.StatusBadRequest, &ssf.Error{Code: ssf.ErrInvalidRequest, Description: "the body could not be read"})
		return
	}
	set, err := st.verifier.Verify(r.Context(), string(bytes.TrimSpace(body)))
	var se *ssf.Error
	switch {
	case errors.As(err, &se):
		ssf.WriteError(c.Writer, http.StatusBadRequest, se)
		return
	case err != nil:
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	var rows []Revocation
	for eventType, ev := range set.Events {
		row, ok := revocationFor(eventType, ev, set)
		if !ok {
			continue // an event this receiver does not act on
		}
		if row.Kind == revocationKindPerson && !maildomain.List(st.Domains).Has(row.Value) {
			// Another IdP's person: refused whole, nothing revoked.
			ssf.WriteError(c.Writer, http.StatusBadRequest, &ssf.Error{Code: ssf.ErrAccessDenied,
				Description: "the SET names " + row.Value + ", who is not at a domain this transmitter vouches for"})
			return
		}
		row.Issuer = st.Issuer
		rows = append(rows, row)
	}
	if err := rc.revocations.record(r.Context(), rows); err != nil {
		c.AbortWithStatus(http.StatusInternalServerError) // not accepted: the transmitter retries
		return
	}
	c.Status(http.StatusAccepted)
}

// eventNames are the events acted on, as people read them.
var eventNames = map[string]string{
	ssf.EventAccountDisabled:   "RISC account-disabled",
	ssf.EventSessionRevoked:    "CAEP session-revoked",
	ssf.EventTokenClaimsChange: "CAEP token-claims-change",
}

// revocationFor is what an event revokes: a person's tokens (subject email,
// or a complex subject's user email), or an app's (a complex subject's
// application, by client id).
func revocationFor(eventType string, ev ssf.Event, set *ssf.SET) (Revocation, bool) {
	name, known := eventNames[eventType]
	if !known {
		return Revocation{}, false
	}
	// The tokens issued before the event are revoked; one issued after it
	// works, even in the same second: its iat and the event's
	// time have their milliseconds. An event known to the second only
	// (another transmitter's, or a SET without event_timestamp) may have
	// happened at any instant of that second: the tokens issued up to its
	// end are revoked, as any of them may predate it. Both times are read
	// off clocks kept in step (the IdP's and the todo AS's).
	at, precise := set.IssuedAt.Time(), false
	if ev.Timestamp != nil {
		at, precise = ev.Timestamp.Time(), ev.Timestamp.Precise()
	}
	before := at.Add(time.Second).UTC()
	if precise {
		before = at.UTC()
	}
	why := fmt.Sprintf("the access token was revoked by a Shared Signals event from the IdP %s (%s, SET %s, %s)", set.Issuer, name, set.ID, at.UTC().Format("15:04:05 UTC"))
	subject := set.Subject
	switch {
	case subject.Format == "email" && subject.Email != "":
		return Revocation{Kind: revocationKindPerson, Value: strings.ToLower(subject.Email), Before: before, Why: why}, true
	case subject.Format == "complex" && subject.User != nil && subject.User.Format == "email" && subject.User.Email != "":
		return Revocation{Kind: revocationKindPerson, Value: strings.ToLower(subject.User.Email), Before: before, Why: why}, true
	case subject.Format == "complex" && subject.Application != nil && subject.Application.ID != "":
		return Revocation{Kind: revocationKindApp, Value: subject.Application.ID, Before: before, Why: why}, true
	}
	return Revocation{}, false
}

// RegisterStream asks each IdP (transmitter) for a stream to this app:
// push delivery to /ssf/events with this app's Authorization header for
// that IdP, for the events it acts on. Called again (at each start), it
// replaces the stream it made before.
func (a *App) RegisterStream(ctx context.Context) error {
	rc := a.receiver
	if rc == nil {
		return nil
	}
	for _, st := range rc.streams {
		if err := a.registerStream(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) registerStream(ctx context.Context, st *stream) error {
	rc := a.receiver
	var meta struct {
		Issuer                string `json:"issuer"`
		ConfigurationEndpoint string `json:"configuration_endpoint"`
	}
	if err := rc.getJSON(ctx, strings.TrimSuffix(st.Issuer, "/")+"/.well-known/ssf-configuration", &meta, ""); err != nil {
		return err
	}
	if meta.Issuer != st.Issuer || meta.ConfigurationEndpoint == "" {
		return fmt.Errorf("the SSF configuration of %s names issuer %q and no configuration endpoint", st.Issuer, meta.Issuer)
	}
	// The transmitter keeps one stream per receiver (SSF §8.1.1): the
	// stream this app made at an earlier start is replaced (PUT), so that
	// it names this start's endpoint and credential; else one is made.
	var existing []struct {
		ID string `json:"stream_id"`
	}
	if err := rc.getJSON(ctx, meta.ConfigurationEndpoint, &existing, st.StreamToken); err != nil {
		return err
	}
	config := map[string]any{
		"aud": rc.audience,
		"delivery": map[string]any{
			"method": ssf.DeliveryPush, "endpoint_url": a.cfg.BaseURL + "/ssf/events", "authorization_header": st.pushAuth,
		},
		"events_requested": []string{ssf.EventAccountDisabled, ssf.EventSessionRevoked, ssf.EventTokenClaimsChange},
		"description":      "Todo app: ends access tokens when the IdP says access ended",
	}
	method := http.MethodPost
	if len(existing) > 0 {
		method, config["stream_id"] = http.MethodPut, existing[0].ID
	}
	body, _ := json.Marshal(config)
	req, err := http.NewRequestWithContext(ctx, method, meta.ConfigurationEndpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+st.StreamToken)
	resp, err := rc.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return fmt.Errorf("the IdP %s refused the stream: %d %s", st.Issuer, resp.StatusCode, bytes.TrimSpace(b))
	}
	a.cfg.Log.Info("Shared Signals stream registered at the IdP", "transmitter", st.Issuer, "how", method)
	return nil
}

func (rc *receiver) getJSON(ctx context.Context, url string, out any, bearer string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := rc.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(out)
}
