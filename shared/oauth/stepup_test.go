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

func TestStepUpWords(t *testing.T) {
	ten, one, ninety := 600, 1, 90
	for _, c := range []struct {
		up   StepUp
		want string
	}{
		{StepUp{ACRValues: "phr", MaxAge: &ten}, "a sign-in with your passkey, within the last 10 minutes"},
		{StepUp{MaxAge: &one}, "a sign-in within the last 1 second"},
		{StepUp{MaxAge: &ninety}, "a sign-in within the last 90 seconds"},
		{StepUp{ACRValues: "urn:other"}, "a sign-in of assurance urn:other"},
		{StepUp{}, "a new sign-in"},
	} {
		if got := c.up.Words(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.up, got, c.want)
		}
	}
}

// TestStepUpChallengeParsed: a resource's RFC 9470 §3 challenge reads back
// as what it asks for; other challenges are not step-ups.
func TestStepUpChallengeParsed(t *testing.T) {
	up, ok := StepUpChallenge(`Bearer realm="todo", error="insufficient_user_authentication", error_description="todos.write needs a passkey", acr_values="phr", max_age="600"`)
	if !ok || up.ACRValues != "phr" || up.MaxAge == nil || *up.MaxAge != 600 {
		t.Fatalf("%v %+v", ok, up)
	}
	for _, other := range []string{`Bearer error="insufficient_scope", scope="todos.write"`, `Bearer realm="todo"`, ""} {
		if _, ok := StepUpChallenge(other); ok {
			t.Errorf("%q read as a step-up", other)
		}
	}
	if got := ChallengeParam(`Bearer error_scope="x", scope="todos.read"`, "scope"); got != "todos.read" {
		t.Errorf("scope read as %q", got)
	}
}
