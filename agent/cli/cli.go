package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"xaa.example/shared/demo"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/trace"
)

// Config says where the agent's servers are and who it is at them.
type Config struct {
	// IdP is the enterprise IdP's issuer, where people sign in and where
	// the agent asks for ID-JAGs.
	IdP string
	// ClientID and ClientSecret are the agent's client at the IdP;
	// ResourceClientID and ResourceSecret its client at the MCP server's
	// authorization server (the ID-JAG's client_id).
	ClientID, ClientSecret           string
	ResourceClientID, ResourceSecret string
	// MCP is the MCP server's endpoint.
	MCP string
	// Home is the folder the agent keeps the person's tokens in.
	Home string
	// Verbose prints every request of the chain, tokens decoded (-v).
	Verbose bool
	// Console is the wiki whose debug console hears of each run (POST
	// /debug/reports); empty, none does.
	Console string
	// DPoP binds the agent's ID-JAGs and access tokens to a key of this
	// installation (RFC 9449); off, they are bearer tokens.
	DPoP bool
	// AuthorizationDetails: each command asks for the one todo action it
	// takes (RFC 9396, type todo), not for a whole scope.
	AuthorizationDetails bool

	HTTP *http.Client
	Now  func() time.Time
}

// ConfigFromEnv reads the agent's configuration, defaulting to the local
// demo: IDP_ISSUER, AGENT_CLIENT_ID, AGENT_CLIENT_SECRET,
// AGENT_CLIENT_ID_AT_TODO, AGENT_CLIENT_SECRET_AT_TODO, TODO_MCP_URL,
// AGENT_HOME (default: the user's config folder, xaa-agent) and
// AGENT_CONSOLE_URL (the wiki whose debug console shows the agent's runs;
// "off" for none).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := envconfig.New(getenv)
	local := demo.Local()
	home := env.String("AGENT_HOME", "")
	if home == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return Config{}, fmt.Errorf("no folder to keep the sign-in in: set AGENT_HOME (%w)", err)
		}
		home = filepath.Join(dir, "xaa-agent")
	}
	cfg := Config{
		IdP:              env.URL("IDP_ISSUER", local.IdP),
		ClientID:         env.String("AGENT_CLIENT_ID", demo.AgentClientAtIdP),
		ClientSecret:     env.String("AGENT_CLIENT_SECRET", demo.AgentSecretAtIdP),
		ResourceClientID: env.String("AGENT_CLIENT_ID_AT_TODO", demo.AgentAtTodoClient),
		ResourceSecret:   env.String("AGENT_CLIENT_SECRET_AT_TODO", demo.AgentAtTodoSecret),
		MCP:              env.URL("TODO_MCP_URL", local.TodoMCP()),
		Home:             home,
		DPoP:             env.Bool("AGENT_DPOP", true),
		// Off by default: an IdP that knows no todo type (Okta) refuses.
		AuthorizationDetails: env.Bool("AGENT_AUTHORIZATION_DETAILS", false),
	}
	if console := env.String("AGENT_CONSOLE_URL", local.Wiki); console != "off" {
		cfg.Console = strings.TrimSuffix(console, "/")
		if !envconfig.IsHTTPURL(cfg.Console) {
			return cfg, fmt.Errorf("AGENT_CONSOLE_URL must be the wiki's http(s) URL, or off")
		}
	}
	return cfg, env.Err()
}

// Run runs one command: args are the command line after the program name.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "-v" {
		cfg.Verbose, args = true, args[1:]
	}
	return New(cfg, stdout).Command(ctx, args)
}

// Agent runs the commands.
type Agent struct {
	cfg Config
	out io.Writer
	// traces carries each run's trace id to the servers, which record
	// their side of it for the debug console.
	traces *trace.Store
}

// New returns an agent that writes to out.
func New(cfg Config, out io.Writer) *Agent {
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	traces := trace.NewStore("agent")
	cfg.HTTP = traces.Client(cfg.HTTP)
	return &Agent{cfg: cfg, out: out, traces: traces}
}

const usage = `agent: reach your todos through your company's identity provider (MCP, Cross App Access)

  agent login          sign in at the identity provider, in your browser
  agent login --device sign in from another device (Codespaces, SSH): shows a code to enter
  agent whoami         who is signed in
  agent tools          the MCP server's tools
  agent todos          your todos
  agent add "title"    add a todo (needs todos.write, which your administrator grants)
  agent done N         mark todo N done
  agent logout         forget the sign-in and the access token
  agent client-metadata
                       the Client ID Metadata Document to publish at the URL set as
                       AGENT_CLIENT_ID_AT_TODO, when the agent is not registered there
  agent -v COMMAND     show every request of the chain, tokens decoded
`

