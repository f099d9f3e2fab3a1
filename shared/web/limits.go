package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// Request body limits: a form or an API call is small, and nothing in
// these services takes a large upload, so nobody may make a service hold
// more.
const (
	// FormBytes bounds the body of every form and API request.
	FormBytes = 64 << 10
	// PageBytes bounds the wiki's page forms (a page's Markdown is at
	// most 100,000 characters, each up to 4 bytes percent-encoded as 12).
	PageBytes = 2 << 20
)

// A BodyRule changes what LimitBodies does on some paths.
type BodyRule func(*bodyRules)

type bodyRules struct{ own, uploads []string }

// OwnBodies passes paths under the prefixes on as they came: what is
// served there bounds its own bodies and answers in its own protocol's
// format (SCIM's errors under /scim/v2).
func OwnBodies(prefixes ...string) BodyRule {
	return func(r *bodyRules) { r.own = append(r.own, prefixes...) }
}

// Uploads lets the paths (exactly) take a multipart form, a file in it,
// within the same bound (the IdP's console takes a SAML app's metadata as
// a file).
func Uploads(paths ...string) BodyRule {
	return func(r *bodyRules) { r.uploads = append(r.uploads, paths...) }
}

// LimitBodies refuses, before any handler reads it, a body larger than max
// (413) and a multipart body where no route takes one (415); then it caps
// what a handler can read at max, and reads a form right away so that one
// sent in chunks past max is refused (413) instead of being seen as an
// empty form. Browsers are answered with a page, others with an OAuth-style
// JSON error (RFC 6749 §5.2).
func LimitBodies(max int64, meta Meta, next http.Handler, rules ...BodyRule) http.Handler {
	var rs bodyRules
	for _, rule := range rules {
		rule(&rs)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, prefix := range rs.own {
			if r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/") {
				next.ServeHTTP(w, r)
				return
			}
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		upload := media == "multipart/form-data" && slices.Contains(rs.uploads, r.URL.Path)
		if strings.HasPrefix(media, "multipart/") && !upload {
			refuseBody(w, r, meta, http.StatusUnsupportedMediaType, "Upload refused",
				"This address takes no uploads: send a form (application/x-www-form-urlencoded) or JSON.")
			return
		}
		if r.ContentLength > max {
			refuseBody(w, r, meta, http.StatusRequestEntityTooLarge, "Too large",
				fmt.Sprintf("The request is larger than this address takes (%d KiB at most).", max>>10))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		if media == "application/x-www-form-urlencoded" || upload {
			// Read whole (it is at most max), and handed on as read, for
			// the handler and the debug console's recorder alike.
			body, err := io.ReadAll(r.Body)
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				refuseBody(w, r, meta, http.StatusRequestEntityTooLarge, "Too large",
					fmt.Sprintf("The request is larger than this address takes (%d KiB at most).", max>>10))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

func refuseBody(w http.ResponseWriter, r *http.Request, meta Meta, status int, title, message string) {
	// The rest of the body is not read: close the connection after this
	// answer rather than drain it.
	w.Header().Set("Connection", "close")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		WriteErrorPage(w, r, meta, status, title, message)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": message})
}
