// Package samlsp is the SAML 2.0 sign-in connector of an authorization
// server (beside shared/signin, the OpenID Connect one, as dex has a
// connector per protocol): the server as a service provider of one
// organisation's IdP, built on github.com/crewjam/saml. It reads the IdP's
// metadata, makes the AuthnRequest (HTTP-Redirect binding), and checks the
// response posted back (HTTP-POST): before anything parses it, its size
// and markup (samlxml.RefuseMarkup); then the library's checks (the
// signature over the assertion by the IdP's certificate, Issuer, Audience
// = this entity ID, Destination and Recipient = the ACS, NotBefore and
// NotOnOrAfter, InResponseTo = a request this server sent, one use of the
// assertion); then a NameID and an email. What it gives is an Identity;
// who that is here, and whether this IdP may say so, is the server's.
//
// It must not depend on gin, gorm or any one server's tables.
package samlsp
