// Command wiki runs the wiki on :3000.
package main

import (
	"context"
	"io"

	"xaa.example/apps/wiki/wikiapp"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/serve"
	"xaa.example/shared/storage"
)

func main() { serve.Main("wiki", run) }

func run(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	log := serve.Logger(stdout, "wiki")
	env := envconfig.New(getenv)
	cfg := wikiapp.DefaultConfig(serve.Topology(env))
	cfg.SecureCookies = env.Bool("SECURE_COOKIES", false)
	cfg.ClientSecret = env.String("CLIENT_SECRET", cfg.ClientSecret)
	// The wiki's client at the todo AS has one name on both sides: the todo
	// AS registers it under the same variables.
	cfg.ClientIDAtTodo = env.Renamed("WIKI_CLIENT_ID_AT_TODO", "TODO_CLIENT_ID", cfg.ClientIDAtTodo)
	cfg.ClientSecretAtTodo = env.Renamed("WIKI_CLIENT_SECRET_AT_TODO", "TODO_CLIENT_SECRET", cfg.ClientSecretAtTodo)
	cfg.ConsoleAdmins = env.List("DEBUG_CONSOLE_ADMINS", cfg.ConsoleAdmins)
	// The agent's reports to the console are proved with the ID token the
	// IdP gave it: the same variables the agent reads.
	cfg.AgentIssuer = env.URL("IDP_ISSUER", cfg.AgentIssuer)
	cfg.AgentClientID = env.String("AGENT_CLIENT_ID", cfg.AgentClientID)
	cfg.DPoP = env.Bool("DPOP", cfg.DPoP)
	methods := []string{"client_secret_basic", "client_secret_post"}
	cfg.AuthMethod = env.OneOf("CLIENT_AUTH_METHOD", "", methods...)
	cfg.TodoAuthMethod = env.OneOf("TODO_CLIENT_AUTH_METHOD", "", methods...)
	cfg.TodoResource = env.String("TODO_RESOURCE", cfg.TodoResource)
	cfg.TodoAudience = env.String("TODO_AUDIENCE", "")
	traceStore, err := serve.DebugTrace(env, cfg.Trace)
	if err != nil {
		return err
	}
	cfg.Trace = traceStore
	for _, w := range env.Warnings() {
		log.Warn(w)
	}
	if err := env.Err(); err != nil {
		return err
	}
	db, err := serve.Database(env, "wiki")
	if err != nil {
		return err
	}
	defer storage.Close(db)

	cfg.DB, cfg.Log, cfg.HTTPClient = db, log, serve.HTTPClient()
	app, err := wikiapp.New(ctx, cfg)
	if err != nil {
		return err
	}
	return serve.Listen(ctx, env, ":3000", app.Handler(), log)
}
