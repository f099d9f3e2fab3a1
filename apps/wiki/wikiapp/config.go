package wikiapp

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/debugconsole"
	"xaa.example/shared/demo"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/serve"
	"xaa.example/shared/trace"
	"xaa.example/shared/xaaclient"
)

// Config of the wiki.
type Config struct {
	BaseURL       string
	CookieName    string
	SecureCookies bool

	// The wiki's own authorization server, where users sign in and where
	// the wiki exchanges their ID token for an ID-JAG.
	ASIssuer     string
	ClientID     string
	ClientSecret string
	// AuthMethod and TodoAuthMethod force the client authentication
	// method at each authorization server; empty, it is chosen from the
	// server's metadata (xaaclient.ChooseAuthMethod).
	AuthMethod     string
	TodoAuthMethod string

	// The todo side: its authorization server, the wiki's client there,
	// the API's resource identifier and its base URL. TodoAudience is the
	// audience asked for in the token exchange: the todo AS's issuer unless
	// set (an Auth0 API's identifier, say, need be neither URL).
	TodoASIssuer       string
	TodoAudience       string
	ClientIDAtTodo     string
	ClientSecretAtTodo string
	TodoResource       string
	TodoAPIURL         string
	// TodoAppURL is where people open the todo app: links to
	// <TodoAppURL>/todos/<id> in a page become live chips.
	TodoAppURL string

	DB         *gorm.DB
	HTTPClient *http.Client
	Log        *slog.Logger
	Now        func() time.Time
	Recorder   *debugconsole.Recorder

	// Trace records the wiki's part in chain runs; nil turns the debug
	// console off. DebugSources are the other services whose parts the
	// console collects, by name.
	Trace        *trace.Store
	DebugSources map[string]string
	// ConsoleAdmins are the emails of the people who may see everyone's
	// runs in the console; everyone else sees their own alone.
	ConsoleAdmins []string
	// AgentIssuer and AgentClientID say whose ID tokens prove an agent's
	// report of its run (POST /debug/reports): the enterprise IdP's, issued
	// to the agent's client there. Empty AgentIssuer takes no reports.
	AgentIssuer   string
	AgentClientID string
	// DPoP binds the wiki's ID-JAGs and access tokens to a key of its own
	// (RFC 9449; its AS conveys the key to the IdP): a copied token is
	// worth nothing. Off, they are bearer tokens.
	DPoP bool
}

// DefaultConfig is the wiki of the local demo for topology t.
func DefaultConfig(t demo.Topology) Config {
	return Config{
		BaseURL:            t.Wiki,
		CookieName:         "xaa_wiki_session",
		ASIssuer:           t.WikiAS,
		ClientID:           demo.WikiClient,
		ClientSecret:       demo.WikiSecret,
		TodoASIssuer:       t.TodoAS,
		ClientIDAtTodo:     demo.WikiAtTodoClient,
		ClientSecretAtTodo: demo.WikiAtTodoSecret,
		TodoResource:       t.TodoAPI(),
		TodoAPIURL:         t.TodoAPI(),
		TodoAppURL:         t.Todo,
		Trace:              trace.NewStore("wiki"),
		DebugSources:       map[string]string{"wiki-as": t.WikiAS, "idp": t.IdP, "todo-as": t.TodoAS, "todo": t.Todo},
		ConsoleAdmins:      demo.Admins(),
		AgentIssuer:        t.IdP,
		AgentClientID:      demo.AgentClientAtIdP,
		DPoP:               true,
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var p []string
	for name, v := range map[string]string{"base URL": c.BaseURL, "wiki AS issuer": c.ASIssuer, "todo AS issuer": c.TodoASIssuer, "todo API URL": c.TodoAPIURL, "todo app URL": c.TodoAppURL} {
		if !envconfig.IsHTTPURL(v) {
			p = append(p, name+" must be an http(s) URL")
		}
	}
	if c.ClientID == "" || c.ClientSecret == "" || c.ClientIDAtTodo == "" || c.ClientSecretAtTodo == "" {
		p = append(p, "client ids and secrets at both authorization servers are required")
	}
	if c.TodoResource == "" {
		p = append(p, "the todo API resource identifier is required")
	}
	for name, m := range map[string]string{"client authentication method at the wiki AS": c.AuthMethod, "client authentication method at the todo AS": c.TodoAuthMethod} {
		if _, err := xaaclient.ChooseAuthMethod(m, nil, false, true); m != "" && err != nil {
			p = append(p, name+": "+err.Error())
		}
	}
	if c.DB == nil {
		p = append(p, "a database is required")
	}
	if c.AgentIssuer != "" && (!envconfig.IsHTTPURL(c.AgentIssuer) || c.AgentClientID == "") {
		p = append(p, "the agent's IdP issuer must be an http(s) URL, with the agent's client id")
	}
	if c.CookieName == "" {
		p = append(p, "a session cookie name is required")
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
	if c.TodoAudience == "" {
		c.TodoAudience = c.TodoASIssuer
	}
	if c.Recorder == nil {
		c.Recorder = debugconsole.NewRecorder()
	}
}
