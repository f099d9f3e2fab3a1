package oauth

import (
	"slices"
	"strings"
)

// Scopes is a set of scope tokens (RFC 6749 §3.3), kept sorted and unique so
// that String is stable.
type Scopes []string

// ParseScopes splits a space-delimited scope string.
func ParseScopes(s string) Scopes {
	out := Scopes(strings.Fields(s))
	slices.Sort(out)
	return slices.Compact(out)
}

func (s Scopes) String() string { return strings.Join(s, " ") }

// Has reports whether scope is in the set.
func (s Scopes) Has(scope string) bool { return slices.Contains(s, scope) }

// Intersect keeps the scopes present in both sets.
func (s Scopes) Intersect(other Scopes) Scopes {
	out := Scopes{}
	for _, v := range s {
		if other.Has(v) {
			out = append(out, v)
		}
	}
	return out
}

// Without removes the given scopes.
func (s Scopes) Without(drop ...string) Scopes {
	out := Scopes{}
	for _, v := range s {
		if !slices.Contains(drop, v) {
			out = append(out, v)
		}
	}
	return out
}
