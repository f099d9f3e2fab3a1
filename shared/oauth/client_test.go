package oauth

import "testing"

// TestAllowsRedirect: exact match, except any port of a registered
// loopback URI without one (RFC 8252 §7.3); nothing else bends.
func TestAllowsRedirect(t *testing.T) {
	c := &Client{RedirectURIs: []string{"http://127.0.0.1/callback", "https://app.example/cb"}}
	for uri, want := range map[string]bool{
		"http://127.0.0.1/callback":         true,
		"http://127.0.0.1:49152/callback":   true,
		"http://127.0.0.1:8080/callback?x":  false,
		"http://127.0.0.1:49152/other":      false,
		"http://localhost:49152/callback":   false,
		"https://127.0.0.1:49152/callback":  false,
		"http://127.0.0.1.evil:80/callback": false,
		"https://app.example/cb":            true,
		"https://app.example:8443/cb":       false,
		"https://app.example/cb/":           false,
	} {
		if got := c.AllowsRedirect(uri); got != want {
			t.Errorf("AllowsRedirect(%q) = %v, want %v", uri, got, want)
		}
	}
}
