package provider

import (
	"context"
	"fmt"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"

	"xaa.example/shared/codeflow"
	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
	"xaa.example/shared/replay/replaydb"
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
	cfg      Config
	store    *store
	codes    *codeflow.Store
	keys     *keys.Set
	clients  *oauth.StaticClients
	sessions *scs.SessionManager
	token    *oauth.TokenEndpoint
	handler  http.Handler
}

// New validates cfg, migrates and seeds the database, loads (or creates
// once) the signing key and builds the handler.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("IdP config: %w", err)
	}
	cfg.setDefaults()
	if err := migrate(cfg.DB); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	st := &store{db: cfg.DB}
	if err := st.seed(ctx, &cfg); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	codes, err := codeflow.NewStore(cfg.DB, cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	ks, err := keys.LoadOrCreate(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	ks.Now = cfg.Now
	// A rotation made by another replica or by the rotate-keys command is
	// picked up within a keys.WatchInterval; ctx bounds this watcher.
	go ks.Watch(ctx, keys.WatchInterval)
	sessions, err := web.NewSessions(cfg.DB, cfg.CookieName, cfg.SecureCookies)
	if err != nil {
		return nil, err
	}
	jtis, err := replaydb.New(cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("replay store: %w", err)
	}
	s := &Server{cfg: cfg, store: st, codes: codes, keys: ks, clients: oauth.NewStaticClients(cfg.Clients...), sessions: sessions}
	s.token = &oauth.TokenEndpoint{
		Auth: &oauth.ClientAuth{
			Clients:    s.clients,
			Audiences:  []string{cfg.Issuer, cfg.Issuer + pathToken},
			Assertions: jtis,
			Now:        cfg.Now,
		},
		Log: cfg.Log,
		Grants: map[string]oauth.Grant{
			oauth.GrantAuthorizationCode: &codeflow.AuthCodeGrant{Store: codes, Issue: s.issueSession},
			oauth.GrantRefreshToken:      &codeflow.RefreshGrant{Store: codes, Issue: s.issueSession},
			oauth.GrantTokenExchange:     s.exchangeGrant(),
			oauth.GrantDeviceCode:        &deviceGrant{s},
		},
	}
	s.handler = s.routes()
	return s, nil
}

// Handler serves every endpoint of the IdP.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) meta() web.Meta {
	return web.Meta{Service: "Enterprise IdP", Tagline: "local identity provider · " + s.cfg.Issuer, Accent: "idp", Mark: "IdP"}
}

func (s *Server) routes() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(web.Recover(s.cfg.Log), web.RequestLog(s.cfg.Log), web.SecurityHeaders(), web.WithMeta(s.meta()), web.SameOrigin(s.cfg.Issuer, pathToken, pathDeviceAuthorize))
	r.GET("/.well-known/openid-configuration", gin.WrapH(http.HandlerFunc(s.serveDiscovery)))
	r.GET("/.well-known/oauth-authorization-server", gin.WrapH(http.HandlerFunc(s.serveDiscovery)))
	r.GET(pathKeys, gin.WrapH(s.keys))
	r.GET(pathAuthorize, s.serveAuthorize)
	r.GET(pathLogin, s.serveSignIn)
	r.POST(pathLogin, s.serveLogin)
	r.POST("/logout", s.serveLogout)
	s.adminRoutes(r)
	r.POST(pathToken, gin.WrapH(s.token))
	r.POST(pathDeviceAuthorize, gin.WrapH(http.HandlerFunc(s.serveDeviceAuthorize)))
	r.GET(pathActivate, s.serveActivate)
	r.POST(pathActivate, s.serveActivateDecision)
	r.GET(pathUserinfo, gin.WrapH(http.HandlerFunc(s.serveUserinfo)))
	r.GET("/healthz", gin.WrapH(web.Health(s.cfg.DB)))
	r.GET("/static/*file", gin.WrapH(web.Static()))
	r.GET("/", s.serveIndex)
	if s.cfg.Trace != nil {
		r.GET("/debug/trace/:id", gin.WrapH(s.cfg.Trace))
	}
	r.NoRoute(func(c *gin.Context) {
		web.RenderError(c, http.StatusNotFound, "Page not found", "The identity provider has no page at that address.")
	})
	return web.LimitBodies(web.FormBytes, s.meta(), s.sessions.LoadAndSave(s.cfg.Trace.Wrap(r)))
}

// serveDiscovery: OpenID Connect discovery and RFC 8414 metadata, listing
// the ID-JAG token type (identity chaining draft, ID-JAG draft §7.1).
func (s *Server) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.cfg.Issuer
	md := map[string]any{
		"issuer":                                            iss,
		"authorization_endpoint":                            iss + pathAuthorize,
		"token_endpoint":                                    iss + pathToken,
		"jwks_uri":                                          iss + pathKeys,
		"userinfo_endpoint":                                 iss + pathUserinfo,
		"response_types_supported":                          []string{"code"},
		"response_modes_supported":                          []string{"query"},
		"grant_types_supported":                             []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantTokenExchange, oauth.GrantDeviceCode},
		"device_authorization_endpoint":                     iss + pathDeviceAuthorize,
		"code_challenge_methods_supported":                  []string{"S256"},
		"token_endpoint_auth_methods_supported":             []string{"client_secret_basic", "client_secret_post"},
		"subject_types_supported":                           []string{"public"},
		"id_token_signing_alg_values_supported":             keys.AlgorithmNames(),
		"scopes_supported":                                  []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                                  []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name", "amr"},
		"authorization_response_iss_parameter_supported":    true,
		"identity_chaining_requested_token_types_supported": []string{oauth.TokenTypeIDJAG},
	}
	oauth.WriteMetadata(w, md)
}

func (s *Server) serveIndex(c *gin.Context) {
	m := s.meta()
	m.Title = "Overview"
	var user *User
	if uid := s.sessions.GetString(c.Request.Context(), sessionUserID); uid != "" {
		user, _ = s.store.user(c.Request.Context(), uid)
	}
	if user != nil {
		m.User, m.SignOut = user.Name, "/logout"
	}
	var conns []Connection
	s.cfg.DB.WithContext(c.Request.Context()).Order("id").Find(&conns)
	web.Render(c, http.StatusOK, web.Layout(m, indexPage(s.cfg.Issuer, user, conns)))
}
