// Package samlcred keeps a service's SAML signing key and certificate: an
// RSA key and a self-signed certificate for it (SAML metadata publishes
// certificates, not bare keys), made once and kept in the service's own
// database, so that the metadata others hold stays valid across restarts
// and replicas. It also holds the glue github.com/crewjam/saml asks of
// both the IdP and the service providers here: their replay store and
// their log; and the names of an IdP's checks on an assertion it is given
// as a subject token, for the debug console.
//
// It must not depend on gin or on any OAuth flow.
package samlcred
