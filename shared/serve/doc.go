// Package serve is what each service's main shares: the logger, the demo
// topology read from the environment, opening the database, and an HTTP
// server that shuts down cleanly when its context ends.
//
// Mains import it, and the services' configurations for their default
// outbound HTTP client (HTTPClient); no protocol package may.
package serve
