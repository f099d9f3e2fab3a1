package signin

import "testing"

func TestSafeReturn(t *testing.T) {
	refused := []struct {
		name, in string
	}{
		{name: "empty", in: ""},
		{name: "network-path reference", in: "//evil.example"},
		{name: "three slashes", in: "///evil.example"},
		{name: "slash backslash", in: "/\\evil.example"},
		{name: "two backslashes", in: "\\\\evil.example"},
		{name: "backslash later in the path", in: "/a\\..\\\\evil.example"},
		{name: "tab between slashes", in: "/\t/evil.example"},
		{name: "newline between slashes", in: "/\n/evil.example"},
		{name: "carriage return between slashes", in: "/\r/evil.example"},
		{name: "NUL between slashes", in: "/\x00/evil.example"},
		{name: "leading space", in: " //evil.example"},
		{name: "space between slashes", in: "/ /evil.example"},
		{name: "no-break space", in: "/\u00a0/evil.example"},
		{name: "line separator", in: "/\u2028/evil.example"},
		{name: "zero-width space", in: "/\u200b/evil.example"},
		{name: "encoded tab (decoded once more)", in: "/%09/evil.example"},
		{name: "encoded slash", in: "/%2f%2fevil.example"},
		{name: "encoded slash, upper case", in: "/%2F/evil.example"},
		{name: "encoded backslash", in: "/%5cevil.example"},
		{name: "encoded percent (double encoding)", in: "/%252f%252fevil.example"},
		{name: "truncated escape", in: "/todos%2"},
		{name: "absolute https URL", in: "https://evil.example/"},
		{name: "scheme-relative with credentials", in: "//user@evil.example"},
		{name: "http without slashes", in: "http:evil.example"},
		{name: "javascript", in: "javascript:alert(1)"},
		{name: "data URL", in: "data:text/html,<script>alert(1)</script>"},
		{name: "relative host name", in: "evil.example"},
		{name: "DEL character", in: "/\x7f/evil.example"},
		{name: "invalid UTF-8", in: "/\xff/evil.example"},
	}
	if len(refused) < 20 {
		t.Fatalf("the table has %d bypasses; keep at least 20", len(refused))
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if got := SafeReturn(tc.in); got != "/" {
				t.Errorf("SafeReturn(%q) = %q, want /", tc.in, got)
			}
		})
	}

	kept := []string{"/", "/todos", "/pages/launch-plan?edit=1", "/debug#run-abc", "/admin/users?q=bob%40tables.fake", "/pages/caf%C3%A9", "/pages/café", "/a/../b", "/authorize?redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fcallback&state=x"}
	for _, in := range kept {
		if got := SafeReturn(in); got != in {
			t.Errorf("SafeReturn(%q) = %q, want it kept", in, got)
		}
	}
}
