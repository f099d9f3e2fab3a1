// Command wiki runs the wiki on :3000.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"xaa.example/apps/wiki/wikiapp"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/serve"
	"xaa.example/shared/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wiki:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, _ []string, getenv func(string) string, stdout io.Writer) error {
	log := serve.Logger(stdout, "wiki")
	env := envconfig.New(getenv)
	cfg := wikiapp.DefaultConfig(serve.Topology(env))
	addr := env.String("LISTEN_ADDR", ":3000")
	cfg.SecureCookies = env.Bool("SECURE_COOKIES", false)
	cfg.ClientSecret = env.String("CLIENT_SECRET", cfg.ClientSecret)
	cfg.TodoClientID = env.String("TODO_CLIENT_ID", cfg.TodoClientID)
	cfg.TodoClientSecret = env.String("TODO_CLIENT_SECRET", cfg.TodoClientSecret)
	if !env.Bool("DEBUG_CONSOLE", true) {
		cfg.Trace = nil // no recording, no /debug endpoints
	}
	pprofAddr := env.String("PPROF_ADDR", "")
	if err := env.Err(); err != nil {
		return err
	}
	db, err := serve.Database(env, "wiki")
	if err != nil {
		return err
	}
	if err := serve.Profiler(ctx, pprofAddr, log); err != nil {
		return err
	}
	defer storage.Close(db)

	cfg.DB, cfg.Log, cfg.HTTPClient = db, log, serve.HTTPClient()
	app, err := wikiapp.New(ctx, cfg)
	if err != nil {
		return err
	}
	return serve.Listen(ctx, addr, app.Handler(), log)
}
