package wikiapp

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/signin"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

func (a *App) render(c *gin.Context, status int, title string, body templComponent) {
	m := a.meta(c)
	m.Title = title
	web.Render(c, status, web.Layout(m, body))
}

// logout forgets the access tokens held for the user, ends the wiki's
// session, and ends the session at the wiki's authorization server.
func (a *App) logout(c *gin.Context) {
	if u, ok := a.signin.User(c.Request.Context()); ok {
		if err := a.store.forgetAccessTokens(c.Request.Context(), u.Subject); err != nil {
			a.cfg.Log.Error("forget access tokens", "err", err)
		}
	}
	a.signin.Logout(c.Writer, c.Request, a.cfg.BaseURL+"/")
}

func (a *App) home(c *gin.Context) {
	if _, ok := a.signin.User(c.Request.Context()); !ok {
		a.render(c, http.StatusOK, "Welcome", landingPage())
		return
	}
	pages, err := a.store.pages(c.Request.Context())
	if err != nil {
		a.cfg.Log.Error("list pages", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Pages unavailable", "The pages could not be loaded. Try again in a moment.")
		return
	}
	a.render(c, http.StatusOK, "Pages", pagesPage(pages))
}

func (a *App) showPage(c *gin.Context) {
	p, err := a.store.page(c.Request.Context(), c.Param("slug"))
	if errors.Is(err, storage.ErrNotFound) {
		web.RenderError(c, http.StatusNotFound, "No such page", "There is no page at this address yet.")
		return
	}
	if err != nil {
		a.cfg.Log.Error("load page", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Page unavailable", "The page could not be loaded.")
		return
	}
	body, err := a.renderPage(c.Request.Context(), web.SignedIn[signin.User](c), p.Body)
	a.render(c, http.StatusOK, p.Title, pageView(*p, body, problemOf(err)))
}

func (a *App) newPage(c *gin.Context) {
	a.render(c, http.StatusOK, "New page", editForm(pageForm{Action: "/pages"}, a.cfg.TodoAppURL))
}

func (a *App) editPage(c *gin.Context) {
	p, err := a.store.page(c.Request.Context(), c.Param("slug"))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such page", "There is no page at this address to edit.")
		return
	}
	a.render(c, http.StatusOK, "Edit "+p.Title, editForm(pageForm{Action: "/pages/" + p.Slug, Title: p.Title, Body: p.Body, Editing: true}, a.cfg.TodoAppURL))
}

// Limits of a page.
const (
	maxTitle = 200
	maxBody  = 100_000
)

func readPageForm(c *gin.Context, action string) (pageForm, bool) {
	f := pageForm{Action: action, Title: strings.TrimSpace(c.PostForm("title")), Body: c.PostForm("body")}
	switch {
	case f.Title == "":
		f.Problem = "A page needs a title."
	case len(f.Title) > maxTitle:
		f.Problem = "The title is too long: keep it under 200 characters."
	case len(f.Body) > maxBody:
		f.Problem = "The page is too long: keep it under 100,000 characters."
	}
	return f, f.Problem == ""
}

// preview re-shows the form with the text rendered as it will be; nothing
// is saved.
func (a *App) preview(c *gin.Context, f pageForm, title string) bool {
	if c.PostForm("action") != "preview" {
		return false
	}
	f.Preview, _ = a.renderPage(c.Request.Context(), web.SignedIn[signin.User](c), f.Body)
	a.render(c, http.StatusOK, title, editForm(f, a.cfg.TodoAppURL))
	return true
}

func (a *App) createPage(c *gin.Context) {
	f, ok := readPageForm(c, "/pages")
	if a.preview(c, f, "New page") {
		return
	}
	if !ok {
		a.render(c, http.StatusBadRequest, "New page", editForm(f, a.cfg.TodoAppURL))
		return
	}
	p := &Page{Slug: slugify(f.Title), Title: f.Title, Body: f.Body, Author: web.SignedIn[signin.User](c).Name}
	err := a.store.createPage(c.Request.Context(), p)
	if errors.Is(err, storage.ErrAlreadyExists) {
		f.Problem = "A page with this title already exists. Choose another title."
		a.render(c, http.StatusConflict, "New page", editForm(f, a.cfg.TodoAppURL))
		return
	}
	if err != nil {
		a.cfg.Log.Error("create page", "err", err)
		f.Problem = "The page could not be saved. Try again; your text is still here."
		a.render(c, http.StatusInternalServerError, "New page", editForm(f, a.cfg.TodoAppURL))
		return
	}
	c.Redirect(http.StatusSeeOther, "/pages/"+p.Slug)
}

func (a *App) updatePage(c *gin.Context) {
	p, err := a.store.page(c.Request.Context(), c.Param("slug"))
	if err != nil {
		web.RenderError(c, http.StatusNotFound, "No such page", "There is no page at this address to save.")
		return
	}
	f, ok := readPageForm(c, "/pages/"+p.Slug)
	f.Editing = true
	if a.preview(c, f, "Edit "+p.Title) {
		return
	}
	if !ok {
		a.render(c, http.StatusBadRequest, "Edit "+p.Title, editForm(f, a.cfg.TodoAppURL))
		return
	}
	p.Title, p.Body, p.Author = f.Title, f.Body, web.SignedIn[signin.User](c).Name
	if err := a.store.updatePage(c.Request.Context(), p); err != nil {
		a.cfg.Log.Error("update page", "err", err)
		f.Problem = "The page could not be saved. Try again; your text is still here."
		a.render(c, http.StatusInternalServerError, "Edit "+p.Title, editForm(f, a.cfg.TodoAppURL))
		return
	}
	c.Redirect(http.StatusSeeOther, "/pages/"+p.Slug)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(title string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if s == "" {
		s = "page"
	}
	if len(s) > 80 {
		s = strings.TrimRight(s[:80], "-")
	}
	return s
}

func (a *App) myTodos(c *gin.Context) {
	user := web.SignedIn[signin.User](c)
	list, used, err := a.fetchTodos(c.Request.Context(), user)
	problem := problemOf(err)
	v := todosView{List: list, Token: used, Problem: problem, TodoURL: a.cfg.TodoAppURL, Hint: user.Email, Added: c.Query("added"), Forgot: c.Query("forgot") != ""}
	if problem != nil {
		v.List = nil
		a.cfg.Log.Warn("todo chain failed", "problem", problem.Title, "detail", problem.Detail)
		a.render(c, problem.status(), "My todos", todosPage(v))
		return
	}
	a.render(c, http.StatusOK, "My todos", todosPage(v))
}

// addTodoFromWiki creates a todo in the todo app, through Cross App Access
// with the todos.write scope. Refused for want of that scope, the page
// says so and keeps showing the list, which reading still allows.
func (a *App) addTodoFromWiki(c *gin.Context) {
	ctx, user := c.Request.Context(), web.SignedIn[signin.User](c)
	title := strings.TrimSpace(c.PostForm("title"))
	if title == "" || len(title) > 500 {
		list, used, _ := a.fetchTodos(ctx, user)
		a.render(c, http.StatusBadRequest, "My todos", todosPage(todosView{List: list, Token: used, TodoURL: a.cfg.TodoAppURL, Hint: user.Email,
			Problem: &chainProblem{Title: "Not added", Message: "A todo needs a title of 1 to 500 characters."}, Title: title}))
		return
	}
	created, run, err := a.addTodo(ctx, user, title)
	if problem := problemOf(err); problem != nil && problem.StepUp != nil {
		// The IdP asks the person to confirm it is them (step-up): keep
		// the todo and the run, send them to sign in as it asked, and
		// finish both when they come back (continueAdd).
		a.sessions.Put(ctx, keyPendingTitle, title)
		a.sessions.Put(ctx, keyPendingRun, run.ID)
		a.signin.StepUp(c.Writer, c.Request, pathContinueAdd, *problem.StepUp)
		return
	}
	if problem := problemOf(err); problem != nil {
		a.cfg.Log.Warn("add todo failed", "problem", problem.Title, "detail", problem.Detail)
		v := todosView{Problem: problem, TodoURL: a.cfg.TodoAppURL, Hint: user.Email, Title: title}
		if problem.ScopeDenied {
			if list, used, err := a.fetchTodos(ctx, user); err == nil {
				v.List, v.Token = list, used
			}
		}
		a.render(c, http.StatusForbidden, "My todos", todosPage(v))
		return
	}
	c.Redirect(http.StatusSeeOther, "/todos?added="+strconv.FormatUint(uint64(created.ID), 10))
}

// A todo waiting for the person's step-up sign-in, and its run.
const (
	keyPendingTitle = "stepup.title"
	keyPendingRun   = "stepup.run"
	pathContinueAdd = "/todos/continue"
)

// continueAdd finishes a todo added before a step-up sign-in: in the same
// run, the chain once more with the new sign-in, then the todo. A second
// refusal is shown, not asked again: the wiki retries once.
func (a *App) continueAdd(c *gin.Context) {
	ctx, user := c.Request.Context(), web.SignedIn[signin.User](c)
	title, runID := a.sessions.PopString(ctx, keyPendingTitle), a.sessions.PopString(ctx, keyPendingRun)
	if title == "" {
		c.Redirect(http.StatusSeeOther, "/todos")
		return
	}
	runCtx, run, ok := a.cfg.Recorder.Resume(ctx, runID, owner(user))
	if !ok {
		runCtx, run = a.cfg.Recorder.Start(ctx, "Add a todo", owner(user))
	}
	created, err := a.addTodoIn(runCtx, run, user, title,
		"The identity provider first refused the exchange (insufficient_user_authentication); you signed in again as it asked, and the wiki asked once more, in this same run. ")
	if problem := problemOf(err); problem != nil {
		if problem.StepUp != nil {
			problem.Message = "You signed in again, and your identity provider still asks for " + problem.StepUp.Words() +
				". The wiki asked once more and stops here: sign in with what it asks for, then add the todo again."
			finish(run, problem, "")
		}
		a.cfg.Log.Warn("add todo after step-up failed", "problem", problem.Title, "detail", problem.Detail)
		a.render(c, http.StatusForbidden, "My todos", todosPage(todosView{Problem: problem, TodoURL: a.cfg.TodoAppURL, Hint: user.Email, Title: title}))
		return
	}
	c.Redirect(http.StatusSeeOther, "/todos?added="+strconv.FormatUint(uint64(created.ID), 10))
}

// forgetToken drops the access token the wiki holds for the person, so
// that the next page runs the chain again and meets the administrator's
// current settings at once.
func (a *App) forgetToken(c *gin.Context) {
	if err := a.store.forgetAccessToken(c.Request.Context(), web.SignedIn[signin.User](c).Subject, a.cfg.TodoResource); err != nil {
		a.cfg.Log.Error("forget access token", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Not forgotten", "The access token could not be forgotten. Try again in a moment.")
		return
	}
	c.Redirect(http.StatusSeeOther, "/todos?forgot=1")
}
