package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"xaa.example/shared/idjag"
	"xaa.example/shared/oauth"
	"xaa.example/shared/rar"
	"xaa.example/shared/trace"
)

// Subject is the user a valid subject token speaks for.
type Subject struct {
	ID       string // the IdP's immutable user id: the ID-JAG's sub
	Email    string
	Tenant   string
	AuthTime time.Time
	AMR      []string
	ACR      string
}

// SubjectVerifier checks a subject token of the given type presented by
// clientID: issued by this IdP, for that client (its aud), unexpired, and
// about an active user. A refusal is returned as an *oauth.Error
// (invalid_grant); any other error is a server error.
type SubjectVerifier interface {
	VerifySubject(ctx context.Context, token, tokenType, clientID string) (*Subject, error)
}

// Connection is a managed connection from a requesting app to a resource
// authorization server, as an admin configures it.
type Connection struct {
	RequestingClientID string
	Audience           string // the resource AS's issuer
	Resource           string // the protected resource it governs
	AllowedScopes      oauth.Scopes
	ClientIDAtResource string // goes into the ID-JAG's client_id
	Enabled            bool
	// StepUp is what sign-in some scopes need, if any (the ID-JAG draft
	// §8.2): a passkey, say, within the last ten minutes for todos.write.
	StepUp oauth.StepUpPolicy
	// AllowedActions are the todo actions (rar.TodoActions) a client may
	// ask for in authorization_details (RFC 9396); none: it may not ask
	// for any.
	AllowedActions []string
}

// Connections finds the connections whose audience is a resource AS.
type Connections interface {
	ConnectionsTo(ctx context.Context, audience string) ([]Connection, error)
}

// Event is one issuance or refusal, for the audit log.
type Event struct {
	ClientID string
	Subject  string // empty when the subject token was refused
	// SubjectEmail is the subject's email as the subject verifier read it
	// (so that the audit record needs no second lookup).
	SubjectEmail string
	Audience     string
	Resource     string
	// Requested is the scope the client asked for; Scope what the
	// ID-JAG carries (the connection may narrow it).
	Requested string
	Scope     string
	JTI       string // empty when refused
	// Trace is the debug console's run, when the request was traced.
	Trace  string
	Issued bool
	Reason string // the error code and description of a refusal
}

// Grant is the token exchange grant of an IdP; it implements oauth.Grant.
type Grant struct {
	Issuer      string
	Signer      idjag.Signer
	Subjects    SubjectVerifier
	Connections Connections
	Lifetime    time.Duration // default idjag.DefaultLifetime
	Now         func() time.Time
	// SubjectTokenTypes accepted; default: ID tokens only.
	SubjectTokenTypes []string
	// AudienceSubject, when set, is the person's id at the resource AS
	// whose issuer is audience, if the IdP knows it (its provisioning
	// does): the ID-JAG's aud_sub.
	AudienceSubject func(ctx context.Context, audience, userID string) (string, error)
	Audit           func(ctx context.Context, e Event)
	// IssuedAt, when set, picks the ID-JAG's iat for a request; the local
	// IdP uses it for the console's "expired ID-JAG" scenario.
	IssuedAt func(req *oauth.TokenRequest, now time.Time) time.Time
	// WithoutEmail leaves the email claim out of ID-JAGs, as Okta's are
	// (sub, the immutable user id, alone names the person): the resource
	// must know the sub, from a sign-in or from provisioning.
	WithoutEmail bool
}

// Handle runs the IdP's checks in order and issues the ID-JAG.
func (g *Grant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	ev := Event{ClientID: req.Client.ID, Audience: req.Audience, Resource: req.Resource, Requested: req.Form.Get("scope"), Trace: trace.ID(ctx)}
	resp, err := g.handle(ctx, req, &ev)
	if g.Audit != nil {
		if err != nil {
			oe := oauth.AsError(err)
			ev.Reason = oe.Code + ": " + oe.Description
		}
		ev.Issued = err == nil
		g.Audit(ctx, ev)
	}
	return resp, err
}

func (g *Grant) handle(ctx context.Context, req *oauth.TokenRequest, ev *Event) (*oauth.TokenResponse, error) {
	resp, check, err := g.issue(ctx, req, ev)
	if err != nil {
		trace.Fail(ctx, check, oauth.AsError(err).Description)
	}
	return resp, err
}

