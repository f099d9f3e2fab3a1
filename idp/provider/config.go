package provider

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gorm.io/gorm"

	"xaa.example/idp/provisioning"
	"xaa.example/idp/store"
	"xaa.example/idp/transmitter"
	"xaa.example/shared/demo"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/oauth"
	"xaa.example/shared/rar"
	"xaa.example/shared/trace"
)

// Config of the IdP.
type Config struct {
	Issuer        string
	CookieName    string
	SecureCookies bool
	DB            *gorm.DB
	Log           *slog.Logger
	Now           func() time.Time
	// ConsoleURL is the debug console, which an audit entry links to for
	// the run it was part of; empty hides the link.
	ConsoleURL string

	// Clients are the relying parties: the apps' authorization servers.
	Clients []oauth.Client
	// Connections are the managed Cross App Access connections seeded at
	// start; an admin can change them afterwards.
	Connections []ConnectionConfig
	// Seed orgs and users; the password is the demo password.
	Orgs     []demo.Org
	Users    []demo.User
	Password string

	IDTokenLifetime time.Duration
	IDJAGLifetime   time.Duration
	// DeviceInterval is how long a device waits between polls (RFC 8628
	// §3.2: 5 s unless set).
	DeviceInterval time.Duration

	// IDJAGEmail puts the person's email in ID-JAGs (default); without it
	// they name the person by sub alone, as Okta's do (IDJAG_EMAIL=false).
	IDJAGEmail bool

	// DemoScenarios lets a token exchange carry xaa_demo=expired, which
	// issues an already expired ID-JAG for the console's failure scenario.
	// A demo-only switch, never for production.
	DemoScenarios bool

	// Trace records the IdP's part in chain runs for the debug console,
	// served at /debug/trace/{id}; nil turns that off.
	Trace *trace.Store
	// SAMLServiceProviders are the apps that sign people in here with SAML
	// 2.0 instead of OpenID Connect (SP-initiated, HTTP-POST responses,
	// signed assertions, persistent NameID = the IdP's user id).
	SAMLServiceProviders []SAMLServiceProvider
	// Provisioning are the apps the IdP may provision by SCIM, seeded
	// switched off; the admin console switches them on.
	Provisioning []provisioning.App
	// SSFReceivers may register a Shared Signals stream here, each with
	// the bearer token the IdP gave it.
	SSFReceivers []transmitter.Receiver
}

// ConnectionConfig is a directional connection from a requesting app to a
// resource app, as Okta's "Manage connections" sets up.
type ConnectionConfig struct {
	Title              string   // for people: "Wiki → Todo"
	OfferedScopes      []string // the scopes the resource app offers
	RequestingClientID string   // the requesting app's client at this IdP
	Audience           string   // the resource authorization server's issuer
	Resource           string   // the protected resource (RFC 8707)
	AllowedScopes      []string // scopes the connection may carry
	ClientIDAtResource string   // the requesting app's client id at the resource AS
	Disabled           bool     // seeded as disabled by the admin
	// AllowedActions are the todo actions a client may ask for in
	// authorization_details (RFC 9396, package rar).
	AllowedActions []string
}

// SAMLServiceProvider is an app registered for SAML sign-in: its entity
// ID and the assertion consumer service the response is posted to.
type SAMLServiceProvider struct {
	EntityID string
	ACSURL   string
	// ClientID is the OAuth client that speaks for this service provider
	// at the token endpoint: only it may exchange the assertions issued to
	// the service provider (the ID-JAG draft's SAML path maps the
	// assertion's Audience to a client and requires its authentication).
	ClientID string
	// Orgs are the email domains whose people sign in to this app with
	// SAML (and not with OpenID Connect): the first start's choice, which
	// the admin console then changes.
	Orgs []string
}

