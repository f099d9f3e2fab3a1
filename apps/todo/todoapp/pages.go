package todoapp

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"xaa.example/shared/signin"
	"xaa.example/shared/storage"
	"xaa.example/shared/web"
)

func (a *App) render(c *gin.Context, title string, body templComponent) {
	m := a.meta(c)
	m.Title = title
	web.Render(c, http.StatusOK, web.Layout(m, body))
}

func (a *App) home(c *gin.Context) {
	u, ok := a.signin.User(c.Request.Context())
	if !ok {
		a.render(c, "Welcome", landingPage())
		return
	}
	page, err := a.store.page(c.Request.Context(), u.Subject, c.Query("after"), DefaultPageSize)
	if errors.Is(err, errBadCursor) {
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	if err != nil {
		a.cfg.Log.Error("list todos", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Tasks unavailable", "Your tasks could not be loaded. Try again in a moment.")
		return
	}
	a.render(c, "My tasks", listPage(listView{Name: u.Name, Page: page, Paged: c.Query("after") != "", Problem: c.Query("problem")}))
}

func (a *App) showTodo(c *gin.Context) {
	t, ok := a.ownedTodo(c)
	if !ok {
		return
	}
	a.render(c, t.Title, todoPage(*t, ""))
}

func (a *App) addTodo(c *gin.Context) {
	title := strings.TrimSpace(c.PostForm("title"))
	switch {
	case title == "":
		c.Redirect(http.StatusSeeOther, "/?problem=empty")
		return
	case len(title) > MaxTitle:
		c.Redirect(http.StatusSeeOther, "/?problem=long")
		return
	}
	if _, err := a.store.add(c.Request.Context(), web.SignedIn[signin.User](c).Subject, title); err != nil {
		a.cfg.Log.Error("add todo", "err", err)
		web.RenderError(c, http.StatusInternalServerError, "Task not saved", "The task could not be saved. Go back and try again.")
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}

func (a *App) toggleTodo(c *gin.Context) {
	id, ok := todoID(c)
	if !ok {
		return
	}
	if _, err := a.store.toggle(c.Request.Context(), web.SignedIn[signin.User](c).Subject, id); err != nil {
		a.storeError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, backTo(c))
}

func (a *App) renameTodo(c *gin.Context) {
	t, ok := a.ownedTodo(c)
	if !ok {
		return
	}
	title := strings.TrimSpace(c.PostForm("title"))
	if title == "" || len(title) > MaxTitle {
		a.render(c, t.Title, todoPage(*t, "A task needs a title of 1 to 500 characters."))
		return
	}
	if err := a.store.rename(c.Request.Context(), web.SignedIn[signin.User](c).Subject, t.ID, title); err != nil {
		a.storeError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, todoURL(*t))
}

func (a *App) deleteTodo(c *gin.Context) {
	id, ok := todoID(c)
	if !ok {
		return
	}
	if err := a.store.remove(c.Request.Context(), web.SignedIn[signin.User](c).Subject, id); err != nil {
		a.storeError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}

func (a *App) ownedTodo(c *gin.Context) (*Todo, bool) {
	id, ok := todoID(c)
	if !ok {
		return nil, false
	}
	t, err := a.store.get(c.Request.Context(), web.SignedIn[signin.User](c).Subject, id)
	if err != nil {
		a.storeError(c, err)
		return nil, false
	}
	return t, true
}

func (a *App) storeError(c *gin.Context, err error) {
	if errors.Is(err, storage.ErrNotFound) {
		web.RenderError(c, http.StatusNotFound, "Task not found", "There is no such task in your list. It may have been deleted.")
		return
	}
	a.cfg.Log.Error("todo store", "err", err)
	web.RenderError(c, http.StatusInternalServerError, "Something went wrong", "The task could not be updated. Try again in a moment.")
}

func todoID(c *gin.Context) (uint, bool) {
	id, err := strconv.ParseUint(c.Param("id"), 10, 32)
	if err != nil || id == 0 {
		web.RenderError(c, http.StatusNotFound, "Task not found", "That is not a task number.")
		return 0, false
	}
	return uint(id), true
}

// backTo returns to the task page when the form was sent from there.
func backTo(c *gin.Context) string {
	if next := c.PostForm("next"); strings.HasPrefix(next, "/todos/") {
		return signin.SafeReturn(next)
	}
	return "/"
}
