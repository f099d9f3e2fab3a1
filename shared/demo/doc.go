// Package demo holds the embedded defaults that let the whole demo run with
// no file to edit: where each service listens, the demo clients and their
// (demo-only) secrets, the orgs and users to seed, and the todo scopes.
//
// Every value here can be overridden by configuration; nothing here is a
// production secret. It must not import any other package of this module.
package demo
