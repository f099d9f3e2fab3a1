package samlxml

import (
	"bytes"
	"errors"
)

// RefuseMarkup refuses, before any parsing, the markup no SAML message needs
// and attacks on SAML use:
//
//   - a document type or entity declaration: entity expansion and external
//     entities (XXE);
//   - a comment or a processing instruction: the exclusive canonicalisation
//     a signature covers leaves them out, so a NameID split by one is
//     still "signed", and a parser that stops at it reads another person
//     (the truncation attacks, CVE-2017-11427 and its family).
//
// The XML declaration at the very start is the one processing instruction
// allowed.
func RefuseMarkup(doc []byte) error {
	lower := bytes.ToLower(doc)
	switch {
	case bytes.Contains(lower, []byte("<!doctype")), bytes.Contains(lower, []byte("<!entity")):
		return errors.New("a DTD or entity declaration is not accepted")
	case bytes.Contains(doc, []byte("<!--")):
		return errors.New("a comment is not accepted")
	}
	rest := bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if bytes.HasPrefix(rest, []byte("<?xml ")) || bytes.HasPrefix(rest, []byte("<?xml?")) {
		if end := bytes.Index(rest, []byte("?>")); end >= 0 {
			rest = rest[end+2:]
		}
	}
	if bytes.Contains(rest, []byte("<?")) {
		return errors.New("a processing instruction is not accepted")
	}
	return nil
}
