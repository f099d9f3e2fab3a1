// Command todo-as runs the todo app's authorization server on :5001.
package main

import (
	"context"
	"errors"
	"io"

	"xaa.example/authservers/todo/todoas"
	"xaa.example/shared/envconfig"
	"xaa.example/shared/keys"
	"xaa.example/shared/oauth"
	"xaa.example/shared/serve"
	"xaa.example/shared/storage"
)

func main() { serve.Main("todo-as", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	log := serve.Logger(stdout, "todo-as")
	env := envconfig.New(getenv)
	topology := serve.Topology(env)
	cfg := todoas.DefaultConfig(topology)
	srv := &cfg.Server
	srv.SecureCookies = env.Bool("SECURE_COOKIES", false)
	idp := &srv.Tenants[0]
	// TODO_AS_IDP_CLIENT_ID wins over IDP_CLIENT_ID, so one env file can
	// hold both authorization servers' registrations at the IdP.
	idp.IdP.ClientID = env.String("TODO_AS_IDP_CLIENT_ID", env.String("IDP_CLIENT_ID", idp.IdP.ClientID))
	idp.IdP.ClientSecret = env.String("TODO_AS_IDP_CLIENT_SECRET", env.String("IDP_CLIENT_SECRET", idp.IdP.ClientSecret))
	idp.Domains = env.List("ORG_DOMAINS", idp.Domains)
	// The SAML tenant, as at the wiki AS (SAML_DOMAINS), with this
	// server's own SAML app at the IdP.
	samlTenant := &srv.Tenants[1]
	samlTenant.Domains = env.List("SAML_DOMAINS", samlTenant.Domains)
	samlTenant.IdP.Issuer = env.URL("TODO_AS_SAML_IDP_METADATA_URL", samlTenant.IdP.Issuer)
	samlTenant.IdP.TokenIssuer = topology.IdP
	samlTenant.IdP.ClientID, samlTenant.IdP.ClientSecret = idp.IdP.ClientID, idp.IdP.ClientSecret
	if env.Set("ORG_DOMAINS") && !env.Set("SAML_DOMAINS") {
		srv.Tenants = srv.Tenants[:1]
	}
	// The resource side: whose ID-JAGs it redeems (TRUSTED_ISSUER_n), and
	// clients known by their metadata documents.
	cfg.IDJAGs.Trusted = todoas.TrustedIssuers(env, cfg.IDJAGs.Trusted)
	cfg.IDJAGs.ClientMetadataDocuments = env.Bool("CLIENT_METADATA_DOCUMENTS", cfg.IDJAGs.ClientMetadataDocuments)
	cfg.IDJAGs.ClientMetadataLocalHosts = env.List("CLIENT_METADATA_LOCAL_HOSTS", nil)
	// SCIM provisioning by the (first) trusted IdP; SCIM=false turns the
	// endpoint off.
	scimClient := &cfg.SCIM[0]
	scimClient.Token = env.String("SCIM_TOKEN", scimClient.Token)
	scimClient.Issuer = env.URL("SCIM_ISSUER", cfg.IDJAGs.Trusted[0].Issuer)
	scimClient.Tenant = env.String("SCIM_TENANT", "")
	// The people it provisions: those of the organisations that sign in
	// here, unless SCIM_DOMAINS names others.
	var signInDomains []string
	for _, t := range srv.Tenants {
		signInDomains = append(signInDomains, t.Domains...)
	}
	scimClient.Domains = env.List("SCIM_DOMAINS", signInDomains)
	if !env.Bool("SCIM", true) {
		cfg.SCIM = nil
	}
	srv.AccessTokenLifetime = env.Duration("ACCESS_TOKEN_LIFETIME", srv.AccessTokenLifetime)
	todoas.ConfigureWikiClient(srv, env.String("WIKI_CLIENT_ID_AT_TODO", ""), env.String("WIKI_CLIENT_SECRET_AT_TODO", ""))
	srv.DPoPNonces = env.Bool("DPOP_NONCES", false)
	// Its own step-up policy (RFC 9470) on the todo API and the MCP server.
	stepUp := oauth.StepUpPolicy{
		Scopes: oauth.ParseScopes(env.String("STEP_UP_SCOPES", "")),
		ACR:    env.String("STEP_UP_ACR", ""),
		MaxAge: env.Duration("STEP_UP_MAX_AGE", 0),
	}
	if len(stepUp.Scopes) > 0 && stepUp.ACR == "" && stepUp.MaxAge <= 0 {
		return errors.New("STEP_UP_SCOPES needs STEP_UP_ACR (phr: a passkey), STEP_UP_MAX_AGE (10m, say), or both")
	}
	todoas.ConfigureStepUp(&cfg, stepUp)
	todoas.ConfigureAgentClient(srv, env.String("AGENT_CLIENT_ID_AT_TODO", ""), env.String("AGENT_CLIENT_SECRET_AT_TODO", ""))
	traceStore, err := serve.DebugTrace(env, srv.Trace)
	if err != nil {
		return err
	}
	srv.Trace = traceStore
	if err := env.Err(); err != nil {
		return err
	}
	db, err := serve.Database(env, "todo-as")
	if err != nil {
		return err
	}
	defer storage.Close(db)
	if len(args) > 1 && args[1] == "rotate-keys" {
		return keys.RotateCommand(ctx, db, stdout)
	}

	srv.DB, srv.Log, srv.HTTPClient = db, log, serve.HTTPClient()
	as, err := todoas.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer as.Close()
	return serve.Listen(ctx, env, ":5001", as.Handler(), log)
}
