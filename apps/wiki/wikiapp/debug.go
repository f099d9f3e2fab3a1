package wikiapp

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"xaa.example/debugconsole"
	"xaa.example/shared/demo"
	"xaa.example/shared/dpop"
	"xaa.example/shared/oauth"
	"xaa.example/shared/signin"
	"xaa.example/shared/trace"
	"xaa.example/shared/web"
	"xaa.example/shared/xaaclient"
)

// The debug console: every chain run, step by step, from every party; the
// failure scenarios a presenter triggers with one click; and step-through
// mode, one step per button.

// runsShown is how many runs get their steps collected on a page.
const runsShown = 5

func (a *App) debugRoutes(r *gin.Engine, signedIn *gin.RouterGroup) {
	r.GET("/debug/console.js", gin.WrapF(debugconsole.Script))
	// The agent's reports carry their own proof, not the wiki's session.
	r.POST("/debug/reports", a.debugReport)
	signedIn.GET("/debug", a.debugPage)
	signedIn.GET("/debug/runs", a.debugRuns)
	signedIn.GET("/debug/latest", a.debugLatest)
	signedIn.GET("/debug/events", a.debugEvents)
	signedIn.POST("/debug/scenario/:name", a.debugScenario)
	signedIn.GET("/debug/step", a.debugStepPage)
	signedIn.GET("/debug/id-token", a.debugIDToken)
	signedIn.POST("/debug/step/:action", a.debugStep)
}

func (a *App) consoleOff(c *gin.Context) bool {
	if a.console == nil {
		web.RenderError(c, http.StatusNotFound, "Debug console off", "The debug console is turned off for this wiki (DEBUG_CONSOLE=false).")
		return true
	}
	return false
}

// owner is the person a run is made for: the run is theirs to see.
func owner(u signin.User) debugconsole.Viewer {
	return debugconsole.Viewer{Subject: u.Subject, Email: u.Email}
}

// viewer is who looks at the console: a person sees their own runs; a
// console admin (ConsoleAdmins) may ask for everyone's with ?all=1.
func (a *App) viewer(c *gin.Context) (v debugconsole.Viewer, admin bool) {
	u := web.SignedIn[signin.User](c)
	v = owner(u)
	admin = slices.ContainsFunc(a.cfg.ConsoleAdmins, func(e string) bool { return strings.EqualFold(e, u.Email) })
	v.All = admin && c.Query("all") == "1"
	return v, admin
}

// shownRuns reads how many runs to show (?n=, runsShown by default, at
// most all the recorder keeps) and which pinned runs to keep in view
// (?pin=id,id), as the console's script asks.
func shownRuns(c *gin.Context) (n int, pinned []string) {
	n = runsShown
	if v, err := strconv.Atoi(c.Query("n")); err == nil && v > 0 {
		n = min(v, debugconsole.MaxRuns)
	}
	for _, id := range strings.Split(c.Query("pin"), ",") {
		if id != "" && len(id) <= 64 && len(pinned) < 20 {
			pinned = append(pinned, id)
		}
	}
	return n, pinned
}

func (a *App) debugPage(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	v, admin := a.viewer(c)
	n, pinned := shownRuns(c)
	runs := a.console.Views(c.Request.Context(), n, v, pinned...)
	m := a.meta(c)
	m.Title, m.Scripts = "Debug console", []string{"/debug/console.js"}
	live := url.Values{"n": {strconv.Itoa(n)}}
	if v.All {
		live.Set("all", "1")
	}
	more := url.Values{"n": {strconv.Itoa(n + 10)}}
	if v.All {
		more.Set("all", "1")
	}
	web.Render(c, http.StatusOK, web.Layout(m, debugPage(consoleView{
		Scenarios: scenarios, Runs: runs, Admin: admin, All: v.All,
		Live: "/debug/runs?" + live.Encode(), More: "/debug?" + more.Encode(), HasMore: n < debugconsole.MaxRuns && len(runs) >= n,
	})))
}

// debugRuns is the run list alone, which the page's script fetches again
// when a run starts or ends.
func (a *App) debugRuns(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	v, _ := a.viewer(c)
	n, pinned := shownRuns(c)
	web.Render(c, http.StatusOK, debugconsole.Runs(a.console.Views(c.Request.Context(), n, v, pinned...)))
}

// drawerRuns is how many runs the drawer shows: the newest open, the ones
// before it folded (an API call alone is often the newest).
const drawerRuns = 3

// debugLatest is the person's newest runs, for the drawer on the wiki's pages.
func (a *App) debugLatest(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	v, _ := a.viewer(c)
	_, pinned := shownRuns(c)
	web.Render(c, http.StatusOK, debugconsole.Runs(a.console.Views(c.Request.Context(), drawerRuns, v, pinned...)))
}

