// Package serve is what each service's main shares: the logger, the demo
// topology read from the environment, opening the database, and an HTTP
// server that shuts down cleanly when its context ends.
//
// Only main packages import it.
package serve
