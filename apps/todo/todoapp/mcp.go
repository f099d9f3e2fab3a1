package todoapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/dpop"
	"xaa.example/shared/rar"
	"xaa.example/shared/storage"
	"xaa.example/shared/trace"
)

// The todo app's MCP server: the same todos as the REST API, as tools an
// AI agent calls over Streamable HTTP at /mcp. An agent gets its access
// token the Enterprise-Managed Authorization way (MCP's XAA profile): ID
// token → ID-JAG at the IdP → access token at the todo AS, for this
// server's own resource identifier (EMA §5.1). A token for the REST API is
// refused here, and a token for this server is refused by the API.

// Scopes of the tools.
const (
	scopeRead  = "todos.read"
	scopeWrite = "todos.write"
)

// writeTools need todos.write; every other tool needs todos.read.
var writeTools = []string{"add_todo", "complete_todo", "rename_todo"}

// toolActions are the todo actions (RFC 9396, package rar) the tools
// take: a token with authorization_details calls only a tool whose action
// they name. rename_todo takes none of the todo type's actions, so such a
// token never renames.
var toolActions = map[string]string{"list_todos": rar.ActionRead, "add_todo": rar.ActionCreate, "complete_todo": rar.ActionComplete, "rename_todo": "rename"}

// provenKey marks a request whose DPoP proof was checked, with the key's
// thumbprint, so that the SDK's bearer check lets its bound token through.
type provenKey struct{}

// guardMCP checks a presented token as the API's guard does, whatever its
// scheme (docs/PROTOCOL.md A1 to A3): an unbound token as Bearer, a bound
// one as DPoP with a proof of its key for this request, not revoked. A
// refusal is answered as /api answers it, with the MCP server's resource
// metadata in the challenge (RFC 9728 §5.1). What passes reaches the SDK's
// middleware as it expects (Bearer), a bound token marked proven. A
// request with no token goes to the SDK, which answers 401 pointing at the
// metadata.
func (a *App) guardMCP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if r.Header.Get("Authorization") == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		claims, refused, err := a.mcpGuard.Check(ctx, r)
		switch {
		case err != nil:
			a.cfg.Log.Error("mcp token check", "err", err)
			http.Error(w, "server error", http.StatusInternalServerError)
			return
		case refused != nil:
			check := accesstoken.CheckToken
			switch {
			case refused.Code == dpop.CodeInvalidProof || refused.Code == dpop.CodeUseNonce:
				check = accesstoken.CheckProof
			case refused.Revoked:
				check = accesstoken.CheckRevoked
			}
			trace.Fail(ctx, check, refused.Description)
			refused.Write(w, "todo-mcp", fmt.Sprintf("resource_metadata=%q", a.mcpMetadataURL()))
			return
		}
		if claims.Cnf != nil {
			trace.PassDetail(ctx, accesstoken.CheckProof, "DPoP proof of the key the token is bound to ("+claims.Cnf.JKT+"), for this request")
			r = r.Clone(context.WithValue(ctx, provenKey{}, claims.Cnf.JKT))
		}
		r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(raw))
		next.ServeHTTP(w, r)
	})
}

