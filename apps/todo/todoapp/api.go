package todoapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/accesstoken"
	"xaa.example/shared/dpop"
	"xaa.example/shared/storage"
	"xaa.example/shared/trace"
)

const claimsKey = "todo.claims"

// requireToken accepts only the todo AS's access tokens for this API with
// the given scope (RFC 9068 §4): an unbound token as Bearer (RFC 6750), a
// token bound to a key as DPoP with a proof of it for this request (RFC
// 9449 §7).
// requireToken checks the call's access token, its scope, the sign-in
// behind it (step-up) and, when it carries authorization_details (RFC
// 9396), that they allow action.
func (a *App) requireToken(scope, action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		claims, refused, err := a.apiGuard.Check(ctx, c.Request)
		if err != nil {
			a.cfg.Log.Error("api token check", "err", err)
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
			return
		}
		if refused != nil {
			if refused.Code != "" {
				a.cfg.Log.Info("api token refused", "why", refused.Description)
				check := accesstoken.CheckToken
				switch {
				case refused.Code == dpop.CodeInvalidProof || refused.Code == dpop.CodeUseNonce:
					check = accesstoken.CheckProof
				case refused.Revoked:
					check = accesstoken.CheckRevoked
				}
				trace.Fail(ctx, check, refused.Description)
			}
			refused.Write(c.Writer, "todo")
			c.Abort()
			return
		}
		detail := "account " + claims.Subject + ", client " + claims.ClientID
		if claims.Cnf != nil {
			trace.PassDetail(ctx, accesstoken.CheckProof, "DPoP proof of the key the token is bound to ("+claims.Cnf.JKT+"), for this request")
			detail += ", bound to key " + claims.Cnf.JKT
		}
		trace.PassDetail(ctx, accesstoken.CheckToken, detail)
		if a.receiver != nil {
			trace.PassDetail(ctx, accesstoken.CheckRevoked, "no Shared Signals event from the IdP has ended this person's or this app's access")
		}
		if !claims.Scopes().Has(scope) {
			trace.Fail(ctx, accesstoken.CheckScope, "needs "+scope+"; the token has: "+claims.Scope)
			// RFC 6750 §3: the challenge names the scope the call needs.
			a.bearerError(c, http.StatusForbidden, "insufficient_scope", "this call needs the "+scope+" scope", fmt.Sprintf("scope=%q", scope))
			return
		}
		trace.PassDetail(ctx, accesstoken.CheckScope, "needs "+scope+"; the token has: "+claims.Scope)
		// RFC 9470 §3: a held token whose sign-in is now too old, or too
		// weak, for this call.
		if problem := claims.StepUp(a.cfg.StepUp, scope, a.cfg.Now()); problem != "" {
			trace.Fail(ctx, accesstoken.CheckStepUp, problem)
			a.bearerError(c, http.StatusUnauthorized, "insufficient_user_authentication", problem, accesstoken.StepUpChallenge(a.cfg.StepUp)...)
			return
		} else if a.cfg.StepUp.Scopes.Has(scope) {
			trace.PassDetail(ctx, accesstoken.CheckStepUp, "the sign-in behind the token meets this call's step-up")
		}
		// RFC 9396: a token with authorization_details does only what they
		// name, whatever its scope allows.
		if !claims.AllowsAction(action) {
			why := "the token's authorization_details do not allow the action " + action
			trace.Fail(ctx, accesstoken.CheckAuthorizationDetails, why)
			a.bearerError(c, http.StatusForbidden, "insufficient_scope", why)
			return
		} else if len(claims.AuthorizationDetails) > 0 {
			trace.PassDetail(ctx, accesstoken.CheckAuthorizationDetails, "the token's authorization_details allow "+action)
		}
		c.Set(claimsKey, claims)
		c.Next()
	}
}

// bearerError answers as RFC 6750 §3 says, with a JSON body for humans;
// params are more auth-params for the challenge, written as given
// (scope="…").
func (a *App) bearerError(c *gin.Context, status int, code, description string, params ...string) {
	challenge := `Bearer realm="todo"`
	if code != "" {
		challenge += fmt.Sprintf(`, error=%q, error_description=%q`, code, description)
	}
	for _, p := range params {
		challenge += ", " + p
	}
	c.Header("WWW-Authenticate", challenge)
	body := gin.H{"error": "unauthorized", "error_description": "an access token from the todo authorization server is required"}
	if code != "" {
		body = gin.H{"error": code, "error_description": description}
	}
	c.AbortWithStatusJSON(status, body)
}

