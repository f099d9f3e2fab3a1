package todoapp

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/oauth"
	"xaa.example/shared/serve"
	"xaa.example/shared/trace"
)

// Config of the todo app.
type Config struct {
	BaseURL       string // where the app is reached, e.g. http://localhost:3001
	CookieName    string
	SecureCookies bool

	// ASIssuer is the todo authorization server.
	ASIssuer     string
	ClientID     string
	ClientSecret string
	// Resource is the API's identifier, the aud of its access tokens;
	// MCPResource the MCP server's (its /mcp endpoint). Each accepts only
	// tokens for itself.
	Resource    string
	MCPResource string
	// MCPOrigins are the origins, beside the app's own, whose pages a
	// browser may call the MCP server from (an Origin header of any other
	// is refused with 403).
	MCPOrigins []string

	DB         *gorm.DB
	HTTPClient *http.Client
	Log        *slog.Logger
	Now        func() time.Time

	// SeedTodos are created for their owners, in this order (their ids
	// follow it), when the app has no todos.
	SeedTodos []SeedTodos

	// Trace records the API's part in chain runs for the debug console,
	// served at /debug/trace/{id}; nil turns that off.
	Trace *trace.Store

	// Signals receives the IdPs' Shared Signals (signals.go); nil: off.
	Signals *SignalsConfig

	// StepUp is the app's demand on the sign-in behind a token, per call
	// (RFC 9470): the API and the MCP tools answer a token that falls short
	// with insufficient_user_authentication. The todo AS reads the same
	// settings (STEP_UP_*) for the tokens it issues.
	StepUp oauth.StepUpPolicy
}

// SeedTodos are one owner's seeded todos; the last is done.
type SeedTodos struct {
	Owner  string
	Titles []string
}

// DefaultConfig is the todo app of the local demo for topology t.
func DefaultConfig(t demo.Topology) Config {
	return Config{
		BaseURL:      t.Todo,
		CookieName:   "xaa_todo_session",
		ASIssuer:     t.TodoAS,
		ClientID:     demo.TodoAppClient,
		ClientSecret: demo.TodoAppSecret,
		Resource:     t.TodoAPI(),
		MCPResource:  t.TodoMCP(),
		// Bob's first: his todos are #1 to #3 (the README's examples).
		SeedTodos: []SeedTodos{{demo.AccountID("bob@tables.fake"), demo.BobTodos}, {demo.AccountID("foo@tables.fake3"), demo.FooTodos}},
		Trace:     trace.NewStore("todo"),
		// The local IdP tells the app when access ends, for the people of
		// its three organisations.
		Signals: &SignalsConfig{Transmitters: []Transmitter{{Issuer: t.IdP, StreamToken: demo.TodoSSFStreamToken, Domains: demo.OrgDomains()}}},
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var p []string
	if !envconfig.IsHTTPURL(c.BaseURL) {
		p = append(p, "base URL must be an http(s) URL")
	}
	if !envconfig.IsHTTPURL(c.ASIssuer) {
		p = append(p, "authorization server issuer must be an http(s) URL")
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		p = append(p, "client id and secret are required")
	}
	if c.Resource == "" || c.MCPResource == "" || c.Resource == c.MCPResource {
		p = append(p, "the API's and the MCP server's resource identifiers are required, and must differ")
	}
	if c.DB == nil {
		p = append(p, "a database is required")
	}
	if c.CookieName == "" {
		p = append(p, "a session cookie name is required")
	}
	if c.Signals != nil {
		for _, t := range c.Signals.Transmitters {
			// With no domains a transmitter vouches for every address:
			// beside another, it would end that one's people's access.
			if len(t.Domains) == 0 && len(c.Signals.Transmitters) > 1 {
				p = append(p, "Shared Signals transmitter "+t.Issuer+": with several transmitters, each must name its email domains")
			}
		}
	}
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = serve.HTTPClient()
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}
