package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/crewjam/saml"

	"xaa.example/shared/samlcred"
)

// The IdP is also a SAML 2.0 identity provider (github.com/crewjam/saml):
// its metadata at /saml/metadata, single sign-on at /saml/sso for the
// registered service providers (SP-initiated; the AuthnRequest by the
// HTTP-Redirect binding, the signed Response by HTTP-POST), the person's
// IdP user id as a persistent NameID and their email and name as
// attributes. A person not signed in here signs in first and comes back.

const (
	pathSAMLMetadata = "/saml/metadata"
	pathSAMLSSO      = "/saml/sso"
)

func (s *Server) newSAMLIdP(ctx context.Context) (*saml.IdentityProvider, error) {
	key, cert, err := samlcred.LoadOrCreate(ctx, s.cfg.DB, "idp", s.cfg.Issuer+pathSAMLMetadata)
	if err != nil {
		return nil, fmt.Errorf("SAML signing key: %w", err)
	}
	meta, _ := url.Parse(s.cfg.Issuer + pathSAMLMetadata)
	sso, _ := url.Parse(s.cfg.Issuer + pathSAMLSSO)
	login, _ := url.Parse(s.cfg.Issuer + pathLogin)
	valid := 5 * time.Minute
	return &saml.IdentityProvider{
		Key:                     key,
		Signer:                  key,
		Certificate:             cert,
		MetadataURL:             *meta,
		SSOURL:                  *sso,
		LoginURL:                *login,
		Logger:                  samlcred.Logger{Log: s.cfg.Log},
		ServiceProviderProvider: s,
		SessionProvider:         s,
		ReplayCache:             samlcred.ReplayCache{Store: s.op.Replay},
		ValidDuration:           &valid,
	}, nil
}

// GetServiceProvider implements saml.ServiceProviderProvider: the
// registered service providers, by entity ID.
func (s *Server) GetServiceProvider(_ *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	for _, sp := range s.cfg.SAMLServiceProviders {
		if sp.EntityID == entityID {
			return &saml.EntityDescriptor{EntityID: sp.EntityID, SPSSODescriptors: []saml.SPSSODescriptor{{
				SSODescriptor:             saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol"}},
				AssertionConsumerServices: []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: sp.ACSURL, Index: 1}},
			}}}, nil
		}
	}
	return nil, os.ErrNotExist
}

// GetSession implements saml.SessionProvider: the person signed in here,
// or, when no one is, the sign-in page, which brings them back to this
// same request.
func (s *Server) GetSession(w http.ResponseWriter, r *http.Request, _ *saml.IdpAuthnRequest) *saml.Session {
	ctx := r.Context()
	if uid, authTime := s.op.SignedIn(ctx); uid != "" {
		if u, err := s.store.user(ctx, uid); err == nil && !u.Disabled {
			return &saml.Session{
				ID: uid + "-" + authTime.Format(time.RFC3339), CreateTime: authTime, ExpireTime: authTime.Add(8 * time.Hour),
				Index: uid, NameID: u.ID, NameIDFormat: string(saml.PersistentNameIDFormat),
				UserEmail: u.Email, UserName: u.Email, UserCommonName: u.Name,
			}
		}
		s.op.Forget(ctx)
	}
	http.Redirect(w, r, pathLogin+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return nil
}