func tokenClaims(c *gin.Context) *accesstoken.Claims {
	v, _ := c.Get(claimsKey)
	return v.(*accesstoken.Claims)
}

// apiList is GET /api/todos?limit=&cursor=: a page of the caller's todos,
// open ones first, with next_cursor for the next page (absent on the last)
// and the list's total and open counts. limit is 1 to 200, 50 by default.
// With ids=1,2,3 (at most MaxPageSize) it answers those of the caller's
// todos alone, in one call: a page that links to several todos asks once.
func (a *App) apiList(c *gin.Context) {
	if c.Query("ids") != "" {
		a.apiListIDs(c)
		return
	}
	limit := DefaultPageSize
	if l := c.Query("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageSize {
			c.JSON(http.StatusBadRequest, gin.H{"error": "invalid_request", "error_description": fmt.Sprintf("limit must be a whole number from 1 to %d", MaxPageSize)})
			return
		}
		limit = n
	}
	p, err := a.store.page(c.Request.Context(), tokenClaims(c).Subject, c.Query("cursor"), limit)
	if errors.Is(err, errBadCursor) {
		c.JSON(http.StatusBadRequest, gin.H{"error": "invalid_request", "error_description": "cursor is not one this API gave: pass next_cursor from the previous page as it is"})
		return
	}
	if err != nil {
		a.cfg.Log.Error("api list", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
		return
	}
	out := gin.H{"todos": p.Todos, "total": p.Total, "open": p.Open}
	if p.Todos == nil {
		out["todos"] = []Todo{}
	}
	if p.Next != "" {
		out["next_cursor"] = p.Next
	}
	c.JSON(http.StatusOK, out)
}

func (a *App) apiListIDs(c *gin.Context) {
	var ids []uint
	for _, f := range strings.Split(c.Query("ids"), ",") {
		id, err := strconv.ParseUint(f, 10, 32)
		if err != nil || id == 0 || len(ids) >= MaxPageSize {
			c.JSON(http.StatusBadRequest, gin.H{"error": "invalid_request", "error_description": fmt.Sprintf("ids must be up to %d todo numbers separated by commas", MaxPageSize)})
			return
		}
		ids = append(ids, uint(id))
	}
	todos, err := a.store.byIDs(c.Request.Context(), tokenClaims(c).Subject, ids)
	if err != nil {
		a.cfg.Log.Error("api list by ids", "err", err)
		c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
		return
	}
	if todos == nil {
		todos = []Todo{}
	}
	c.JSON(http.StatusOK, gin.H{"todos": todos})
}

func (a *App) apiGet(c *gin.Context) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 32)
	if err != nil {
		c.JSON(http.StatusNotFound, gin.H{"error": "not_found"})
		return
	}
	t, err := a.store.get(c.Request.Context(), tokenClaims(c).Subject, uint(id))
	if errors.Is(err, storage.ErrNotFound) {
		c.JSON(http.StatusNotFound, gin.H{"error": "not_found"})
		return
	}
	if err != nil {
		c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
		return
	}
	c.JSON(http.StatusOK, t)
}

func (a *App) apiAdd(c *gin.Context) {
	var in struct {
		Title string `json:"title"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, 8<<10))
	if err := dec.Decode(&in); err != nil || strings.TrimSpace(in.Title) == "" || len(in.Title) > MaxTitle {
		c.JSON(http.StatusBadRequest, gin.H{"error": "invalid_request", "error_description": "send {\"title\": \"...\"} with a title of 1 to 500 characters"})
		return
	}
	t, err := a.store.add(c.Request.Context(), tokenClaims(c).Subject, strings.TrimSpace(in.Title))
	if err != nil {
		c.JSON(http.StatusInternalServerError, gin.H{"error": "server_error"})
		return
	}
	c.JSON(http.StatusCreated, t)
}
