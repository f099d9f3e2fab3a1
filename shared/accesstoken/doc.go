// Package accesstoken issues and verifies JWT access tokens as profiled by
// RFC 9068: header typ "at+jwt", aud the resource server, and the scope and
// client_id claims a resource server needs.
//
// The issuing side is used by the authorization servers, the verifying side
// by resource servers (the todo API). It must not depend on gin or gorm.
package accesstoken
