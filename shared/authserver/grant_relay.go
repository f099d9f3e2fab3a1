package authserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"xaa.example/shared/oauth"
	"xaa.example/shared/storage"
	"xaa.example/shared/trace"
	"xaa.example/shared/xaaclient"
)

// relayGrant is the requesting side's step 2: the app presents the
// ID token this server issued it, and this server asks the IdP for an
// ID-JAG on the user's behalf with the IdP ID token it keeps from the SSO
// (RFC 8693, ID-JAG draft §4.3).
type relayGrant struct{ s *Server }

func (g *relayGrant) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	s := g.s
	switch {
	case req.RequestedTokenType != oauth.TokenTypeIDJAG:
		return nil, oauth.InvalidRequest("requested_token_type must be %s", oauth.TokenTypeIDJAG)
	case req.SubjectToken == "":
		return nil, oauth.InvalidRequest("subject_token is required")
	case req.SubjectTokenType != oauth.TokenTypeIDToken:
		return nil, oauth.InvalidRequest("subject_token_type must be %s", oauth.TokenTypeIDToken)
	case req.Audience == "":
		return nil, oauth.InvalidRequest("audience is required: the issuer of the resource authorization server")
	}

	// The subject token must be an ID token of ours, issued to this client.
	c, e := s.op.VerifyIDToken(req.SubjectToken, req.Client.ID)
	if e != nil {
		trace.Fail(ctx, oauth.CheckSubjectToken, e.Description)
		return nil, e
	}
	trace.PassDetail(ctx, oauth.CheckSubjectToken, "user "+c.Subject)

	idpToken, idpTokenType, t, err := g.currentIdPToken(ctx, c.Subject)
	if err != nil {
		trace.Fail(ctx, xaaclient.CheckIdPToken, oauth.AsError(err).Description)
		return nil, err
	}
	trace.PassDetail(ctx, xaaclient.CheckIdPToken, subjectWords(idpTokenType)+" from "+t.IdP.Issuer)
	ctx = trace.WithStep(ctx, trace.StepRelay, idpTokenType)
	md, err := t.rp.Upstream.Metadata(ctx)
	if err != nil {
		return nil, oauth.TemporarilyUnavailable("the enterprise IdP could not be reached").WithCause(err)
	}
	method, err := xaaclient.ChooseAuthMethod(t.IdP.AuthMethod, md.TokenEndpointAuthMethods, false, t.IdP.ClientSecret != "")
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	scope := req.Scope
	if t.IdP.OmitExchangeScope {
		scope = nil
	}
	idjag, err := xaaclient.RequestIDJAG(ctx, s.http, md.TokenEndpoint,
		xaaclient.Credentials{ClientID: t.IdP.ClientID, ClientSecret: t.IdP.ClientSecret, Method: method},
		xaaclient.IDJAGRequest{
			SubjectToken:     idpToken,
			SubjectTokenType: idpTokenType,
			Audience:         req.Audience,
			Resource:         req.Resource,
			Scope:            scope,
			// The app proved a key to this server (its DPoP proof, checked
			// by the token endpoint); this server cannot sign for that key,
			// so it conveys it to the IdP for the ID-JAG's cnf (identity
			// chaining draft, Delegated Key Binding).
			RequestedCnf: boundKey(req),
			Extra:        demoParams(req),
		})
	if err != nil {
		trace.Fail(ctx, xaaclient.CheckIssued, err.Error())
		return nil, relayIdPError(err)
	}
	trace.PassDetail(ctx, xaaclient.CheckIssued, "issued_token_type id-jag, token_type N_A")
	// The ID-JAG goes back to the app as the IdP sent it: in access_token
	// (RFC 8693 §2.2.1), typed id-jag, token_type N_A.
	return &oauth.TokenResponse{
		AccessToken:     idjag.Token,
		IssuedTokenType: idjag.IssuedTokenType,
		TokenType:       idjag.TokenType,
		ExpiresIn:       idjag.ExpiresIn,
		Scope:           idjag.Scope,
	}, nil
}

