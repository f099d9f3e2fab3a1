// Package todoas is the todo app's authorization server: the shared
// authserver core, registered for the todo app and federating sign-in to
// the IdP, built with the features of a resource app's server: it redeems
// ID-JAGs from the IdP through the jwt-bearer grant (the resource side of
// Cross App Access) and takes the IdP's provisioning (SCIM).
package todoas

import (
	"context"
	"time"

	"xaa.example/shared/authserver"
	"xaa.example/shared/demo"
	"xaa.example/shared/idjag"
	"xaa.example/shared/oauth"
	"xaa.example/shared/scim"
	"xaa.example/shared/trace"
)

// DemoAccessTokenLifetime is how long the todo AS's access tokens live in
// the demo.
const DemoAccessTokenLifetime = 2 * time.Minute

// Config is the todo AS: the core's configuration and that of the features
// it is built from.
type Config struct {
	Server authserver.Config
	// IDJAGs are the IdPs whose ID-JAGs it redeems, for which resources.
	IDJAGs authserver.IDJAGs
	// SCIM are the IdPs that provision its accounts; none turns /scim/v2
	// off.
	SCIM []scim.Client
}

// New starts the todo AS: the core, with ID-JAG redemption and, when
// configured, provisioning.
func New(ctx context.Context, cfg Config) (*authserver.Server, error) {
	features := []authserver.Option{authserver.WithIDJAGRedemption(cfg.IDJAGs)}
	if len(cfg.SCIM) > 0 {
		features = append(features, authserver.WithSCIM(cfg.SCIM...))
	}
	return authserver.New(ctx, cfg.Server, features...)
}

// DefaultConfig is the todo AS of the local demo for topology t.
func DefaultConfig(t demo.Topology) Config {
	todoScopes := []string{demo.ScopeTodosRead, demo.ScopeTodosWrite}
	return Config{Server: authserver.Config{
		Issuer:     t.TodoAS,
		Trace:      trace.NewStore("todo-as"),
		Name:       "Todo AS",
		Mark:       "TA",
		Icon:       "todo-as",
		CookieName: "xaa_todoas_session",
		// Short, so that without Shared Signals (SIGNALS=false, or an IdP
		// that sends none) a presenter's change at the IdP shows within a
		// couple of minutes: an access token issued before it then works
		// until it expires (ACCESS_TOKEN_LIFETIME).
		AccessTokenLifetime: DemoAccessTokenLifetime,
		// The local IdP hosts the three demo organisations; tables.fake3
		// signs in with SAML here too (a SAML-based resource app).
		Tenants: []authserver.Tenant{{
			Domains: demo.OrgDomains()[:2],
			IdP:     authserver.Upstream{Issuer: t.IdP, ClientID: demo.TodoASClientAtIdP, ClientSecret: demo.TodoASSecretAtIdP},
		}, {
			Domains: demo.OrgDomains()[2:],
			IdP:     authserver.Upstream{Issuer: t.IdP + "/saml/metadata", TokenIssuer: t.IdP, ClientID: demo.TodoASClientAtIdP, ClientSecret: demo.TodoASSecretAtIdP},
			SAML:    true,
		}},
		Clients: []oauth.Client{
			{
				ID:           demo.TodoAppClient,
				Secret:       demo.TodoAppSecret,
				RedirectURIs: []string{t.Todo + "/callback"},
				GrantTypes:   []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken},
			},
			{
				// The wiki, as a client of this server. It never signs users
				// in here; it only redeems ID-JAGs.
				ID:         demo.WikiAtTodoClient,
				Secret:     demo.WikiAtTodoSecret,
				GrantTypes: []string{oauth.GrantJWTBearer},
				Scopes:     todoScopes,
			},
			{
				// The agent, redeeming ID-JAGs for the MCP server.
				ID:         demo.AgentAtTodoClient,
				Secret:     demo.AgentAtTodoSecret,
				GrantTypes: []string{oauth.GrantJWTBearer},
				Scopes:     todoScopes,
			},
		},
		SeedUsers: demo.Users,
	}, IDJAGs: authserver.IDJAGs{
		// The REST API and the MCP server: an ID-JAG's resource claim
		// chooses which one the access token is for.
		Resources: []authserver.Resource{{URI: t.TodoAPI(), Scopes: todoScopes}, {URI: t.TodoMCP(), Scopes: todoScopes}},
		Trusted: []*idjag.TrustedIssuer{{
			Issuer: t.IdP,
			// The local IdP's users may get a todo account the first time
			// the wiki reaches the todo API for them (docs/PROTOCOL.md check R12).
			JIT: idjag.JITPolicy{Enabled: true, EmailDomains: demo.OrgDomains()},
		}},
		// An agent the todo AS never registered may redeem ID-JAGs with
		// the URL of its Client ID Metadata Document as client_id, proving
		// itself with a key the document publishes (MCP EMA §5).
		ClientMetadataDocuments: true,
	},
		// The local IdP provisions accounts here (SCIM), with its user ids
		// as externalId, for the people of its three organisations.
		SCIM: []scim.Client{{Token: demo.TodoSCIMToken, Issuer: t.IdP, Domains: demo.OrgDomains()}},
	}
}

// ConfigureStepUp sets the todo AS's own step-up policy (RFC 9470) on
// each of its resources: the scopes that need a sign-in of assurance ACR
// and/or within MaxAge, whatever the IdP asked for. Scopes none: no
// step-up here.
func ConfigureStepUp(cfg *Config, p oauth.StepUpPolicy) {
	for i := range cfg.IDJAGs.Resources {
		cfg.IDJAGs.Resources[i].StepUp = p
	}
}

// ConfigureWikiClient changes the wiki's client at the todo AS: with Okta,
// its id is the one entered in the connection, which Okta puts in the
// ID-JAG's client_id. Empty values keep the demo's.
func ConfigureWikiClient(cfg *authserver.Config, id, secret string) {
	configureClient(cfg, demo.WikiAtTodoClient, id, secret)
}

// ConfigureAgentClient does the same for the agent's client at the todo AS.
func ConfigureAgentClient(cfg *authserver.Config, id, secret string) {
	configureClient(cfg, demo.AgentAtTodoClient, id, secret)
}

func configureClient(cfg *authserver.Config, demoID, id, secret string) {
	for i := range cfg.Clients {
		if cfg.Clients[i].ID != demoID {
			continue
		}
		if id != "" {
			cfg.Clients[i].ID = id
		}
		if secret != "" {
			cfg.Clients[i].Secret = secret
		}
	}
}
