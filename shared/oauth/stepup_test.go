package oauth

import (
	"net/http/httptest"
	"testing"
)

// TestStepUpOnTheWire: an insufficient_user_authentication refusal carries
// acr_values and max_age (RFC 9470 §3; the ID-JAG draft's example puts
// max_age in the body), and reads back the same on the client's side.
func TestStepUpOnTheWire(t *testing.T) {
	secs := 600
	rec := httptest.NewRecorder()
	WriteError(rec, nil, InsufficientUserAuthentication(StepUp{ACRValues: "phr", MaxAge: &secs}, "todos.write needs a passkey"))
	if rec.Code != 400 || rec.Body.String() != `{"error":"insufficient_user_authentication","error_description":"todos.write needs a passkey","acr_values":"phr","max_age":600}`+"\n" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	back := ReadError(rec.Code, rec.Body.Bytes(), "the IdP")
	if back.Code != "insufficient_user_authentication" || back.StepUp == nil || back.StepUp.ACRValues != "phr" || *back.StepUp.MaxAge != 600 {
		t.Fatalf("read back: %+v %+v", back, back.StepUp)
	}
	if other := ReadError(400, []byte(`{"error":"invalid_grant"}`), "x"); other.StepUp != nil {
		t.Error("a refusal without acr_values or max_age reads as a step-up")
	}
}
