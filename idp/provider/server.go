package provider

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"xaa.example/idp/audit"
	"xaa.example/idp/console"
	"xaa.example/idp/device"
	"xaa.example/idp/outbox"
	"xaa.example/idp/passkey"
	"xaa.example/idp/provisioning"
	"xaa.example/idp/samlidp"
	"xaa.example/idp/store"
	"xaa.example/idp/throttle"
	"xaa.example/idp/transmitter"
	"xaa.example/shared/oauth"
	"xaa.example/shared/op"
	"xaa.example/shared/rar"
	"xaa.example/shared/web"
)

// Okta's org authorization server paths, served here so that relying
// parties configured for Okta work unchanged.
const (
	pathAuthorize = "/oauth2/v1/authorize"
	pathToken     = "/oauth2/v1/token"
	pathKeys      = "/oauth2/v1/keys"
	pathUserinfo  = "/oauth2/v1/userinfo"
	pathLogin     = "/login"
)

// Server is the running IdP.
type Server struct {
	cfg     Config
	store   *store.Store
	op      *op.Provider
	saml    *samlidp.IdP
	clients *oauth.StaticClients
	handler http.Handler
	// device is the device authorization grant (package device).
	device *device.Device
	// throttle slows password guessing (package throttle).
	throttle *throttle.Throttle
	// auditLog records decisions and changes (package audit).
	auditLog *audit.Log
	// signals is the Shared Signals transmitter (package transmitter).
	signals *transmitter.Transmitter
	// provisioning pushes people to the apps (package provisioning).
	provisioning *provisioning.Provisioner
	// console is the admin console (package console).
	console *console.Console
	// passkeys are the people's passkeys (package passkey).
	passkeys *passkey.Service
	// outbox delivers what must arrive (provisioning pushes, SETs); Close
	// stops its worker.
	outbox *outbox.Outbox
}

// New validates cfg, migrates and seeds the database, loads (or creates
// once) the signing key and builds the handler.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("IdP config: %w", err)
	}
	cfg.setDefaults()
	st, err := store.Open(ctx, cfg.DB, cfg.seed())
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: st, clients: oauth.NewStaticClients(cfg.Clients...)}
	if s.auditLog, err = audit.Open(cfg.DB, cfg.Log); err != nil {
		return nil, err
	}
	if s.throttle, err = throttle.Open(cfg.DB); err != nil {
		return nil, err
	}
	s.op, err = op.New(ctx, op.Config{
		Issuer: cfg.Issuer, DB: cfg.DB, Clients: s.clients, Accounts: st, TokenPath: pathToken, Log: cfg.Log, Now: cfg.Now,
		CookieName: cfg.CookieName, SecureCookies: cfg.SecureCookies,
		Sessions: op.SessionPolicy{
			IDTokenLifetime: cfg.IDTokenLifetime, AccessTokenLifetime: cfg.IDTokenLifetime,
			// The access token beside the ID token is for userinfo alone;
			// a refresh token only when offline_access was asked for.
			AccessAudience: cfg.Issuer + pathUserinfo, RefreshOnlyOffline: true, AMR: []string{"pwd"}, ACR: ACR,
		},
	})
	if err != nil {
		return nil, err
	}
	s.passkeys, err = passkey.New(passkey.Config{Issuer: cfg.Issuer, DB: cfg.DB, Find: s.passkeyPerson, Now: cfg.Now})
	if err != nil {
		s.op.Close()
		return nil, err
	}
	s.op.Token.Grants[oauth.GrantTokenExchange] = exchangeDispatch{s: s, idjags: s.exchangeGrant()}
	if s.device, err = device.New(device.Config{
		Issuer: cfg.Issuer, LoginPath: pathLogin, Interval: cfg.DeviceInterval, DB: cfg.DB,
		Clients: s.op.Token.Auth, Issue: s.op.IssueSession, Sessions: s.op, Forms: forms{s}, Meta: s.meta,
		Now: cfg.Now, Log: cfg.Log,
	}); err != nil {
		s.op.Close()
		return nil, err
	}
	s.op.Token.Grants[oauth.GrantDeviceCode] = s.device
	if s.saml, err = s.newSAMLIdP(ctx); err != nil {
		return nil, err
	}
	if s.outbox, err = outbox.Open(cfg.DB, cfg.Now, cfg.Log); err != nil {
		s.op.Close()
		return nil, err
	}
	s.provisioning, err = provisioning.New(ctx, provisioning.Config{Apps: cfg.Provisioning, People: people{st},
		DB: cfg.DB, Outbox: s.outbox, Audit: s.auditLog, Now: cfg.Now, Log: cfg.Log})
	if err != nil {
		s.op.Close()
		return nil, err
	}
	s.signals, err = transmitter.New(transmitter.Config{
		Issuer: cfg.Issuer, JWKSURI: cfg.Issuer + pathKeys, Keys: s.op.Keys, Receivers: cfg.SSFReceivers,
		DB: cfg.DB, Outbox: s.outbox, Audit: s.auditLog, Now: cfg.Now, Log: cfg.Log,
	})
	if err != nil {
		s.op.Close()
		return nil, err
	}
	s.console = console.New(console.Config{
		Store: st, Audit: s.auditLog, Provisioning: s.provisioning, SAML: s.saml, Throttle: s.throttle, Passkeys: s.passkeys, Keys: s.op.Keys,
		Clients: cfg.Clients, Signals: len(cfg.SSFReceivers) > 0, Sessions: s.op, Session: s.op.Sessions, LoginPath: pathLogin, ConsoleURL: cfg.ConsoleURL,
		// The audit log first: a change is recorded before anything acts on it.
		Reactions: []console.Reaction{s.auditChange, s.provisionChange, s.signalChange},
		Meta:      s.meta, Now: cfg.Now, Log: cfg.Log,
	})
	s.handler = s.routes()
	s.outbox.Start()
	return s, nil
}

