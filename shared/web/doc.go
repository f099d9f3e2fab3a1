// Package web is what every server-rendered service here shares: the page
// layout and stylesheet, server-side sessions stored in the service's own
// database, request logging that never prints query strings or tokens,
// security headers, and the health endpoint.
//
// It must not depend on any OAuth flow or service.
package web
