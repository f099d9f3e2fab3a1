package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"xaa.example/agent/cli"
	"xaa.example/apps/todo/todoapp"
	"xaa.example/shared/demo"
)

// These tests drive headless Chromium (Debian's package) through the demo
// as a person would, and save a screenshot of every page they look at in
// artifacts/browser/. Without Chromium they are skipped with a message,
// except in CI (CI set), where they fail. They run one at a time (no
// t.Parallel): Chromium is heavy, and two at once on a two-core machine
// beside the parallel flows can miss a step's deadline.

func chromePath() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactsDir is where screenshots go: ARTIFACTS_DIR, or artifacts/browser
// at the repository's root.
func artifactsDir(t *testing.T) string {
	dir := os.Getenv("ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts folder: %v", err)
	}
	return dir
}

// chrome is one headless browser for one test.
type chrome struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int

	// scriptErrors are the pages' uncaught exceptions and console.error
	// calls since checkLayout last looked.
	mu           sync.Mutex
	scriptErrors []string
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	path := chromePath()
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("headless Chromium is required in CI: .ci/run installs Debian's chromium package")
		}
		t.Skip("headless Chromium not found: install it (apt-get install -y chromium) or set CHROME_PATH, then run make test")
	}
	// The profile folder is removed by hand: Chromium's helper processes
	// may write to it for a moment after the browser has exited, which
	// makes t.TempDir's clean-up fail.
	profile, err := os.MkdirTemp("", "xaa-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1200, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	c := &chrome{t: t, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg = "uncaught: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type != runtime.APITypeError {
				return
			}
			msg = "console.error:"
			for _, a := range e.Args {
				msg += " " + string(a.Value)
			}
		default:
			return
		}
		c.mu.Lock()
		c.scriptErrors = append(c.scriptErrors, msg)
		c.mu.Unlock()
	})
	dir := artifactsDir(t)
	// Screenshots of an earlier run of this test would mislead.
	old, _ := filepath.Glob(filepath.Join(dir, strings.TrimPrefix(t.Name(), "Test")+"-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	c.dir = dir
	return c
}

// stepTimeout bounds one step, so that a page that never shows what a
// step waits for fails the test instead of hanging it.
const stepTimeout = 20 * time.Second

// run performs browser actions, failing the test with what it was doing.
func (c *chrome) run(doing string, actions ...chromedp.Action) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var url string
		_ = chromedp.Run(c.ctx, chromedp.Location(&url))
		c.shot("failed")
		c.t.Fatalf("%s (at %s): %v", doing, url, err)
	}
}

