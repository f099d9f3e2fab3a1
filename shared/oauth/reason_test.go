package oauth

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
)

// TestReasonOnTheWire: a refusal's reason is written as error_reason and
// read back into the same *Error, and a caller finds it with errors.Is
// through any wrapping, never by reading the description.
func TestReasonOnTheWire(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, nil, InvalidGrant("whatever words a server chooses").WithReason(ReasonAccountDisabled))
	if got := rec.Body.String(); got != `{"error":"invalid_grant","error_description":"whatever words a server chooses","error_reason":"account_disabled"}`+"\n" {
		t.Fatalf("written: %s", got)
	}
	read := ReadError(rec.Code, rec.Body.Bytes(), "the server")
	if read.Code != "invalid_grant" || read.Status != 400 || read.Reason != ReasonAccountDisabled {
		t.Fatalf("read back: %+v", read)
	}
	wrapped := fmt.Errorf("the chain: %w", read)
	if !errors.Is(wrapped, ReasonAccountDisabled) || errors.Is(wrapped, ReasonSignInAgain) {
		t.Error("errors.Is does not tell the reason")
	}
	// No reason: none matches, not even the empty one.
	plain := InvalidGrant("no reason given")
	if errors.Is(plain, Reason("")) || errors.Is(plain, ReasonAccountDisabled) {
		t.Error("an error without a reason matched one")
	}
	rec = httptest.NewRecorder()
	WriteError(rec, nil, plain)
	if got := rec.Body.String(); got != `{"error":"invalid_grant","error_description":"no reason given"}`+"\n" {
		t.Errorf("written without a reason: %s", got)
	}
	if e := ReadError(502, []byte("<html>bad gateway</html>"), "https://idp.test/token"); e.Code != "server_error" || e.Description != "https://idp.test/token answered Bad Gateway" {
		t.Errorf("not an OAuth error: %+v", e)
	}
}
