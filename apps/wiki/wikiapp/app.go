package wikiapp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/debugconsole"

	"xaa.example/shared/dpop"
	"xaa.example/shared/sessions"
	"xaa.example/shared/signin"
	"xaa.example/shared/web"
)

// App is the running wiki.
type App struct {
	cfg      Config
	store    *store
	sessions *scs.SessionManager
	signin   *signin.App
	todoAS   *signin.Upstream
	// http is the outbound client; its transport carries and records the
	// trace of a chain run for the debug console.
	http    *http.Client
	console *debugconsole.Console // nil when the console is off
	// dpop signs the wiki's DPoP proofs; nil when DPoP is off.
	dpop *dpop.Signer
	// agentIdP verifies the ID tokens agents prove their reports with.
	agentIdP *signin.Upstream
	stepper  *stepper
	// todoLinks finds links to todos in a page, to show them as chips.
	todoLinks *regexp.Regexp
	handler   http.Handler
}

// New validates cfg, migrates and seeds the database and builds the handler.
func New(ctx context.Context, cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("wiki config: %w", err)
	}
	cfg.setDefaults()
	if err := migrate(cfg.DB); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	st := &store{db: cfg.DB, now: cfg.Now}
	if err := st.seed(ctx); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	browserSessions, err := sessions.New(cfg.DB, cfg.CookieName, cfg.SecureCookies)
	if err != nil {
		return nil, err
	}
	pendingKey, err := web.SecretKey(ctx, cfg.DB, "signin-pending")
	if err != nil {
		return nil, err
	}
	hc := cfg.Trace.Client(cfg.HTTPClient)
	a := &App{cfg: cfg, store: st, sessions: browserSessions, http: hc, todoAS: signin.NewUpstream(cfg.TodoASIssuer, hc), stepper: newStepper(), todoLinks: todoLinksIn(cfg.TodoAppURL)}
	if cfg.Trace != nil && cfg.AgentIssuer != "" {
		a.agentIdP = signin.NewUpstream(cfg.AgentIssuer, cfg.HTTPClient)
	}
	if cfg.Trace != nil {
		a.console = &debugconsole.Console{
			Recorder:  cfg.Recorder,
			Collector: &debugconsole.Collector{Local: cfg.Trace, Remote: cfg.DebugSources, Client: cfg.HTTPClient, Key: cfg.Trace.Key},
			Help:      snippetHelp(cfg),
		}
	}
	a.signin = &signin.App{
		RP: &signin.RP{
			Upstream:     signin.NewUpstream(cfg.ASIssuer, hc),
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.BaseURL + "/callback",
			Sessions:     browserSessions,
			Pending:      &signin.Pending{CookieName: cfg.CookieName + "_signin", Key: pendingKey, Secure: cfg.SecureCookies, Now: cfg.Now},
			Now:          cfg.Now,
		},
		OnError: a.errorPage,
	}
	if cfg.DPoP {
		if a.dpop, err = installationDPoPKey(ctx, cfg); err != nil {
			return nil, err
		}
	}
	a.handler = a.routes()
	return a, nil
}

// installationDPoPKey is the wiki's DPoP key (a P-256 key from a secret
// kept in its database), the same across restarts and replicas so that the
// tokens it holds stay usable.
func installationDPoPKey(ctx context.Context, cfg Config) (*dpop.Signer, error) {
	secret, err := web.SecretKey(ctx, cfg.DB, "dpop-key")
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), secret)
	if err != nil {
		return nil, fmt.Errorf("the wiki's DPoP key: %w", err)
	}
	s, err := dpop.NewSigner(&jose.JSONWebKey{Key: priv, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return nil, err
	}
	s.Now = cfg.Now
	return s, nil
}

// Handler serves the wiki.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) meta(c *gin.Context) web.Meta {
	m := web.Meta{
		Service: "Wiki", Tagline: "requesting app · shows your todos through Cross App Access", Accent: "wiki",
		Nav: []web.NavLink{{Href: "/", Label: "Pages"}, {Href: "/todos", Label: "My todos"}, {Href: "/debug", Label: "Debug console"}},
	}
	if c != nil {
		if u, ok := a.signin.User(c.Request.Context()); ok {
			m.User, m.SignOut = u.Name, "/logout"
			if a.console != nil && !strings.HasPrefix(c.Request.URL.Path, "/debug") {
				m.Drawer, m.Scripts = drawer(), []string{"/debug/console.js"}
			}
		}
		m.Active = c.Request.URL.Path
	}
	return m
}

func (a *App) routes() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(web.Recover(a.cfg.Log), web.RequestLog(a.cfg.Log), web.SecurityHeaders(), web.WithMeta(a.meta(nil)), web.SameOrigin(a.cfg.BaseURL, "/debug/reports"))
	r.GET("/login", gin.WrapF(a.signin.Login))
	r.GET("/callback", gin.WrapF(a.signin.Callback))
	r.POST("/logout", a.logout)

	r.GET("/", a.home)
	signedIn := r.Group("/", web.RequireSignIn(a.signin.User))
	signedIn.GET("/pages/new", a.newPage)
	signedIn.POST("/pages", a.createPage)
	signedIn.GET("/pages/:slug", a.showPage)
	signedIn.GET("/pages/:slug/edit", a.editPage)
	signedIn.POST("/pages/:slug", a.updatePage)
	signedIn.GET("/todos", a.myTodos)
	signedIn.POST("/todos", a.addTodoFromWiki)
	signedIn.POST("/todos/forget-token", a.forgetToken)
	signedIn.GET(pathContinueAdd, a.continueAdd)
	a.debugRoutes(r, signedIn)
	web.ServeCommon(r, a.cfg.DB, a.cfg.Trace, "The wiki")
	return web.LimitBodies(web.PageBytes, a.meta(nil), a.sessions.LoadAndSave(r))
}

func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	web.WriteErrorPage(w, r, a.meta(nil), status, title, message)
}
