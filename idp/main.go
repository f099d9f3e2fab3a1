// Command idp runs the local enterprise identity provider on :4000.
package main

import (
	"context"
	"io"

	"xaa.example/idp/provider"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/keys"
	"xaa.example/shared/serve"
	"xaa.example/shared/storage"
)

func main() { serve.Main("idp", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	log := serve.Logger(stdout, "idp")
	env := envconfig.New(getenv)
	topology := serve.Topology(env)
	secure := env.Bool("SECURE_COOKIES", false)
	demoScenarios := env.Bool("DEMO_SCENARIOS", true)
	idjagEmail := env.Bool("IDJAG_EMAIL", true)
	samlDomains, samlSet := env.List("SAML_DOMAINS", nil), env.Set("SAML_DOMAINS")
	if err := env.Err(); err != nil {
		return err
	}
	db, err := serve.Database(env, "idp")
	if err != nil {
		return err
	}
	defer storage.Close(db)
	if len(args) > 1 && args[1] == "rotate-keys" {
		return keys.RotateCommand(ctx, db, stdout)
	}

	cfg := provider.DefaultConfig(topology)
	cfg.DemoScenarios, cfg.IDJAGEmail = demoScenarios, idjagEmail
	if samlSet {
		// The organisations the apps send to SAML (the same variable the
		// authorization servers read), as the IdP's first choice; the
		// admin console changes it afterwards.
		for i := range cfg.SAMLServiceProviders {
			cfg.SAMLServiceProviders[i].Orgs = samlDomains
		}
	}
	if cfg.Trace, err = serve.DebugTrace(env, cfg.Trace); err != nil {
		return err
	}
	cfg.DB, cfg.Log, cfg.SecureCookies = db, log, secure
	srv, err := provider.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	return serve.Listen(ctx, env, ":4000", srv.Handler(), log)
}