// checkOrigin refuses with 403 a request whose Origin is present and not
// one the server serves (MCP transport, Streamable HTTP, security: a web
// page of another origin, or of an opaque one, "null", must not reach a
// local server through the browser: DNS rebinding). A client that is not a
// browser sends no Origin and passes.
func (a *App) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && !slices.Contains(a.mcpOrigins(), o) {
			a.cfg.Log.Info("mcp request refused", "why", "Origin is not the server's own", "origin", o)
			http.Error(w, "this MCP server takes requests from its own origin, or from clients that send none", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mcpOrigins are the origins a browser page may call the MCP server from:
// the todo app's own, and those configured.
func (a *App) mcpOrigins() []string {
	own := a.cfg.BaseURL
	if u, err := url.Parse(a.cfg.BaseURL); err == nil {
		own = u.Scheme + "://" + u.Host
	}
	return append([]string{own}, a.cfg.MCPOrigins...)
}

// mcpPath is where the MCP server listens.
const mcpPath = "/mcp"

// mcpHandler serves MCP at /mcp: bearer tokens for the MCP resource only,
// the scope each method needs checked before the SDK sees the request.
func (a *App) mcpHandler() http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "todo", Title: "Todo", Version: "1.0.0"}, nil)
	a.addTools(server)
	streamable := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: a.cfg.Log})
	verify := func(ctx context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		claims, err := a.mcpTokens.Verify(ctx, token)
		if err != nil {
			a.cfg.Log.Info("mcp token refused", "why", err)
			trace.Fail(ctx, accesstoken.CheckToken, err.Error())
			return nil, fmt.Errorf("%w: %v", auth.ErrInvalidToken, err)
		}
		if claims.Cnf != nil && ctx.Value(provenKey{}) != claims.Cnf.JKT {
			// RFC 9449 §7.2: a bound token presented as a bearer token.
			const why = "this token is bound to a key: send it as Authorization: DPoP with a DPoP proof"
			trace.Fail(ctx, accesstoken.CheckToken, why)
			return nil, fmt.Errorf("%w: %s", auth.ErrInvalidToken, why)
		}
		trace.PassDetail(ctx, accesstoken.CheckToken, "account "+claims.Subject+", client "+claims.ClientID)
		return &auth.TokenInfo{Scopes: claims.Scopes(), Expiration: claims.Expiry.Time(), UserID: claims.Subject, Extra: map[string]any{claimsKey: claims}}, nil
	}
	return a.checkOrigin(a.guardMCP(auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{ResourceMetadataURL: a.mcpMetadataURL()})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if need, action := a.scopeNeeded(r); need != "" {
				info := auth.TokenInfoFromContext(r.Context())
				if info == nil {
					http.Error(w, "an access token is required", http.StatusUnauthorized)
					return
				}
				if !slices.Contains(info.Scopes, need) {
					trace.Fail(r.Context(), accesstoken.CheckScope, "needs "+need+"; the token has: "+strings.Join(info.Scopes, " "))
					// MCP authorization, scope challenge: 403 naming the
					// scope, so a client can ask for it (RFC 6750 §3.1).
					w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q, resource_metadata=%q, error_description=%q`,
						need, a.mcpMetadataURL(), "this call needs the "+need+" scope"))
					http.Error(w, "this call needs the "+need+" scope", http.StatusForbidden)
					return
				}
				trace.PassDetail(r.Context(), accesstoken.CheckScope, "needs "+need+"; the token has: "+strings.Join(info.Scopes, " "))
				// RFC 9470 §3, as the API answers it; then RFC 9396.
				if claims, _ := info.Extra[claimsKey].(*accesstoken.Claims); claims != nil {
					if action != "" && !claims.AllowsAction(action) {
						why := "the token's authorization_details do not allow the action " + action
						trace.Fail(r.Context(), accesstoken.CheckAuthorizationDetails, why)
						w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", resource_metadata=%q, error_description=%q`, a.mcpMetadataURL(), why))
						http.Error(w, why, http.StatusForbidden)
						return
					}
					if problem := claims.StepUp(a.cfg.StepUp, need, a.cfg.Now()); problem != "" {
						trace.Fail(r.Context(), accesstoken.CheckStepUp, problem)
						challenge := fmt.Sprintf(`Bearer error="insufficient_user_authentication", resource_metadata=%q, error_description=%q`, a.mcpMetadataURL(), problem)
						for _, p := range accesstoken.StepUpChallenge(a.cfg.StepUp) {
							challenge += ", " + p
						}
						w.Header().Set("WWW-Authenticate", challenge)
						http.Error(w, problem, http.StatusUnauthorized)
						return
					}
				}
			}
			streamable.ServeHTTP(w, r)
		}))))
}

// scopeNeeded reads which scope a JSON-RPC request needs: todos.write for
// a write tool, todos.read for anything else. The body is put back for
// the SDK.
func (a *App) scopeNeeded(r *http.Request) (scope, action string) {
	if r.Method != http.MethodPost || r.Body == nil {
		return scopeRead, ""
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return scopeRead, ""
	}
	var call struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &call) != nil || call.Method != "tools/call" {
		return scopeRead, ""
	}
	action = toolActions[call.Params.Name]
	if action == "" {
		action = rar.ActionRead
	}
	if slices.Contains(writeTools, call.Params.Name) {
		return scopeWrite, action
	}
	return scopeRead, action
}

// mcpMetadataURL is the server's RFC 9728 metadata: the well-known name
// goes between host and path (§3.1).
func (a *App) mcpMetadataURL() string {
	u, err := url.Parse(a.cfg.MCPResource)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/.well-known/oauth-protected-resource" + u.Path
}

// mcpMetadata is RFC 9728 Protected Resource Metadata for the MCP server:
// which authorization server issues its tokens.
func (a *App) mcpMetadata() http.Handler {
	return auth.ProtectedResourceMetadataHandler(&oauthex.ProtectedResourceMetadata{
		Resource:               a.cfg.MCPResource,
		AuthorizationServers:   []string{a.cfg.ASIssuer},
		ScopesSupported:        []string{scopeRead, scopeWrite},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "Todo (MCP)",
		// DPoP-bound tokens are taken, as DPoP with a proof; unbound ones
		// too, as Bearer (dpop_bound_access_tokens_required false).
		DPOPSigningAlgValuesSupported: dpop.AlgorithmNames(),
	})
}