// DefaultConfig is the configuration of the local demo for topology t.
func DefaultConfig(t demo.Topology) Config {
	return Config{
		Issuer:     t.IdP,
		CookieName: "xaa_idp_session",
		ConsoleURL: t.Wiki + "/debug",
		Clients: []oauth.Client{
			{
				ID: demo.WikiASClientAtIdP, Secret: demo.WikiASSecretAtIdP,
				RedirectURIs: []string{t.WikiAS + "/federation/callback"},
				GrantTypes:   []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantTokenExchange},
				// The wiki AS relays the wiki's exchanges: it may ask for an
				// ID-JAG bound to the key the wiki proved to it.
				DelegatesKeys: true,
			},
			{
				// The agent: a native app (RFC 8252) that signs people in
				// here and exchanges their ID token for ID-JAGs itself.
				ID: demo.AgentClientAtIdP, Secret: demo.AgentSecretAtIdP,
				RedirectURIs: []string{demo.AgentRedirect},
				GrantTypes:   []string{oauth.GrantAuthorizationCode, oauth.GrantDeviceCode, oauth.GrantRefreshToken, oauth.GrantTokenExchange},
			},
			{
				ID: demo.TodoASClientAtIdP, Secret: demo.TodoASSecretAtIdP,
				RedirectURIs: []string{t.TodoAS + "/federation/callback"},
				GrantTypes:   []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken},
			},
		},
		Connections: []ConnectionConfig{{
			Title:              "Wiki → Todo",
			OfferedScopes:      []string{demo.ScopeTodosRead, demo.ScopeTodosWrite},
			RequestingClientID: demo.WikiASClientAtIdP,
			Audience:           t.TodoAS,
			Resource:           t.TodoAPI(),
			AllowedScopes:      []string{demo.ScopeTodosRead, demo.ScopeTodosWrite},
			ClientIDAtResource: demo.WikiAtTodoClient,
			AllowedActions:     rar.TodoActions,
		}, {
			// The agent reaches the todo app's MCP server; reading only,
			// until the admin decides otherwise.
			Title:              "Agent → Todo (MCP)",
			OfferedScopes:      []string{demo.ScopeTodosRead, demo.ScopeTodosWrite},
			RequestingClientID: demo.AgentClientAtIdP,
			Audience:           t.TodoAS,
			Resource:           t.TodoMCP(),
			AllowedScopes:      []string{demo.ScopeTodosRead},
			ClientIDAtResource: demo.AgentAtTodoClient,
			AllowedActions:     []string{rar.ActionRead},
		}, {
			// Example resource apps that do not run here, for the debug
			// console's failure scenarios: an ID-JAG for another audience,
			// and a connection the admin has disabled.
			Title:              "Wiki → Calendar",
			OfferedScopes:      []string{"calendar.read", "calendar.write"},
			RequestingClientID: demo.WikiASClientAtIdP,
			Audience:           demo.CalendarAS,
			Resource:           demo.CalendarAS + "/api",
			AllowedScopes:      []string{"calendar.read"},
			ClientIDAtResource: "wiki-at-calendar",
		}, {
			Title:              "Wiki → Chat",
			OfferedScopes:      []string{"chat.read", "chat.write"},
			RequestingClientID: demo.WikiASClientAtIdP,
			Audience:           demo.ChatAS,
			Resource:           demo.ChatAS + "/api",
			AllowedScopes:      []string{"chat.read"},
			ClientIDAtResource: "wiki-at-chat",
			Disabled:           true,
		}},
		Orgs:  demo.Orgs,
		Users: demo.Users,
		// The wiki AS and the todo AS sign one organisation in by SAML
		// (tables.fake3).
		SAMLServiceProviders: []SAMLServiceProvider{
			{EntityID: t.WikiAS + "/saml/metadata", ACSURL: t.WikiAS + "/saml/acs", ClientID: demo.WikiASClientAtIdP, Orgs: demo.OrgDomains()[2:]},
			{EntityID: t.TodoAS + "/saml/metadata", ACSURL: t.TodoAS + "/saml/acs", ClientID: demo.TodoASClientAtIdP, Orgs: demo.OrgDomains()[2:]},
		},
		// The todo AS takes provisioning (SCIM) with its demo token.
		Provisioning: []provisioning.App{{Name: "Todo AS", BaseURL: t.TodoAS + "/scim/v2", Token: demo.TodoSCIMToken, Audience: t.TodoAS}},
		// The todo app receives Shared Signals (SETs) from the IdP.
		SSFReceivers: []transmitter.Receiver{{Name: "Todo app", Token: demo.TodoSSFStreamToken}},
		Password:     demo.Password,
		Trace:        trace.NewStore("idp"),
		// Demo scenarios of the debug console: see exchangeGrant.
		DemoScenarios: true,
		IDJAGEmail:    true,
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var problems []string
	if !envconfig.IsHTTPURL(c.Issuer) {
		problems = append(problems, fmt.Sprintf("issuer %q is not an absolute http(s) URL", c.Issuer))
	}
	if c.DB == nil {
		problems = append(problems, "a database is required")
	}
	if c.CookieName == "" {
		problems = append(problems, "a session cookie name is required")
	}
	for _, cl := range c.Clients {
		if cl.ID == "" || cl.Secret == "" {
			problems = append(problems, fmt.Sprintf("client %q needs an id and a secret", cl.ID))
		}
	}
	for _, cn := range c.Connections {
		if cn.RequestingClientID == "" || cn.Audience == "" || cn.ClientIDAtResource == "" {
			problems = append(problems, "a connection needs a requesting client, a resource audience and the client id at the resource")
		}
	}
	if len(c.Users) > 0 && c.Password == "" {
		problems = append(problems, "seeded users need a password")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.IDTokenLifetime == 0 {
		c.IDTokenLifetime = time.Hour
	}
	if c.IDJAGLifetime == 0 {
		c.IDJAGLifetime = 5 * time.Minute
	}
	if c.DeviceInterval == 0 {
		c.DeviceInterval = 5 * time.Second
	}
}

// seed is what the IdP's first start creates: the organisations, people
// and connections cfg names.
func (c *Config) seed() store.Seed {
	seed := store.Seed{Orgs: c.Orgs, Users: c.Users, Password: c.Password}
	for _, cn := range c.Connections {
		seed.Connections = append(seed.Connections, store.Connection{
			Title:              cn.Title,
			OfferedScopes:      strings.Join(cn.OfferedScopes, " "),
			RequestingClientID: cn.RequestingClientID,
			Audience:           cn.Audience,
			Resource:           cn.Resource,
			AllowedScopes:      oauth.Scopes(cn.AllowedScopes).String(),
			ClientIDAtResource: cn.ClientIDAtResource,
			Enabled:            !cn.Disabled,
			AllowedActions:     strings.Join(cn.AllowedActions, " "),
		})
	}
	return seed
}
