package envconfig

import "testing"

func TestIsHTTPURL(t *testing.T) {
	for s, want := range map[string]bool{
		"http://localhost:4000": true, "https://org.okta.com/oauth2/default": true,
		"": false, "localhost:4000": false, "http:foo": false, "httpx://host": false, "ftp://host": false, "/relative": false,
	} {
		if got := IsHTTPURL(s); got != want {
			t.Errorf("IsHTTPURL(%q) = %v, want %v", s, got, want)
		}
	}
	r := New(func(string) string { return "not a url" })
	r.URL("WIKI_URL", "")
	if r.Err() == nil {
		t.Error("URL accepted a value that is not a URL")
	}
}