// shot saves a full-page screenshot named after the test and the step.
func (c *chrome) shot(name string) string {
	c.t.Helper()
	var png []byte
	ctx, cancel := context.WithTimeout(c.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		c.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	c.n++
	file := filepath.Join(c.dir, strings.TrimPrefix(c.t.Name(), "Test")+"-"+twoDigits(c.n)+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		c.t.Fatalf("save screenshot: %v", err)
	}
	return file
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// text returns the visible text of the first element matching sel.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	var s string
	// ByQuery: chromedp's default search would also match page text,
	// such as "main" in a Go snippet.
	c.run("read "+sel, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// signIn signs in to an app through its AS and the IdP with the browser.
func (c *chrome) signIn(appURL, email string) {
	c.t.Helper()
	c.run("open "+appURL, chromedp.Navigate(appURL+"/"), chromedp.WaitVisible(`input[name=login_hint]`))
	c.shot("landing")
	c.run("give the work email", chromedp.SendKeys(`input[name=login_hint]`, email), chromedp.Submit(`input[name=login_hint]`), chromedp.WaitVisible(`input[name=password]`))
	c.shot("idp-sign-in")
	c.run("sign in at the IdP", chromedp.SendKeys(`input[name=password]`, demo.Password), chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`.who`))
}

// TestBrowserWalk: sign in to the wiki, see bob's todos, paste a todo link
// into a page and see its chip, add a todo from the wiki and find it in the
// todo app, then sign out.
func TestBrowserWalk(t *testing.T) {
	// The stack first, so that the browser (and its open event stream)
	// is closed before the servers are.
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	wiki, todo := s.topology.Wiki, s.topology.Todo

	c.signIn(wiki, "bob@tables.fake")
	c.shot("wiki-pages")
	if who := c.text(`.who`); !strings.Contains(who, "Bobby Tables") {
		t.Fatalf("signed in as %q, want Bobby Tables", who)
	}

	c.run("open My todos", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#todos`))
	c.shot("my-todos")
	list := c.text(`#todos`)
	for _, title := range demo.BobTodos {
		if !strings.Contains(list, title) {
			t.Errorf("My todos does not show %q:\n%s", title, list)
		}
	}

	// A page with a link to todo 1: the preview and the saved page show a chip.
	c.run("write a page", chromedp.Navigate(wiki+"/pages/new"), chromedp.WaitVisible(`textarea[name=body]`),
		chromedp.SendKeys(`input[name=title]`, "Launch plan"),
		chromedp.SendKeys(`textarea[name=body]`, "Before launch: "+todo+"/todos/1\n\nAnd a task that is not ours: "+todo+"/todos/999"),
		chromedp.Click(`button[value=preview]`), chromedp.WaitVisible(`#preview .chip`))
	c.shot("page-preview")
	c.run("save the page", chromedp.Click(`button[value=save]`), chromedp.WaitVisible(`article .chip`))
	c.shot("page-with-chip")
	chip := c.text(`article .chip[data-todo="1"]`)
	if !strings.Contains(chip, demo.BobTodos[0]) || !strings.Contains(chip, "open") {
		t.Errorf("the chip shows %q, want %q and its status", chip, demo.BobTodos[0])
	}
	if missing := c.text(`article .chip[data-todo="999"]`); !strings.Contains(missing, "not in your list") {
		t.Errorf("the chip of a todo bob does not have shows %q", missing)
	}

	// Add a todo from the wiki (todos.write), then find it in the todo app.
	const added = "Order the launch cake"
	c.run("add a todo from the wiki", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#add-todo`),
		chromedp.SendKeys(`#add-todo input[name=title]`, added), chromedp.Submit(`#add-todo input[name=title]`),
		chromedp.WaitVisible(`.alert.ok`))
	c.shot("todo-added")
	if list := c.text(`#todos`); !strings.Contains(list, added) {
		t.Errorf("My todos does not show the added todo:\n%s", list)
	}
	c.run("open the todo app", chromedp.Navigate(todo+"/"), chromedp.WaitVisible(`input[name=login_hint]`),
		chromedp.SendKeys(`input[name=login_hint]`, "bob@tables.fake"), chromedp.Submit(`input[name=login_hint]`),
		chromedp.WaitVisible(`#todos`))
	c.shot("todo-app")
	if list := c.text(`#todos`); !strings.Contains(list, added) {
		t.Errorf("the todo app does not show the todo added from the wiki:\n%s", list)
	}

	c.run("open the debug console", chromedp.Navigate(wiki+"/debug"), chromedp.WaitVisible(`.steps`))
	c.shot("debug-console")
	// A presenter's failure scenario: replaying an ID-JAG fails at check 9.
	c.run("replay an ID-JAG", chromedp.Click(`button[data-scenario=replay]`), chromedp.WaitVisible(`.run .alert.bad`, chromedp.ByQuery))
	if outcome := c.text(`.run .alert.bad`); !strings.Contains(outcome, "takes each ID-JAG once") || strings.Contains(outcome, "invalid_grant") {
		t.Errorf("the replay scenario's outcome is %q, not its story in words", outcome)
	}
	c.run("open the failed step's checks", chromedp.Click(`.run details.step[open] .tabset label[for$="-chk"]`), chromedp.WaitVisible(`.run details.step[open] .panel-chk`, chromedp.ByQuery))
	if checks := c.text(`.run details.step[open] .panel-chk`); !strings.Contains(checks, "R9 · jti not used before") || !strings.Contains(checks, "fail") {
		t.Errorf("the failed step's checks show %q", checks)
	}
	c.shot("console-replay-refused")
	c.run("open the step's code in Python", chromedp.Click(`.run details.step[open] .tabset label[for$="-code"]`, chromedp.ByQuery),
		chromedp.Click(`.run details.step[open] .langs label[for$="-python"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.run details.step[open] .lang-panel-python pre`, chromedp.ByQuery))
	if code := c.text(`.run details.step[open] .lang-panel-python pre`); !strings.Contains(code, "urllib.request") || !strings.Contains(code, `os.environ["ASSERTION"]`) {
		t.Errorf("the Python snippet reads %q", code)
	}
	c.shot("console-code")
	// The drawer on the wiki's pages shows the latest run.
	c.run("open the drawer", chromedp.Navigate(wiki+"/"), chromedp.WaitVisible(`details.drawer`), chromedp.Click(`details.drawer > summary`),
		chromedp.WaitVisible(`details.drawer .run`))
	c.shot("console-drawer")

	c.run("sign out of the wiki", chromedp.Navigate(wiki+"/"), chromedp.WaitVisible(`.who`),
		chromedp.Click(`.who button`), chromedp.WaitVisible(`input[name=login_hint]`))
	c.shot("signed-out")
	var url string
	c.run("where sign-out lands", chromedp.Location(&url))
	if url != wiki+"/" {
		t.Errorf("sign-out landed at %s, want the wiki's start page", url)
	}
}

// TestBrowserPhone: the pages fit a phone's screen.
func TestBrowserPhone(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	c.run("phone screen", chromedp.EmulateViewport(390, 844))
	c.signIn(s.topology.Wiki, "bob@tables.fake")
	c.run("open My todos", chromedp.Navigate(s.topology.Wiki+"/todos"), chromedp.WaitVisible(`#todos`))
	c.shot("phone-my-todos")
	var scrollWidth int
	c.run("measure", chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollWidth))
	if scrollWidth > 390 {
		t.Errorf("the page is %dpx wide on a 390px screen: it scrolls sideways", scrollWidth)
	}
}

// otherPerson makes the browser someone else's: every cookie of every
// service is forgotten, so the next sign-in starts from nothing.
func (c *chrome) otherPerson() *chrome {
	c.t.Helper()
	c.run("forget every cookie", network.ClearBrowserCookies())
	return c
}

// TestBrowserPrivacy: John does not see Bob's runs in the debug console,
// and a return address that Chromium would read as another site's (the
// tab in "/\t/evil.example") leaves the person on the service itself.
func TestBrowserPrivacy(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	wiki := s.topology.Wiki

	c.signIn(wiki, "bob@tables.fake")
	c.run("open My todos as Bob", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#todos`))
	c.run("open the console as Bob", chromedp.Navigate(wiki+"/debug"), chromedp.WaitVisible(`.run`, chromedp.ByQuery))
	c.shot("bob-console")
	if runs := c.text(`main`); !strings.Contains(runs, "bob@tables.fake") {
		t.Fatalf("Bob's console does not show his run:\n%s", runs)
	}

	john := c.otherPerson()
	john.signIn(wiki, "john@tables.fake2")
	john.run("open the console as John", chromedp.Navigate(wiki+"/debug"), chromedp.WaitVisible(`main`))
	john.shot("john-console")
	if seen := john.text(`body`); strings.Contains(seen, "bob@tables.fake") || strings.Contains(seen, demo.BobTodos[0]) {
		t.Errorf("John's console shows Bob's run:\n%s", seen)
	}

	for _, svc := range []string{"wiki", "todo", "idp"} {
		base := s.servers[svc].URL
		p := c.otherPerson()
		p.run("open "+svc+"'s sign-in with a hostile return address",
			chromedp.Navigate(base+"/login?login_hint=bob%40tables.fake&next=%2F%09%2Fevil.example"),
			chromedp.WaitVisible(`input[name=password]`),
			chromedp.SendKeys(`input[name=password]`, demo.Password),
			chromedp.Submit(`input[name=password]`),
			chromedp.WaitVisible(`.who`))
		var landed string
		p.run("where the sign-in lands", chromedp.Location(&landed))
		if landed != base+"/" {
			p.shot(svc + "-redirect")
			t.Errorf("%s: the sign-in with next=/<TAB>/evil.example landed at %s, want %s/", svc, landed, base)
		}
	}
}

// TestBrowserLimits: the pages that say no look finished: a long todo list
// in pages (todo app) and counted (wiki), the IdP's lock after wrong
// passwords, the locked account in the admin console with its Unlock, and
// the authorization server asking before it signs anyone out.
func TestBrowserLimits(t *testing.T) {
	s := startStack(t, sqliteDB)
	rows := make([]todoapp.Todo, 120)
	for i := range rows {
		rows[i] = todoapp.Todo{OwnerID: demo.AccountID("bob@tables.fake"), Title: fmt.Sprintf("Imported task %03d", i+1), Done: i%4 == 0}
	}
	if err := s.dbs["todo"].Create(&rows).Error; err != nil {
		t.Fatal(err)
	}
	c := newChrome(t)
	c.signIn(s.topology.Wiki, "bob@tables.fake")
	c.run("open My todos", chromedp.Navigate(s.topology.Wiki+"/todos"), chromedp.WaitVisible(`#todo-count`))
	c.shot("wiki-long-list")
	if count := c.text(`#todo-count`); !strings.Contains(count, "of 123") || !strings.Contains(count, "first 50") {
		t.Errorf("My todos says %q, want the count and that it shows the first 50", count)
	}
	c.run("open the todo app", chromedp.Navigate(s.topology.Todo+"/"), chromedp.WaitVisible(`input[name=login_hint]`),
		chromedp.SendKeys(`input[name=login_hint]`, "bob@tables.fake"), chromedp.Submit(`input[name=login_hint]`),
		chromedp.WaitVisible(`.pager`))
	c.shot("todo-app-page-1")
	c.run("next page", chromedp.Click(`.pager a`), chromedp.WaitVisible(`.pager`))
	c.shot("todo-app-page-2")

	c.run("forget every cookie", network.ClearBrowserCookies())
	c.run("open the IdP's sign-in", chromedp.Navigate(s.topology.IdP+"/login?login_hint=bob%40tables.fake"), chromedp.WaitVisible(`input[name=password]`))
	for range 6 {
		c.run("a wrong password", chromedp.SetValue(`input[name=password]`, "not-the-password"), chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`.alert.bad`))
	}
	c.shot("idp-locked")
	if msg := c.text(`.alert.bad`); !strings.Contains(msg, "Too many failed sign-ins") {
		t.Errorf("after six wrong passwords the IdP says %q", msg)
	}
	// The sixth failure locks the account for one second (the lock then
	// doubles with each failure): fewer than the admin's sign-in below can
	// take on a busy machine. Lengthen this lock, as later failures would,
	// so that the admin's list is read while it holds.
	if err := s.dbs["idp"].Table("sign_in_throttles").Where("who = ?", "account:bob@tables.fake").
		Update("locked_until", time.Now().Add(10*time.Minute).UTC()).Error; err != nil {
		t.Fatal(err)
	}

	c.run("sign in as the admin", chromedp.Navigate(s.topology.IdP+"/login?next=/admin/users"), chromedp.WaitVisible(`input[name=password]`),
		chromedp.SetValue(`input[name=email]`, "admin@tables.fake"), chromedp.SetValue(`input[name=password]`, demo.Password),
		chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`#people`, chromedp.ByQuery))
	c.shot("admin-locked-account")
	if users := c.text(`#people`); !strings.Contains(users, "locked until") {
		t.Errorf("the admin's user list does not show bob's lock:\n%s", users)
	}

	c.run("sign in to the wiki (single sign-on)", chromedp.Navigate(s.topology.Wiki+"/login?login_hint=admin%40tables.fake"), chromedp.WaitVisible(`.who`))
	c.run("a bare sign-out link at the wiki AS", chromedp.Navigate(s.topology.WikiAS+"/logout"), chromedp.WaitVisible(`main h1`))
	c.shot("as-confirm-sign-out")
	if h := c.text(`main h1`); h != "Sign out?" {
		t.Errorf("a bare GET /logout shows %q, want the confirmation", h)
	}
	c.run("confirm", chromedp.Click(`main form button`), chromedp.WaitVisible(`#signed-out`))
	c.shot("as-signed-out")
	if h := c.text(`main h1`); h != "Signed out" {
		t.Errorf("after confirming: %q", h)
	}
}

// watchCSP keeps every content-security-policy violation of the pages to
// come in window.__csp, from before any page script runs.
func (c *chrome) watchCSP() {
	c.t.Helper()
	c.run("watch for CSP violations", chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := cdppage.AddScriptToEvaluateOnNewDocument(`window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " + (e.sourceFile || "") + ":" + e.lineNumber));`).Do(ctx)
		return err
	}))
}

