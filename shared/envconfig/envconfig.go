package envconfig

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reader reads variables through getenv and remembers the problems.
type Reader struct {
	getenv   func(string) string
	problems []string
	warnings []string
}

// New returns a Reader over getenv (os.Getenv in main, a map in tests).
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// String returns the variable or def when unset or empty.
func (r *Reader) String(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// Renamed reads a variable that had another name. The new name wins; the
// old one still works for a release, with a warning (Warnings) to rename
// it, so that one thing has one name in every file.
func (r *Reader) Renamed(name, oldName, def string) string {
	if v := r.String(name, ""); v != "" {
		if r.String(oldName, "") != "" {
			r.warnings = append(r.warnings, fmt.Sprintf("%s is set and so is its old name %s, which is ignored: remove %s", name, oldName, oldName))
		}
		return v
	}
	if v := r.String(oldName, ""); v != "" {
		r.warnings = append(r.warnings, fmt.Sprintf("%s is the old name of %s; it still works, but rename it", oldName, name))
		return v
	}
	return def
}

// Warnings are what the service should log at start: settings that work
// but should change.
func (r *Reader) Warnings() []string { return r.warnings }

// URL returns an absolute http(s) URL without a trailing slash problem:
// issuers are compared as exact strings, so the value is kept as given.
func (r *Reader) URL(name, def string) string {
	v := r.String(name, def)
	if !IsHTTPURL(v) {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not an absolute http(s) URL", name, v))
	}
	return v
}

// IsHTTPURL reports whether s is an absolute http or https URL with a
// host: what every configured issuer and service URL must be.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Bool parses true/false/1/0.
func (r *Reader) Bool(name string, def bool) bool {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not true or false", name, v))
	}
	return b
}

// Duration parses a Go duration such as 90s or 5m.
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v := r.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.problems = append(r.problems, fmt.Sprintf("%s=%q is not a positive duration like 60s", name, v))
	}
	return d
}

// Problem records a problem found by the caller.
func (r *Reader) Problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// Err returns every problem, one per line, or nil.
func (r *Reader) Err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New("configuration problems:\n  " + strings.Join(r.problems, "\n  "))
}

// List splits a comma-separated value; unset gives def.
func (r *Reader) List(name string, def []string) []string {
	v := r.getenv(name)
	if strings.TrimSpace(v) == "" {
		return def
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// Set reports whether the variable has a non-empty value.
func (r *Reader) Set(name string) bool { return strings.TrimSpace(r.getenv(name)) != "" }

// OneOf reads name, which must be one of choices; def when unset.
func (r *Reader) OneOf(name, def string, choices ...string) string {
	v := r.String(name, def)
	if v != "" && !slices.Contains(choices, v) {
		r.Problem("%s must be one of %s, not %q", name, strings.Join(choices, ", "), v)
		return def
	}
	return v
}
