package wikiapp

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"xaa.example/shared/oauth"
	"xaa.example/shared/xaaclient"
)

// TestExplain: what the wiki tells the person when a step of the chain is
// refused, decided by the error's code and reason (error_reason), never by
// the words of its description, which another IdP words otherwise.
func TestExplain(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    error
		step   string
		title  string
		signIn bool
	}{
		{name: "an account disabled at the IdP, in another IdP's words", step: "exchange",
			err:   oauth.InvalidGrant("user is suspended").WithReason(oauth.ReasonAccountDisabled),
			title: "Your account is disabled"},
		{name: "a sign-in to renew", step: "exchange", err: oauth.InvalidGrant("the IdP sign-in has expired").WithReason(oauth.ReasonSignInAgain),
			title: "Please sign in again", signIn: true},
		{name: "an invalid_grant whose words say disabled, without the reason", step: "exchange",
			err:   oauth.InvalidGrant("the subject's account is disabled by the administrator"),
			title: "Please sign in again", signIn: true},
		{name: "an organisation whose own SAML IdP issues no ID-JAGs", step: "exchange",
			err:   oauth.InvalidGrant("its own SAML IdP").WithReason(oauth.ReasonNoIDJAGIssuer),
			title: "Your identity provider cannot vouch for you here"},
		{name: "a connection the admin has not enabled", step: "exchange", err: oauth.AccessDenied("no").WithReason(oauth.ReasonConnectionDisabled),
			title: "Access to the todo app is not allowed"},
		{name: "an ID-JAG without the key binding asked for (Okta with DPoP)", step: "exchange",
			err:   (&oauth.Error{Code: "server_error", Status: 502, Description: "unbound"}).WithReason(oauth.ReasonIDJAGNotBound),
			title: "The identity provider did not bind the ID-JAG to the wiki's key"},
		{name: "the IdP not answering", step: "exchange", err: &oauth.Error{Code: "temporarily_unavailable", Status: 503},
			title: "The identity provider is not answering"},
		{name: "a server unreachable", step: "redeem", err: &xaaclient.Unreachable{URL: "http://localhost:5001/token", Err: errors.New("refused")},
			title: "A server is not answering"},
		{name: "the todo AS refusing the grant", step: "redeem", err: oauth.InvalidGrant("the account was deactivated").WithReason(oauth.ReasonAccountDisabled),
			title: "The todo app refused the wiki's grant"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := explain(tt.err, tt.step)
			if p.Title != tt.title || p.SignIn != tt.signIn || p.Message == "" {
				t.Errorf("got %q (sign in %v): %s; want %q (sign in %v)", p.Title, p.SignIn, p.Message, tt.title, tt.signIn)
			}
			if strings.HasSuffix(p.Message, "..") {
				t.Errorf("message %q", p.Message)
			}
		})
	}
}

// TestProblemOf: the chain's steps return errors; what the person is told
// is a *chainProblem, whose refusing server's reason errors.Is finds, and
// any other error becomes one.
func TestProblemOf(t *testing.T) {
	if problemOf(nil) != nil {
		t.Error("no error, yet a problem")
	}
	revoked := error(&chainProblem{Title: "The todo app refused the request", Reason: oauth.ReasonTokenRevoked})
	if !errors.Is(revoked, oauth.ReasonTokenRevoked) || errors.Is(revoked, oauth.ReasonAccountDisabled) {
		t.Error("errors.Is does not tell the refusing server's reason")
	}
	if p := problemOf(fmt.Errorf("step: %w", revoked)); p == nil || p.Title != "The todo app refused the request" {
		t.Errorf("a wrapped problem: %+v", p)
	}
	if p := problemOf(errors.New("boom")); p == nil || p.Title != "Todos unavailable" || p.Detail != "boom" {
		t.Errorf("another error: %+v", p)
	}
}

// TestRefusalIsNoFailure: a page that explains a refusal (an
// administrator, the IdP or the todo app said no) is a 403, which the
// browser does not log as a failed load; a server that did not answer is
// a 502.
func TestRefusalIsNoFailure(t *testing.T) {
	for _, tt := range []struct {
		err    error
		step   string
		status int
	}{
		{oauth.AccessDenied("no").WithReason(oauth.ReasonConnectionDisabled), "exchange", 403},
		{oauth.InvalidGrant("suspended").WithReason(oauth.ReasonAccountDisabled), "exchange", 403},
		{oauth.InvalidGrant("expired").WithReason(oauth.ReasonSignInAgain), "exchange", 403},
		{oauth.InvalidGrant("no account"), "redeem", 403},
		{&oauth.Error{Code: "temporarily_unavailable", Status: 503}, "exchange", 502},
		{&xaaclient.Unreachable{URL: "http://localhost:5001/token", Err: errors.New("refused")}, "redeem", 502},
	} {
		if got := explain(tt.err, tt.step).status(); got != tt.status {
			t.Errorf("%v at %s: status %d, want %d", tt.err, tt.step, got, tt.status)
		}
	}
}

func TestReturnedSaysWhatCame(t *testing.T) {
	for _, tt := range []struct {
		shown int
		total int64
		want  string
	}{
		{0, 0, "The todo API returned no todos: the list is empty."},
		{1, 1, "The todo API returned the one todo in the list."},
		{3, 3, "The todo API returned all 3 todos."},
		{50, 120, "The todo API returned the first 50 of 120 todos."},
	} {
		if got := returned(tt.shown, tt.total); got != tt.want {
			t.Errorf("returned(%d, %d) = %q, want %q", tt.shown, tt.total, got, tt.want)
		}
	}
}

// TestAPIRefusalsInWords (issue 34, item 2): every refusal of the todo API
// reaches Bob as a sentence, never as a status line.
func TestAPIRefusalsInWords(t *testing.T) {
	for _, tt := range []struct {
		status int
		answer string
		want   string
	}{
		{401, `{"error":"invalid_token","error_description":"this token was revoked by a Shared Signals event from the IdP","error_reason":"token_revoked"}`, "told the todo app that your access ended"},
		{401, `{"error":"invalid_token","error_description":"the token has expired"}`, "did not accept the access token the wiki presented: the token has expired."},
		{400, `{"error":"invalid_request","error_description":"title is too long"}`, "refused the request: title is too long."},
		{502, `<html>bad gateway</html>`, "could not handle the request"},
	} {
		p := apiRefusal(tt.status, []byte(tt.answer))
		if !strings.Contains(p.Message, tt.want) || strings.Contains(p.Message, fmt.Sprint(tt.status)) || strings.Contains(p.Title, fmt.Sprint(tt.status)) {
			t.Errorf("%d %s: %q: %q, want words saying %q", tt.status, tt.answer, p.Title, p.Message, tt.want)
		}
		if p.Detail != tt.answer {
			t.Errorf("%d: the API's own answer is not kept as the detail", tt.status)
		}
	}
}