// snippetHelp tells the Code tab where the wiki's hidden values are: the
// person's ID token on /debug/id-token, and the wiki's secrets by the
// settings that hold them (never their values, not even the demo's).
func snippetHelp(cfg Config) debugconsole.InputHelp {
	where := func(setting string) string {
		return setting + " in the wiki's settings (on the embedded defaults, the demo's value in shared/demo)."
	}
	return debugconsole.InputHelp{
		Self: "wiki", IDTokenURL: "/debug/id-token",
		Secrets: map[string]string{
			cfg.ClientID:       where("CLIENT_SECRET"),
			cfg.ClientIDAtTodo: where("WIKI_CLIENT_SECRET_AT_TODO"),
		},
	}
}

// debugIDToken shows the signed-in person their own ID token from the wiki
// AS: the subject token of the token exchange (step 2), which the Code
// tab's snippets read from SUBJECT_TOKEN. The console shows tokens without
// their signatures; this page is the one place a whole token is shown, to
// the person it names, never cached, and only when asked for.
func (a *App) debugIDToken(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	raw, err := a.signin.IDToken(c.Request.Context())
	if err != nil {
		web.RenderError(c, http.StatusUnauthorized, "Please sign in again", "Your sign-in has expired, so the wiki holds no ID token for you. Sign in again, then come back to this page.")
		return
	}
	v := idTokenView{Token: raw}
	if tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA}); err == nil {
		var claims jwt.Claims
		if tok.UnsafeClaimsWithoutVerification(&claims) == nil && claims.Expiry != nil {
			v.Expires = claims.Expiry.Time().UTC().Format("15:04:05 UTC")
		}
	}
	if i := strings.LastIndexByte(raw, '.'); i > 0 {
		v.Decoded = debugconsole.DecodeToken(trace.Token{Where: "your session at the wiki", Shown: raw[:i]})
	}
	c.Header("Cache-Control", "no-store")
	m := a.meta(c)
	m.Title, m.Scripts = "Your ID token", []string{"/debug/console.js"}
	web.Render(c, http.StatusOK, web.Layout(m, idTokenPage(v)))
}

// idTokenWarning says what the ID token page's reader must keep in mind.
func idTokenWarning(expires string) string {
	until := "until it expires"
	if expires != "" {
		until += " at " + expires
	}
	return "Whoever holds this token and the wiki's client secret can ask for access to your todos " + until + ". Paste it only into your own terminal."
}

func (a *App) debugEvents(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	v, _ := a.viewer(c)
	a.console.Events(c.Writer, c.Request, v)
}

// scenario is a failure a presenter can trigger with one click. The page
// tells it in plain words (Story: what someone did; Stops: what stopped
// it, and which check), with the protocol detail (Explain) one click
// away; a run that was refused for another reason than expect (a part of
// the refusal's protocol answer) says so instead of telling the story.
type scenario struct {
	Key, Title   string
	Story, Stops string
	Explain      string
	expect       string
	run          func(a *App, ctx context.Context) error
}

