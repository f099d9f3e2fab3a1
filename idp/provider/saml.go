package provider

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"slices"
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
// IdP user id as a persistent NameID, or their email when the request asks
// for that format, and their email and name as attributes. A person not
// signed in here signs in first and comes back.

const (
	pathSAMLMetadata = "/saml/metadata"
	pathSAMLSSO      = "/saml/sso"
)

// samlNameIDFormats are the NameID formats the IdP issues, in its metadata
// and as it answers a NameIDPolicy (saml-core §3.4.1.1): the person's id
// here, which never changes (persistent), or their email.
var samlNameIDFormats = []saml.NameIDFormat{saml.PersistentNameIDFormat, saml.EmailAddressNameIDFormat}

// The metadata says how long a copy of it may be used (validUntil) and how
// often one fetched by URL should be read again (cacheDuration,
// saml-metadata §2.3.1): a copy an administrator uploaded to a service
// provider serves a year, or until the certificate in it expires, sooner;
// one read by URL is read again daily.
const (
	samlMetadataValidity = 365 * 24 * time.Hour
	samlMetadataCache    = 24 * time.Hour
)

func (s *Server) newSAMLIdP(ctx context.Context) (*saml.IdentityProvider, error) {
	key, cert, err := samlcred.LoadOrCreate(ctx, s.cfg.DB, "idp", s.cfg.Issuer+pathSAMLMetadata)
	if err != nil {
		return nil, fmt.Errorf("SAML signing key: %w", err)
	}
	meta, _ := url.Parse(s.cfg.Issuer + pathSAMLMetadata)
	sso, _ := url.Parse(s.cfg.Issuer + pathSAMLSSO)
	login, _ := url.Parse(s.cfg.Issuer + pathLogin)
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
		NameIDFormats:           samlNameIDFormats,
		// A NameIDPolicy the IdP cannot honour is answered with
		// InvalidNameIDPolicy, never with another format (§3.4.1.1).
		EnforceNameIDPolicy: true,
		// A service provider that signs its requests signs them with
		// SHA-256 or better.
		RejectSHA1Signatures: true,
		ResponseFormTemplate: samlPostForm,
		OnError:              s.samlError,
	}, nil
}

