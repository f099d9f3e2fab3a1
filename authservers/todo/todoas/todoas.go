// Package todoas configures the todo app's authorization server: the shared
// authserver code, registered for the todo app, federating sign-in to the
// IdP, and accepting ID-JAGs from the IdP through the jwt-bearer grant (the
// resource side of Cross App Access).
package todoas

import (
	"time"

	"xaa.example/shared/authserver"
	"xaa.example/shared/demo"
	"xaa.example/shared/idjag"
	"xaa.example/shared/oauth"
	"xaa.example/shared/trace"
)

// DemoAccessTokenLifetime is how long the todo AS's access tokens live in
// the demo.
const DemoAccessTokenLifetime = 2 * time.Minute

// DefaultConfig is the todo AS of the local demo for topology t.
func DefaultConfig(t demo.Topology) authserver.Config {
	todoScopes := []string{demo.ScopeTodosRead, demo.ScopeTodosWrite}
	return authserver.Config{
		Issuer:     t.TodoAS,
		Trace:      trace.NewStore("todo-as"),
		Name:       "Todo AS",
		Mark:       "TA",
		Icon:       "todo-as",
		CookieName: "xaa_todoas_session",
		// Short, so that a presenter's change at the IdP shows within a
		// couple of minutes: an access token issued before it keeps
		// working until it expires (ACCESS_TOKEN_LIFETIME).
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
		// An agent the todo AS never registered may redeem ID-JAGs with
		// the URL of its Client ID Metadata Document as client_id, proving
		// itself with a key the document publishes (MCP EMA §5).
		ClientMetadataDocuments: true,
		SeedUsers:               demo.Users,
		// The REST API and the MCP server: an ID-JAG's resource claim
		// chooses which one the access token is for.
		Resources: []authserver.Resource{{URI: t.TodoAPI(), Scopes: todoScopes}, {URI: t.TodoMCP(), Scopes: todoScopes}},
		// The local IdP provisions accounts here (SCIM), with its user ids
		// as externalId, for the people of its three organisations.
		SCIM: []authserver.SCIMClient{{Token: demo.TodoSCIMToken, Issuer: t.IdP, Domains: demo.OrgDomains()}},
		TrustedIssuers: []*idjag.TrustedIssuer{{
			Issuer: t.IdP,
			// The local IdP's users may get a todo account the first time
			// the wiki reaches the todo API for them (docs/PROTOCOL.md check R12).
			JIT: idjag.JITPolicy{Enabled: true, EmailDomains: demo.OrgDomains()},
		}},
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
