// Package wikiapp is the requesting app: a small wiki whose "My todos" page
// shows the signed-in user's todos from the todo app, reached through the
// whole Cross App Access chain (todos.go): the wiki's ID token is exchanged
// for an ID-JAG at the wiki's authorization server, the ID-JAG is redeemed
// at the todo authorization server for an access token, and the todo API
// is called with it. Every step is recorded for the debug console.
//
// It must not depend on the IdP, the todo app or the authorization servers'
// code; it knows them only by URL.
//
// It is one app in one package (about 1,900 hand-written lines): pages,
// My todos and the chain behind it (todos.go), the todo chips, the debug
// console's pages. Its protocol work is in shared/xaaclient and
// shared/signin; splitting the rest would export the App's internals to
// no reader's gain.
package wikiapp