// Command runs one command.
func (a *Agent) Command(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(a.out, usage)
		return nil
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "login":
		if len(rest) == 1 && rest[0] == "--device" {
			return a.loginDevice(ctx)
		}
		return a.login(ctx)
	case "logout":
		if err := os.Remove(a.tokenFile()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		fmt.Fprintln(a.out, "Signed out: the agent forgot your sign-in and its access token.")
		return nil
	case "whoami":
		return a.whoami()
	case "client-metadata":
		return a.clientMetadata()
	case "tools":
		return a.run(ctx, "list the MCP server's tools", a.tools)
	case "todos":
		return a.run(ctx, "list todos", a.todos)
	case "add":
		if len(rest) != 1 || strings.TrimSpace(rest[0]) == "" {
			return errors.New(`say what to add: agent add "Water the plants"`)
		}
		return a.run(ctx, "add a todo", func(ctx context.Context) error { return a.add(ctx, rest[0]) })
	case "done":
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.Join(rest, ""), "#"), 10, 64)
		if len(rest) != 1 || err != nil || n < 1 {
			return errors.New("say which todo: agent done 3")
		}
		return a.run(ctx, fmt.Sprintf("complete todo #%d", n), func(ctx context.Context) error { return a.done(ctx, n) })
	default:
		return fmt.Errorf("no command %q; agent help lists them", cmd)
	}
}

// state is what the agent keeps between runs, readable by the user alone:
// the IdP's tokens from the sign-in, and the access token while it lasts.
// Never an ID-JAG: it is used once, at once.
type state struct {
	Email         string    `json:"email"`
	Subject       string    `json:"sub"`
	IDToken       string    `json:"id_token"`
	IDTokenExpiry time.Time `json:"id_token_expiry"`
	RefreshToken  string    `json:"refresh_token,omitempty"`
	AccessToken   string    `json:"access_token,omitempty"`
	AccessScope   string    `json:"access_scope,omitempty"`
	// AccessTokenType is DPoP when the token is bound to the agent's key.
	AccessTokenType string    `json:"access_token_type,omitempty"`
	AccessExpiry    time.Time `json:"access_expiry,omitempty"`
	// AccessActions are the todo actions the held token's
	// authorization_details grant, when the agent asked for them.
	AccessActions []string `json:"access_actions,omitempty"`
}

func (a *Agent) tokenFile() string { return filepath.Join(a.cfg.Home, "tokens.json") }

// errNotSignedIn is said to the person as it is.
var errNotSignedIn = errors.New("you are not signed in: run `agent login` first")

func (a *Agent) load() (*state, error) {
	b, err := os.ReadFile(a.tokenFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNotSignedIn
	}
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil || s.IDToken == "" {
		return nil, errNotSignedIn
	}
	return &s, nil
}

func (a *Agent) save(s *state) error {
	if err := os.MkdirAll(a.cfg.Home, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp := a.tokenFile() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.tokenFile())
}

func (a *Agent) whoami() error {
	s, err := a.load()
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Signed in as %s (%s at %s).\n", s.Email, s.Subject, a.cfg.IdP)
	if s.AccessToken != "" && a.cfg.Now().Before(s.AccessExpiry) {
		fmt.Fprintf(a.out, "Holding an access token for %s (scope %s) until %s.\n", a.cfg.MCP, s.AccessScope, s.AccessExpiry.Format(time.TimeOnly))
	}
	return nil
}

// verbose prints a line of -v output.
func (a *Agent) verbose(format string, args ...any) {
	if a.cfg.Verbose {
		fmt.Fprintf(a.out, "* "+format+"\n", args...)
	}
}

// claims decodes a JWT's payload for -v, its signature left out.
func claims(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "(not a JWT)"
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "(not a JWT)"
	}
	return string(b)
}

// wellKnown is RFC 9728's metadata address of a resource: the well-known
// name between host and path (§3.1).
func wellKnown(resource string) (string, error) {
	u, err := url.Parse(resource)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%s is not a URL", resource)
	}
	return u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + strings.TrimSuffix(u.Path, "/"), nil
}
