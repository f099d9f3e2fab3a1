package cli

import (
	"errors"
	"strings"
	"testing"

	"xaa.example/shared/oauth"
	"xaa.example/shared/xaaclient"
)

// TestExplain: the agent's one sentence for each refusal, decided by the
// error's code and reason (error_reason), never by its description.
func TestExplain(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{name: "account disabled, in another server's words", err: oauth.InvalidGrant("user is suspended").WithReason(oauth.ReasonAccountDisabled),
			want: "your administrator has disabled your account"},
		{name: "a sign-in to renew, in another server's words", err: oauth.InvalidGrant("token is stale").WithReason(oauth.ReasonSignInAgain),
			want: "run `agent login` again"},
		{name: "words that name subject_token, without a reason", err: oauth.InvalidGrant("subject_token is odd"),
			want: "refused: invalid_grant: subject_token is odd"},
		{name: "the connection disabled", err: oauth.AccessDenied("no").WithReason(oauth.ReasonConnectionDisabled),
			want: "the connection Agent → Todo is disabled or missing"},
		{name: "no scope allowed", err: oauth.InvalidScope("none"), want: "grants none of the scopes asked for"},
		{name: "the agent's own credentials", err: oauth.InvalidClient("bad secret"), want: "did not accept the agent's own credentials (bad secret)"},
		{name: "a server down", err: &xaaclient.Unreachable{URL: "http://localhost:4000/oauth2/v1/token", Err: errors.New("refused")},
			want: "http://localhost:4000/oauth2/v1/token is not answering"},
		{name: "anything else", err: errors.New("boom"), want: "boom"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := explain(tt.err).Error(); !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to say %q", got, tt.want)
			}
		})
	}
}
