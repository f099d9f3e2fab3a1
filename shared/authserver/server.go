package authserver

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/clientmeta"
	"xaa.example/shared/dpop"
	"xaa.example/shared/idjag"
	"xaa.example/shared/jwks"
	"xaa.example/shared/jwtbearer"
	"xaa.example/shared/oauth"
	"xaa.example/shared/op"
	"xaa.example/shared/signin"
	"xaa.example/shared/web"
)

// Server is one running authorization server.
type Server struct {
	cfg      Config
	store    *store
	op       *op.Provider
	clients  *oauth.StaticClients
	pending  *signin.Pending
	tenants  []*tenant
	http     *http.Client    // outbound; carries and records traces
	verifier *idjag.Verifier // nil when no issuer is trusted
	handler  http.Handler
	samlMu   sync.Mutex // guards the tenants' samlSP
}

// New validates cfg, migrates the database, loads the signing keys and
// builds the handler. Nothing is fetched from the IdP until needed.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("authorization server config: %w", err)
	}
	cfg.setDefaults()
	if err := migrate(cfg.DB); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		store:   &store{db: cfg.DB},
		clients: oauth.NewStaticClients(cfg.Clients...),
		http:    cfg.Trace.Client(cfg.HTTPClient),
	}
	// The token endpoint knows the registered clients and, when allowed,
	// those described by a metadata document; sign-in (authorize, logout)
	// only the registered ones.
	var tokenClients oauth.ClientStore = s.clients
	if cfg.ClientMetadataDocuments && len(cfg.TrustedIssuers) > 0 {
		tokenClients = clientmeta.New(clientmeta.Options{
			Registered: s.clients,
			GrantTypes: []string{oauth.GrantJWTBearer},
			LocalHosts: cfg.ClientMetadataLocalHosts,
			Wrap:       cfg.Trace.Transport,
			Now:        cfg.Now,
		})
	}
	var nonces dpop.Nonces
	if cfg.DPoPNonces {
		key, err := web.SecretKey(ctx, cfg.DB, "dpop-nonce")
		if err != nil {
			return nil, err
		}
		nonces = &dpop.RotatingNonces{Key: key, Period: 5 * time.Minute, Now: cfg.Now}
	}
	var err error
	s.op, err = op.New(ctx, op.Config{
		Issuer: cfg.Issuer, DB: cfg.DB, Clients: s.clients, TokenClients: tokenClients, Accounts: s.store,
		TokenPath: "/token", Log: cfg.Log, Now: cfg.Now, CookieName: cfg.CookieName, SecureCookies: cfg.SecureCookies,
		DPoPNonces: nonces,
		Sessions: op.SessionPolicy{
			IDTokenLifetime: cfg.IDTokenLifetime, AccessTokenLifetime: cfg.AccessTokenLifetime,
			// The apps' access tokens are for this server (its userinfo
			// role); a refresh token keeps their sign-in.
			AccessAudience: cfg.Issuer,
		},
	})
	if err != nil {
		return nil, err
	}
	key, err := web.SecretKey(ctx, cfg.DB, "signin-pending")
	if err != nil {
		return nil, err
	}
	s.pending = &signin.Pending{CookieName: cfg.CookieName + "_signin", Key: key, Secure: cfg.SecureCookies, Now: cfg.Now}
	for _, t := range cfg.Tenants {
		// A SAML tenant's RP is used for its IdP's OAuth endpoints alone
		// (the token exchange), never to sign in.
		oauthIssuer := t.IdP.Issuer
		if t.SAML {
			oauthIssuer = t.IdP.TokenIssuer
		}
		s.tenants = append(s.tenants, &tenant{Tenant: t, rp: &signin.RP{
			Upstream:     signin.NewUpstream(oauthIssuer, s.http),
			ClientID:     t.IdP.ClientID,
			ClientSecret: t.IdP.ClientSecret,
			RedirectURL:  cfg.Issuer + "/federation/callback",
			Sessions:     s.op.Sessions,
			Pending:      s.pending,
			Now:          cfg.Now,
		}})
	}

	if err := s.store.seedUsers(ctx, cfg.SeedUsers); err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	grants := s.op.Token.Grants
	if s.anyClientAllows(oauth.GrantTokenExchange) {
		grants[oauth.GrantTokenExchange] = &relayGrant{s}
	}
	if len(cfg.TrustedIssuers) > 0 {
		for _, ti := range cfg.TrustedIssuers {
			if ti.Keys == nil {
				ti.Keys = jwks.NewRemote(ti.Issuer, s.http)
			}
		}
		s.verifier = &idjag.Verifier{Audience: cfg.Issuer, Issuers: cfg.TrustedIssuers, Replay: s.op.Replay, Now: cfg.Now}
		s.store.replay = s.op.Replay
		grants[oauth.GrantJWTBearer] = &jwtbearer.Grant{
			Issuer:    cfg.Issuer,
			Verifier:  s.verifier,
			Resources: cfg.Resources,
			Accounts:  s.store,
			Signer:    s.op.Keys,
			Lifetime:  cfg.AccessTokenLifetime,
			Now:       cfg.Now,
		}
	}
	if s.handler, err = s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the goroutines New started (the signing-key watcher); the
