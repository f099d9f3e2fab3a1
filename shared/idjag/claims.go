package idjag

import (
	"encoding/json"

	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/shared/oauth"
)

// Claims of an ID-JAG (draft §3).
type Claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	ClientID  string           `json:"client_id"`
	ID        string           `json:"jti"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	Scope     string           `json:"scope,omitempty"`
	Resource  StringList       `json:"resource,omitempty"`
	Email     string           `json:"email,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
	AMR       []string         `json:"amr,omitempty"`
	ACR       string           `json:"acr,omitempty"`
	// AudSub is the resource authorization server's own id for the person
	// (draft §3, OpenID Enterprise), when the IdP knows it.
	AudSub string `json:"aud_sub,omitempty"`
	// AuthorizationDetails are the fine-grained grants (RFC 9396) the
	// IdP granted, as a JSON array (package rar reads them).
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
	Tenant               string          `json:"tenant,omitempty"`
	// Cnf binds the ID-JAG to a key (RFC 7800, RFC 9449 §6.1): whoever
	// redeems it must prove they hold that key.
	Cnf *oauth.Confirmation `json:"cnf,omitempty"`
}

// StringList is one string or an array of strings in JSON, as the resource
// claim may be (draft §3, RFC 8707 §2).
type StringList = oauth.StringList