// The IdP's checks on a token exchange, in the order they run
// (docs/PROTOCOL.md, checks E1 to E7).
const (
	CheckRequest    trace.CheckID = "exchange.request"
	CheckSubject    trace.CheckID = "exchange.subject-token"
	CheckAudience   trace.CheckID = "exchange.audience"
	CheckResource   trace.CheckID = "exchange.resource"
	CheckConnection trace.CheckID = "exchange.connection"
	CheckScope      trace.CheckID = "exchange.scope"
	// The person's sign-in meets the connection's step-up policy.
	CheckStepUp trace.CheckID = "exchange.step-up"
	// authorization_details are known and within what the connection allows.
	CheckAuthorizationDetails trace.CheckID = "exchange.authorization-details"
	// The ID-JAG is bound to the key of the request's DPoP proof.
	CheckKeyBinding trace.CheckID = "exchange.key-binding"
)

// issue runs the checks in order; on a refusal it names the check.
func (g *Grant) issue(ctx context.Context, req *oauth.TokenRequest, ev *Event) (*oauth.TokenResponse, trace.CheckID, error) {
	types := g.SubjectTokenTypes
	if len(types) == 0 {
		types = []string{oauth.TokenTypeIDToken}
	}
	switch {
	case req.RequestedTokenType != oauth.TokenTypeIDJAG:
		return nil, CheckRequest, oauth.InvalidRequest("requested_token_type must be %s", oauth.TokenTypeIDJAG)
	case req.SubjectToken == "":
		return nil, CheckRequest, oauth.InvalidRequest("subject_token is required")
	case !slices.Contains(types, req.SubjectTokenType):
		return nil, CheckRequest, oauth.InvalidRequest("subject_token_type %q is not supported here", req.SubjectTokenType)
	case req.Audience == "":
		return nil, CheckRequest, oauth.InvalidRequest("audience is required: the issuer of the resource authorization server")
	case req.ActorToken != "" || req.ActorTokenType != "":
		// Draft §4.3 leaves actor tokens to later profiles; refusing them
		// is better than silently ignoring who claims to act.
		return nil, CheckRequest, oauth.InvalidRequest("actor_token is not supported")
	}
	trace.Pass(ctx, CheckRequest)

	// The subject token: issued by this IdP, to the authenticated client
	// (draft §4.3.1).
	subject, err := g.Subjects.VerifySubject(ctx, req.SubjectToken, req.SubjectTokenType, req.Client.ID)
	if err != nil {
		var oe *oauth.Error
		if errors.As(err, &oe) {
			return nil, CheckSubject, oe
		}
		return nil, CheckSubject, oauth.ServerError(err)
	}
	ev.Subject, ev.SubjectEmail = subject.ID, subject.Email
	trace.PassDetail(ctx, CheckSubject, "user "+subject.ID)

	// The audience must be a known resource AS and the resource one it
	// governs (RFC 8693 §2.2.2 invalid_target); the connection from this
	// client must exist and be enabled (access_denied).
	audience, resource := req.Audience, req.Resource
	conns, err := g.Connections.ConnectionsTo(ctx, audience)
	if err != nil {
		return nil, CheckAudience, oauth.ServerError(err)
	}
	if len(conns) == 0 {
		return nil, CheckAudience, oauth.InvalidTarget("audience %s is not a known resource authorization server", audience)
	}
	trace.PassDetail(ctx, CheckAudience, audience)
	if resource != "" && !governs(conns, resource) {
		return nil, CheckResource, oauth.InvalidTarget("resource %s is not governed by %s", resource, audience)
	}
	var conn *Connection
	for i := range conns {
		if conns[i].RequestingClientID == req.Client.ID && (resource == "" || conns[i].Resource == resource) {
			conn = &conns[i]
			break
		}
	}
	if conn == nil || !conn.Enabled {
		return nil, CheckConnection, oauth.AccessDenied("the administrator has not enabled access from this app to %s", audience).WithReason(oauth.ReasonConnectionDisabled)
	}
	if resource == "" {
		resource = conn.Resource
	}
	ev.Resource = resource
	trace.PassDetail(ctx, CheckResource, resource)
	trace.PassDetail(ctx, CheckConnection, req.Client.ID+" → "+audience+", client_id at the resource: "+conn.ClientIDAtResource)

	// Scopes are narrowed to what the connection allows; asking for none
	// means asking for all the connection allows.
	scope := req.Allowed(conn.AllowedScopes)
	if len(req.Scope) > 0 {
		scope = req.Scope.Intersect(conn.AllowedScopes)
		if len(scope) == 0 {
			return nil, CheckScope, oauth.InvalidScope("none of the requested scopes is allowed by the connection to %s", audience)
		}
	}
	ev.Scope = scope.String()
	trace.PassDetail(ctx, CheckScope, "allowed: "+conn.AllowedScopes.String()+"; granted: "+scope.String())

	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	lifetime := g.Lifetime
	if lifetime <= 0 {
		lifetime = idjag.DefaultLifetime
	}
	// Rich Authorization Requests (RFC 9396): what the client asks for
	// must be known and within what the administrator allows; it is
	// refused, not narrowed, so that the client learns what it may not do.
	var details json.RawMessage
	if raw := req.Form.Get("authorization_details"); raw != "" {
		parsed, e := rar.Parse(raw)
		if e == nil {
			e = rar.Within(parsed, conn.AllowedActions)
		}
		if e != nil {
			return nil, CheckAuthorizationDetails, e
		}
		details = rar.Marshal(parsed)
		trace.PassDetail(ctx, CheckAuthorizationDetails, "granted: "+string(details)+"; the connection allows "+strings.Join(conn.AllowedActions, " "))
	}

	// Step-up: some scopes may need a stronger or more recent sign-in
	// than the subject token shows.
	if guarded := scope.Intersect(conn.StepUp.Scopes); len(guarded) > 0 {
		if problem := conn.StepUp.Unmet(subject.ACR, subject.AuthTime, now()); problem != "" {
			return nil, CheckStepUp, conn.StepUp.Refusal(guarded.String() + ": " + problem)
		}
		trace.PassDetail(ctx, CheckStepUp, conn.StepUp.Met(guarded, subject.ACR, subject.AuthTime))
	}
	jkt, err := bound(ctx, req)
	if err != nil {
		return nil, CheckKeyBinding, err
	}
	email := subject.Email
	if g.WithoutEmail {
		email = ""
	}
	var audSub string
	if g.AudienceSubject != nil {
		if audSub, err = g.AudienceSubject(ctx, audience, subject.ID); err != nil {
			return nil, "find the person's id at the resource", oauth.ServerError(err)
		}
	}
	token, claims, err := idjag.Issue(g.Signer, idjag.Grant{
		Issuer: g.Issuer, Subject: subject.ID, Audience: audience, ClientID: conn.ClientIDAtResource,
		Scope: scope, Resource: resource, Email: email, AuthTime: subject.AuthTime,
		AMR: subject.AMR, ACR: subject.ACR, AudSub: audSub, AuthorizationDetails: details, Tenant: subject.Tenant, Lifetime: lifetime,
		Bound: jkt,
	}, g.issuedAt(req, now()))
	if err != nil {
		return nil, "sign the ID-JAG", oauth.ServerError(err)
	}
	ev.JTI = claims.ID
	// The scope is always returned: it may differ from the request
	// (draft §4.3.2). No refresh token (draft: SHOULD NOT).
	return &oauth.TokenResponse{
		AccessToken:     token,
		IssuedTokenType: oauth.TokenTypeIDJAG,
		TokenType:       "N_A",
		ExpiresIn:       int64(lifetime.Seconds()),
		Scope:           claims.Scope,
	}, "", nil
}