// serveSAMLMetadata publishes the IdP's metadata: valid for a year (or
// until its certificate expires), to be read again daily, and with the
// HTTP-Redirect single sign-on alone, the binding /saml/sso serves (a
// person who must sign in first comes back to the request by its URL).
func (s *Server) serveSAMLMetadata(w http.ResponseWriter, r *http.Request) {
	md := s.saml.Metadata()
	md.ValidUntil = s.cfg.Now().Add(samlMetadataValidity).UTC()
	if notAfter := s.saml.Certificate.NotAfter; notAfter.Before(md.ValidUntil) {
		md.ValidUntil = notAfter.UTC()
	}
	md.CacheDuration = samlMetadataCache
	for i := range md.IDPSSODescriptors {
		d := &md.IDPSSODescriptors[i]
		d.SingleSignOnServices = slices.DeleteFunc(d.SingleSignOnServices, func(e saml.Endpoint) bool { return e.Binding != saml.HTTPRedirectBinding })
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		s.samlError(w, r, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(b)
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
	case errors.Is(err, saml.ErrInvalidSignature), errors.Is(err, saml.ErrUnsupported):
		msg = "The application registered a signing key here, so its sign-in requests must be signed with it (SHA-256 or better), and this one is not. Its administrator should check its SAML signing settings, or register its current metadata here."
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
// registered service providers, by entity ID. An app registered with its
// metadata is that metadata (its signing keys verify its requests, and
// one that says it signs them must); one registered by its fields is its
// HTTP-POST assertion consumer service.
func (s *Server) GetServiceProvider(r *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	app, err := s.store.samlApp(r.Context(), entityID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, os.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	if app.Metadata != "" {
		return readSPMetadata([]byte(app.Metadata))
	}
	return &saml.EntityDescriptor{EntityID: app.EntityID, SPSSODescriptors: []saml.SPSSODescriptor{{
		SSODescriptor:             saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"}},
		AssertionConsumerServices: []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: app.ACSURL, Index: 1}},
	}}}, nil
}

// GetSession implements saml.SessionProvider: the person signed in here,
// or, when no one is, the sign-in page, which brings them back to this
// same request. It honours the request's IsPassive (no page: a NoPassive
// answer instead), ForceAuthn (the sign-in page even for someone signed
// in, and the new sign-in's time as the AuthnInstant) and NameIDPolicy
// (saml-core §3.4.1).
func (s *Server) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	ctx := r.Context()
	passive := req.Request.IsPassive != nil && *req.Request.IsPassive
	uid, authTime := s.op.SignedIn(ctx)
	if uid != "" && !s.freshEnough(ctx, req) {
		uid = ""
	}
	if uid != "" {
		if u, err := s.store.user(ctx, uid); err == nil && !u.Disabled {
			if !s.signsInBySAML(w, r, req, u) {
				return nil
			}
			format, nameID := saml.PersistentNameIDFormat, u.ID
			if p := req.Request.NameIDPolicy; p != nil && p.Format != nil && *p.Format == string(saml.EmailAddressNameIDFormat) {
				format, nameID = saml.EmailAddressNameIDFormat, u.Email
			}
			return &saml.Session{
				ID: uid + "-" + authTime.Format(time.RFC3339), CreateTime: authTime, ExpireTime: authTime.Add(8 * time.Hour),
				Index: uid, NameID: nameID, NameIDFormat: string(format),
				UserEmail: u.Email, UserName: u.Email, UserCommonName: u.Name,
			}
		}
		s.op.Forget(ctx)
	}
	if passive {
		// The service provider asked that the person see nothing here; only
		// a sign-in would answer it (saml-core §3.4.1: NoPassive).
		if err := s.saml.SendErrorResponse(w, req, &saml.StatusError{TopLevel: saml.StatusResponder, SecondLevel: saml.StatusNoPassive,
			Message: "The person is not signed in at the identity provider."}); err != nil {
			s.samlError(w, r, http.StatusInternalServerError, err)
		}
		return nil
	}
	to := url.Values{"next": {r.URL.RequestURI()}}
	if hint := r.URL.Query().Get("login_hint"); hint != "" {
		to.Set("login_hint", hint)
	}
	http.Redirect(w, r, pathLogin+"?"+to.Encode(), http.StatusFound)
	return nil
}

// freshEnough reports whether the person's sign-in here answers req: any
// sign-in does, unless req asks for a new one (ForceAuthn). Then the first
// time the request arrives the person is signed out here (their next
// sign-in is the new one) and the request is noted in the session; when it
// comes back, whoever is signed in signed in since.
func (s *Server) freshEnough(ctx context.Context, req *saml.IdpAuthnRequest) bool {
	if req.Request.ForceAuthn == nil || !*req.Request.ForceAuthn {
		return true
	}
	key := "saml-force-authn " + req.ServiceProviderMetadata.EntityID + " " + req.Request.ID
	if s.op.Sessions.PopBool(ctx, key) {
		return true
	}
	if req.Request.IsPassive == nil || !*req.Request.IsPassive {
		s.op.Sessions.Put(ctx, key, true)
		s.op.Forget(ctx)
	}
	return false
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
	if err == nil && app.ClientID == "" {
		web.WriteErrorPage(w, r, s.meta(), http.StatusForbidden, "Not assigned to "+app.Title(),
			org+" is not assigned to "+app.Title()+" at this identity provider, so it does not sign its people in to it. The administrator assigns organisations to apps in the Admin console, Apps.")
		return false
	}
	web.WriteErrorPage(w, r, s.meta(), http.StatusForbidden, "Not a SAML sign-in for "+u.Email,
		org+" signs in to this app with OpenID Connect, not SAML: that is the administrator's choice at this identity provider (Admin console, Apps). "+
			"The app sent a SAML request; its own settings must agree (SAML_DOMAINS), or the administrator can choose SAML for "+org+".")
	return false
}
