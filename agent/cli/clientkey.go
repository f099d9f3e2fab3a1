package cli

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
	"xaa.example/shared/signin"
	"xaa.example/shared/xaaclient"
)

// usesMetadataDocument: the agent's client_id at the MCP server's
// authorization server is a URL, the address of its Client ID Metadata
// Document, and not an id an administrator registered there. It then
// proves who it is with its own key (private_key_jwt), which the document
// publishes.
func (a *Agent) usesMetadataDocument() bool {
	id := a.cfg.ResourceClientID
	return strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://")
}

func (a *Agent) keyFile() string { return filepath.Join(a.cfg.Home, "client-key.json") }

// clientKey is this installation's signing key for client assertions,
// made on first use and kept beside the tokens, readable by the user alone.
func (a *Agent) clientKey() (*jose.JSONWebKey, error) { return a.installationKey(a.keyFile()) }

// dpopSigner makes this installation's DPoP proofs (RFC 9449), with a key
// of its own kept like the client key; nil when DPoP is off.
func (a *Agent) dpopSigner() (*dpop.Signer, error) {
	if !a.cfg.DPoP {
		return nil, nil
	}
	k, err := a.installationKey(filepath.Join(a.cfg.Home, "dpop-key.json"))
	if err != nil {
		return nil, err
	}
	return dpop.NewSigner(k)
}

func (a *Agent) installationKey(file string) (*jose.JSONWebKey, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		var k jose.JSONWebKey
		if err := json.Unmarshal(b, &k); err != nil || k.IsPublic() {
			return nil, fmt.Errorf("%s is not the agent's private key; delete it to make a new one", file)
		}
		return &k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	k := jose.JSONWebKey{Key: priv, Algorithm: string(jose.ES256), Use: "sig"}
	thumb, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	k.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	if err := os.MkdirAll(a.cfg.Home, 0o700); err != nil {
		return nil, err
	}
	out, _ := json.Marshal(k)
	if err := os.WriteFile(file, out, 0o600); err != nil {
		return nil, err
	}
	return &k, nil
}

// clientMetadata is the document to publish at the agent's client_id URL:
// who it is, that it authenticates with its key, the grant it uses.
func (a *Agent) clientMetadata() error {
	if !a.usesMetadataDocument() {
		return fmt.Errorf("AGENT_CLIENT_ID_AT_TODO is %q, a registered client id; set it to the https URL where you will publish this document", a.cfg.ResourceClientID)
	}
	k, err := a.clientKey()
	if err != nil {
		return err
	}
	doc := map[string]any{
		"client_id":                  a.cfg.ResourceClientID,
		"client_name":                "XAA demo agent",
		"token_endpoint_auth_method": oauth.AuthPrivateKeyJWT,
		"grant_types":                []string{oauth.GrantJWTBearer},
		"jwks":                       jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.Public()}},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Fprintln(a.out, string(b))
	return nil
}

// resourceCredentials authenticate the agent at the MCP server's
// authorization server: its registered secret, or its key when its
// client_id is a metadata document URL.
func (a *Agent) resourceCredentials(md *signin.Metadata) (xaaclient.Credentials, error) {
	if !a.usesMetadataDocument() {
		return credentials(md, a.cfg.ResourceClientID, a.cfg.ResourceSecret)
	}
	if !md.ClientIDMetadataDocuments {
		return xaaclient.Credentials{}, fmt.Errorf("%s does not accept client metadata documents: have the agent registered there and set AGENT_CLIENT_ID_AT_TODO to the client id it gets", md.Issuer)
	}
	k, err := a.clientKey()
	if err != nil {
		return xaaclient.Credentials{}, err
	}
	return xaaclient.Credentials{ClientID: a.cfg.ResourceClientID, Method: oauth.AuthPrivateKeyJWT, PrivateKey: k, Audience: md.Issuer}, nil
}
