// Package rar reads Rich Authorization Requests (RFC 9396) of the one type
// this project defines, "todo": what may be done to the person's todos
// (actions read, create, complete). A client asks for them in
// authorization_details; the IdP grants them only as far as the
// administrator's connection allows, and the ID-JAG carries what was
// granted.
package rar

import (
	"encoding/json"
	"slices"
	"strings"

	"xaa.example/shared/oauth"
)

// TypeTodo is the authorization details type of the todo app.
const TypeTodo = "todo"

// The actions a todo detail may name.
const (
	ActionRead     = "read"
	ActionCreate   = "create"
	ActionComplete = "complete"
)

// TodoActions are every action of the todo type, in a stable order.
var TodoActions = []string{ActionRead, ActionCreate, ActionComplete}

// Types are the authorization details types this project knows, for
// authorization_details_types_supported (RFC 9396 §10).
var Types = []string{TypeTodo}

// Detail is one authorization details object (RFC 9396 §2).
type Detail struct {
	Type    string   `json:"type"`
	Actions []string `json:"actions,omitempty"`
}

// maxBytes bounds what is read of a request's authorization_details.
const maxBytes = 4 << 10

// Parse reads authorization_details as a client sent it: a JSON array of
// objects of a known type, each naming known actions once. Anything else
// is invalid_authorization_details (RFC 9396 §5), saying what.
func Parse(raw string) ([]Detail, *oauth.Error) {
	if len(raw) > maxBytes {
		return nil, oauth.InvalidAuthorizationDetails("authorization_details is longer than %d bytes", maxBytes)
	}
	var objects []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &objects); err != nil {
		return nil, oauth.InvalidAuthorizationDetails("authorization_details is not a JSON array of objects")
	}
	if len(objects) == 0 {
		return nil, oauth.InvalidAuthorizationDetails("authorization_details is empty")
	}
	out := make([]Detail, 0, len(objects))
	for i, o := range objects {
		var d Detail
		if err := json.Unmarshal(o["type"], &d.Type); err != nil || d.Type == "" {
			return nil, oauth.InvalidAuthorizationDetails("authorization_details[%d] has no type", i)
		}
		if d.Type != TypeTodo {
			return nil, oauth.InvalidAuthorizationDetails("authorization_details[%d] is of type %q, which this server does not know (it knows %s)", i, d.Type, strings.Join(Types, ", "))
		}
		for field := range o {
			if field != "type" && field != "actions" {
				return nil, oauth.InvalidAuthorizationDetails("authorization_details[%d] has a field %q, which the todo type does not define", i, field)
			}
		}
		if err := json.Unmarshal(o["actions"], &d.Actions); err != nil || len(d.Actions) == 0 {
			return nil, oauth.InvalidAuthorizationDetails("authorization_details[%d] names no actions (a JSON array of %s)", i, strings.Join(TodoActions, ", "))
		}
		for _, a := range d.Actions {
			if !slices.Contains(TodoActions, a) {
				return nil, oauth.InvalidAuthorizationDetails("authorization_details[%d] names the action %q, which the todo type does not define", i, a)
			}
		}
		if len(d.Actions) != len(unique(d.Actions)) {
			return nil, oauth.InvalidAuthorizationDetails("authorization_details[%d] names an action twice", i)
		}
		out = append(out, d)
	}
	return out, nil
}

// Within refuses details that ask for more than allowed, the actions an
// administrator's connection grants: the request is refused, not
// narrowed, so that the client learns what it may not do.
func Within(details []Detail, allowed []string) *oauth.Error {
	for i, d := range details {
		for _, a := range d.Actions {
			if !slices.Contains(allowed, a) {
				return oauth.InvalidAuthorizationDetails("authorization_details[%d] asks to %s todos, which the administrator's connection does not allow (it allows %s)", i, a, orNone(allowed))
			}
		}
	}
	return nil
}

// Allows reports whether details grant action on todos.
func Allows(details []Detail, action string) bool {
	for _, d := range details {
		if d.Type == TypeTodo && slices.Contains(d.Actions, action) {
			return true
		}
	}
	return false
}

// Marshal is details as the JSON a token carries.
func Marshal(details []Detail) json.RawMessage {
	b, _ := json.Marshal(details)
	return b
}

func unique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func orNone(actions []string) string {
	if len(actions) == 0 {
		return "none"
	}
	return strings.Join(actions, ", ")
}
