package debugconsole

import (
	"context"
	"io"
	"strings"

	"github.com/a-h/templ"
)

// unbroken are the protocol's hyphenated names, which a browser would
// otherwise break after the hyphen on a narrow screen ("ID-" / "JAG").
var unbroken = []string{"ID-JAG"}

// Words renders text, escaped, with each of the protocol's hyphenated
// names kept on one line (in a span of class nobr).
func Words(text string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		for text != "" {
			at, name := len(text), ""
			for _, n := range unbroken {
				if i := strings.Index(text, n); i >= 0 && i < at {
					at, name = i, n
				}
			}
			if _, err := io.WriteString(w, templ.EscapeString(text[:at])); err != nil {
				return err
			}
			if name == "" {
				return nil
			}
			if _, err := io.WriteString(w, `<span class="nobr">`+templ.EscapeString(name)+`</span>`); err != nil {
				return err
			}
			text = text[at+len(name):]
		}
		return nil
	})
}
