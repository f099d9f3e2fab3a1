// Command wiki-as runs the wiki app's authorization server on :5000.
package main

import (
	"context"
	"io"

	"xaa.example/authservers/wiki/wikias"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/keys"
	"xaa.example/shared/serve"
	"xaa.example/shared/storage"
)

func main() { serve.Main("wiki-as", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	log := serve.Logger(stdout, "wiki-as")
	env := envconfig.New(getenv)
	topology := serve.Topology(env)
	cfg := wikias.DefaultConfig(topology)
	cfg.SecureCookies = env.Bool("SECURE_COOKIES", false)
	idp := &cfg.Tenants[0]
	// WIKI_AS_IDP_CLIENT_ID wins over IDP_CLIENT_ID, so one env file can
	// hold both authorization servers' registrations at the IdP.
	idp.IdP.ClientID = env.String("WIKI_AS_IDP_CLIENT_ID", env.String("IDP_CLIENT_ID", idp.IdP.ClientID))
	idp.IdP.ClientSecret = env.String("WIKI_AS_IDP_CLIENT_SECRET", env.String("IDP_CLIENT_SECRET", idp.IdP.ClientSecret))
	idp.Domains = env.List("ORG_DOMAINS", idp.Domains)
	idp.IdP.AuthMethod = env.OneOf("IDP_CLIENT_AUTH_METHOD", "", "client_secret_basic", "client_secret_post")
	idp.IdP.OmitExchangeScope = env.OneOf("IDP_EXCHANGE_SCOPE", "send", "send", "omit") == "omit"
	// The SAML tenant (tables.fake3 in the local demo). With ORG_DOMAINS
	// set (an Okta org, say) and no SAML_DOMAINS, every domain signs in by
	// OpenID Connect and there is none.
	samlTenant := &cfg.Tenants[1]
	samlTenant.Domains = env.List("SAML_DOMAINS", samlTenant.Domains)
	samlTenant.IdP.Issuer = env.URL("SAML_IDP_METADATA_URL", samlTenant.IdP.Issuer)
	samlTenant.IdP.TokenIssuer = topology.IdP
	// Which of the two SAML paths the exchange takes: refresh (the ID-JAG
	// draft's, the default) or assertion (the Node sample's); none for an
	// organisation's own SAML IdP, which issues no ID-JAGs.
	switch env.OneOf("SAML_EXCHANGE", "refresh", "refresh", "assertion", "none") {
	case "assertion":
		samlTenant.SAMLDirect = true
	case "none":
		samlTenant.IdP.TokenIssuer = ""
	}
	samlTenant.IdP.ClientID, samlTenant.IdP.ClientSecret = idp.IdP.ClientID, idp.IdP.ClientSecret
	if env.Set("ORG_DOMAINS") && !env.Set("SAML_DOMAINS") {
		cfg.Tenants = cfg.Tenants[:1]
	}
	traceStore, err := serve.DebugTrace(env, cfg.Trace)
	if err != nil {
		return err
	}
	cfg.Trace = traceStore
	if err := env.Err(); err != nil {
		return err
	}
	db, err := serve.Database(env, "wiki-as")
	if err != nil {
		return err
	}
	defer storage.Close(db)
	if len(args) > 1 && args[1] == "rotate-keys" {
		return keys.RotateCommand(ctx, db, stdout)
	}

	cfg.DB, cfg.Log, cfg.HTTPClient = db, log, serve.HTTPClient()
	srv, err := wikias.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	return serve.Listen(ctx, env, ":5000", srv.Handler(), log)
}
