package authserver

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
	"xaa.example/shared/op"
	"xaa.example/shared/signin"
	"xaa.example/shared/web"
)

// Server is one running authorization server.
type Server struct {
	cfg     Config
	store   *store
	op      *op.Provider
	clients *oauth.StaticClients
	pending *signin.Pending
	tenants []*tenant
	http    *http.Client // outbound; carries and records traces
	handler http.Handler
	samlMu  sync.Mutex // guards the tenants' samlSP

	// What the features added (features.go).
	mounts          []mount
	metadata        []func(*op.Metadata)
	afterSAMLSignIn []func(ctx context.Context, t *tenant, assertion string, us *UpstreamSession) error
	// trustedIssuers are the IdPs whose ID-JAGs the server redeems.
	trustedIssuers []string
}

// mount is an endpoint a feature serves, at path and below.
type mount struct {
	path    string
	handler http.Handler
	// ownsBodies: the handler bounds its requests' bodies itself, and
	// answers a refusal in its own protocol's format.
	ownsBodies bool
}

// New validates cfg, migrates the database, loads the signing keys, adds
// the features opts choose and builds the handler. Nothing is fetched from
// the IdP until needed.
func New(ctx context.Context, cfg Config, opts ...Option) (*Server, error) {
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
		Issuer: cfg.Issuer, DB: cfg.DB, Clients: s.clients, Accounts: s.store,
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
		s.op.Close()
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
		s.op.Close()
		return nil, fmt.Errorf("seed users: %w", err)
	}
	for _, opt := range opts {
		if err := opt(s); err != nil {
			s.op.Close()
			return nil, err
		}
	}
	if s.handler, err = s.routes(); err != nil {
		s.op.Close()
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

	r.GET("/.well-known/openid-configuration", gin.WrapF(s.serveDiscovery))
	r.GET("/.well-known/oauth-authorization-server", gin.WrapF(s.serveDiscovery))
	r.GET("/jwks", gin.WrapH(s.op.Keys))
	r.GET("/authorize", gin.WrapF(s.serveAuthorize))
	r.GET("/federation/callback", gin.WrapF(s.serveFederationCallback))
	r.GET(pathSAMLMetadata, gin.WrapF(s.serveSAMLMetadata))
	r.POST(pathSAMLACS, gin.WrapF(s.serveSAMLACS))
	r.GET("/logout", gin.WrapF(s.serveLogout))
	r.POST("/logout", gin.WrapF(s.serveLogout))
	r.POST("/token", gin.WrapH(s.op.Token))
	r.GET("/", s.serveIndex)
	for _, m := range s.mounts {
		r.Any(m.path+"/*path", gin.WrapH(m.handler))
	}
	web.ServeCommon(r, s.cfg.DB, s.cfg.Trace, "This authorization server")
	var own []string
	for _, m := range s.mounts {
		if m.ownsBodies {
			own = append(own, m.path)
		}
	}
	return web.LimitBodies(web.FormBytes, s.meta(), s.op.Sessions.LoadAndSave(s.cfg.Trace.Wrap(r)), web.OwnBodies(own...)), nil
}

// deactivatedPage tells a person whose account here the IdP's provisioning
// deactivated that they cannot sign in.
func (s *Server) deactivatedPage(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusForbidden, "Account deactivated",
		"Your account at "+s.cfg.Name+" was deactivated by your organisation's administrator. Ask them if you need it again.")
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
		AcceptsIDJAGs: len(s.trustedIssuers) > 0,
		Trusted:       len(s.trustedIssuers),
	})))
}
