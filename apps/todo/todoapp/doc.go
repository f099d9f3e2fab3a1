// Package todoapp is the resource app: a todo list people use directly
// (signed in through the todo authorization server), and a JSON API that
// other apps reach on a user's behalf with access tokens from that same
// authorization server, obtained through Cross App Access.
//
// It must not depend on the IdP, the wiki, or the authorization servers'
// code; it only knows the todo AS by its issuer URL.
//
// It is one app in one package (about 1,500 hand-written lines): the
// pages, the API, the MCP server and the Shared Signals receiver each a
// file over one store. The protocols are in shared/accesstoken,
// shared/dpop and shared/ssf.
package todoapp