var scenarios = []scenario{
	{Key: "replay", Title: "Replay the same ID-JAG", Story: "An attacker copies an ID-JAG the wiki has just used and presents it to the todo authorization server a second time.",
		Stops:   "The todo authorization server takes each ID-JAG once and remembers the ones it took: the copy is refused (check R9, single use).",
		expect:  "assertion was already used",
		Explain: "Redeem one ID-JAG twice: the todo AS remembers every jti and refuses the second use (check 9).",
		run: func(a *App, ctx context.Context) error {
			idjag, p := a.exchangeStep(ctx, todoTarget(a.cfg, readScope))
			if p != nil {
				return p
			}
			if _, p := a.redeemStep(ctx, idjag, readScope); p != nil {
				return p
			}
			_, p = a.redeemStep(trace.WithStep(ctx, trace.StepReplayIDJAG), idjag, readScope)
			return p
		}},
	{Key: "expired", Title: "An expired ID-JAG", Story: "The wiki presents an ID-JAG that expired five minutes ago (the local IdP signs one on a demo-only request).",
		Stops:   "The todo authorization server refuses an ID-JAG past its expiry: a leaked one is worth minutes at most (check R7, lifetime).",
		expect:  "assertion has expired",
		Explain: "The local IdP signs an ID-JAG that expired five minutes ago (a demo-only request); the todo AS refuses it (check 7).",
		run: func(a *App, ctx context.Context) error {
			target := todoTarget(a.cfg, readScope)
			target.Extra = url.Values{"xaa_demo": {"expired"}}
			idjag, p := a.exchangeStep(ctx, target)
			if p != nil {
				return p
			}
			_, p = a.redeemStep(ctx, idjag, readScope)
			return p
		}},
	{Key: "audience", Title: "The wrong audience", Story: "The wiki gets an ID-JAG meant for the Calendar app and presents it to the todo app's authorization server instead.",
		Stops:   "An ID-JAG names the one authorization server it is for, and the todo authorization server takes only its own (check R6, audience).",
		expect:  "aud must be exactly",
		Explain: "Ask for an ID-JAG for the Calendar app's authorization server, then present it to the todo AS, which is not its audience (check 6).",
		run: func(a *App, ctx context.Context) error {
			idjag, p := a.exchangeStep(ctx, xaaclient.IDJAGRequest{Audience: demo.CalendarAS, Resource: demo.CalendarAS + "/api", Scope: oauth.Scopes{"calendar.read"}})
			if p != nil {
				return p
			}
			_, p = a.redeemStep(ctx, idjag, readScope)
			return p
		}},
	{Key: "disabled", Title: "A disabled connection", Story: "The administrator has disabled the wiki's connection to the Chat app. The wiki asks the IdP for an ID-JAG for Chat anyway.",
		Stops:   "The IdP signs ID-JAGs only for connections an administrator enabled: it refuses, and no token for Chat exists.",
		expect:  "access_denied",
		Explain: "Ask for an ID-JAG for the Chat app, whose connection from the wiki the admin has disabled: the IdP refuses (access_denied).",
		run: func(a *App, ctx context.Context) error {
			_, p := a.exchangeStep(ctx, xaaclient.IDJAGRequest{Audience: demo.ChatAS, Resource: demo.ChatAS + "/api", Scope: oauth.Scopes{"chat.read"}})
			return p
		}},
	{Key: "stolen", Title: "A stolen access token, without the key", Story: "An attacker copies the wiki's access token, but not the wiki's private key, and calls the todo API with it from another machine: once as a plain Bearer token, once with a proof signed by a key of their own.",
		Stops:   "The token is bound to the wiki's key (DPoP). The todo API wants a proof signed by that key with every call, and refuses both attempts.",
		expect:  "bound to a key",
		Explain: "Get a DPoP-bound access token, then call the todo API with it from \"another machine\": as a Bearer token, and with a proof of another key. The API refuses both (RFC 9449 §7): a bound token is worth nothing without its key.",
		run: func(a *App, ctx context.Context) error {
			if a.dpop == nil {
				return &chainProblem{Title: "DPoP is off", Message: "This wiki runs with DPOP=false: its tokens are bearer tokens, which anyone holding them may use. Turn DPoP on to see this refused."}
			}
			idjag, p := a.exchangeStep(ctx, todoTarget(a.cfg, readScope))
			if p != nil {
				return p
			}
			redeemed, p := a.redeemStep(ctx, idjag, readScope)
			if p != nil {
				return p
			}
			var out struct {
				Todos []todoItem `json:"todos"`
			}
			stolen := &AccessToken{Token: redeemed.AccessToken, TokenType: "Bearer"}
			_, p = a.doAPI(trace.WithStep(ctx, trace.StepStolenBearer), stolen, http.MethodGet, "/todos", nil, &out)
			if p == nil {
				return nil
			}
			thief, err := dpop.NewKey()
			if err != nil {
				return &chainProblem{Title: "No key", Message: err.Error()}
			}
			signer, _ := dpop.NewSigner(thief)
			resp, err := xaaclient.Call(trace.WithStep(ctx, trace.StepStolenOwnKey),
				a.http, http.MethodGet, a.cfg.TodoAPIURL+"/todos", redeemed.AccessToken, signer, nil)
			if err != nil {
				return &chainProblem{Title: "The todo app is not answering", Message: err.Error()}
			}
			resp.Body.Close()
			if resp.StatusCode < 400 {
				return nil
			}
			return &chainProblem{Title: "Refused without the key", Message: "The todo API refused the stolen token both ways.", Detail: problemOf(p).Detail}
		}},
	{Key: "scope", Title: "A scope the connection does not allow", Story: "The wiki asks the IdP for todos.admin, a scope the administrator did not allow on the wiki's connection to the todo app.",
		Stops:   "The IdP grants no more than the administrator allowed on the connection: it refuses the request.",
		expect:  "invalid_scope",
		Explain: "Ask for todos.admin, which the wiki → todo connection does not allow: the IdP refuses (invalid_scope).",
		run: func(a *App, ctx context.Context) error {
			_, p := a.exchangeStep(ctx, todoTarget(a.cfg, oauth.Scopes{"todos.admin"}))
			return p
		}},
}

