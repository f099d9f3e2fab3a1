// Package samlxml is what every SAML message must be before this project
// parses it, on the IdP's side and a service provider's alike: no document
// type, entity, comment or processing instruction (RefuseMarkup).
//
// It must not depend on anything but the standard library.
package samlxml
