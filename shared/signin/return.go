package signin

import (
	"net/url"
	"strings"
	"unicode"
)

// SafeReturn keeps only a same-origin path (with its query and fragment),
// so that a return address can never send the browser to another site
// (an open redirect, RFC 9700 §4.11). Anything else becomes "/".
//
// Browsers are lenient where this must be strict: the WHATWG URL parser
// drops tabs and newlines anywhere in a URL, reads a backslash as a slash
// in http(s) URLs, and trims leading spaces and control characters, so
// "/\t/evil.example" and "/\\evil.example" are both "//evil.example", a
// network-path reference to another host. So a return address is refused
// when it holds any control character, space, backslash or percent-encoded
// slash, backslash or control character in its path, as well as when it
// is not a plain path at all.
func SafeReturn(s string) string {
	if !isLocalPath(s) {
		return "/"
	}
	return s
}

func isLocalPath(s string) bool {
	if len(s) == 0 || len(s) > 2048 || s[0] != '/' {
		return false
	}
	if len(s) > 1 && (s[1] == '/' || s[1] == '\\') {
		return false
	}
	for _, r := range s {
		if r == '\\' || unicode.IsSpace(r) || !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	// In the path, not in the query, where encoded slashes are ordinary.
	path, _, _ := strings.Cut(s, "?")
	path, _, _ = strings.Cut(path, "#")
	lower := strings.ToLower(path)
	for i := strings.IndexByte(lower, '%'); i >= 0; i = next(lower, i) {
		if i+2 >= len(lower) {
			return false
		}
		switch hex := lower[i+1 : i+3]; {
		case hex == "2f", hex == "5c", hex == "7f", hex[0] == '0', hex[0] == '1', hex == "25":
			// An encoded slash or backslash may be decoded once more on
			// the way; an encoded control character or percent sign is
			// there only to be decoded again.
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.Path, "/")
}

// next finds the next '%' after position i.
func next(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '%')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}
