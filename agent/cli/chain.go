package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
	"xaa.example/shared/rar"
	"xaa.example/shared/signin"
	"xaa.example/shared/xaaclient"
)

// The scopes the agent asks for: reading, or reading and writing.
var (
	readScope  = oauth.Scopes{"todos.read"}
	writeScope = oauth.Scopes{"todos.read", "todos.write"}
)

// accessToken returns an access token for the MCP server with scope: the
// one held while it lasts, or a new one through the chain (MCP EMA): the
// resource's metadata names its authorization server (RFC 9728); the IdP
// exchanges the ID token for an ID-JAG (RFC 8693, the agent's own client
// credentials, EMA §4); the authorization server redeems it (RFC 7523).
func (a *Agent) accessToken(ctx context.Context, scope oauth.Scopes, action string, fresh bool) (string, error) {
	s, err := a.load()
	if err != nil {
		return "", err
	}
	covers := !a.cfg.AuthorizationDetails || slices.Contains(s.AccessActions, action)
	if !fresh && s.AccessToken != "" && a.cfg.Now().Add(10*time.Second).Before(s.AccessExpiry) && hasAll(oauth.ParseScopes(s.AccessScope), scope) && covers {
		a.verbose("using the access token held until %s (scope %s)", s.AccessExpiry.Format(time.TimeOnly), s.AccessScope)
		return s.AccessToken, nil
	}
	idToken, err := a.idToken(ctx, s)
	if err != nil {
		return "", err
	}

	prm, err := a.resourceMetadata(ctx)
	if err != nil {
		return "", err
	}
	as := signin.NewUpstream(prm.AuthorizationServers[0], a.cfg.HTTP)
	asMeta, err := as.Metadata(ctx)
	if err != nil {
		return "", fmt.Errorf("the MCP server's authorization server %s is not answering: %w", as.Issuer, err)
	}
	a.verbose("authorization server %s: token endpoint %s", asMeta.Issuer, asMeta.TokenEndpoint)
	idp, err := signin.NewUpstream(a.cfg.IdP, a.cfg.HTTP).Metadata(ctx)
	if err != nil {
		return "", fmt.Errorf("the identity provider at %s is not answering: %w", a.cfg.IdP, err)
	}

	creds, err := credentials(idp, a.cfg.ClientID, a.cfg.ClientSecret)
	if err != nil {
		return "", err
	}
	// With DPoP (the default), the ID-JAG and the access token are bound
	// to this installation's key: a copy of either is worth nothing.
	signer, err := a.dpopSigner()
	if err != nil {
		return "", err
	}
	creds.DPoP = signer
	resCreds, err := a.resourceCredentials(asMeta)
	if err != nil {
		return "", err
	}
	resCreds.DPoP = signer
	// The chain: ID token → ID-JAG at the IdP, ID-JAG → access token at
	// the todo AS.
	chain := func(idToken string) (*oauth.TokenResponse, error) {
		a.verbose("POST %s: token exchange, ID token → ID-JAG for %s (resource %s, scope %s)", idp.TokenEndpoint, asMeta.Issuer, prm.Resource, scope)
		req := xaaclient.IDJAGRequest{SubjectToken: idToken, Audience: asMeta.Issuer, Resource: prm.Resource, Scope: scope}
		if a.cfg.AuthorizationDetails {
			// RFC 9396: just the action this command takes.
			req.Extra = url.Values{"authorization_details": {string(rar.Marshal([]rar.Detail{{Type: rar.TypeTodo, Actions: []string{action}}}))}}
		}
		idjag, err := xaaclient.RequestIDJAG(ctx, a.cfg.HTTP, idp.TokenEndpoint, creds, req)
		if err != nil {
			return nil, err
		}
		a.verbose("ID-JAG: %s", claims(idjag.Token))
		a.verbose("POST %s: JWT bearer grant, ID-JAG → access token", asMeta.TokenEndpoint)
		return xaaclient.Redeem(ctx, a.cfg.HTTP, asMeta.TokenEndpoint, resCreds, idjag.Token, scope)
	}
	redeemed, err := chain(idToken)
	var refused *oauth.Error
	if errors.As(err, &refused) && refused.Code == "insufficient_user_authentication" {
		// The IdP, or the todo AS by its own policy, asks for a stronger or
		// newer sign-in (step-up): the person signs in again as it asked,
		// and the agent runs the chain once more, in the same run.
		if err := a.stepUp(ctx, refused.StepUp); err != nil {
			return "", err
		}
		if s, err = a.load(); err != nil {
			return "", err
		}
		redeemed, err = chain(s.IDToken)
	}
	if err != nil {
		return "", explain(err)
	}
	a.verbose("access token: %s", claims(redeemed.AccessToken))
	s.AccessToken, s.AccessScope, s.AccessTokenType = redeemed.AccessToken, redeemed.Scope, redeemed.TokenType
	s.AccessActions = nil
	if a.cfg.AuthorizationDetails {
		s.AccessActions = []string{action}
	}
	s.AccessExpiry = a.cfg.Now().Add(time.Duration(redeemed.ExpiresIn) * time.Second)
	return s.AccessToken, a.save(s)
}

