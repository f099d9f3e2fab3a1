package jwtbearer

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/dpop"
	"xaa.example/shared/idjag"
	"xaa.example/shared/oauth"
	"xaa.example/shared/rar"
	"xaa.example/shared/trace"
)

// Account is a local account of the resource authorization server.
type Account struct {
	ID    string
	Email string
	// Provisioned: the IdP created the account ahead of time (SCIM), with
	// the subject as its externalId.
	Provisioned bool
}

// ErrNoAccount is returned by Accounts.Linked for a subject never seen.
var ErrNoAccount = errors.New("no account is linked to this subject")

// ErrDeactivated is returned by Accounts for an account the IdP's
// provisioning deactivated (SCIM active=false).
var ErrDeactivated = errors.New("the account was deactivated by the administrator")

// Accounts maps IdP subjects to local accounts (docs/PROTOCOL.md check R12).
type Accounts interface {
	// Linked returns the account linked to (issuer, tenant, subject), at
	// SSO or by an earlier grant, or ErrNoAccount.
	Linked(ctx context.Context, issuer, tenant, subject string) (*Account, error)
	// LinkJustInTime links the subject to the account with this email,
	// creating the account when there is none.
	LinkJustInTime(ctx context.Context, issuer, tenant, subject, email string) (*Account, error)
}

// AccountSnapshots is implemented by Accounts that keep the accounts Linked
// found, so that a grant about someone seen before needs one database round
// trip, not two: check 12 is decided on the snapshot, and check 9 records
// the jti in the statement that finds the account still as the snapshot
// holds it. An administrator's change on any replica is seen at once.
type AccountSnapshots interface {
	// Snapshot returns the account Linked last found for the subject,
	// without asking the database, if one is kept.
	Snapshot(issuer, tenant, subject string) (*Account, bool)
	// RememberIfUnchanged records the ID-JAG's jti as the replay store
	// does (replay.ErrReplayed for a jti seen before), only if the subject
	// is still linked to acct, active and unchanged; ErrAccountChanged,
	// with nothing recorded, if not.
	RememberIfUnchanged(ctx context.Context, issuer, tenant, subject string, acct *Account, jti string, until time.Time) error
}

// ErrAccountChanged is returned by AccountSnapshots.RememberIfUnchanged
// when the account is no longer as its snapshot holds it.
var ErrAccountChanged = errors.New("the account changed since it was read")

// Resource is a protected resource this server governs.
type Resource struct {
	URI    string
	Scopes []string
	// RequireDPoP refuses to issue Bearer tokens for it: a client must
	// prove a key (RFC 9449), and gets a token bound to it.
	RequireDPoP bool
	// StepUp is this server's own demand on the person's sign-in for some
	// of the resource's scopes (RFC 9470), beside any the IdP made.
	StepUp oauth.StepUpPolicy
}

// Grant redeems ID-JAGs; it implements oauth.Grant.
type Grant struct {
	// Issuer is this server's issuer: the iss of the access tokens.
	Issuer    string
	Verifier  *idjag.Verifier
	Resources []Resource // the first is the default when an ID-JAG names none
	Accounts  Accounts
	Signer    accesstoken.Signer
	Lifetime  time.Duration
	Now       func() time.Time
}

// decision is what decide found; it is used once the jti is spent.
type decision struct {
	resources []string
	scope     oauth.Scopes
	account   *Account        // nil: link or create just in time
	bound     string          // the key's thumbprint the token is bound to, or ""
	details   json.RawMessage // the authorization_details the token carries
	// snapshot: check 12 was decided on the account as read at an earlier
	// grant (AccountSnapshots), which spend confirms.
	snapshot bool
}

