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

func TestRenamed(t *testing.T) {
	for _, tt := range []struct {
		name     string
		env      map[string]string
		want     string
		warnings int
	}{
		{"new name", map[string]string{"NEW": "n"}, "n", 0},
		{"old name, with a warning", map[string]string{"OLD": "o"}, "o", 1},
		{"both: the new one wins, with a warning", map[string]string{"NEW": "n", "OLD": "o"}, "n", 1},
		{"neither", map[string]string{}, "default", 0},
	} {
		r := New(func(k string) string { return tt.env[k] })
		if got := r.Renamed("NEW", "OLD", "default"); got != tt.want || len(r.Warnings()) != tt.warnings {
			t.Errorf("%s: %q with warnings %v; want %q and %d", tt.name, got, r.Warnings(), tt.want, tt.warnings)
		}
	}
}
