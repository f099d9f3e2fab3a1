package idjag

import (
	"encoding/json"

	"github.com/go-jose/go-jose/v4/jwt"
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
	Tenant    string           `json:"tenant,omitempty"`
}

// StringList is a JSON value that is either one string or an array of
// strings, as the resource claim may be (draft §3, RFC 8707 §2).
type StringList []string

func (s StringList) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]string(s))
}

func (s *StringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}
