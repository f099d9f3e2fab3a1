package xaaclient

import (
	"testing"

	"xaa.example/shared/oauth"
)

func TestChooseAuthMethod(t *testing.T) {
	for _, tt := range []struct {
		name, configured string
		supported        []string
		hasKey           bool
		want             string
		wantErr          bool
	}{
		{name: "no metadata means Basic (RFC 8414 §2)", want: oauth.AuthSecretBasic},
		{name: "a server that takes only client_secret_post", supported: []string{oauth.AuthSecretPost}, want: oauth.AuthSecretPost},
		{name: "Basic preferred over post", supported: []string{oauth.AuthSecretPost, oauth.AuthSecretBasic}, want: oauth.AuthSecretBasic},
		{name: "a key preferred over a secret", supported: []string{oauth.AuthSecretBasic, oauth.AuthPrivateKeyJWT}, hasKey: true, want: oauth.AuthPrivateKeyJWT},
		{name: "configuration wins over metadata", configured: oauth.AuthSecretPost, supported: []string{oauth.AuthSecretBasic}, want: oauth.AuthSecretPost},
		{name: "an unknown configured method", configured: "client_secret_jwt", wantErr: true},
		{name: "nothing in common", supported: []string{"tls_client_auth"}, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseAuthMethod(tt.configured, tt.supported, tt.hasKey, true)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v; want %q (error: %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
