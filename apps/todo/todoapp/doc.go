// Package todoapp is the resource app: a todo list people use directly
// (signed in through the todo authorization server), and a JSON API that
// other apps reach on a user's behalf with access tokens from that same
// authorization server, obtained through Cross App Access.
//
// It must not depend on the IdP, the wiki, or the authorization servers'
// code; it only knows the todo AS by its issuer URL.
package todoapp