// Tool inputs and outputs. The SDK derives each tool's JSON Schema from
// them and refuses arguments that do not fit with a JSON-RPC error.
type (
	listInput struct {
		Limit  int    `json:"limit,omitempty" jsonschema:"how many todos, 1 to 200 (default 50)"`
		Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page, to read on"`
	}
	listOutput struct {
		Todos      []Todo `json:"todos"`
		Total      int64  `json:"total"`
		Open       int64  `json:"open"`
		NextCursor string `json:"next_cursor,omitempty"`
	}
	addInput struct {
		Title string `json:"title" jsonschema:"the todo's title, 1 to 500 characters"`
	}
	idInput struct {
		ID int64 `json:"id" jsonschema:"the todo's number"`
	}
	renameInput struct {
		ID    int64  `json:"id" jsonschema:"the todo's number"`
		Title string `json:"title" jsonschema:"the new title, 1 to 500 characters"`
	}
)

func (a *App) addTools(s *mcp.Server) {
	mcp.AddTool(s, &mcp.Tool{Name: "list_todos", Description: "List the signed-in person's todos, open ones first, one page at a time. Needs todos.read."},
		func(ctx context.Context, req *mcp.CallToolRequest, in listInput) (*mcp.CallToolResult, listOutput, error) {
			limit := in.Limit
			if limit == 0 {
				limit = DefaultPageSize
			}
			if limit < 1 || limit > MaxPageSize {
				return toolError("limit must be from 1 to %d", MaxPageSize), listOutput{}, nil
			}
			p, err := a.store.page(ctx, owner(req), in.Cursor, limit)
			if errors.Is(err, errBadCursor) {
				return toolError("cursor is not one this server gave: pass next_cursor as it is"), listOutput{}, nil
			}
			if err != nil {
				return nil, listOutput{}, err
			}
			return nil, listOutput{Todos: nonNil(p.Todos), Total: p.Total, Open: p.Open, NextCursor: p.Next}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "add_todo", Description: "Add a todo to the person's list. Needs todos.write."},
		func(ctx context.Context, req *mcp.CallToolRequest, in addInput) (*mcp.CallToolResult, Todo, error) {
			title := strings.TrimSpace(in.Title)
			if title == "" || len(title) > MaxTitle {
				return toolError("a title is 1 to %d characters", MaxTitle), Todo{}, nil
			}
			t, err := a.store.add(ctx, owner(req), title)
			if err != nil {
				return nil, Todo{}, err
			}
			return nil, *t, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "complete_todo", Description: "Mark one of the person's todos done. Needs todos.write."},
		func(ctx context.Context, req *mcp.CallToolRequest, in idInput) (*mcp.CallToolResult, Todo, error) {
			t, res := a.ownTodo(ctx, req, in.ID)
			if res != nil || t.Done {
				return res, derefTodo(t), nil
			}
			t, err := a.store.toggle(ctx, owner(req), t.ID)
			if err != nil {
				return nil, Todo{}, err
			}
			return nil, *t, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "rename_todo", Description: "Give one of the person's todos a new title. Needs todos.write."},
		func(ctx context.Context, req *mcp.CallToolRequest, in renameInput) (*mcp.CallToolResult, Todo, error) {
			title := strings.TrimSpace(in.Title)
			if title == "" || len(title) > MaxTitle {
				return toolError("a title is 1 to %d characters", MaxTitle), Todo{}, nil
			}
			t, res := a.ownTodo(ctx, req, in.ID)
			if res != nil {
				return res, Todo{}, nil
			}
			if err := a.store.rename(ctx, owner(req), t.ID, title); err != nil {
				return nil, Todo{}, err
			}
			t.Title = title
			return nil, *t, nil
		})
}

// owner is the account the token was issued for: a person's tools reach
// their own todos and no one else's.
func owner(req *mcp.CallToolRequest) string {
	if req.Extra == nil || req.Extra.TokenInfo == nil {
		return ""
	}
	return req.Extra.TokenInfo.UserID
}

// ownTodo finds the caller's todo id; another person's is "no such todo".
func (a *App) ownTodo(ctx context.Context, req *mcp.CallToolRequest, id int64) (*Todo, *mcp.CallToolResult) {
	if id < 1 || id > 1<<31 {
		return nil, toolError("there is no todo %d in your list", id)
	}
	t, err := a.store.get(ctx, owner(req), uint(id))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, toolError("there is no todo %d in your list", id)
	}
	if err != nil {
		return nil, toolError("the todo could not be read; try again")
	}
	return t, nil
}

// toolError is a tool's refusal, told to the agent (MCP: isError results
// are for the model to read, protocol errors for the client).
func toolError(format string, args ...any) *mcp.CallToolResult {
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: fmt.Sprintf(format, args...)}}}
}

func derefTodo(t *Todo) Todo {
	if t == nil {
		return Todo{}
	}
	return *t
}

func nonNil(t []Todo) []Todo {
	if t == nil {
		return []Todo{}
	}
	return t
}
