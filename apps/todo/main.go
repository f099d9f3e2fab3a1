// Command todo runs the todo app and its API on :3001.
package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"xaa.example/apps/todo/todoapp"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/oauth"
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
	// Origins, beside the app's own, whose pages may call /mcp.
	cfg.MCPOrigins = env.List("MCP_ORIGINS", nil)
	// Shared Signals from the IdP (SIGNALS=false: off), about the people
	// at SSF_DOMAINS: by default those of the organisations that sign in
	// (ORG_DOMAINS and SAML_DOMAINS), or the demo's.
	idp := &cfg.Signals.Transmitters[0]
	idp.StreamToken = env.String("SSF_STREAM_TOKEN", idp.StreamToken)
	if env.Set("ORG_DOMAINS") {
		idp.Domains = append(env.List("ORG_DOMAINS", nil), env.List("SAML_DOMAINS", nil)...)
	}
	idp.Domains = env.List("SSF_DOMAINS", idp.Domains)
	if !env.Bool("SIGNALS", true) {
		cfg.Signals = nil
	}
	// The step-up policy the todo AS applies too (RFC 9470), per call.
	cfg.StepUp = oauth.StepUpPolicy{
		Scopes: oauth.ParseScopes(env.String("STEP_UP_SCOPES", "")),
		ACR:    env.String("STEP_UP_ACR", ""),
		MaxAge: env.Duration("STEP_UP_MAX_AGE", 0),
	}
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
	go registerStream(ctx, app, log)
	return serve.Listen(ctx, env, ":3001", app.Handler(), log)
}

// registerStream registers the app's Shared Signals stream at the IdP,
// trying again (2 s, doubling to a minute) while the IdP is not up yet.
func registerStream(ctx context.Context, app *todoapp.App, log *slog.Logger) {
	wait := 2 * time.Second
	for {
		err := app.RegisterStream(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Warn("Shared Signals stream not registered yet; trying again", "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}
