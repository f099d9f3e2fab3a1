// Package cli is the agent: a command-line MCP client that reaches the todo
// app's MCP server through the enterprise IdP, the way MCP's
// Enterprise-Managed Authorization (Cross App Access for agents) has it.
//
// Unlike the wiki, whose authorization server holds the IdP's tokens and
// asks for ID-JAGs on its behalf, the agent talks to the IdP itself: it
// signs the person in there (authorization code + PKCE through the
// browser, with a loopback redirect, RFC 8252), keeps their ID token, and
// for each call exchanges it for an ID-JAG, redeems that at the MCP
// server's authorization server, and calls the tool. It keeps the access
// token until it expires and never stores an ID-JAG.
//
// It is a client: the only thing it serves is the loopback address of a
// sign-in in progress.
package cli