// checkPage opens url and fails the test on a CSP violation, a page wider
// than the screen, or what layoutProblems finds; the screenshot is saved as
// name.
func (c *chrome) checkPage(url, name string, width int) {
	c.t.Helper()
	c.run("open "+url, chromedp.Navigate(url), chromedp.WaitReady(`body`))
	var violations []string
	var scrollWidth, innerWidth int
	c.run("read "+url, chromedp.Sleep(50*time.Millisecond), // let late violations report
		chromedp.Evaluate(`window.__csp || []`, &violations),
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollWidth),
		chromedp.Evaluate(`window.innerWidth`, &innerWidth))
	c.shot(name)
	if len(violations) > 0 {
		c.t.Errorf("%s at %dpx: %d CSP violations: %v", url, width, len(violations), violations)
	}
	if scrollWidth > innerWidth {
		c.t.Errorf("%s at %dpx is %dpx wide: it scrolls sideways", url, width, scrollWidth)
	}
	c.checkLayout(name, width)
}

// checkLayout fails the test on what layoutProblems finds in the page as
// it is now (a tab opened, a drawer open).
func (c *chrome) checkLayout(name string, width int) {
	c.t.Helper()
	var problems []string
	c.run("look for layout problems", chromedp.Evaluate(layoutProblems, &problems))
	for _, p := range problems {
		c.t.Errorf("%s at %dpx: %s", name, width, p)
	}
	c.mu.Lock()
	errs := c.scriptErrors
	c.scriptErrors = nil
	c.mu.Unlock()
	for _, e := range errs {
		c.t.Errorf("%s at %dpx: a script error: %s", name, width, e)
	}
}

