package provider

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"slices"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"xaa.example/idp/store"
	"xaa.example/shared/codeflow"
	"xaa.example/shared/exchange"
	"xaa.example/shared/oauth"
	"xaa.example/shared/samlcred"
	"xaa.example/shared/samlxml"
	"xaa.example/shared/trace"
)

// The ID-JAG draft's SAML path: a client that signed a person in by SAML
// exchanges the assertion for a refresh token here (subject_token_type
// saml2, requested_token_type refresh_token), and then that refresh token
// for ID-JAGs whenever it needs one. The assertion's Audience (the service
// provider) maps to the client that must authenticate.

// maxAssertionBytes bounds a SAML subject token before any parsing.
const maxAssertionBytes = 64 << 10

// samlSkew tolerates clock differences on an assertion's conditions.
const samlSkew = time.Minute

// verifySAMLAssertion checks a base64url SAML assertion presented by
// clientID: this IdP's signature over it (the element the signature covers
// is the one read, so a wrapped second assertion counts for nothing), its
// Issuer, an Audience whose service provider clientID speaks for, its time
// conditions and a NameID of an active person here. Exchanged
// for a refresh token (once), it is spent; as the subject of an ID-JAG
// request it may be presented again while it is valid, as a bearer
// assertion is (RFC 7522 §3).
func (s *Server) verifySAMLAssertion(ctx context.Context, token, clientID string, once bool) (*store.User, *saml.Assertion, error) {
	var check trace.CheckID // the check running, named in the trace when it refuses
	refuse := func(format string, args ...any) (*store.User, *saml.Assertion, error) {
		e := oauth.InvalidGrant("subject_token (SAML assertion): "+format, args...).WithReason(oauth.ReasonSignInAgain)
		trace.Fail(ctx, check, e.Description)
		return nil, nil, e
	}

	check = samlcred.CheckMarkup
	if len(token) > maxAssertionBytes {
		return refuse("larger than %d bytes", maxAssertionBytes)
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		if raw, err = base64.StdEncoding.DecodeString(token); err != nil {
			return refuse("not base64url")
		}
	}
	if err := samlxml.RefuseMarkup(raw); err != nil {
		return refuse("%v", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return refuse("not XML")
	}
	root := doc.Root()
	if root.Tag != "Assertion" || root.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:assertion" {
		return refuse("not a SAML 2.0 Assertion")
	}
	trace.Pass(ctx, check)

	check = samlcred.CheckSignature
	validated, err := s.samlValidator().Validate(root)
	if err != nil {
		return refuse("its signature is not this IdP's")
	}
	signed := etree.NewDocument()
	signed.SetRoot(validated.Copy())
	b, err := signed.WriteToBytes()
	if err != nil {
		return refuse("unreadable")
	}
	var a saml.Assertion
	if err := xml.Unmarshal(b, &a); err != nil {
		return refuse("unreadable")
	}
	trace.Pass(ctx, check)

	check = samlcred.CheckIssuer
	if a.Issuer.Value != s.saml.EntityID() {
		return refuse("issued by %q, not this IdP", a.Issuer.Value)
	}
	trace.PassDetail(ctx, check, a.Issuer.Value)

	check = samlcred.CheckConditions
	now := s.cfg.Now()
	switch {
	case a.Conditions == nil:
		return refuse("no Conditions")
	case !a.Conditions.NotBefore.IsZero() && now.Add(samlSkew).Before(a.Conditions.NotBefore):
		return refuse("not valid yet (NotBefore)")
	case a.Conditions.NotOnOrAfter.IsZero() || !now.Before(a.Conditions.NotOnOrAfter.Add(samlSkew)):
		return refuse("expired (NotOnOrAfter)")
	}
	trace.PassDetail(ctx, check, "valid until "+a.Conditions.NotOnOrAfter.UTC().Format(time.RFC3339))

	check = samlcred.CheckAudience
	if !s.audienceSpokenFor(&a, clientID) {
		return refuse("its Audience is not a service provider client %s speaks for", clientID)
	}
	trace.PassDetail(ctx, check, "a service provider of "+clientID)

	check = samlcred.CheckSubject
	if a.Subject == nil || a.Subject.NameID == nil || a.Subject.NameID.Value == "" {
		return refuse("no NameID")
	}
	// The NameID is the person's id here (persistent), or their email when
	// the service provider asked for that format (see GetSession).
	lookup := s.store.User
	if a.Subject.NameID.Format == string(saml.EmailAddressNameIDFormat) {
		lookup = s.store.UserByEmail
	}
	u, err := lookup(ctx, a.Subject.NameID.Value)
	if err != nil {
		return refuse("its NameID is no one here")
	}
	if u.Disabled {
		return refuse("the person's account is disabled by the administrator")
	}
	trace.PassDetail(ctx, check, "user "+u.ID)

	if once {
		check = samlcred.CheckOnce
		if err := s.op.Replay.Remember(ctx, "saml-exchange", a.ID, a.Conditions.NotOnOrAfter.Add(samlSkew)); err != nil {
			return refuse("it was exchanged before (an assertion is exchanged for a refresh token once)")
		}
		trace.PassDetail(ctx, check, "assertion "+a.ID)
	}
	return u, &a, nil
}