// Handle verifies the assertion, applies this server's policy, spends the
// jti, and issues the token: checks 1 to 8 (package idjag), then 10 to 12
// and the proof (decide), then 9 (spend), so that a refused grant spends
// no jti.
func (g *Grant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	v, err := g.Verifier.Check(ctx, req.Assertion, req.Client.ID)
	if err != nil {
		return nil, err
	}
	var d decision
	if err := g.decide(ctx, req, v, &d); err != nil {
		return nil, err
	}
	if err := g.spend(ctx, v, &d); err != nil {
		return nil, err
	}
	c := v.Claims
	if d.account == nil {
		d.account, err = g.Accounts.LinkJustInTime(ctx, c.Issuer, c.Tenant, c.Subject, c.Email)
		if errors.Is(err, ErrDeactivated) {
			// The email is a deactivated account's.
			return nil, oauth.InvalidGrant("the account was deactivated by the administrator").WithReason(oauth.ReasonAccountDisabled)
		}
		if err != nil {
			return nil, oauth.ServerError(err)
		}
	}
	claims := accesstoken.Claims{
		Issuer:   g.Issuer,
		Subject:  d.account.ID,
		Audience: jwt.Audience(d.resources),
		ClientID: req.Client.ID,
		Scope:    d.scope.String(),
		AuthTime: c.AuthTime,
		ACR:      c.ACR,
		Email:    d.account.Email,
		// RFC 9396 §9.1: the access token says what it grants.
		AuthorizationDetails: d.details,
		IdP:                  c.Issuer,
	}
	tokenType := "Bearer"
	if d.bound != "" {
		// RFC 9449 §6: bound to the key; presented with a proof of it.
		claims.Cnf, tokenType = &oauth.Confirmation{JKT: d.bound}, dpop.TokenType
	}
	at, _, err := accesstoken.Issue(g.Signer, claims, g.Now(), g.Lifetime)
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	// No refresh token: when the access token expires, the client asks the
	// IdP for a new ID-JAG (draft §4.4.3).
	return &oauth.TokenResponse{
		AccessToken: at,
		TokenType:   tokenType,
		ExpiresIn:   int64(g.Lifetime.Seconds()),
		Scope:       d.scope.String(),
		Resource:    d.resources,
	}, nil
}

func (g *Grant) requiresDPoP(uris []string) bool {
	for _, u := range uris {
		if r := g.resource(u); r != nil && r.RequireDPoP {
			return true
		}
	}
	return false
}

// refuse reports e to the console as the failure of check, and returns it.
func refuse(ctx context.Context, check trace.CheckID, e *oauth.Error) error {
	trace.Fail(ctx, check, e.Description)
	return e
}