func hasAll(have, want oauth.Scopes) bool {
	for _, s := range want {
		if !have.Has(s) {
			return false
		}
	}
	return true
}

func credentials(md *signin.Metadata, id, secret string) (xaaclient.Credentials, error) {
	m, err := xaaclient.ChooseAuthMethod("", md.TokenEndpointAuthMethods, false, secret != "")
	if err != nil {
		return xaaclient.Credentials{}, fmt.Errorf("the agent cannot authenticate at %s: %w", md.Issuer, err)
	}
	return xaaclient.Credentials{ClientID: id, ClientSecret: secret, Method: m}, nil
}

// protectedResource is the part of RFC 9728 metadata the agent reads.
type protectedResource struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers"`
}

// resourceMetadata reads the MCP server's RFC 9728 metadata; the resource
// it names must be the server asked about (§3.3).
func (a *Agent) resourceMetadata(ctx context.Context) (*protectedResource, error) {
	addr, err := wellKnown(a.cfg.MCP)
	if err != nil {
		return nil, err
	}
	a.verbose("GET %s", addr)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
	resp, err := a.cfg.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the MCP server at %s is not answering: %w", a.cfg.MCP, err)
	}
	defer resp.Body.Close()
	var prm protectedResource
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&prm) != nil {
		return nil, fmt.Errorf("the MCP server at %s publishes no protected resource metadata (%s)", a.cfg.MCP, resp.Status)
	}
	if prm.Resource != a.cfg.MCP || len(prm.AuthorizationServers) == 0 {
		return nil, fmt.Errorf("the MCP server's metadata names resource %q and %d authorization servers; want %s and one", prm.Resource, len(prm.AuthorizationServers), a.cfg.MCP)
	}
	a.verbose("resource %s, authorization server %s", prm.Resource, prm.AuthorizationServers[0])
	return &prm, nil
}

// explain says in one sentence why a server refused.
func explain(err error) error {
	var er *oauth.Error
	var un *xaaclient.Unreachable
	switch {
	case errors.As(err, &un):
		return fmt.Errorf("%s is not answering; is the demo running?", un.URL)
	case errors.As(err, &er) && er.Code == "access_denied":
		return errors.New("your administrator has not allowed the agent to reach the todo app: the connection Agent → Todo is disabled or missing")
	case errors.As(err, &er) && er.Code == "invalid_authorization_details":
		return fmt.Errorf("your administrator does not allow the agent this (its fine-grained grants, RFC 9396): %s", er.Description)
	case errors.As(err, &er) && er.Code == "invalid_scope":
		return errors.New("your administrator does not allow the agent what this needs: the connection Agent → Todo grants none of the scopes asked for")
	case errors.As(err, &er) && er.Code == "insufficient_user_authentication" && er.StepUp != nil:
		return fmt.Errorf("%s is still asked for after you signed in again; the agent asked once more and stops here", er.StepUp.Words())
	case errors.Is(err, oauth.ReasonAccountDisabled):
		return errors.New("your administrator has disabled your account")
	case errors.Is(err, oauth.ReasonSignInAgain):
		return errors.New("your sign-in is no longer accepted: run `agent login` again")
	case errors.As(err, &er) && er.Code == "invalid_client":
		return fmt.Errorf("a server did not accept the agent's own credentials (%s); check AGENT_CLIENT_ID_AT_TODO and, for a metadata document, that the published document lists the agent's key (agent client-metadata)", er.Description)
	case errors.As(err, &er):
		return fmt.Errorf("refused: %s", er.Error())
	}
	return err
}

// call calls an MCP tool with a token for scope. A token the server
// refuses with 401 (expired early, revoked) is dropped and the chain run
// once more.
func (a *Agent) call(ctx context.Context, scope oauth.Scopes, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	for attempt := range 2 {
		token, err := a.accessToken(ctx, scope, toolAction(tool), attempt > 0)
		if err != nil {
			return nil, err
		}
		res, status, challenge, err := a.callWith(ctx, token, tool, args)
		if up, stepUp := oauth.StepUpChallenge(challenge); status == http.StatusUnauthorized && stepUp && attempt == 0 {
			// RFC 9470 §3: the MCP server wants a newer or stronger
			// sign-in than the token's; sign in as asked, then a new token.
			if err := a.stepUp(ctx, up); err != nil {
				return nil, err
			}
			continue
		}
		if status == http.StatusUnauthorized && attempt == 0 {
			a.verbose("the MCP server refused the held token (401): asking for a new one")
			continue
		}
		if status == http.StatusForbidden {
			return nil, errors.New("your administrator lets the agent read your todos but not change them: the connection Agent → Todo does not grant todos.write")
		}
		return res, err
	}
	return nil, errors.New("the MCP server refused a fresh access token")
}