// Close stops the goroutines New started (the signing-key watcher, the
// outbox's worker); the main defers it, tests clean up with it.
func (s *Server) Close() {
	s.outbox.Stop()
	s.op.Close()
}

// Handler serves every endpoint of the IdP.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) meta() web.Meta {
	return web.Meta{Service: "Enterprise IdP", Tagline: "local identity provider · " + s.cfg.Issuer, Accent: "idp", Mark: "IdP"}
}

func (s *Server) routes() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(web.Recover(s.cfg.Log), web.RequestLog(s.cfg.Log), web.SecurityHeaders(), web.WithMeta(s.meta()), web.SameOrigin(s.cfg.Issuer, pathToken, device.PathAuthorize, transmitter.PathStreams, transmitter.PathStatus, transmitter.PathVerify))
	r.GET("/.well-known/openid-configuration", gin.WrapF(s.serveDiscovery))
	r.GET("/.well-known/oauth-authorization-server", gin.WrapF(s.serveDiscovery))
	r.GET(pathKeys, gin.WrapH(s.op.Keys))
	r.GET(pathAuthorize, s.serveAuthorize)
	r.GET(pathLogin, s.serveSignIn)
	r.POST(pathLogin, s.serveLogin)
	r.POST("/logout", s.serveLogout)
	s.passkeyRoutes(r)
	s.console.Routes(r)
	r.POST(pathToken, gin.WrapH(s.op.Token))
	s.device.Routes(r)
	r.GET(pathUserinfo, gin.WrapF(s.serveUserinfo))
	s.saml.Routes(r)
	s.signals.Routes(r)
	r.GET("/", s.serveIndex)
	web.ServeCommon(r, s.cfg.DB, s.cfg.Trace, "The identity provider")
	// The console takes a SAML app's metadata as a file, too.
	return web.LimitBodies(web.FormBytes, s.meta(), s.op.Sessions.LoadAndSave(s.cfg.Trace.Wrap(r)), web.Uploads(console.PathSAMLApps))
}

// serveDiscovery: OpenID Connect discovery and RFC 8414 metadata, written
// from the core's typed metadata, with the IdP's userinfo and device
// endpoints; the token exchange lists the ID-JAG token type (identity
// chaining draft, ID-JAG draft §7.1).
func (s *Server) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	md := s.op.Metadata(op.Paths{Authorize: pathAuthorize, Token: pathToken, Keys: pathKeys})
	md.UserinfoEndpoint = s.cfg.Issuer + pathUserinfo
	md.DeviceAuthorizationEndpoint = s.cfg.Issuer + device.PathAuthorize
	md.Claims = append(md.Claims, "amr", "acr")
	// RFC 9396 §10: the authorization details types its token exchange
	// grants (the administrator's connections say how far).
	md.AuthorizationDetailsTypes = rar.Types
	op.ServeMetadata(w, md)
}

func (s *Server) serveIndex(c *gin.Context) {
	m := s.meta()
	m.Title = "Overview"
	var user *store.User
	if uid, _ := s.op.SignedIn(c.Request.Context()); uid != "" {
		user, _ = s.store.User(c.Request.Context(), uid)
	}
	if user != nil {
		m.User, m.SignOut = user.Name, "/logout"
	}
	conns, err := s.store.Connections(c.Request.Context())
	if err != nil {
		web.RenderError(c, http.StatusInternalServerError, "Overview unavailable", "The connections could not be loaded.")
		return
	}
	web.Render(c, http.StatusOK, web.Layout(m, indexPage(s.cfg.Issuer, user, conns)))
}