// layoutProblems is what a person sees as broken at this width, which a
// page that merely fits the screen may still have: text cut by a box that
// hides what overflows; anything past the screen's right edge outside a
// box that scrolls; a word set one or two letters per line; "ID-JAG" split
// over two lines; the last thing on the page under a fixed panel.
const layoutProblems = `(() => {
  const out = [], vw = window.innerWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const text = el => (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 50);
  const shown = el => { const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && cs.visibility !== "hidden" && cs.opacity !== "0"; };
  const inScroller = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll") return true; } return false; };
  for (const el of document.body.querySelectorAll("*")) {
    if (!shown(el) || el.closest("svg") && el.tagName.toLowerCase() !== "svg") continue;
    const cs = getComputedStyle(el), r = el.getBoundingClientRect();
    // (A text field scrolls what is typed into it, as it should.)
    if ((cs.overflowX === "hidden" || cs.overflowX === "clip") && el.scrollWidth > el.clientWidth + 1 && cs.textOverflow !== "ellipsis" &&
        !el.matches("input, textarea, select"))
      out.push("cut by " + (el.scrollWidth - el.clientWidth) + "px: " + name(el) + " " + JSON.stringify(text(el)));
    if (r.right > vw + 1 && cs.position !== "fixed" && !inScroller(el))
      out.push("past the right edge by " + Math.round(r.right - vw) + "px: " + name(el) + " " + JSON.stringify(text(el)));
  }
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const lines = (node, from, to) => { const range = document.createRange(); range.setStart(node, from); range.setEnd(node, to);
    return new Set([...range.getClientRects()].filter(q => q.width > 0).map(q => Math.round(q.top))).size; };
  for (let n; (n = walk.nextNode()); ) {
    const el = n.parentElement;
    if (!el || !shown(el) || el.closest("svg, pre, script, style")) continue;
    const t = n.textContent;
    for (let i = t.indexOf("ID-JAG"); i >= 0; i = t.indexOf("ID-JAG", i + 1))
      if (lines(n, i, i + 6) > 1) out.push("ID-JAG split over two lines in " + name(el));
    for (const m of t.matchAll(/[A-Za-z_]{5,20}/g))
      if (lines(n, m.index, m.index + m[0].length) > 2) { out.push("letters stacked in " + name(el) + ": " + JSON.stringify(m[0])); break; }
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
  // An open panel covers the page on purpose; a closed one must not.
  const fixed = [...document.body.querySelectorAll("*")].filter(el => shown(el) && getComputedStyle(el).position === "fixed" && !el.open);
  const main = document.querySelector("main");
  const last = main && [...main.querySelectorAll("li, p, button, a, tr")].filter(shown).pop();
  if (last) {
    const l = last.getBoundingClientRect();
    for (const f of fixed) { const q = f.getBoundingClientRect();
      if (f !== last && !f.contains(last) && q.left < l.right && q.right > l.left && q.top < l.bottom && q.bottom > l.top)
        out.push("the last thing on the page, " + name(last) + " " + JSON.stringify(text(last)) + ", is under " + name(f)); }
  }
  window.scrollTo(0, 0);
  return out;
})()`

