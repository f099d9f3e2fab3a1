package scim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// userSchema is the core User schema's URN, which may qualify an
// attribute's name (RFC 7644 §3.10).
const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User"

// alwaysReturned are the members every resource answer keeps, whatever
// attributes and excludedAttributes say (RFC 7643 §3.1, §7: returned
// "always").
var alwaysReturned = []string{"id", "schemas"}

// chooseAttributes answers as next does, with each resource of a 2xx JSON
// answer (one, or a list's) holding only the attributes asked for, or all
// but those excluded (RFC 7644 §3.4.2.5; attributes wins when both come).
func chooseAttributes(next http.Handler, attributes, excluded string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var doc map[string]any
		if rec.Code >= 200 && rec.Code < 300 && json.Unmarshal(body, &doc) == nil {
			if list, ok := doc["Resources"].([]any); ok {
				for _, res := range list {
					if m, ok := res.(map[string]any); ok {
						choose(m, names(attributes), names(excluded))
					}
				}
			} else {
				choose(doc, names(attributes), names(excluded))
			}
			if b, err := json.Marshal(doc); err == nil {
				body = b
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(bytes.TrimSpace(body))
	})
}

// names reads a comma-separated list of attribute names in standard
// attribute notation, lower-cased, without the core User schema's URN.
func names(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.ToLower(strings.TrimSpace(n))
		n = strings.TrimPrefix(n, strings.ToLower(userSchema)+":")
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// choose keeps in a resource the attributes named (a sub-attribute keeps
// its parent with that sub-attribute alone), or, with none named, removes
// those excluded; the members always returned stay.
func choose(res map[string]any, attributes, excluded []string) {
	keep := func(key string) bool {
		k := strings.ToLower(key)
		for _, a := range alwaysReturned {
			if k == a {
				return true
			}
		}
		return false
	}
	if len(attributes) > 0 {
		for key, v := range res {
			if keep(key) {
				continue
			}
			k := strings.ToLower(key)
			whole, subs := false, map[string]bool{}
			for _, a := range attributes {
				parent, sub, hasSub := strings.Cut(a, ".")
				switch {
				case parent != k:
				case !hasSub:
					whole = true
				default:
					subs[sub] = true
				}
			}
			switch m, complex := v.(map[string]any); {
			case whole:
			case len(subs) > 0 && complex:
				for sk := range m {
					if !subs[strings.ToLower(sk)] {
						delete(m, sk)
					}
				}
			default:
				delete(res, key)
			}
		}
		return
	}
	for _, e := range excluded {
		parent, sub, hasSub := strings.Cut(e, ".")
		for key, v := range res {
			if strings.ToLower(key) != parent || keep(key) {
				continue
			}
			if !hasSub {
				delete(res, key)
				continue
			}
			if m, ok := v.(map[string]any); ok {
				for sk := range m {
					if strings.ToLower(sk) == sub {
						delete(m, sk)
					}
				}
			}
		}
	}
}