// statusRecorder presents the access token on every MCP request (as DPoP
// with a fresh proof when it is bound to the agent's key, RFC 9449 §7.1)
// and remembers the last HTTP status the MCP server answered.
type statusRecorder struct {
	token  string
	signer *dpop.Signer // nil for a Bearer token
	status int
	// challenge is the refusal's WWW-Authenticate.
	challenge string
	base      http.RoundTripper
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	if r.signer == nil {
		req.Header.Set("Authorization", "Bearer "+r.token)
	} else {
		proof, err := r.signer.Proof(req.Method, req.URL.String(), r.token, "")
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", dpop.TokenType+" "+r.token)
		req.Header.Set(dpop.Header, proof)
	}
	resp, err := r.base.RoundTrip(req)
	if err == nil && resp.StatusCode >= 400 {
		r.status, r.challenge = resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	return resp, err
}

// connect opens an MCP session with token; rec keeps the HTTP status of
// a refusal, which the SDK's errors do not carry.
func (a *Agent) connect(ctx context.Context, token string) (*mcp.ClientSession, *statusRecorder, error) {
	rec := &statusRecorder{token: token, base: a.traces.Transport(nil)}
	if s, err := a.load(); err == nil && strings.EqualFold(s.AccessTokenType, dpop.TokenType) {
		if rec.signer, err = a.dpopSigner(); err != nil {
			return nil, rec, err
		}
	}
	session, err := mcp.NewClient(&mcp.Implementation{Name: "xaa-agent", Version: "1.0.0"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: a.cfg.MCP, HTTPClient: &http.Client{Transport: rec, Timeout: 15 * time.Second}, MaxRetries: -1}, nil)
	if err != nil {
		return nil, rec, fmt.Errorf("the MCP server at %s did not accept the connection: %w", a.cfg.MCP, err)
	}
	return session, rec, nil
}

func (a *Agent) callWith(ctx context.Context, token, tool string, args map[string]any) (*mcp.CallToolResult, int, string, error) {
	a.verbose("MCP %s: tools/call %s", a.cfg.MCP, tool)
	session, rec, err := a.connect(ctx, token)
	if err != nil {
		return nil, rec.status, rec.challenge, err
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, rec.status, rec.challenge, fmt.Errorf("the MCP server refused %s: %w", tool, err)
	}
	if res.IsError {
		return nil, 0, "", errors.New(text(res))
	}
	return res, 0, "", nil
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// todo is a todo as the MCP tools return it.
type todo struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

func decode(res *mcp.CallToolResult, out any) error {
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func (a *Agent) todos(ctx context.Context) error {
	res, err := a.call(ctx, readScope, "list_todos", map[string]any{"limit": 50})
	if err != nil {
		return err
	}
	var page struct {
		Todos []todo `json:"todos"`
		Total int64  `json:"total"`
		Open  int64  `json:"open"`
	}
	if err := decode(res, &page); err != nil {
		return err
	}
	for _, t := range page.Todos {
		mark := " "
		if t.Done {
			mark = "x"
		}
		fmt.Fprintf(a.out, "%4d [%s] %s\n", t.ID, mark, t.Title)
	}
	fmt.Fprintf(a.out, "%d open of %d.\n", page.Open, page.Total)
	return nil
}

func (a *Agent) add(ctx context.Context, title string) error {
	res, err := a.call(ctx, writeScope, "add_todo", map[string]any{"title": title})
	if err != nil {
		return err
	}
	var t todo
	if err := decode(res, &t); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Added #%d %s\n", t.ID, t.Title)
	return nil
}

func (a *Agent) done(ctx context.Context, id int64) error {
	res, err := a.call(ctx, writeScope, "complete_todo", map[string]any{"id": id})
	if err != nil {
		return err
	}
	var t todo
	if err := decode(res, &t); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Done: #%d %s\n", t.ID, t.Title)
	return nil
}

func (a *Agent) tools(ctx context.Context) error {
	token, err := a.accessToken(ctx, readScope, rar.ActionRead, false)
	if err != nil {
		return err
	}
	session, _, err := a.connect(ctx, token)
	if err != nil {
		return err
	}
	defer session.Close()
	list, err := session.ListTools(ctx, nil)
	if err != nil {
		return err
	}
	for _, t := range list.Tools {
		fmt.Fprintf(a.out, "%-14s %s\n", t.Name, t.Description)
	}
	return nil
}

// toolAction is the todo action (RFC 9396, type todo) a tool takes.
func toolAction(tool string) string {
	switch tool {
	case "add_todo":
		return rar.ActionCreate
	case "complete_todo":
		return rar.ActionComplete
	}
	return rar.ActionRead
}
