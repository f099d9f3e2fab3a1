package trace

import (
	"strings"
	"testing"
)

// FuzzRedactForm: whatever a form holds, its secrets never come out.
func FuzzRedactForm(f *testing.F) {
	f.Add("client_secret=abc&subject_token=" + exampleJWT)
	f.Add("password=hunter2&code=xyz")
	f.Add("%zz=1&assertion=a.b.c")
	f.Fuzz(func(t *testing.T, body string) {
		var m Message
		out := m.redactForm(body)
		for _, secret := range []string{"client_secret=", "password=", "code="} {
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, secret) && line != secret+Redacted {
					t.Fatalf("%q shown as %q", secret, line)
				}
			}
		}
	})
}
