// Package samlidp is the IdP as a SAML 2.0 identity provider
// (github.com/crewjam/saml): its metadata at /saml/metadata, single sign-on
// at /saml/sso for the registered service providers (SP-initiated; the
// AuthnRequest by the HTTP-Redirect binding, the signed Response by
// HTTP-POST), the person's IdP user id as a persistent NameID, or their
// email when the request asks for that format, and their email and name
// as attributes. A person not signed in here signs in first and comes
// back. The apps it answers are registered by the IdP's configuration or
// by an administrator (App).
package samlidp

import (
	"context"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/crewjam/saml"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"xaa.example/shared/samlcred"
	"xaa.example/shared/samlxml"
	"xaa.example/shared/storage"
)

// Paths of the SAML IdP.
const (
	PathMetadata = "/saml/metadata"
	PathSSO      = "/saml/sso"
)

// Person is someone the IdP signs in, as the SAML IdP reads them.
type Person struct {
	ID, Email, Name, OrgID string
	Disabled               bool
}

// Directory is the IdP's people and organisations, as the SAML IdP reads
// them.
type Directory interface {
	// Person is someone by id; storage.ErrNotFound if there is none.
	Person(ctx context.Context, id string) (*Person, error)
	// OrgName is an organisation's name for people.
	OrgName(ctx context.Context, orgID string) (string, error)
}

// Sessions is the IdP's own sign-in, which the SAML IdP answers from.
type Sessions interface {
	// SignedIn is who is signed in, and since when; "" for no one.
	SignedIn(ctx context.Context) (userID string, authTime time.Time)
	// Forget signs the person out (their next sign-in is a new one).
	Forget(ctx context.Context)
}

// Bag keeps values in the browser's IdP session between two requests.
type Bag interface {
	Put(ctx context.Context, key string, val any)
	PopBool(ctx context.Context, key string) bool
}

// Config is what the SAML IdP is given.
type Config struct {
	// Issuer is the IdP's URL; the SAML IdP's entity ID is
	// Issuer+PathMetadata. LoginPath is the IdP's sign-in page, which takes
	// the page to come back to as next.
	Issuer, LoginPath string
	DB                *gorm.DB
	Directory         Directory
	Sessions          Sessions
	Bag               Bag
	// Replay remembers the signed AuthnRequests answered.
	Replay saml.AssertionReplayCache
	// ErrorPage writes a page that says why, in the IdP's look.
	ErrorPage func(w http.ResponseWriter, r *http.Request, status int, title, message string)
	Now       func() time.Time
	Log       *slog.Logger
}

// IdP is the SAML 2.0 identity provider.
type IdP struct {
	cfg  Config
	saml *saml.IdentityProvider
}

// New migrates the apps' table, loads (or makes once) the signing key and
// certificate, and builds the IdP.
func New(ctx context.Context, cfg Config) (*IdP, error) {
	if err := storage.Migrate(cfg.DB.WithContext(ctx), "idp/samlidp", schema...); err != nil {
		return nil, err
	}
	i := &IdP{cfg: cfg}
	var err error
	if i.saml, err = i.newSAMLIdP(ctx); err != nil {
		return nil, err
	}
	return i, nil
}

// Routes serves the metadata and the single sign-on.
func (i *IdP) Routes(r gin.IRoutes) {
	r.GET(PathMetadata, gin.WrapF(i.serveSAMLMetadata))
	r.GET(PathSSO, gin.WrapF(i.serveSAMLSSO))
}

// Certificate is the certificate the IdP signs its assertions with.
func (i *IdP) Certificate() *x509.Certificate { return i.saml.Certificate }

// EntityID is the IdP's entity ID, the Issuer of its assertions.
func (i *IdP) EntityID() string { return i.saml.MetadataURL.String() }

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

func (i *IdP) newSAMLIdP(ctx context.Context) (*saml.IdentityProvider, error) {
	key, cert, err := samlcred.LoadOrCreate(ctx, i.cfg.DB, "idp", i.cfg.Issuer+PathMetadata)
	if err != nil {
		return nil, fmt.Errorf("SAML signing key: %w", err)
	}
	meta, _ := url.Parse(i.cfg.Issuer + PathMetadata)
	sso, _ := url.Parse(i.cfg.Issuer + PathSSO)
	login, _ := url.Parse(i.cfg.Issuer + i.cfg.LoginPath)
	return &saml.IdentityProvider{
		Key:                     key,
		Signer:                  key,
		Certificate:             cert,
		MetadataURL:             *meta,
		SSOURL:                  *sso,
		LoginURL:                *login,
		Logger:                  samlcred.Logger{Log: i.cfg.Log},
		ServiceProviderProvider: i,
		SessionProvider:         i,
		ReplayCache:             i.cfg.Replay,
		NameIDFormats:           samlNameIDFormats,
		// A NameIDPolicy the IdP cannot honour is answered with
		// InvalidNameIDPolicy, never with another format (§3.4.1.1).
		EnforceNameIDPolicy: true,
		// A service provider that signs its requests signs them with
		// SHA-256 or better.
		RejectSHA1Signatures: true,
		ResponseFormTemplate: samlPostForm,
		OnError:              i.samlError,
	}, nil
}

