package samlxml

import (
	"strings"
	"testing"
)

func TestRefuseMarkup(t *testing.T) {
	const assertion = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a1"><saml:Subject><saml:NameID>00u1</saml:NameID></saml:Subject></saml:Assertion>`
	rows := []struct {
		name, doc, refused string // refused: "" when accepted
	}{
		{"an assertion", assertion, ""},
		{"with the XML declaration", `<?xml version="1.0" encoding="UTF-8"?>` + assertion, ""},
		{"with a byte order mark and the declaration", "\xef\xbb\xbf<?xml version=\"1.0\"?>" + assertion, ""},
		{"a DTD", `<?xml version="1.0"?><!DOCTYPE a>` + assertion, "DTD"},
		{"a DTD in capitals of another mix", `<!DocType a>` + assertion, "DTD"},
		{"an external entity", `<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + assertion, "DTD"},
		{"a comment inside the NameID", strings.Replace(assertion, ">00u1<", ">00<!---->u1<", 1), "comment"},
		{"a comment before the root", `<!-- hello -->` + assertion, "comment"},
		{"a processing instruction inside", strings.Replace(assertion, "<saml:Subject>", "<?evil x?><saml:Subject>", 1), "processing instruction"},
		{"a second XML declaration", `<?xml version="1.0"?><?xml version="1.0"?>` + assertion, "processing instruction"},
		{"a processing instruction posing as the declaration", `<?xml-stylesheet href="x"?>` + assertion, "processing instruction"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			err := RefuseMarkup([]byte(row.doc))
			switch {
			case row.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case row.refused != "" && (err == nil || !strings.Contains(err.Error(), row.refused)):
				t.Fatalf("got %v, want a refusal naming %q", err, row.refused)
			}
		})
	}
}