// bound is the key the ID-JAG is bound to: the one the client's DPoP proof
// showed it holds (the token endpoint checked the proof); or, for a client
// trusted to relay for its apps, the key its app proved to it, conveyed as
// requested_cnf (identity chaining draft, Delegated Key Binding); or none.
// Without either, no cnf (draft § on proof of possession).
func bound(ctx context.Context, req *oauth.TokenRequest) (string, error) {
	requested := req.Form.Get(oauth.ParamRequestedCnf)
	switch {
	case requested != "" && req.DPoP != nil:
		return "", oauth.InvalidRequest("send a DPoP proof or %s, not both", oauth.ParamRequestedCnf)
	case requested != "" && !req.Client.DelegatesKeys:
		return "", oauth.InvalidRequest("client %s may not ask for a grant bound to another party's key (%s)", req.Client.ID, oauth.ParamRequestedCnf)
	case requested != "":
		var cnf oauth.Confirmation
		if err := json.Unmarshal([]byte(requested), &cnf); err != nil || len(cnf.JKT) != 43 {
			return "", oauth.InvalidRequest("%s must be a JSON object with the key's jkt (a SHA-256 thumbprint, RFC 7638)", oauth.ParamRequestedCnf)
		}
		trace.PassDetail(ctx, CheckKeyBinding, "cnf.jkt "+cnf.JKT+", the key "+req.Client.ID+"'s app proved to it (requested_cnf)")
		return cnf.JKT, nil
	case req.DPoP != nil:
		trace.PassDetail(ctx, CheckKeyBinding, "cnf.jkt "+req.DPoP.Thumbprint+", the key of the request's DPoP proof")
		return req.DPoP.Thumbprint, nil
	}
	return "", nil
}

func governs(conns []Connection, resource string) bool {
	for _, c := range conns {
		if c.Resource == resource {
			return true
		}
	}
	return false
}

func (g *Grant) issuedAt(req *oauth.TokenRequest, now time.Time) time.Time {
	if g.IssuedAt != nil {
		return g.IssuedAt(req, now)
	}
	return now
}
