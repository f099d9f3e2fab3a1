package wikiapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"xaa.example/debugconsole"
	"xaa.example/shared/demo"
	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
	"xaa.example/shared/signin"
	"xaa.example/shared/storage"
	"xaa.example/shared/trace"
	"xaa.example/shared/xaaclient"
)

// todoItem is a todo as the todo API returns it.
type todoItem struct {
	ID    uint   `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// chainProblem is a failed step, told in words a person can act on.
type chainProblem struct {
	Title    string
	Message  string
	Detail   string // the protocol-level answer, for the curious
	SignIn   bool   // signing in again would help
	NotFound bool   // the API has no such todo for this user
	// ScopeDenied: the administrator's connection does not grant the
	// scope this needs (the API answered insufficient_scope).
	ScopeDenied bool
	// Reason is the refusing server's error_reason, when it gave one.
	Reason oauth.Reason
	// Refused: someone decided no (an administrator, the IdP, the todo
	// app), which the page explains; not a server failing to answer.
	Refused bool
	// StepUp: the IdP asks for a stronger or more recent sign-in first
	// (insufficient_user_authentication), as this says.
	StepUp *oauth.StepUp
}

// status is the HTTP status of the page that explains p: 403 for a
// refusal, 502 when a server failed to answer as the protocol requires.
func (p *chainProblem) status() int {
	if p.Refused {
		return http.StatusForbidden
	}
	return http.StatusBadGateway
}

func (p *chainProblem) Error() string { return p.Title + ": " + p.Detail }

// Is matches the refusing server's reason (errors.Is(err,
// oauth.ReasonTokenRevoked)).
func (p *chainProblem) Is(target error) bool {
	r, ok := target.(oauth.Reason)
	return ok && r != "" && p.Reason == r
}

// problemOf is the chain's error as the person is told it: a *chainProblem
// as it is, any other error as an answer the protocol does not allow.
func problemOf(err error) *chainProblem {
	if err == nil {
		return nil
	}
	var p *chainProblem
	if errors.As(err, &p) {
		return p
	}
	return &chainProblem{Title: "Todos unavailable", Message: "An answer in the chain was not what the protocol requires.", Detail: err.Error()}
}

// todoList is the first page of the user's todos as the todo API returns
// it, with the list's counts.
type todoList struct {
	Todos []todoItem `json:"todos"`
	Total int64      `json:"total"`
	Open  int64      `json:"open"`
	// More is set when the list goes on past this page.
	More string `json:"next_cursor"`
}

// todosShown is how many todos the wiki shows: the todo API's first page.
const todosShown = 50

// fetchTodos returns the first page of the user's todos from the todo API,
// running the Cross App Access chain only when the wiki holds no valid
// access token. However long the list, the answer is one page.
func (a *App) fetchTodos(ctx context.Context, user signin.User) (*todoList, *tokenUse, error) {
	ctx, run := a.cfg.Recorder.Start(ctx, "My todos", owner(user))
	var out todoList
	page := "/todos?limit=" + strconv.Itoa(todosShown)
	used, err := a.callTodoAPI(ctx, user, pageScope, http.MethodGet, page, nil, &out)
	if p := problemOf(err); p != nil && p.StepUp != nil {
		// Adding needs a step-up, reading may not: the list with reading
		// alone, and the form says adding asks the person to confirm.
		used, err = a.callTodoAPI(ctx, user, readScope, http.MethodGet, page, nil, &out)
		if used != nil {
			used.StepUp = p.StepUp
		}
	}
	finish(run, err, returned(len(out.Todos), out.Total)+used.explain())
	return &out, used, err
}

// accessEnded says a Shared Signals revocation to the person.
const accessEnded = "The identity provider told the todo app that your access ended (a Shared Signals event), and the todo app refused the access token the wiki held."

// apiRefusal is the todo API's refusal in words a person reads (issue
// 34, item 2: "The todo API answered 401 Unauthorized" told no one
// anything); the API's own answer stays in Detail.
func apiRefusal(status int, answer []byte) *chainProblem {
	e := oauth.ReadError(status, answer, "the todo API")
	p := &chainProblem{Refused: true, Title: "The todo app refused the request", Detail: string(answer), Reason: e.Reason}
	switch {
	case status == http.StatusUnauthorized && e.Reason == oauth.ReasonTokenRevoked:
		p.Title = "Your access to the todo app ended"
		p.Message = accessEnded
	case status == http.StatusUnauthorized:
		p.Title = "The todo app refused the wiki's access token"
		p.Message = "The todo app did not accept the access token the wiki presented"
		if e.Description != "" {
			p.Message += ": " + e.Description
		}
		p.Message += "."
	case status >= 500:
		p.Refused = false
		p.Title = "The todo app failed"
		p.Message = "The todo app could not handle the request. Try again in a moment."
	default:
		p.Message = "The todo app refused the request"
		if e.Description != "" {
			p.Message += ": " + e.Description
		}
		p.Message += "."
	}
	return p
}

// challengeScope is the scope a WWW-Authenticate challenge names.
func challengeScope(challenge string) oauth.Scopes {
	return oauth.ParseScopes(oauth.ChallengeParam(challenge, "scope"))
}

// returned says, for the console, what the todo API's answer held.
func returned(shown int, total int64) string {
	switch {
	case total == 0:
		return "The todo API returned no todos: the list is empty."
	case total == 1:
		return "The todo API returned the one todo in the list."
	case int64(shown) == total:
		return fmt.Sprintf("The todo API returned all %d todos.", total)
	}
	return fmt.Sprintf("The todo API returned the first %d of %d todos.", shown, total)
}

// tokenUse is the access token a call to the todo API went out with.
type tokenUse struct {
	// Held: the wiki already held it, so this call needed no exchange.
	Held      bool
	Scope     string
	Requested string // what the wiki asked for when it got it
	ExpiresAt time.Time
	// StepUp: writing needs the person to confirm it is them first.
	StepUp *oauth.StepUp
}

// WriteDenied reports that the wiki asked for todos.write and the grant
// came back without it: the administrator allows reading only.
func (u *tokenUse) WriteDenied() bool {
	return u != nil && oauth.ParseScopes(u.Requested).Has("todos.write") && !oauth.ParseScopes(u.Scope).Has("todos.write")
}

// explain says, for the console, why a held token was used: the protocol's
// answer to "the admin switched it off; why does it still work?".
func (u *tokenUse) explain() string {
	if u == nil || !u.Held {
		return ""
	}
	return " The wiki used the access token it already held (scope " + u.Scope + ", valid until " + u.ExpiresAt.UTC().Format("15:04:05") +
		" UTC), so no token exchange ran this time. " + demo.HeldTokenNote
}

// addTodo creates a todo in the user's list, which needs todos.write.
func (a *App) addTodo(ctx context.Context, user signin.User, title string) (*todoItem, *debugconsole.Run, error) {
	ctx, run := a.cfg.Recorder.Start(ctx, "Add a todo", owner(user))
	created, err := a.addTodoIn(ctx, run, user, title, "")
	return created, run, err
}

// addTodoIn adds the todo within a run begun before; before says, for
// the console, what happened earlier in the run.
func (a *App) addTodoIn(ctx context.Context, run *debugconsole.Run, user signin.User, title, before string) (*todoItem, error) {
	body, _ := json.Marshal(map[string]string{"title": title})
	var created todoItem
	used, err := a.callTodoAPI(ctx, user, writeScope, http.MethodPost, "/todos", body, &created)
	if p := problemOf(err); p != nil && p.StepUp != nil {
		run.FinishDetail("Waiting for you: your identity provider asks for "+p.StepUp.Words()+" before the wiki may add the todo. Once you confirm, the wiki asks again, once, in this same run.", p.Detail, false)
		return &created, err
	}
	finish(run, err, before+fmt.Sprintf("The todo API created todo #%d.", created.ID)+used.explain())
	return &created, err
}

func finish(run *debugconsole.Run, err error, success string) {
	if problem := problemOf(err); problem != nil {
		run.Finish(problem.Title+": "+problem.Message, true)
		return
	}
	run.Finish(success, false)
}

// The scopes the wiki asks for: reading alone, or reading and writing.
var (
	readScope  = oauth.Scopes{"todos.read"}
	writeScope = oauth.Scopes{"todos.read", "todos.write"}
	// pageScope is what My todos offers: the list, and the form that adds
	// to it. The IdP grants at most what the administrator's connection
	// allows, so the grant says before anyone tries whether adding is
	// allowed (tokenUse.WriteDenied disables the form).
	pageScope = writeScope
)

// callTodoAPI calls the todo API for the user with an access token that
// has the scope, getting one through the chain when the wiki holds none. A
// token the API refuses is dropped and the chain run once more.
func (a *App) callTodoAPI(ctx context.Context, user signin.User, scope oauth.Scopes, method, path string, body []byte, out any) (*tokenUse, error) {
	token, fresh, err := a.accessToken(ctx, user, scope)
	if err != nil {
		return nil, err
	}
	used := &tokenUse{Held: !fresh, Scope: token.Scope, Requested: token.Requested, ExpiresAt: token.ExpiresAt}
	status, err := a.doAPI(ctx, token, method, path, body, out)
	if p := problemOf(err); p != nil && p.StepUp != nil {
		// The API asks for a newer or stronger sign-in (RFC 9470): a
		// new token from the same sign-in would not do. The held token is
		// dropped, so that after the step-up the chain runs again.
		_ = a.store.forgetAccessToken(ctx, user.Subject, a.cfg.TodoResource)
		return used, p
	}
	if status == http.StatusUnauthorized && !fresh {
		// The held token was refused (revoked by the IdP's Shared Signals,
		// expired early, keys rotated): forget it and go through the chain
		// again, once.
		revoked := errors.Is(err, oauth.ReasonTokenRevoked)
		_ = a.store.forgetAccessToken(ctx, user.Subject, a.cfg.TodoResource)
		if token, err = a.runChain(ctx, user, scope); err != nil {
			problem := problemOf(err)
			if revoked {
				problem.Message = accessEnded + " Asked again, " +
					lowerFirst(problem.Message)
			}
			return nil, problem
		}
		used = &tokenUse{Scope: token.Scope, Requested: token.Requested, ExpiresAt: token.ExpiresAt}
		_, err = a.doAPI(ctx, token, method, path, body, out)
	}
	return used, err
}

// accessToken returns a held, unexpired access token for the todo API with
// the scope, or gets a new one through the chain (fresh is then true).
func (a *App) accessToken(ctx context.Context, user signin.User, scope oauth.Scopes) (token *AccessToken, fresh bool, err error) {
	held, err := a.store.accessToken(ctx, user.Subject, a.cfg.TodoResource)
	// A held token serves a call whose scope it has, or was asked for: a
	// grant narrowed by the administrator's connection is the IdP's answer
	// for as long as the token lives (a change ends it by a Shared Signals
	// event), so it is not asked again on every page.
	if err == nil && a.cfg.Now().Add(10*time.Second).Before(held.ExpiresAt) &&
		(hasAll(oauth.ParseScopes(held.Scope), scope) || hasAll(oauth.ParseScopes(held.Requested), scope)) {
		return held, false, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		a.cfg.Log.Error("load access token", "err", err)
	}
	token, err = a.runChain(ctx, user, scope)
	return token, true, err
}

func hasAll(have, want oauth.Scopes) bool {
	for _, s := range want {
		if !have.Has(s) {
			return false
		}
	}
	return true
}

// runChain is docs/PROTOCOL.md steps 2 and 3: ID token → ID-JAG → access token,
// kept for the user. The ID-JAG lives only in this function. The todo AS is
// discovered first: an ID-JAG for a server that is not there would be
// issued, audited and wasted.
func (a *App) runChain(ctx context.Context, user signin.User, scope oauth.Scopes) (*AccessToken, error) {
	if _, err := a.discover(ctx, a.todoAS, "the todo authorization server"); err != nil {
		return nil, err
	}
	idjag, err := a.exchangeStep(ctx, todoTarget(a.cfg, scope))
	if err != nil {
		return nil, err
	}
	redeemed, err := a.redeemStep(ctx, idjag, scope)
	if err != nil {
		return nil, err
	}
	token := &AccessToken{
		UserID: user.Subject, Resource: a.cfg.TodoResource, Token: redeemed.AccessToken, TokenType: redeemed.TokenType,
		Scope: redeemed.Scope, Requested: scope.String(), ExpiresAt: a.cfg.Now().Add(time.Duration(redeemed.ExpiresIn) * time.Second),
	}
	if err := a.store.saveAccessToken(ctx, token); err != nil {
		// The token still works for this request; it just is not kept.
		a.cfg.Log.Error("save access token", "err", err)
	}
	return token, nil
}

// todoTarget is the ordinary exchange request: the todo AS, its API.
func todoTarget(cfg Config, scope oauth.Scopes) xaaclient.IDJAGRequest {
	return xaaclient.IDJAGRequest{Audience: cfg.TodoAudience, Resource: cfg.TodoResource, Scope: scope}
}

// exchangeStep is step 2: the signed-in user's ID token for an ID-JAG, at
// the wiki's own authorization server (target says for which audience).
func (a *App) exchangeStep(ctx context.Context, target xaaclient.IDJAGRequest) (string, error) {
	idToken, err := a.signin.IDToken(ctx)
	if err != nil {
		return "", &chainProblem{Refused: true, Title: "Please sign in again", SignIn: true,
			Message: "Your sign-in has expired, so the wiki cannot ask for access to your todos on your behalf.", Detail: err.Error()}
	}
	wikiAS, err := a.discover(ctx, a.signin.RP.Upstream, "the wiki's authorization server")
	if err != nil {
		return "", err
	}
	creds, err := a.credentials(wikiAS, a.cfg.ClientID, a.cfg.ClientSecret, a.cfg.AuthMethod)
	if err != nil {
		return "", err
	}
	// The wiki proves its key to its AS, which asks the IdP for an ID-JAG
	// bound to it; RequestIDJAG checks the ID-JAG came back bound.
	creds.DPoP = a.dpop
	ctx = trace.WithStep(ctx, trace.StepExchange, a.targetName(target.Audience), target.Scope.String())
	target.SubjectToken = idToken
	idjag, err := xaaclient.RequestIDJAG(ctx, a.http, wikiAS.TokenEndpoint, creds, target)
	if err != nil {
		return "", explain(err, "exchange")
	}
	return idjag.Token, nil
}

// targetName names a resource authorization server for people.
func (a *App) targetName(audience string) string {
	if audience == a.cfg.TodoAudience {
		return "the todo app (its authorization server " + audience + ")"
	}
	return "the app whose authorization server is " + audience
}

// redeemStep is step 3: the ID-JAG for an access token at the todo AS.
func (a *App) redeemStep(ctx context.Context, idjag string, scope oauth.Scopes) (*oauth.TokenResponse, error) {
	todoAS, err := a.discover(ctx, a.todoAS, "the todo authorization server")
	if err != nil {
		return nil, err
	}
	creds, err := a.credentials(todoAS, a.cfg.ClientIDAtTodo, a.cfg.ClientSecretAtTodo, a.cfg.TodoAuthMethod)
	if err != nil {
		return nil, err
	}
	creds.DPoP = a.dpop
	ctx = trace.WithStepDefault(ctx, trace.StepRedeem)
	redeemed, err := xaaclient.Redeem(ctx, a.http, todoAS.TokenEndpoint, creds, idjag, scope)
	if err != nil {
		return nil, explain(err, "redeem")
	}
	return redeemed, nil
}

// discover reads an authorization server's metadata (RFC 8414, else OpenID
// Connect discovery): its token endpoint and how clients authenticate there.
func (a *App) discover(ctx context.Context, up *signin.Upstream, name string) (*signin.Metadata, error) {
	ctx = trace.WithStep(ctx, trace.StepDiscover, name)
	md, err := up.Metadata(ctx)
	if err != nil {
		return nil, &chainProblem{Title: "A server is not answering", Message: "The wiki could not reach " + name + " at " + up.Issuer + ", or found no authorization server metadata there. Is it running?", Detail: err.Error()}
	}
	return md, nil
}

// credentials are the wiki's client credentials at a server, with the
// authentication method configured or chosen from its metadata.
func (a *App) credentials(md *signin.Metadata, id, secret, method string) (xaaclient.Credentials, error) {
	m, err := xaaclient.ChooseAuthMethod(method, md.TokenEndpointAuthMethods, false, secret != "")
	if err != nil {
		return xaaclient.Credentials{}, &chainProblem{Title: "The wiki cannot authenticate there", Message: "The wiki and " + md.Issuer + " share no client authentication method.", Detail: err.Error()}
	}
	return xaaclient.Credentials{ClientID: id, ClientSecret: secret, Method: m}, nil
}

// doAPI makes one call to the todo API with the token and decodes its JSON
// answer into out.
func (a *App) doAPI(ctx context.Context, token *AccessToken, method, path string, body []byte, out any) (int, error) {
	var signer *dpop.Signer
	step := trace.StepAPIBearer
	if strings.EqualFold(token.TokenType, dpop.TokenType) {
		signer, step = a.dpop, trace.StepAPIDPoP
	}
	ctx = trace.WithStepDefault(ctx, step)
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	resp, err := xaaclient.Call(ctx, a.http, method, a.cfg.TodoAPIURL+path, token.Token, signer, reader)
	if err != nil {
		return 0, &chainProblem{Title: "The todo app is not answering", Message: "The wiki could not reach the todo API. Is the todo app running?", Detail: err.Error()}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	up, stepUp := oauth.StepUpChallenge(resp.Header.Get("WWW-Authenticate"))
	switch {
	case resp.StatusCode == http.StatusForbidden && strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope"):
		// RFC 6750 §3: the challenge names the scope the call needs.
		if needs := challengeScope(resp.Header.Get("WWW-Authenticate")); needs.Has("todos.read") {
			return resp.StatusCode, &chainProblem{Refused: true, Title: "The administrator does not allow reading your todos", ScopeDenied: true, Detail: string(answer),
				Message: "Your company's administrator has not granted the wiki the todos.read scope on its connection to the todo app, so the wiki cannot show your todos."}
		}
		return resp.StatusCode, &chainProblem{Refused: true, Title: "The administrator allows reading only", ScopeDenied: true, Detail: string(answer),
			Message: "Your company's administrator lets the wiki read your todos but not change them: the connection from the wiki to the todo app does not grant the todos.write scope."}
	case resp.StatusCode == http.StatusUnauthorized && stepUp:
		// RFC 9470 §3: the sign-in behind the token is too old or too weak
		// for this call; the challenge says what would do.
		return resp.StatusCode, &chainProblem{Refused: true, Title: "Confirm it is you first", StepUp: up, Detail: resp.Header.Get("WWW-Authenticate"),
			Message: "The todo app asks for " + up.Words() + " before the wiki may change your todos: its own step-up policy (RFC 9470), checked on every call."}
	case resp.StatusCode == http.StatusNotFound:
		return resp.StatusCode, &chainProblem{Title: "Not found", Message: "The todo app has no such todo in your list.", Detail: string(answer), NotFound: true}
	case resp.StatusCode >= 300:
		return resp.StatusCode, apiRefusal(resp.StatusCode, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return resp.StatusCode, &chainProblem{Title: "Todos unavailable", Message: "The todo API's answer could not be read.", Detail: err.Error()}
	}
	return resp.StatusCode, nil
}

// explain turns a failed exchange or redemption into words for the page.
func explain(err error, step string) *chainProblem {
	var er *oauth.Error
	var un *xaaclient.Unreachable
	switch {
	case errors.As(err, &un):
		return &chainProblem{Title: "A server is not answering", Message: "The wiki could not reach " + un.URL + ". Is it running?", Detail: err.Error()}
	case errors.As(err, &er) && step != "exchange" && er.Code == "insufficient_user_authentication":
		// The todo AS's own step-up policy (RFC 9470), beside the IdP's.
		up := er.StepUp
		if up == nil {
			up = &oauth.StepUp{}
		}
		return &chainProblem{Refused: true, Title: "Confirm it is you first", Detail: err.Error(), StepUp: up,
			Message: "The todo app asks for " + up.Words() + " before the wiki may change your todos: its own step-up policy (RFC 9470)."}
	case errors.As(err, &er) && step == "exchange" && errors.Is(er, oauth.ReasonIDJAGNotBound):
		return &chainProblem{Title: "The identity provider did not bind the ID-JAG to the wiki's key", Detail: err.Error(),
			Message: "The wiki asked for an ID-JAG bound to its key (DPoP). Your identity provider answered with one that is not bound to any key, as Okta does today, and the wiki's authorization server refused it as a downgrade: anyone holding an unbound ID-JAG could redeem it. " +
				"To run the demo with this identity provider, switch the wiki to Bearer tokens: DPOP=false."}
	case errors.As(err, &er) && step == "exchange":
		switch er.Code {
		case "insufficient_user_authentication":
			up := er.StepUp
			if up == nil {
				up = &oauth.StepUp{}
			}
			return &chainProblem{Refused: true, Title: "Confirm it is you first", Detail: err.Error(), StepUp: up,
				Message: "Your company's identity provider asks for " + up.Words() + " before the wiki may change your todos: the administrator's step-up policy for the todo app (ID-JAG draft §8.2)."}
		case "access_denied":
			return &chainProblem{Refused: true, Title: "Access to the todo app is not allowed", Detail: err.Error(),
				Message: "Your company's identity provider refused to vouch for you to the todo app: an administrator has not enabled the connection from the wiki to the todo app."}
		case "invalid_grant":
			if errors.Is(er, oauth.ReasonNoIDJAGIssuer) {
				return &chainProblem{Refused: true, Title: "Your identity provider cannot vouch for you here", Detail: err.Error(),
					Message: "Your organisation signs you in with its own SAML identity provider, which issues no ID-JAGs, so the wiki cannot ask the todo app for your todos on your behalf. Signing in again will not help: your administrator would have to federate that identity provider with the enterprise IdP."}
			}
			if errors.Is(er, oauth.ReasonAccountDisabled) {
				return &chainProblem{Refused: true, Title: "Your account is disabled", Detail: err.Error(),
					Message: "Your company's administrator has disabled your account at the identity provider, so it no longer vouches for you to the todo app. Signing in again will not help: ask your administrator."}
			}
			return &chainProblem{Refused: true, Title: "Please sign in again", SignIn: true, Detail: err.Error(),
				Message: "Your sign-in is no longer accepted for asking access on your behalf."}
		case "temporarily_unavailable":
			return &chainProblem{Title: "The identity provider is not answering", Detail: err.Error(),
				Message: "The wiki's authorization server could not reach your company's identity provider. Try again in a moment."}
		}
		return &chainProblem{Refused: true, Title: "The identity provider refused", Detail: err.Error(),
			Message: "The token exchange for an ID-JAG was refused."}
	case errors.As(err, &er):
		// The todo AS's error_description is public text meant for this.
		return &chainProblem{Refused: true, Title: "The todo app refused the wiki's grant", Detail: err.Error(),
			Message: "The todo app's authorization server did not accept the ID-JAG from your identity provider: " + er.Description + "."}
	}
	return &chainProblem{Title: "Todos unavailable", Message: "An answer in the chain was not what the protocol requires.", Detail: err.Error()}
}

// lowerFirst continues a sentence with one that began on its own.
func lowerFirst(s string) string {
	if s == "" || strings.HasPrefix(s, "I ") {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