// TestBrowserEveryPage: every page of the five services, at 1400px and at a
// phone's 390px, raises no CSP violation and does not scroll sideways.
func TestBrowserEveryPage(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	c.watchCSP()
	wiki, todo, idp := s.topology.Wiki, s.topology.Todo, s.topology.IdP

	unknown := "" // the authorization server's page for an unknown domain
	c.run("sign-in with an unknown domain", chromedp.Navigate(wiki+"/login?login_hint=eve%40unknown.example"), chromedp.WaitVisible(`#back-to-app`),
		chromedp.Location(&unknown))
	// The watch for script errors sees one made on purpose, so that its
	// silence on every page below means something.
	c.run("a script error, on purpose", chromedp.Navigate(wiki+"/"), chromedp.WaitReady(`body`),
		chromedp.Evaluate(`console.error("probe"); setTimeout(() => { throw new Error("probe thrown") }, 0)`, nil), chromedp.Sleep(200*time.Millisecond))
	c.mu.Lock()
	seen := strings.Join(c.scriptErrors, "\n")
	c.scriptErrors = nil
	c.mu.Unlock()
	if !strings.Contains(seen, `console.error: "probe"`) || !strings.Contains(seen, "probe thrown") {
		t.Fatalf("the watch for script errors saw %q", seen)
	}
	c.signIn(wiki, "bob@tables.fake")
	c.run("a chain run for the console", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#todos`))
	c.run("sign in to the todo app", chromedp.Navigate(todo+"/login?login_hint=bob%40tables.fake"), chromedp.WaitVisible(`#todos`))
	// The agent's run too, so that the console shows both kinds side by side.
	agentHome := t.TempDir()
	signedIn(t, s, agentHome, "bob@tables.fake")
	agentEnv := map[string]string{"IDP_ISSUER": idp, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": agentHome, "AGENT_CONSOLE_URL": wiki}
	if err := cli.Run(t.Context(), []string{"todos"}, func(k string) string { return agentEnv[k] }, io.Discard); err != nil {
		t.Fatalf("agent todos: %v", err)
	}
	pages := []struct{ url, name string }{
		{wiki + "/", "wiki-pages"}, {wiki + "/todos", "wiki-todos"}, {wiki + "/pages/new", "wiki-new-page"},
		{wiki + "/debug", "wiki-console"}, {wiki + "/debug/step", "wiki-step"}, {wiki + "/debug/id-token", "wiki-id-token"}, {wiki + "/nowhere", "wiki-404"},
		{todo + "/", "todo-list"}, {todo + "/todos/1", "todo-task"},
		{s.topology.WikiAS + "/", "wiki-as"}, {s.topology.TodoAS + "/", "todo-as"}, {unknown, "as-unknown-domain"},
		{s.topology.WikiAS + "/logout", "as-sign-out"},
	}
	admin := []struct{ url, name string }{
		{idp + "/", "idp-home"}, {idp + "/admin/connections", "idp-connections"}, {idp + "/admin/users", "idp-users"},
		{idp + "/admin/apps", "idp-apps"}, {idp + "/admin/audit", "idp-audit"}, {idp + "/account", "idp-account"},
	}
	for _, width := range []int{1400, 390} {
		c.run("screen width", chromedp.EmulateViewport(int64(width), 900))
		for _, p := range pages {
			c.checkPage(p.url, fmt.Sprintf("%d-%s", width, p.name), width)
		}
	}
	// Two failure scenarios, so that the console holds a refusal and the
	// attacker's requests too; then every tab of every step, open, and the
	// drawer on My todos, open, at both widths.
	for _, sc := range []string{"stolen", "replay"} {
		// The scenario's form leads to /debug#run-<its run>: wait for that
		// run (:target) from a page that has none, so that the wait does
		// not pass on the page before and the next navigation cut the
		// scenario's load short.
		c.run("the "+sc+" scenario", chromedp.Navigate(wiki+"/debug"), chromedp.WaitVisible(`.steps`, chromedp.ByQuery),
			chromedp.Click(`button[data-scenario=`+sc+`]`, chromedp.ByQuery), chromedp.WaitVisible(`.run:target .alert.bad`, chromedp.ByQuery))
	}
	for _, width := range []int{1400, 390} {
		c.run("screen width", chromedp.EmulateViewport(int64(width), 900))
		c.run("open the console", chromedp.Navigate(wiki+"/debug"), chromedp.WaitVisible(`.steps`),
			chromedp.Evaluate(`document.querySelectorAll(".run details").forEach(d => d.open = true)`, nil))
		for _, tab := range []string{"req", "resp", "tok", "chk", "code"} {
			c.run("open every step's "+tab+" tab", chromedp.Evaluate(`document.querySelectorAll(".tabset > input.tab-`+tab+`").forEach(i => i.checked = true)`, nil))
			c.shot(fmt.Sprintf("%d-console-%s", width, tab))
			c.checkLayout(fmt.Sprintf("the console's %s tabs", tab), width)
		}
		c.run("open My todos", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#todos`))
		c.checkLayout("My todos, drawer closed", width)
		c.run("open the console drawer", chromedp.Click(`details.drawer > summary`, chromedp.ByQuery), chromedp.WaitVisible(`details.drawer .run`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll("details.drawer .run details").forEach(d => d.open = true)`, nil))
		c.shot(fmt.Sprintf("%d-todos-drawer", width))
		c.checkLayout("My todos, drawer open", width)
	}
	c.run("forget every cookie", network.ClearBrowserCookies())
	c.run("screen width", chromedp.EmulateViewport(1400, 900))
	c.checkPage(idp+"/login", "1400-idp-sign-in", 1400)
	c.run("sign in as the admin", chromedp.Navigate(idp+"/login?next=/admin/connections"), chromedp.WaitVisible(`input[name=password]`),
		chromedp.SetValue(`input[name=email]`, "admin@tables.fake"), chromedp.SetValue(`input[name=password]`, demo.Password),
		chromedp.Submit(`input[name=password]`), chromedp.WaitVisible(`.tabs`))
	for _, width := range []int{1400, 390} {
		c.run("screen width", chromedp.EmulateViewport(int64(width), 900))
		for _, p := range admin {
			c.checkPage(p.url, fmt.Sprintf("%d-%s", width, p.name), width)
		}
	}
}

// TestBrowserConsoleLive: a presenter opens a step of a run and its Checks
// tab, and pins the run; new runs then arrive live without closing either,
// and the pinned run stays listed when five newer ones have pushed it off.
func TestBrowserConsoleLive(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	wiki := s.topology.Wiki
	c.signIn(wiki, "bob@tables.fake")
	c.run("a full chain", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#todos`))
	c.run("open the console", chromedp.Navigate(wiki+"/debug"), chromedp.WaitVisible(`.run details[open] .step`, chromedp.ByQuery))
	var runID string
	c.run("the run's id", chromedp.AttributeValue(`.run`, "id", &runID, nil, chromedp.ByQuery))
	runID = strings.TrimPrefix(runID, "run-")
	step := "#step-" + runID + "-2"
	c.run("open its second step, on Checks, and pin the run",
		chromedp.Click(step+" > summary", chromedp.ByQuery),
		chromedp.Click(`label[for="t-`+runID+`-2-chk"]`, chromedp.ByQuery),
		chromedp.Click(`#run-`+runID+` button[data-pin]`, chromedp.ByQuery),
		chromedp.WaitVisible(step+` .panel-chk`, chromedp.ByQuery))
	c.shot("before-live-update")

	count := func() int {
		var n int
		c.run("count runs", chromedp.Evaluate(`document.querySelectorAll("#runs .run").length`, &n))
		return n
	}
	for i := range 6 {
		before := count()
		c.run("a run in the background", chromedp.Evaluate(`fetch("/todos").then(r => r.status)`, nil, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}))
		want := min(before+1, 6) // five shown, and the pinned one
		deadline := time.Now().Add(10 * time.Second)
		for count() < want && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // waiting for the live update, not for time to pass
		}
		if got := count(); got < want {
			t.Fatalf("update %d: %d runs shown, want %d: the live update did not arrive", i+1, got, want)
		}
	}
	c.shot("after-live-updates")
	var stillOpen, onChecks bool
	var pinned string
	c.run("read the presenter's view",
		chromedp.Evaluate(`(document.querySelector("#d-`+runID+`") || {}).open === true && (document.querySelector("`+step+`") || {}).open === true`, &stillOpen),
		chromedp.Evaluate(`(document.getElementById("t-`+runID+`-2-chk") || {}).checked === true`, &onChecks),
		chromedp.Evaluate(`(document.querySelector("#run-`+runID+` button[data-pin]") || {textContent: "gone"}).textContent`, &pinned))
	if !stillOpen || !onChecks {
		t.Errorf("after live updates the opened step is open=%v and on its Checks=%v, want both", stillOpen, onChecks)
	}
	if pinned != "Pinned" {
		t.Errorf("the pinned run, pushed off by five newer ones, shows %q, want it kept and marked Pinned", pinned)
	}
}

// TestBrowserPresenterPath: the presenter's path in one browser. Bob sees
// his todos; the presenter opens the IdP's admin console (Bob is no admin:
// the page offers to switch), signs in as the admin and disables Wiki →
// Todo; the IdP's Shared Signals event ends Bob's held token at once, and
// the wiki says in plain words that access is not allowed.
func TestBrowserPresenterPath(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	wiki, idp := s.topology.Wiki, s.topology.IdP
	c.signIn(wiki, "bob@tables.fake")
	c.run("open My todos", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#held-token`, chromedp.ByQuery))
	c.shot("my-todos-held-token")

	c.run("open the admin console as Bob", chromedp.Navigate(idp+"/admin/connections"), chromedp.WaitVisible(`main form button`, chromedp.ByQuery))
	c.shot("not-an-admin")
	c.run("switch to the admin", chromedp.Click(`main form button`, chromedp.ByQuery), chromedp.WaitVisible(`input[name=password]`, chromedp.ByQuery),
		chromedp.SetValue(`input[name=email]`, "admin@tables.fake", chromedp.ByQuery), chromedp.SetValue(`input[name=password]`, demo.Password, chromedp.ByQuery),
		chromedp.Submit(`input[name=password]`, chromedp.ByQuery), chromedp.WaitVisible(`#connection-1`, chromedp.ByQuery))
	c.run("disable Wiki → Todo", chromedp.Click(`#connection-1 .spread form button`, chromedp.ByQuery), chromedp.WaitVisible(`.alert.ok`, chromedp.ByQuery))
	c.shot("connection-disabled")
	if flash := c.text(`.alert.ok`); !strings.Contains(flash, "Wiki → Todo is disabled") {
		t.Errorf("the admin console says %q", flash)
	}

	// The IdP's Shared Signals event ended Bob's held token at once.
	c.run("My todos after the admin's change", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#todo-problem`, chromedp.ByQuery))
	c.shot("refused-plainly")
	if msg := c.text(`#todo-problem`); !strings.Contains(msg, "Access to the todo app is not allowed") || !strings.Contains(msg, "administrator") ||
		!strings.Contains(msg, "told the todo app that your access ended") {
		t.Errorf("after the admin disabled the connection, the wiki says %q", msg)
	}
}

// TestBrowserAgentRun: with the console open, Bob runs agent todos in a
// terminal; the run arrives live, open, with the agent as the leftmost
// party talking to the IdP, the todo AS and the todo app.
func TestBrowserAgentRun(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	wiki := s.topology.Wiki
	c.signIn(wiki, "bob@tables.fake")
	c.run("open the console", chromedp.Navigate(wiki+"/debug"), chromedp.WaitReady(`body`))

	home := t.TempDir()
	signedIn(t, s, home, "bob@tables.fake")
	env := map[string]string{"IDP_ISSUER": s.topology.IdP, "TODO_MCP_URL": s.topology.TodoMCP(), "AGENT_HOME": home, "AGENT_CONSOLE_URL": wiki}
	if err := cli.Run(t.Context(), []string{"todos"}, func(k string) string { return env[k] }, io.Discard); err != nil {
		t.Fatalf("agent todos: %v", err)
	}
	c.run("the agent's run arrives", chromedp.WaitVisible(`.run details[open] .step`, chromedp.ByQuery))
	title := c.text(`.run h2`)
	diagram := c.text(`.run .sequence`)
	c.shot("agent-run")
	if title != "Agent: list todos" {
		t.Errorf("the newest run is %q, not the agent's", title)
	}
	for _, want := range []string{"Agent (MCP client)", "IdP", "Todo AS", "Todo API", "Token exchange", "agent login gave the agent its ID token", "MCP tools/call list_todos", "Protected resource metadata"} {
		if !strings.Contains(diagram, want) {
			t.Errorf("the agent run's diagram lacks %q: %s", want, diagram)
		}
	}
}

// TestBrowserSAMLSignIn: a tables.fake3 person signs in to the wiki in
// Chromium through SAML: the IdP's page posts the signed response by
// itself (a script from /static: the pages allow no inline script), the
// wiki AS checks it, and My todos works through the SAML path.
func TestBrowserSAMLSignIn(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	c.watchCSP()
	wiki := s.topology.Wiki
	c.signIn(wiki, "foo@tables.fake3")
	if who := c.text(`.who`); !strings.Contains(who, "Foo Tables") {
		t.Fatalf("signed in as %q", who)
	}
	c.run("My todos", chromedp.Navigate(wiki+"/todos"), chromedp.WaitVisible(`#held-token`, chromedp.ByQuery))
	c.shot("saml-my-todos")
	if list := c.text(`#todos`); !strings.Contains(list, demo.FooTodos[0]) {
		t.Errorf("foo's todos through SAML: %q", list)
	}
	var violations []string
	c.run("CSP", chromedp.Evaluate(`window.__csp || []`, &violations))
	if len(violations) > 0 {
		t.Errorf("CSP violations on the way: %v", violations)
	}
}

// TestBrowserProvisioning: the admin, in the IdP's console, switches SCIM
// provisioning to the todo AS on and adds a person with the form; the
// Provisioning tab lists the pushes, each pushed.
func TestBrowserProvisioning(t *testing.T) {
	s := startStack(t, sqliteDB)
	c := newChrome(t)
	idp := s.topology.IdP
	c.run("sign in as the admin", chromedp.Navigate(idp+"/admin/provisioning"), chromedp.WaitVisible(`input[name=password]`, chromedp.ByQuery),
		chromedp.SetValue(`input[name=email]`, "admin@tables.fake", chromedp.ByQuery), chromedp.SetValue(`input[name=password]`, demo.Password, chromedp.ByQuery),
		chromedp.Submit(`input[name=password]`, chromedp.ByQuery), chromedp.WaitVisible(`#provisioning-1`, chromedp.ByQuery))
	c.shot("provisioning-off")
	c.run("switch provisioning on", chromedp.Click(`#provisioning-1 button[value=enable]`, chromedp.ByQuery), chromedp.WaitVisible(`.alert.ok`, chromedp.ByQuery))
	if flash := c.text(`.alert.ok`); !strings.Contains(flash, "Provisioning to Todo AS is on") {
		t.Errorf("the console says %q", flash)
	}
	c.run("add a person", chromedp.Navigate(idp+"/admin/users"), chromedp.WaitVisible(`#add-person`, chromedp.ByQuery),
		chromedp.Click(`details summary`, chromedp.ByQuery),
		chromedp.SetValue(`#add-person input[name=name]`, "Zoe Tables", chromedp.ByQuery),
		chromedp.SetValue(`#add-person input[name=email]`, "zoe@tables.fake", chromedp.ByQuery),
		chromedp.SetValue(`#add-person input[name=password]`, demo.Password, chromedp.ByQuery))
	c.shot("add-a-person")
	c.run("submit", chromedp.Submit(`#add-person input[name=password]`, chromedp.ByQuery), chromedp.WaitVisible(`.alert.ok`, chromedp.ByQuery))
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.run("open the pushes", chromedp.Navigate(idp+"/admin/provisioning"), chromedp.WaitVisible(`#pushes`, chromedp.ByQuery))
		list := c.text(`#pushes`)
		if strings.Contains(list, "zoe@tables.fake") && strings.Count(list, "\npushed") == strings.Count(list, "→") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pushes did not all go through:\n%s", list)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.shot("pushes")
}