// currentIdPToken returns the subject token to present to the user's IdP
// and its type: their ID token from the IdP, refreshed with the IdP
// refresh token when it has expired or is about to; or, for a SAML tenant,
// the refresh token the IdP gave for the SAML assertion at sign-in (the
// ID-JAG draft's SAML path). And the tenant it belongs to.
func (g *relayGrant) currentIdPToken(ctx context.Context, userID string) (string, string, *tenant, error) {
	s := g.s
	us, err := s.store.upstream(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", "", nil, oauth.InvalidGrant("there is no IdP sign-in for this user; sign in again").WithReason(oauth.ReasonSignInAgain)
	}
	if err != nil {
		return "", "", nil, oauth.ServerError(err)
	}
	t := s.tenantByIssuer(us.IdPIssuer)
	if t == nil {
		return "", "", nil, oauth.InvalidGrant("the user's IdP is no longer configured here; sign in again").WithReason(oauth.ReasonSignInAgain)
	}
	if t.SAML && t.IdP.TokenIssuer == "" {
		return "", "", nil, oauth.InvalidGrant("the user's organisation signs in with its own SAML IdP (%s), which is not an OAuth server and issues no ID-JAGs; this server cannot ask for one on their behalf", t.IdP.Issuer).
			WithReason(oauth.ReasonNoIDJAGIssuer)
	}
	if t.SAML && t.SAMLDirect {
		if us.SAMLAssertion == "" {
			return "", "", nil, oauth.InvalidGrant("there is no SAML assertion from the sign-in; sign in again").WithReason(oauth.ReasonSignInAgain)
		}
		return us.SAMLAssertion, oauth.TokenTypeSAML2, t, nil
	}
	if t.SAML {
		if us.RefreshToken == "" {
			return "", "", nil, oauth.InvalidGrant("the SAML sign-in was not exchanged for an IdP refresh token; sign in again").WithReason(oauth.ReasonSignInAgain)
		}
		// The console shows the person's assertion behind the refresh
		// token, which the relay's request does not carry.
		trace.Show(ctx, "the SAML assertion of the sign-in, which the IdP exchanged for the refresh token presented now", us.SAMLAssertion)
		return us.RefreshToken, oauth.TokenTypeRefreshToken, t, nil
	}
	if s.cfg.Now().Add(30 * time.Second).Before(us.Expiry) {
		return us.IDToken, oauth.TokenTypeIDToken, t, nil
	}
	if us.RefreshToken == "" {
		return "", "", nil, oauth.InvalidGrant("the IdP sign-in has expired; sign in again").WithReason(oauth.ReasonSignInAgain)
	}
	res, err := t.rp.Refresh(ctx, us.RefreshToken)
	if err != nil {
		return "", "", nil, oauth.InvalidGrant("the IdP sign-in has expired and could not be renewed; sign in again").WithReason(oauth.ReasonSignInAgain).WithCause(err)
	}
	us.IDToken, us.RefreshToken, us.Expiry = res.IDToken, res.RefreshToken, res.Expiry
	if err := s.store.saveUpstream(ctx, us); err != nil {
		return "", "", nil, oauth.ServerError(err)
	}
	return us.IDToken, oauth.TokenTypeIDToken, t, nil
}

// subjectWords says which subject token the relay presents, and so which
// path ran for a SAML person.
func subjectWords(tokenType string) string {
	switch tokenType {
	case oauth.TokenTypeRefreshToken:
		return "the IdP refresh token given for the SAML sign-in (the ID-JAG draft's SAML path)"
	case oauth.TokenTypeSAML2:
		return "the SAML assertion of the sign-in itself (the Node sample's path)"
	}
	return "the ID token"
}

// relayIdPError passes the IdP's refusal on to the app. A refusal of this
// server's own credentials is this server's misconfiguration, not the app's.
func relayIdPError(err error) error {
	var er *oauth.Error
	var un *xaaclient.Unreachable
	switch {
	case errors.As(err, &un):
		return oauth.TemporarilyUnavailable("the enterprise IdP could not be reached").WithCause(err)
	case errors.Is(err, oauth.ReasonIDJAGNotBound):
		// The IdP answered, with an ID-JAG this server will not relay.
		return &oauth.Error{Code: "server_error", Status: http.StatusBadGateway, Reason: oauth.ReasonIDJAGNotBound,
			Description: "the enterprise IdP returned an ID-JAG without the key binding (cnf.jkt) the app's DPoP proof asked for; refused as a downgrade"}
	case errors.As(err, &er) && er.Code == "invalid_client":
		return oauth.ServerError(err)
	case errors.As(err, &er) && er.Status < 500:
		desc := "the enterprise IdP refused the token exchange"
		if er.Description != "" {
			desc += ": " + er.Description
		}
		// A step-up request (acr_values, max_age) goes on to the app, which
		// sends the person to sign in again (ID-JAG draft §8.2).
		return &oauth.Error{Code: er.Code, Description: desc, Status: http.StatusBadRequest, Reason: er.Reason, StepUp: er.StepUp}
	}
	return oauth.TemporarilyUnavailable("the enterprise IdP failed to answer the token exchange").WithCause(err)
}

// boundKey is the thumbprint of the key the app proved with its request,
// or "".
func boundKey(req *oauth.TokenRequest) string {
	if req.DPoP == nil {
		return ""
	}
	return req.DPoP.Thumbprint
}

// demoParams passes the debug console's demo request on to the IdP; only
// the local IdP with demo scenarios on acts on it.
func demoParams(req *oauth.TokenRequest) url.Values {
	if v := req.Form.Get("xaa_demo"); v != "" {
		return url.Values{"xaa_demo": {v}}
	}
	return nil
}

// exchangeAssertion is the draft's SAML path (§4.5), right after a SAML
// sign-in: the signed assertion, as the IdP signed it, exchanged at once
// for a refresh token of the IdP, which later asks for ID-JAGs long after
// the assertion itself has expired. A tenant that sends the assertion
// itself (SAMLDirect) has no use for one.
func (g *relayGrant) exchangeAssertion(ctx context.Context, t *tenant, assertion string, us *UpstreamSession) error {
	if t.SAMLDirect || assertion == "" || t.IdP.TokenIssuer == "" {
		return nil
	}
	ctx = trace.WithStep(ctx, trace.StepSAMLExchange)
	md, err := t.rp.Upstream.Metadata(ctx)
	if err != nil {
		return err
	}
	method, err := xaaclient.ChooseAuthMethod(t.IdP.AuthMethod, md.TokenEndpointAuthMethods, false, t.IdP.ClientSecret != "")
	if err != nil {
		return err
	}
	us.RefreshToken, err = xaaclient.ExchangeForRefreshToken(ctx, g.s.http, md.TokenEndpoint,
		xaaclient.Credentials{ClientID: t.IdP.ClientID, ClientSecret: t.IdP.ClientSecret, Method: method}, assertion, oauth.TokenTypeSAML2)
	return err
}