// main defers it, tests clean up with it.
func (s *Server) Close() { s.op.Close() }

// Handler serves every endpoint of the server.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) meta() web.Meta {
	return web.Meta{Service: s.cfg.Name, Tagline: "authorization server · " + s.cfg.Issuer, Accent: "as", Mark: s.cfg.Mark, Icon: s.cfg.Icon}
}

func (s *Server) routes() (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(web.Recover(s.cfg.Log), web.RequestLog(s.cfg.Log), web.SecurityHeaders(), web.WithMeta(s.meta()))

	r.GET("/.well-known/openid-configuration", gin.WrapH(http.HandlerFunc(s.serveDiscovery)))
	r.GET("/.well-known/oauth-authorization-server", gin.WrapH(http.HandlerFunc(s.serveDiscovery)))
	r.GET("/jwks", gin.WrapH(s.op.Keys))
	r.GET("/authorize", gin.WrapH(http.HandlerFunc(s.serveAuthorize)))
	r.GET("/federation/callback", gin.WrapH(http.HandlerFunc(s.serveFederationCallback)))
	r.GET(pathSAMLMetadata, gin.WrapH(http.HandlerFunc(s.serveSAMLMetadata)))
	r.POST(pathSAMLACS, gin.WrapH(http.HandlerFunc(s.serveSAMLACS)))
	r.GET("/logout", gin.WrapH(http.HandlerFunc(s.serveLogout)))
	r.POST("/logout", gin.WrapH(http.HandlerFunc(s.serveLogout)))
	r.POST("/token", gin.WrapH(s.op.Token))
	r.GET("/", s.serveIndex)
	if len(s.cfg.SCIM) > 0 {
		scim, err := s.scimHandler()
		if err != nil {
			return nil, err
		}
		r.Any("/scim/v2/*path", gin.WrapH(scim))
	}
	web.ServeCommon(r, s.cfg.DB, s.cfg.Trace, "This authorization server")
	return web.LimitBodies(web.FormBytes, s.meta(), s.op.Sessions.LoadAndSave(s.cfg.Trace.Wrap(r))), nil
}

// deactivatedPage tells a person whose account here the IdP's provisioning
// deactivated that they cannot sign in.
func (s *Server) deactivatedPage(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusForbidden, "Account deactivated",
		"Your account at "+s.cfg.Name+" was deactivated by your organisation's administrator. Ask them if you need it again.")
}

func (s *Server) anyClientAllows(grant string) bool {
	for _, c := range s.cfg.Clients {
		if c.AllowsGrant(grant) {
			return true
		}
	}
	return false
}

func (s *Server) serveIndex(c *gin.Context) {
	var user *User
	if uid, _ := s.op.SignedIn(c.Request.Context()); uid != "" {
		user, _ = s.store.user(c.Request.Context(), uid)
	}
	m := s.meta()
	m.Title = "Overview"
	web.Render(c, http.StatusOK, web.Layout(m, indexPage(indexView{
		Issuer:        s.cfg.Issuer,
		IdPs:          s.idpIssuers(),
		User:          user,
		Grants:        s.grantTypes(),
		AcceptsIDJAGs: s.verifier != nil,
		Trusted:       len(s.cfg.TrustedIssuers),
	})))
}
