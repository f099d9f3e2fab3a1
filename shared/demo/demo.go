package demo

import (
	"crypto/sha256"
	"encoding/hex"
)

// Topology is where the five services are reached. Every service derives
// its own configuration (issuers, redirect URIs, resource identifiers) from
// it, so a test can run them all on other ports.
type Topology struct {
	IdP    string // enterprise IdP issuer
	WikiAS string // wiki authorization server issuer
	TodoAS string // todo authorization server issuer
	Wiki   string // wiki app base URL
	Todo   string // todo app base URL
}

// Local is the topology of `make dev-all`.
func Local() Topology {
	return Topology{
		IdP:    "http://localhost:4000",
		WikiAS: "http://localhost:5000",
		TodoAS: "http://localhost:5001",
		Wiki:   "http://localhost:3000",
		Todo:   "http://localhost:3001",
	}
}

// TodoAPI is the resource identifier (RFC 8707) of the todo API; it is the
// aud of the todo authorization server's access tokens.
func (t Topology) TodoAPI() string { return t.Todo + "/api" }

// TodoMCP is the todo app's MCP server: its endpoint and its resource
// identifier (MCP Enterprise-Managed Authorization §5.1), which access
// tokens for it carry as aud. A token for TodoAPI does not work there.
func (t Topology) TodoMCP() string { return t.Todo + "/mcp" }

// Client ids and demo secrets. The wiki is known at the todo AS under its
// own id (wiki-at-todo), which the IdP puts in the ID-JAG's client_id.
const (
	WikiASClientAtIdP = "wiki-as"
	WikiASSecretAtIdP = "demo-wiki-as-secret"
	TodoASClientAtIdP = "todo-as"
	TodoASSecretAtIdP = "demo-todo-as-secret"

	WikiClient    = "wiki"
	WikiSecret    = "demo-wiki-secret"
	TodoAppClient = "todo"
	TodoAppSecret = "demo-todo-secret"

	WikiAtTodoClient = "wiki-at-todo"
	WikiAtTodoSecret = "demo-wiki-at-todo-secret"

	// The agent (agent/, an MCP client) signs people in at the IdP itself
	// and asks it for ID-JAGs (MCP Enterprise-Managed Authorization): it
	// is a client of the IdP, and of the todo AS under its own id there.
	AgentClientAtIdP  = "agent"
	AgentSecretAtIdP  = "demo-agent-secret"
	AgentAtTodoClient = "agent-at-todo"
	AgentAtTodoSecret = "demo-agent-at-todo-secret"
	// TodoSCIMToken is the bearer token the IdP's provisioning presents
	// at the todo AS's SCIM endpoint (SCIM_TOKEN there).
	TodoSCIMToken = "demo-todo-scim-token"
	// TodoSSFStreamToken is the bearer token the todo app manages its
	// Shared Signals stream at the IdP with.
	TodoSSFStreamToken = "demo-todo-ssf-stream-token"

	// AgentRedirect is the agent's loopback redirect (RFC 8252 §7.3): any
	// port of it is accepted.
	AgentRedirect = "http://127.0.0.1/callback"
)

// Example resource authorization servers the IdP knows but that do not
// run here: the debug console's failure scenarios use them.
const (
	CalendarAS = "https://calendar.example"
	ChatAS     = "https://chat.example"
)

// Todo scopes.
const (
	ScopeTodosRead  = "todos.read"
	ScopeTodosWrite = "todos.write"
)

// Password of every seeded user; the IdP's sign-in page shows it.
const Password = "tables-demo-2026"

// Org is an enterprise tenant, chosen by email domain.
type Org struct {
	Domain string
	Name   string
}

// User is a seeded IdP user. Admins may use the IdP's admin console.
type User struct {
	Email string
	Name  string
	Admin bool
}

// Orgs are the Node sample's CUSTOMER1..3.
var Orgs = []Org{
	{Domain: "tables.fake", Name: "Tables Inc."},
	{Domain: "tables.fake2", Name: "Tables Two"},
	{Domain: "tables.fake3", Name: "Tables Three"},
}

// Users seeded at the IdP: one per org, and an administrator.
var Users = []User{
	{Email: "bob@tables.fake", Name: "Bobby Tables"},
	{Email: "john@tables.fake2", Name: "John Tables"},
	{Email: "foo@tables.fake3", Name: "Foo Tables"},
	{Email: "admin@tables.fake", Name: "Ada Admin", Admin: true},
}

// BobTodos are bob's seeded todos in the todo app.
var BobTodos = []string{
	"Review the Q3 launch checklist",
	"Rotate the staging database password",
	"Book the team offsite venue",
}

// FooTodos are foo's, of the organisation that signs in with SAML.
var FooTodos = []string{
	"Ask IT which of our apps still sign in with SAML",
	"Read how an assertion becomes an ID-JAG",
}

// AccountID is the id an authorization server gives a seeded account, and
// the owner id the todo app seeds bob's todos under: derived from the email
// so two services agree on it without sharing a database.
func AccountID(email string) string {
	sum := sha256.Sum256([]byte("xaa-demo-account:" + email))
	return "acct" + hex.EncodeToString(sum[:8])
}

// OrgDomains are the email domains of the demo organisations.
func OrgDomains() []string {
	out := make([]string, len(Orgs))
	for i, o := range Orgs {
		out[i] = o.Domain
	}
	return out
}

// Admins are the emails of the seeded administrators: they run the IdP's
// admin console, and may see everyone's runs in the debug console.
func Admins() []string {
	var out []string
	for _, u := range Users {
		if u.Admin {
			out = append(out, u.Email)
		}
	}
	return out
}