// samlValidator checks signatures by this IdP's SAML certificate alone.
func (s *Server) samlValidator() *dsig.ValidationContext {
	return dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{s.saml.Certificate()}})
}

// audienceSpokenFor reports whether one of the assertion's audiences is a
// registered service provider whose client is clientID.
func (s *Server) audienceSpokenFor(a *saml.Assertion, clientID string) bool {
	for _, ar := range a.Conditions.AudienceRestrictions {
		aud := ar.Audience.Value
		if slices.ContainsFunc(s.cfg.SAMLServiceProviders, func(sp SAMLServiceProvider) bool {
			return sp.EntityID == aud && sp.ClientID == clientID
		}) {
			return true
		}
	}
	return false
}

// samlRefreshGrant answers a token exchange that asks for a refresh token
// for a SAML assertion (the draft's SAML path, first step).
func (s *Server) samlRefreshGrant(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	if req.SubjectTokenType != oauth.TokenTypeSAML2 {
		return nil, oauth.InvalidRequest("a refresh token is issued here for a SAML assertion alone (subject_token_type %s)", oauth.TokenTypeSAML2)
	}
	u, a, err := s.verifySAMLAssertion(ctx, req.SubjectToken, req.Client.ID, true)
	if err != nil {
		return nil, err
	}
	authTime := s.cfg.Now()
	if len(a.AuthnStatements) > 0 && !a.AuthnStatements[0].AuthnInstant.IsZero() {
		authTime = a.AuthnStatements[0].AuthnInstant
	}
	rt, err := s.op.Codes.NewRefreshToken(ctx, codeflow.Session{ClientID: req.Client.ID, UserID: u.ID, Scope: "openid offline_access", AuthTime: authTime})
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	// RFC 8693 §2.2.1: the issued token is in access_token, typed.
	return &oauth.TokenResponse{AccessToken: rt, IssuedTokenType: oauth.TokenTypeRefreshToken, TokenType: "N_A"}, nil
}

// exchangeDispatch is the IdP's token exchange: a refresh token for a SAML
// assertion, or an ID-JAG for a subject token (package exchange).
type exchangeDispatch struct {
	s      *Server
	idjags *exchange.Grant
}

func (d exchangeDispatch) Handle(ctx context.Context, req *oauth.TokenRequest) (*oauth.TokenResponse, error) {
	if req.RequestedTokenType == oauth.TokenTypeRefreshToken {
		return d.s.samlRefreshGrant(ctx, req)
	}
	return d.idjags.Handle(ctx, req)
}

// verifyRefreshSubject accepts a refresh token of this IdP as a subject
// token (the draft's SAML path, second step): unused, unexpired, issued to
// the client presenting it, about an active person.
func (s *Server) verifyRefreshSubject(ctx context.Context, token, clientID string) (*exchange.Subject, error) {
	sess, err := s.op.Codes.Peek(ctx, token)
	if errors.Is(err, codeflow.ErrGone) {
		return nil, oauth.InvalidGrant("subject_token is not a live refresh token of this IdP").WithReason(oauth.ReasonSignInAgain)
	}
	if err != nil {
		return nil, oauth.ServerError(err)
	}
	if sess.ClientID != clientID {
		return nil, oauth.InvalidGrant("subject_token was issued to another client").WithReason(oauth.ReasonSignInAgain)
	}
	u, err := s.store.User(ctx, sess.UserID)
	if err != nil {
		return nil, oauth.InvalidGrant("the subject's account no longer exists")
	}
	if u.Disabled {
		return nil, oauth.InvalidGrant("the subject's account is disabled by the administrator").WithReason(oauth.ReasonAccountDisabled)
	}
	return &exchange.Subject{ID: u.ID, Email: u.Email, AuthTime: sess.AuthTime, AMR: sess.AMR, ACR: ACR(sess.AMR)}, nil
}
