package wikiapp

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"

	"xaa.example/debugconsole"
	"xaa.example/shared/signin"
)

// The agent (agent/, an MCP client) runs the chain without the wiki: it
// asks the IdP for an ID-JAG itself (MCP EMA). So that a presenter can show
// its runs beside the wiki's, it tells the console of each run once it is
// over: the run's trace id, a title and the outcome. The steps are not in
// the report: the IdP, the todo AS and the todo app recorded them under
// that trace id, with their checks, and the console collects them from
// there as for any run.
//
// The agent proves whose run it is with the ID token the IdP issued it
// (its audience is the agent's client id at the IdP): the person's email
// in it decides who sees the run. The report carries nothing else of
// worth: a stolen ID token lets its holder add a line to that person's
// console, and no more.

// report is what the agent sends, as JSON.
type report struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	Outcome string    `json:"outcome"`
	Failed  bool      `json:"failed"`
	Started time.Time `json:"started"`
}

// reportID is the shape of a trace id (trace.NewID): base32 text.
var reportID = regexp.MustCompile(`^[a-z2-7]{16,64}$`)

// maxReportBytes bounds a report's body.
const maxReportBytes = 4 << 10

// reportError answers a refused report as OAuth resource errors look
// (RFC 6750 §3), readable by the agent and by someone using curl.
func reportError(c *gin.Context, status int, code, description string) {
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+description+`"`)
	}
	c.JSON(status, gin.H{"error": code, "error_description": description})
}

// debugReport takes an agent's report of a run: POST /debug/reports,
// Authorization: Bearer <the agent's ID token from the IdP>.
func (a *App) debugReport(c *gin.Context) {
	if a.console == nil || a.agentIdP == nil {
		reportError(c, http.StatusNotFound, "not_found", "this wiki takes no agent reports (DEBUG_CONSOLE=false, or no IDP_ISSUER)")
		return
	}
	raw, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || raw == "" {
		reportError(c, http.StatusUnauthorized, "invalid_token", "send the agent's ID token from the IdP as a Bearer token")
		return
	}
	ctx := c.Request.Context()
	provider, err := a.agentIdP.Provider(ctx)
	if err != nil {
		reportError(c, http.StatusServiceUnavailable, "temporarily_unavailable", "the IdP that signs the agent's ID tokens is not answering")
		return
	}
	idToken, err := provider.Verifier(&oidc.Config{ClientID: a.cfg.AgentClientID, Now: a.cfg.Now}).Verify(ctx, raw)
	if err != nil {
		reportError(c, http.StatusUnauthorized, "invalid_token", "the ID token is not one the IdP issued to the agent, or it has expired: run agent login again")
		return
	}
	var who signin.Claims
	if err := idToken.Claims(&who); err != nil || who.Email == "" || (who.EmailVerified != nil && !*who.EmailVerified) {
		reportError(c, http.StatusUnauthorized, "invalid_token", "the ID token carries no verified email, so the run would be no one's")
		return
	}

	var r report
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxReportBytes)
	if err := json.NewDecoder(body).Decode(&r); err != nil {
		reportError(c, http.StatusBadRequest, "invalid_request", "the report is not a JSON object of at most 4 KiB with id, title, outcome, failed and started")
		return
	}
	switch {
	case !reportID.MatchString(r.ID):
		reportError(c, http.StatusBadRequest, "invalid_request", "id must be the run's trace id: 16 to 64 characters a-z and 2-7")
		return
	case strings.TrimSpace(r.Title) == "" || utf8.RuneCountInString(r.Title) > 120 || utf8.RuneCountInString(r.Outcome) > 500:
		reportError(c, http.StatusBadRequest, "invalid_request", "title (1 to 120 characters) and outcome (at most 500) are required")
		return
	}
	// The agent's clock says when the run began; a time far off is
	// replaced by the time the report came.
	now := a.cfg.Now()
	if r.Started.IsZero() || r.Started.After(now) || now.Sub(r.Started) > 10*time.Minute {
		r.Started = now
	}
	if !strings.HasPrefix(r.Title, "Agent") {
		r.Title = "Agent: " + r.Title
	}
	if !a.console.Recorder.Report(r.ID, r.Title, debugconsole.Viewer{Email: who.Email}, r.Started, r.Outcome, r.Failed) {
		reportError(c, http.StatusConflict, "invalid_request", "a run with this id was reported already")
		return
	}
	c.JSON(http.StatusCreated, gin.H{"console": a.cfg.BaseURL + "/debug?pin=" + r.ID})
}
