package todoapp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/dpop"
	"xaa.example/shared/jwks"
	"xaa.example/shared/rar"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/sessions"
	"xaa.example/shared/signin"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

// App is the running todo app.
type App struct {
	cfg      Config
	store    *store
	sessions *scs.SessionManager
	signin   *signin.App
	tokens   *accesstoken.Verifier // for the REST API
	// apiGuard checks how a call presents its token: Bearer, or DPoP with
	// a proof for a bound token.
	apiGuard *accesstoken.Guard
	mcpGuard *accesstoken.Guard
	// mcpTokens accepts only tokens for the MCP server (EMA §5.1).
	mcpTokens *accesstoken.Verifier
	// receiver takes the IdP's Shared Signals; nil when off.
	receiver *receiver
	handler  http.Handler
}

// New validates cfg, migrates and seeds the database and builds the handler.
func New(ctx context.Context, cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("todo app config: %w", err)
	}
	cfg.setDefaults()
	if err := storage.Migrate(cfg.DB, "apps/todo", schema...); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	st := &store{db: cfg.DB}
	if err := st.seed(ctx, cfg.SeedTodos); err != nil {
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
	a := &App{cfg: cfg, store: st, sessions: browserSessions}
	a.signin = &signin.App{
		RP: &signin.RP{
			Upstream:     signin.NewUpstream(cfg.ASIssuer, cfg.HTTPClient),
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.BaseURL + "/callback",
			Sessions:     browserSessions,
			Pending:      &signin.Pending{CookieName: cfg.CookieName + "_signin", Key: pendingKey, Secure: cfg.SecureCookies, Now: cfg.Now},
			Now:          cfg.Now,
		},
		OnError: a.errorPage,
	}
	asKeys := jwks.NewRemote(cfg.ASIssuer, cfg.Trace.Client(cfg.HTTPClient))
	a.tokens = &accesstoken.Verifier{Issuer: cfg.ASIssuer, Audience: cfg.Resource, Keys: asKeys, Now: cfg.Now}
	a.mcpTokens = &accesstoken.Verifier{Issuer: cfg.ASIssuer, Audience: cfg.MCPResource, Keys: asKeys, Now: cfg.Now}
	// DPoP proofs are single use: their jtis are kept in this app's
	// database, so that every replica sees them.
	proofs, err := replaydb.New(cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("replay store: %w", err)
	}
	proofChecker := &dpop.Verifier{Replay: proofs, Now: cfg.Now}
	a.apiGuard = &accesstoken.Guard{Tokens: a.tokens, DPoP: proofChecker, BaseURL: cfg.BaseURL}
	a.mcpGuard = &accesstoken.Guard{Tokens: a.mcpTokens, DPoP: proofChecker, BaseURL: cfg.BaseURL}
	if cfg.Signals != nil {
		if a.receiver, err = a.newReceiver(ctx); err != nil {
			return nil, fmt.Errorf("Shared Signals receiver: %w", err)
		}
		a.apiGuard.Revoked = a.receiver.revocations.revoked
		a.mcpGuard.Revoked = a.receiver.revocations.revoked
	}
	a.handler = a.routes()
	return a, nil
}

// Handler serves the app and its API.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) meta(c *gin.Context) web.Meta {
	m := web.Meta{
		Service: "Todo", Tagline: "resource app · its API is reached through Cross App Access", Accent: "todo",
		Nav: []web.NavLink{{Href: "/", Label: "My tasks"}},
	}
	if c != nil {
		if u, ok := a.signin.User(c.Request.Context()); ok {
			m.User, m.SignOut = u.Name, "/logout"
		}
		m.Active = c.Request.URL.Path
	}
	return m
}

func (a *App) routes() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(web.Recover(a.cfg.Log), web.RequestLog(a.cfg.Log), web.SecurityHeaders(), web.WithMeta(a.meta(nil)))

	// The API: bearer tokens only, no cookies, no session.
	api := r.Group("/api")
	api.GET("/todos", a.requireToken("todos.read", rar.ActionRead), a.apiList)
	api.GET("/todos/:id", a.requireToken("todos.read", rar.ActionRead), a.apiGet)
	api.POST("/todos", a.requireToken("todos.write", rar.ActionCreate), a.apiAdd)

	// The MCP server, and its RFC 9728 metadata.
	mcpHandler := gin.WrapH(a.mcpHandler())
	r.POST(mcpPath, mcpHandler)
	r.GET(mcpPath, mcpHandler)
	r.DELETE(mcpPath, mcpHandler)
	r.GET("/.well-known/oauth-protected-resource"+mcpPath, gin.WrapH(a.mcpMetadata()))

	// Shared Signals: the IdP pushes its Security Event Tokens here.
	if a.receiver != nil {
		r.POST("/ssf/events", a.receiver.serveEvents)
	}

	// The pages.
	pages := r.Group("/", web.SameOrigin(a.cfg.BaseURL))
	pages.GET("/", a.home)
	pages.GET("/login", gin.WrapF(a.signin.Login))
	pages.GET("/callback", gin.WrapF(a.signin.Callback))
	pages.POST("/logout", func(c *gin.Context) { a.signin.Logout(c.Writer, c.Request, a.cfg.BaseURL+"/") })
	pages.GET("/todos/:id", web.RequireSignIn(a.signin.User), a.showTodo)
	pages.POST("/todos", web.RequireSignIn(a.signin.User), a.addTodo)
	pages.POST("/todos/:id/toggle", web.RequireSignIn(a.signin.User), a.toggleTodo)
	pages.POST("/todos/:id/rename", web.RequireSignIn(a.signin.User), a.renameTodo)
	pages.POST("/todos/:id/delete", web.RequireSignIn(a.signin.User), a.deleteTodo)
	web.ServeCommon(r, a.cfg.DB, a.cfg.Trace, "The todo app")
	// Sessions load only when a request carries the session cookie, so API
	// calls cost no session lookup.
	return web.LimitBodies(web.FormBytes, a.meta(nil), a.sessions.LoadAndSave(a.cfg.Trace.Wrap(r)))
}

func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	web.WriteErrorPage(w, r, a.meta(nil), status, title, message)
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Todo{}, &Revocation{}) }},
}
