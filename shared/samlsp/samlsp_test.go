package samlsp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crewjam/saml"
)

// TestPrecheck: what a posted response must be before anything parses it.
func TestPrecheck(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	response := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0"/>`
	for _, tt := range []struct {
		name, response, want string
	}{
		{name: "a plain response", response: b64(response)},
		{name: "not base64", response: "%%%", want: "not base64, or too large"},
		{name: "too large", response: b64(strings.Repeat(" ", MaxResponse+1)), want: "not base64, or too large"},
		{name: "a document type", response: b64(`<!DOCTYPE r [<!ENTITY e "x">]>` + response), want: "is not a SAML response this server reads: "},
		{name: "a comment", response: b64(`<!-- hi -->` + response), want: "is not a SAML response this server reads: "},
		{name: "a processing instruction", response: b64(`<?php evil ?>` + response), want: "is not a SAML response this server reads: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Precheck(tt.response)
			var rf *Refusal
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "":
			case !errors.As(err, &rf) || !strings.Contains(rf.Public, tt.want):
				t.Errorf("got %v, want a refusal saying %q", err, tt.want)
			}
		})
	}
}

// TestPublicReason: each check the library makes is named in words a
// person may read, none with the library's details.
func TestPublicReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("cannot validate signature on Response: %w", saml.ErrInvalidSignature), "its signature is not the identity provider's"},
		{saml.ErrUntrustedCertificate, "its signature is not the identity provider's"},
		{fmt.Errorf("audience: %w", saml.ErrAudienceMismatch), "it is meant for another service"},
		{saml.ErrExpired, "it is not valid at this time"},
		{saml.ErrNotYetValid, "it is not valid at this time"},
		{saml.ErrRequestIDMismatch, "it does not answer this sign-in"},
		{saml.ErrDestinationMismatch, "it was sent to another address"},
		{saml.ErrIssuerMismatch, "it comes from another identity provider"},
		{saml.ErrAssertionReplayed, "it was used before"},
		{errors.New("either the Response or Assertion must be signed: signature element not present"), "it is not signed"},
		{errors.New("something the library has not said before"), "it is not a valid SAML response"},
	} {
		if got := publicReason(tt.err); got != tt.want {
			t.Errorf("publicReason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