func (g *Grant) decide(ctx context.Context, req *oauth.TokenRequest, v *idjag.Verified, d *decision) error {
	c := v.Claims
	fail := func(check trace.CheckID, e *oauth.Error) error { return refuse(ctx, check, e) }
	const c10, c11 = CheckResource, CheckScope

	// 10. Every resource must be governed here; the access token's aud is
	// the resource. Without a resource claim, the default resource.
	d.resources = c.Resource
	if len(d.resources) == 0 {
		d.resources = []string{g.Resources[0].URI}
	}
	known := oauth.Scopes{}
	for _, uri := range d.resources {
		r := g.resource(uri)
		if r == nil {
			return fail(c10, oauth.InvalidGrant("the assertion's resource %s is not governed by this authorization server", uri))
		}
		known = append(known, r.Scopes...)
	}
	if want := req.Resource; want != "" {
		if !slices.Contains(d.resources, want) {
			return fail(c10, oauth.InvalidTarget("resource %s is not among the resources of the assertion", want))
		}
		d.resources = []string{want}
		known = g.resource(want).Scopes
	}

	trace.PassDetail(ctx, c10, strings.Join(d.resources, " "))

	// 11. granted = requested ∩ assertion scope ∩ client's allowed scopes ∩
	// the resource's scopes. A missing scope claim grants nothing.
	// The token endpoint has already narrowed the request to the client's
	// allowed scopes (its scope policy).
	d.scope = req.Allowed(oauth.ParseScopes(c.Scope).Intersect(oauth.ParseScopes(oauth.Scopes(known).String())))
	if len(req.Scope) > 0 {
		d.scope = d.scope.Intersect(req.Scope)
	}
	if len(d.scope) == 0 {
		return fail(c11, oauth.InvalidScope("no requested scope is both granted by the assertion and allowed for this client"))
	}
	trace.PassDetail(ctx, c11, "granted: "+d.scope.String())

	// 15. Rich Authorization Requests (RFC 9396): the IdP's grant goes
	// into the access token as it is, if of types this server knows; the
	// resource enforces it on every call.
	if len(c.AuthorizationDetails) > 0 {
		details, e := rar.Parse(string(c.AuthorizationDetails))
		if e != nil {
			return fail(CheckAuthorizationDetails, oauth.InvalidGrant("the ID-JAG's authorization_details are not ones this server takes: %s", e.Description))
		}
		d.details = rar.Marshal(details)
		trace.PassDetail(ctx, CheckAuthorizationDetails, "the access token carries "+string(d.details))
	}

	// 14. Step-up: the resource may want a stronger or more recent
	// sign-in for some scopes than the ID-JAG's acr and auth_time show
	// (RFC 9470); the client sends the person to sign in again.
	for _, uri := range d.resources {
		p := g.resource(uri).StepUp
		guarded := d.scope.Intersect(p.Scopes)
		if len(guarded) == 0 {
			continue
		}
		var authTime time.Time
		if c.AuthTime != nil {
			authTime = c.AuthTime.Time()
		}
		if problem := p.Unmet(c.ACR, authTime, g.Now()); problem != "" {
			return fail(CheckStepUp, p.Refusal(guarded.String()+" at "+uri+": "+problem))
		}
		trace.PassDetail(ctx, CheckStepUp, p.Met(guarded, c.ACR, authTime))
	}

	if err := g.checkSubject(ctx, v, d, false); err != nil {
		return err
	}

	// Proof of possession (ID-JAG draft, § on key binding at the resource
	// AS): an ID-JAG bound to a key is redeemed only with a proof of that
	// key; a proof without cnf binds the access token to its key; neither
	// gives a Bearer token, unless a resource requires binding.
	switch p := req.DPoP; {
	case c.Cnf != nil && p == nil:
		return fail(CheckProof, oauth.InvalidGrant("Proof of possession required for this authorization grant: the ID-JAG is bound to a key (cnf.jkt); send a DPoP proof signed with it"))
	case c.Cnf != nil && p.Thumbprint != c.Cnf.JKT:
		return fail(CheckProof, oauth.InvalidGrant("the DPoP proof is signed with another key than the one the ID-JAG is bound to (cnf.jkt)"))
	case p != nil:
		d.bound = p.Thumbprint
		detail := "no cnf in the ID-JAG; the access token is bound to the proof's key " + p.Thumbprint
		if c.Cnf != nil {
			detail = "cnf.jkt " + c.Cnf.JKT + " matches the proof's key; the access token is bound to it"
		}
		trace.PassDetail(ctx, CheckProof, detail)
	case g.requiresDPoP(d.resources):
		return fail(CheckProof, oauth.InvalidGrant("Sender-constrained tokens required for this resource server: send a DPoP proof"))
	default:
		trace.PassDetail(ctx, CheckProof, "no cnf and no proof: a Bearer token")
	}
	return nil
}

