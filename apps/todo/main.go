// Command todo runs the todo app and its API on :3001.
package main

import (
	"context"
	"io"

	"xaa.example/apps/todo/todoapp"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/serve"
	"xaa.example/shared/storage"
)

func main() { serve.Main("todo", run) }

func run(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	log := serve.Logger(stdout, "todo")
	env := envconfig.New(getenv)
	cfg := todoapp.DefaultConfig(serve.Topology(env))
	cfg.SecureCookies = env.Bool("SECURE_COOKIES", false)
	cfg.ClientSecret = env.String("CLIENT_SECRET", cfg.ClientSecret)
	traceStore, err := serve.DebugTrace(env, cfg.Trace)
	if err != nil {
		return err
	}
	cfg.Trace = traceStore
	if err := env.Err(); err != nil {
		return err
	}
	db, err := serve.Database(env, "todo")
	if err != nil {
		return err
	}
	defer storage.Close(db)

	cfg.DB, cfg.Log, cfg.HTTPClient = db, log, serve.HTTPClient()
	app, err := todoapp.New(ctx, cfg)
	if err != nil {
		return err
	}
	return serve.Listen(ctx, env, ":3001", app.Handler(), log)
}