func (a *App) debugScenario(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	for _, sc := range scenarios {
		if sc.Key != c.Param("name") {
			continue
		}
		ctx, run := a.cfg.Recorder.Start(c.Request.Context(), "Failure: "+sc.Title, owner(web.SignedIn[signin.User](c)))
		err := sc.run(a, ctx)
		switch p := problemOf(err); {
		case p == nil:
			run.Finish("Unexpectedly, nothing was refused.", false)
		case strings.Contains(p.Detail, sc.expect):
			run.FinishDetail("Refused, as it should be. "+sc.Stops, p.Detail, true)
		default:
			run.FinishDetail("Refused, but not by the check this scenario shows. "+p.Title+": "+p.Message, p.Detail, true)
		}
		c.Redirect(http.StatusSeeOther, "/debug#run-"+run.ID)
		return
	}
	web.RenderError(c, http.StatusNotFound, "No such scenario", "The debug console has no scenario by that name.")
}

// stepper keeps step-through mode's state: for teaching only, the ID-JAG is
// held (in memory, for one user, a few minutes) between two clicks.
type stepper struct {
	mu    sync.Mutex
	state map[string]*stepState
}

type stepState struct {
	run   *debugconsole.Run
	idjag string
	token string
	// tokenType is DPoP when the token is bound to the wiki's key.
	tokenType string
	// called: the todo API answered the call; the chain is complete.
	called  bool
	started time.Time
}

func newStepper() *stepper { return &stepper{state: map[string]*stepState{}} }

func (s *stepper) get(user string) *stepState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state[user]
	if st != nil && time.Since(st.started) > 10*time.Minute {
		delete(s.state, user)
		return nil
	}
	return st
}

func (s *stepper) put(user string, st *stepState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == nil {
		delete(s.state, user)
		return
	}
	s.state[user] = st
}

func (a *App) debugStepPage(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	a.renderStepPage(c, "")
}

func (a *App) renderStepPage(c *gin.Context, problem string) {
	st := a.stepper.get(web.SignedIn[signin.User](c).Subject)
	v := stepView{Problem: problem, TokenType: "Bearer"}
	if a.cfg.DPoP {
		v.TokenType = dpop.TokenType
	}
	if st != nil {
		v.Stage = 1
		if st.idjag != "" {
			v.Stage = 2
		}
		if st.token != "" {
			v.Stage, v.TokenType = 3, st.tokenType
		}
		if st.called {
			v.Stage = 4
		}
		for _, r := range a.console.Views(c.Request.Context(), runsShown, owner(web.SignedIn[signin.User](c))) {
			if r.Run.ID == st.run.ID {
				v.Run, v.Produced = []debugconsole.RunView{r}, debugconsole.Produced(r)
			}
		}
	}
	m := a.meta(c)
	m.Title = "Step through the chain"
	web.Render(c, http.StatusOK, web.Layout(m, stepPage(v)))
}

// debugStep runs one step of the chain: exchange, redeem, or call.
func (a *App) debugStep(c *gin.Context) {
	if a.consoleOff(c) {
		return
	}
	user := web.SignedIn[signin.User](c)
	st := a.stepper.get(user.Subject)
	ctx := c.Request.Context()
	var err error
	switch c.Param("action") {
	case "exchange":
		var run *debugconsole.Run
		ctx, run = a.cfg.Recorder.Start(ctx, "Step through: ID token → ID-JAG → access token → API", owner(user))
		st = &stepState{run: run, started: a.cfg.Now()}
		st.idjag, err = a.exchangeStep(ctx, todoTarget(a.cfg, readScope))
	case "redeem":
		if st == nil || st.idjag == "" {
			a.renderStepPage(c, "Exchange the ID token for an ID-JAG first.")
			return
		}
		var redeemed *oauth.TokenResponse
		redeemed, err = a.redeemStep(trace.WithID(ctx, st.run.ID), st.idjag, readScope)
		if redeemed != nil {
			st.token, st.tokenType = redeemed.AccessToken, redeemed.TokenType
		}
	case "call":
		if st == nil || st.token == "" {
			a.renderStepPage(c, "Redeem the ID-JAG for an access token first.")
			return
		}
		var out struct {
			Todos []todoItem `json:"todos"`
		}
		_, err = a.doAPI(trace.WithID(ctx, st.run.ID), &AccessToken{Token: st.token, TokenType: st.tokenType}, http.MethodGet, "/todos", nil, &out)
		if err == nil {
			st.called = true
			st.run.Finish(returned(len(out.Todos), int64(len(out.Todos)))+" The chain is complete.", false)
		}
	case "reset":
		a.stepper.put(user.Subject, nil)
		c.Redirect(http.StatusSeeOther, "/debug/step")
		return
	default:
		web.RenderError(c, http.StatusNotFound, "No such step", "Step-through mode has exchange, redeem and call.")
		return
	}
	if problem := problemOf(err); problem != nil {
		if st != nil {
			st.run.Finish(problem.Title+": "+problem.Message, true)
		}
		a.stepper.put(user.Subject, st)
		a.renderStepPage(c, problem.Title+": "+problem.Message)
		return
	}
	a.stepper.put(user.Subject, st)
	c.Redirect(http.StatusSeeOther, "/debug/step")
}