// checkSubject is check 12: the subject must be linked at SSO, unless the
// issuer's policy lets an account be linked or made just in time from the
// email. With a snapshot kept, it is decided on that (d.snapshot), and
// spend records the jti on condition that it still holds; reread is the
// check made again on the database after that condition failed.
func (g *Grant) checkSubject(ctx context.Context, v *idjag.Verified, d *decision, reread bool) error {
	c := v.Claims
	fail := func(e *oauth.Error) error { return refuse(ctx, CheckSubject, e) }
	snaps, _ := g.Accounts.(AccountSnapshots)
	var acct *Account
	var err error
	held := false
	if snaps != nil && !reread {
		acct, held = snaps.Snapshot(c.Issuer, c.Tenant, c.Subject)
	}
	if !held {
		acct, err = g.Accounts.Linked(ctx, c.Issuer, c.Tenant, c.Subject)
	}
	// What the console says of where the account came from.
	asOf, again := "", ""
	if held {
		asOf = " (as read at an earlier grant; recording the jti checks it still is)"
	}
	if reread {
		again = "the account changed since it was read, read again: "
	}
	// aud_sub first (draft §3): the IdP names the person by this server's
	// own id, which its provisioning learned. It must be the account this
	// IdP's subject is linked to here: an IdP vouches for its own people,
	// never for an account it did not provision or link.
	if c.AudSub != "" {
		switch {
		case err == nil && acct.ID != c.AudSub:
			return fail(oauth.InvalidGrant("aud_sub names account %s, but this subject is linked to another account here; the IdP's record of who is who here is wrong", c.AudSub))
		case err == nil:
			d.account, d.snapshot = acct, held
			how := "linked at sign-in"
			if acct.Provisioned {
				how = "provisioned by the IdP: SCIM externalId = sub"
			}
			trace.PassDetail(ctx, CheckSubject, again+"found by aud_sub: account "+acct.ID+", this server's own id for the person, as the IdP's provisioning learned it; the account this subject is linked to ("+how+")"+asOf)
			return nil
		case errors.Is(err, ErrNoAccount):
			return fail(oauth.InvalidGrant("aud_sub names account %s, which this IdP has neither provisioned nor linked for this person here", c.AudSub))
		}
	}
	switch {
	case err == nil && acct.Provisioned:
		d.account = acct
		trace.PassDetail(ctx, CheckSubject, again+"provisioned by the IdP (SCIM externalId = sub): account "+acct.ID+asOf)
	case err == nil:
		d.account = acct
		trace.PassDetail(ctx, CheckSubject, again+"linked at sign-in: account "+acct.ID+asOf)
	case errors.Is(err, ErrDeactivated):
		return fail(oauth.InvalidGrant("the account was deactivated by the administrator").WithReason(oauth.ReasonAccountDisabled))
	case !errors.Is(err, ErrNoAccount):
		return fail(oauth.ServerError(err))
	case v.Issuer.JIT.Allows(c.Email):
		d.account = nil
		trace.PassDetail(ctx, CheckSubject, "not linked yet; just-in-time account for "+c.Email+" allowed by the issuer's policy")
	default:
		return fail(oauth.InvalidGrant("the user has no account at this authorization server yet: sign in to the app once, or allow just-in-time accounts for this IdP"))
	}
	d.snapshot = held
	return nil
}

// spend is check 9: the jti is recorded as used. When check 12 was decided
// on a snapshot of the account, the jti is recorded by the statement that
// finds the account still as read; if it changed meanwhile (an
// administrator, on any replica), check 12 is made again on what the
// database holds now, and the jti recorded as for any account just read.
func (g *Grant) spend(ctx context.Context, v *idjag.Verified, d *decision) error {
	c := v.Claims
	until := g.Verifier.Until(v)
	if d.snapshot {
		snaps := g.Accounts.(AccountSnapshots)
		err := snaps.RememberIfUnchanged(ctx, c.Issuer, c.Tenant, c.Subject, d.account, c.ID, until)
		if !errors.Is(err, ErrAccountChanged) {
			return idjag.Spent(ctx, v, err)
		}
		if err := g.checkSubject(ctx, v, d, true); err != nil {
			return err
		}
	}
	return idjag.Spent(ctx, v, g.Verifier.Replay.Remember(ctx, c.Issuer, c.ID, until))
}

func (g *Grant) resource(uri string) *Resource {
	for i := range g.Resources {
		if g.Resources[i].URI == uri {
			return &g.Resources[i]
		}
	}
	return nil
}