// serveSAMLMetadata publishes the IdP's metadata: valid for a year (or
// until its certificate expires), to be read again daily, and with the
// HTTP-Redirect single sign-on alone, the binding /saml/sso serves (a
// person who must sign in first comes back to the request by its URL).
func (i *IdP) serveSAMLMetadata(w http.ResponseWriter, r *http.Request) {
	md := i.saml.Metadata()
	md.ValidUntil = i.cfg.Now().Add(samlMetadataValidity).UTC()
	if notAfter := i.saml.Certificate.NotAfter; notAfter.Before(md.ValidUntil) {
		md.ValidUntil = notAfter.UTC()
	}
	md.CacheDuration = samlMetadataCache
	for i := range md.IDPSSODescriptors {
		d := &md.IDPSSODescriptors[i]
		d.SingleSignOnServices = slices.DeleteFunc(d.SingleSignOnServices, func(e saml.Endpoint) bool { return e.Binding != saml.HTTPRedirectBinding })
	}
	b, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		i.samlError(w, r, http.StatusInternalServerError, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(b)
}

// serveSAMLSSO refuses an AuthnRequest with markup no SAML message needs
// (samlxml.RefuseMarkup: a DTD, an entity, a comment) before crewjam/saml
// reads it, and hands the rest to the library. The request is decoded
// twice then, each time inflated to at most the library's 1 MiB.
func (i *IdP) serveSAMLSSO(w http.ResponseWriter, r *http.Request) {
	if req, err := saml.NewIdpAuthnRequest(i.saml, r); err == nil {
		if err := samlxml.RefuseMarkup(req.RequestBuffer); err != nil {
			i.samlError(w, r, http.StatusBadRequest, fmt.Errorf("%w: %v", saml.ErrMalformedMessage, err))
			return
		}
	}
	i.saml.ServeSSO(w, r)
}

// samlError is what a person sees when a service provider's request cannot
// be answered: a page saying why in words, the library's detail in the log.
func (i *IdP) samlError(w http.ResponseWriter, r *http.Request, status int, err error) {
	i.cfg.Log.Info("SAML request refused", "status", status, "err", err)
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
	i.cfg.ErrorPage(w, r, status, title, msg)
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
func (i *IdP) GetServiceProvider(r *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	app, err := i.App(r.Context(), entityID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, os.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	if app.Metadata != "" {
		return ReadMetadata([]byte(app.Metadata))
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
func (i *IdP) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	ctx := r.Context()
	passive := req.Request.IsPassive != nil && *req.Request.IsPassive
	uid, authTime := i.cfg.Sessions.SignedIn(ctx)
	if uid != "" && !i.freshEnough(ctx, req) {
		uid = ""
	}
	if uid != "" {
		if u, err := i.cfg.Directory.Person(ctx, uid); err == nil && !u.Disabled {
			if !i.signsInBySAML(w, r, req, u) {
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
		i.cfg.Sessions.Forget(ctx)
	}
	if passive {
		// The service provider asked that the person see nothing here; only
		// a sign-in would answer it (saml-core §3.4.1: NoPassive).
		if err := i.saml.SendErrorResponse(w, req, &saml.StatusError{TopLevel: saml.StatusResponder, SecondLevel: saml.StatusNoPassive,
			Message: "The person is not signed in at the identity provider."}); err != nil {
			i.samlError(w, r, http.StatusInternalServerError, err)
		}
		return nil
	}
	to := url.Values{"next": {r.URL.RequestURI()}}
	if hint := r.URL.Query().Get("login_hint"); hint != "" {
		to.Set("login_hint", hint)
	}
	http.Redirect(w, r, i.cfg.LoginPath+"?"+to.Encode(), http.StatusFound)
	return nil
}

// freshEnough reports whether the person's sign-in here answers req: any
// sign-in does, unless req asks for a new one (ForceAuthn). Then the first
// time the request arrives the person is signed out here (their next
// sign-in is the new one) and the request is noted in the session; when it
// comes back, whoever is signed in signed in since.
func (i *IdP) freshEnough(ctx context.Context, req *saml.IdpAuthnRequest) bool {
	if req.Request.ForceAuthn == nil || !*req.Request.ForceAuthn {
		return true
	}
	key := "saml-force-authn " + req.ServiceProviderMetadata.EntityID + " " + req.Request.ID
	if i.cfg.Bag.PopBool(ctx, key) {
		return true
	}
	if req.Request.IsPassive == nil || !*req.Request.IsPassive {
		i.cfg.Bag.Put(ctx, key, true)
		i.cfg.Sessions.Forget(ctx)
	}
	return false
}

// signsInBySAML reports whether u's organisation signs in to the app req
// comes from with SAML, as the admin chose (the Apps tab); if not, it
// shows a page that says so.
func (i *IdP) signsInBySAML(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest, u *Person) bool {
	ctx := r.Context()
	app, err := i.App(ctx, req.ServiceProviderMetadata.EntityID)
	if err == nil && app.SignsInBySAML(u.OrgID) {
		return true
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		i.cfg.Log.Error("SAML app", "err", err)
		i.cfg.ErrorPage(w, r, http.StatusInternalServerError, "Something went wrong", "The identity provider could not read this app's settings. Try again in a moment.")
		return false
	}
	org := "Your organisation"
	if name, err := i.cfg.Directory.OrgName(ctx, u.OrgID); err == nil {
		org = name
	}
	if err == nil && app.ClientID == "" {
		i.cfg.ErrorPage(w, r, http.StatusForbidden, "Not assigned to "+app.Title(),
			org+" is not assigned to "+app.Title()+" at this identity provider, so it does not sign its people in to it. The administrator assigns organisations to apps in the Admin console, Apps.")
		return false
	}
	i.cfg.ErrorPage(w, r, http.StatusForbidden, "Not a SAML sign-in for "+u.Email,
		org+" signs in to this app with OpenID Connect, not SAML: that is the administrator's choice at this identity provider (Admin console, Apps). "+
			"The app sent a SAML request; its own settings must agree (SAML_DOMAINS), or the administrator can choose SAML for "+org+".")
	return false
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&App{}) }},
}
