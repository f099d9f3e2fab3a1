// Package trace records what each service does in a Cross App Access
// chain, for the debug console: the HTTP requests it receives and sends,
// as they were on the wire (redacted: no secret, password or usable token
// is kept), and the checks it made, each passed or failed.
//
// A run's steps are tied together by a trace id, carried from service to
// service in the X-XAA-Trace header. Each service keeps its own steps in a
// bounded Store and serves them at /debug/trace/{id}; the console collects
// them from every service.
//
// The protocol packages call Pass and Fail; with no trace in the context
// these do nothing. This package must not depend on any other of this
// module, so that every one of them can use it.
package trace
