// Package ssf is OpenID Shared Signals as this demo uses it: Security Event
// Tokens (RFC 8417) made by a transmitter (the IdP) and checked by a
// receiver (the todo app), delivered by push (RFC 8935), naming their
// subject as RFC 9493 says, for the CAEP and RISC events that end access.
//
// It must not depend on gin or gorm.
package ssf
