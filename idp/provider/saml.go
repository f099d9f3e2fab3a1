package provider

import (
	"context"
	"errors"
	"net/http"

	"xaa.example/idp/samlidp"
	"xaa.example/idp/store"
	"xaa.example/shared/samlcred"
	"xaa.example/shared/web"
)

// The IdP is also a SAML 2.0 identity provider (package samlidp). The
// provider gives it the directory and the sign-in session, registers the
// configured apps (the wiki AS and the todo AS) at every start, and keeps
// the exchange of its assertions (saml_exchange.go); the console adds and
// removes SAML apps (package console).

func (s *Server) newSAMLIdP(ctx context.Context) (*samlidp.IdP, error) {
	i, err := samlidp.New(ctx, samlidp.Config{
		Issuer: s.cfg.Issuer, LoginPath: pathLogin, DB: s.cfg.DB,
		Directory: samlDirectory{s.store}, Sessions: s.op, Bag: s.op.Sessions,
		Replay: samlcred.ReplayCache{Store: s.op.Replay},
		ErrorPage: func(w http.ResponseWriter, r *http.Request, status int, title, message string) {
			web.WriteErrorPage(w, r, s.meta(), status, title, message)
		},
		Now: s.cfg.Now, Log: s.cfg.Log,
	})
	if err != nil {
		return nil, err
	}
	orgIDs, err := s.store.OrgIDsByDomain(ctx)
	if err != nil {
		return nil, err
	}
	var apps []samlidp.App
	for _, sp := range s.cfg.SAMLServiceProviders {
		app := samlidp.App{EntityID: sp.EntityID, Name: sp.ClientID, ClientID: sp.ClientID, ACSURL: sp.ACSURL}
		for _, domain := range sp.Orgs {
			id, ok := orgIDs[domain]
			if !ok {
				return nil, errors.New("SAML app " + sp.EntityID + " names " + domain + ", which is no organisation here")
			}
			app.OrgIDs = joinFields(app.OrgIDs, id)
		}
		apps = append(apps, app)
	}
	return i, i.Configured(ctx, apps)
}

func joinFields(list, field string) string {
	if list == "" {
		return field
	}
	return list + " " + field
}

// samlDirectory is the IdP's people and organisations as the SAML IdP
// reads them.
type samlDirectory struct{ store *store.Store }

func (d samlDirectory) Person(ctx context.Context, id string) (*samlidp.Person, error) {
	u, err := d.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	return &samlidp.Person{ID: u.ID, Email: u.Email, Name: u.Name, OrgID: u.OrgID, Disabled: u.Disabled}, nil
}

func (d samlDirectory) OrgName(ctx context.Context, orgID string) (string, error) {
	o, err := d.store.Org(ctx, orgID)
	if err != nil {
		return "", err
	}
	return o.Name, nil
}
