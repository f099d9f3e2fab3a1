package provider

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/crewjam/saml"

	"xaa.example/shared/samlcred"
	"xaa.example/shared/samlxml"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

// The IdP is also a SAML 2.0 identity provider (github.com/crewjam/saml):
// its metadata at /saml/metadata, single sign-on at /saml/sso for the
// registered service providers (SP-initiated; the AuthnRequest by the
// HTTP-Redirect binding, the signed Response by HTTP-POST), the person's
// IdP user id as a persistent NameID and their email and name as
// attributes. A person not signed in here signs in first and comes back.

const (
	pathSAMLMetadata = "/saml/metadata"
	pathSAMLSSO      = "/saml/sso"
)

func (s *Server) newSAMLIdP(ctx context.Context) (*saml.IdentityProvider, error) {
	key, cert, err := samlcred.LoadOrCreate(ctx, s.cfg.DB, "idp", s.cfg.Issuer+pathSAMLMetadata)
	if err != nil {
		return nil, fmt.Errorf("SAML signing key: %w", err)
	}
	meta, _ := url.Parse(s.cfg.Issuer + pathSAMLMetadata)
	sso, _ := url.Parse(s.cfg.Issuer + pathSAMLSSO)
	login, _ := url.Parse(s.cfg.Issuer + pathLogin)
	valid := 5 * time.Minute
	return &saml.IdentityProvider{
		Key:                     key,
		Signer:                  key,
		Certificate:             cert,
		MetadataURL:             *meta,
		SSOURL:                  *sso,
		LoginURL:                *login,
		Logger:                  samlcred.Logger{Log: s.cfg.Log},
		ServiceProviderProvider: s,
		SessionProvider:         s,
		ReplayCache:             samlcred.ReplayCache{Store: s.op.Replay},
		ValidDuration:           &valid,
		ResponseFormTemplate:    samlPostForm,
		OnError:                 s.samlError,
	}, nil
}

// serveSAMLSSO refuses an AuthnRequest with markup no SAML message needs
// (samlxml.RefuseMarkup: a DTD, an entity, a comment) before crewjam/saml
// reads it, and hands the rest to the library. The request is decoded
// twice then, each time inflated to at most the library's 1 MiB.
func (s *Server) serveSAMLSSO(w http.ResponseWriter, r *http.Request) {
	if req, err := saml.NewIdpAuthnRequest(s.saml, r); err == nil {
		if err := samlxml.RefuseMarkup(req.RequestBuffer); err != nil {
			s.samlError(w, r, http.StatusBadRequest, fmt.Errorf("%w: %v", saml.ErrMalformedMessage, err))
			return
		}
	}
	s.saml.ServeSSO(w, r)
}

// samlError is what a person sees when a service provider's request cannot
// be answered: a page saying why in words, the library's detail in the log.
func (s *Server) samlError(w http.ResponseWriter, r *http.Request, status int, err error) {
	s.cfg.Log.Info("SAML request refused", "status", status, "err", err)
	title, msg := "Sign-in request refused", "The application's SAML sign-in request could not be read or is not valid. Go back to the application and sign in again; if it happens again, its administrator should check its SAML settings."
	switch {
	case errors.Is(err, saml.ErrUnknownServiceProvider):
		msg = "The application that sent you here is not registered with this identity provider as a SAML service provider. Its administrator must register its entity ID first."
	case errors.Is(err, saml.ErrUnknownAssertionConsumerService):
		msg = "The application asked for the answer at an address it has not registered here (its assertion consumer service). Its administrator should check its SAML settings."
	case errors.Is(err, saml.ErrExpired), errors.Is(err, saml.ErrNotYetValid):
		msg = "The application's sign-in request is too old, or dated in the future. Go back to the application and sign in again."
	case status >= 500:
		title, msg = "Something went wrong", "The identity provider could not answer this SAML sign-in. Try again; if it persists, its log says why."
	}
	web.WriteErrorPage(w, r, s.meta(), status, title, msg)
}

// samlPostForm is the page that carries the signed response to the
// service provider (HTTP-POST binding): the IdP's look, a script from
// /static that posts it at once (the pages' Content-Security-Policy allows
// no inline script), and a Continue button without scripts.
var samlPostForm = template.Must(template.New("saml-post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signing you in · Enterprise IdP</title><link rel="stylesheet" href="/static/app.css"><script src="/static/saml-post.js"></script></head>
<body class="accent-idp"><main><section class="card narrow">
<h1>Signing you in</h1><p class="muted">Sending your sign-in to the application (SAML 2.0)…</p>
<form method="post" action="{{.URL}}" id="SAMLResponseForm">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<button id="SAMLSubmitButton" type="submit">Continue</button>
</form></section></main></body></html>`))

// GetServiceProvider implements saml.ServiceProviderProvider: the
// registered service providers, by entity ID.
func (s *Server) GetServiceProvider(_ *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	for _, sp := range s.cfg.SAMLServiceProviders {
		if sp.EntityID == entityID {
			return &saml.EntityDescriptor{EntityID: sp.EntityID, SPSSODescriptors: []saml.SPSSODescriptor{{
				SSODescriptor:             saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"}},
				AssertionConsumerServices: []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: sp.ACSURL, Index: 1}},
			}}}, nil
		}
	}
	return nil, os.ErrNotExist
}

// GetSession implements saml.SessionProvider: the person signed in here,
// or, when no one is, the sign-in page, which brings them back to this
// same request.
func (s *Server) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	ctx := r.Context()
	if uid, authTime := s.op.SignedIn(ctx); uid != "" {
		if u, err := s.store.user(ctx, uid); err == nil && !u.Disabled {
			if !s.signsInBySAML(w, r, req, u) {
				return nil
			}
			return &saml.Session{
				ID: uid + "-" + authTime.Format(time.RFC3339), CreateTime: authTime, ExpireTime: authTime.Add(8 * time.Hour),
				Index: uid, NameID: u.ID, NameIDFormat: string(saml.PersistentNameIDFormat),
				UserEmail: u.Email, UserName: u.Email, UserCommonName: u.Name,
			}
		}
		s.op.Forget(ctx)
	}
	to := url.Values{"next": {r.URL.RequestURI()}}
	if hint := r.URL.Query().Get("login_hint"); hint != "" {
		to.Set("login_hint", hint)
	}
	http.Redirect(w, r, pathLogin+"?"+to.Encode(), http.StatusFound)
	return nil
}

// signsInBySAML reports whether u's organisation signs in to the app req
// comes from with SAML, as the admin chose (the Apps tab); if not, it
// shows a page that says so.
func (s *Server) signsInBySAML(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest, u *User) bool {
	ctx := r.Context()
	app, err := s.store.samlApp(ctx, req.ServiceProviderMetadata.EntityID)
	if err == nil && app.SignsInBySAML(u.OrgID) {
		return true
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.cfg.Log.Error("SAML app", "err", err)
		web.WriteErrorPage(w, r, s.meta(), http.StatusInternalServerError, "Something went wrong", "The identity provider could not read this app's settings. Try again in a moment.")
		return false
	}
	org := "Your organisation"
	if o, err := s.store.org(ctx, u.OrgID); err == nil {
		org = o.Name
	}
	web.WriteErrorPage(w, r, s.meta(), http.StatusForbidden, "Not a SAML sign-in for "+u.Email,
		org+" signs in to this app with OpenID Connect, not SAML: that is the administrator's choice at this identity provider (Admin console, Apps). "+
			"The app sent a SAML request; its own settings must agree (SAML_DOMAINS), or the administrator can choose SAML for "+org+".")
	return false
}
