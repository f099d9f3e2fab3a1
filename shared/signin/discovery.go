package signin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Metadata is what this project reads of an authorization server's
// metadata (RFC 8414 §2, OpenID Connect Discovery §3).
type Metadata struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint"`
	EndSessionEndpoint       string   `json:"end_session_endpoint"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	IDTokenSigningAlgs       []string `json:"id_token_signing_alg_values_supported"`
	// Source is the address the document was read from.
	Source string `json:"-"`
}

// metadataURLs are where an issuer's metadata may be: RFC 8414 §3.1 first
// (the well-known part goes between host and path), then OpenID Connect
// Discovery §4 (appended to the issuer), and, for issuers with a path,
// RFC 8414's name appended as many deployments serve it.
func metadataURLs(issuer string) []string {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil
	}
	path := strings.TrimSuffix(u.Path, "/")
	base := u.Scheme + "://" + u.Host
	urls := []string{base + "/.well-known/oauth-authorization-server" + path, strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"}
	if path != "" {
		urls = append(urls, strings.TrimSuffix(issuer, "/")+"/.well-known/oauth-authorization-server")
	}
	return urls
}

// discover reads the issuer's metadata from the first address that
// answers with a document for this very issuer (RFC 8414 §3.3: the issuer
// in the document must be the one asked for).
func discover(ctx context.Context, hc *http.Client, issuer string) (*Metadata, error) {
	var problems []string
	for _, addr := range metadataURLs(issuer) {
		md, err := fetchMetadata(ctx, hc, addr)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if md.Issuer != issuer {
			problems = append(problems, fmt.Sprintf("%s names issuer %q, not %q", addr, md.Issuer, issuer))
			continue
		}
		if md.TokenEndpoint == "" {
			problems = append(problems, addr+" has no token_endpoint")
			continue
		}
		md.Source = addr
		return md, nil
	}
	return nil, errors.New(strings.Join(problems, "; "))
}

func fetchMetadata(ctx context.Context, hc *http.Client, addr string) (*Metadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", addr, resp.Status)
	}
	var md Metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md); err != nil {
		return nil, fmt.Errorf("%s is not a JSON metadata document: %w", addr, err)
	}
	return &md, nil
}

// provider makes go-oidc's provider from metadata already read, so that
// go-oidc does not fetch it again (and need not find it where it looks).
func (u *Upstream) oidcProvider(ctx context.Context, md *Metadata) *oidc.Provider {
	return (&oidc.ProviderConfig{
		IssuerURL:   md.Issuer,
		AuthURL:     md.AuthorizationEndpoint,
		TokenURL:    md.TokenEndpoint,
		UserInfoURL: md.UserinfoEndpoint,
		JWKSURL:     md.JWKSURI,
		Algorithms:  md.IDTokenSigningAlgs,
	}).NewProvider(u.Context(ctx))
}
