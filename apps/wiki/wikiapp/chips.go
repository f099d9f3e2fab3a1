package wikiapp

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strconv"

	"xaa.example/shared/signin"
)

// A link to a todo, http://localhost:3001/todos/42, in a page is shown as a
// chip with the todo's title and status, fetched through Cross App Access
// for the person reading the page: each reader sees only their own todos.

// maxChips bounds the API calls one page view makes.
const maxChips = 20

// chip is one todo link and what the API said about it.
type chip struct {
	ID      uint64
	URL     string
	Title   string
	Done    bool
	Missing bool // not found, or not the reader's
}

// todoLinksIn returns what finds the links to the todo app's todos in
// sanitised page HTML; App.todoLinks keeps it, compiled once.
func todoLinksIn(todoAppURL string) *regexp.Regexp {
	return regexp.MustCompile(`<a href="(` + regexp.QuoteMeta(todoAppURL) + `/todos/(\d+))"[^>]*>.*?</a>`)
}

// withChips replaces the todo links of a rendered page with chips. When the
// chain fails, the links stay links and the problem is returned to show.
func (a *App) withChips(ctx context.Context, user signin.User, page string) (string, *chainProblem) {
	matches := a.todoLinks.FindAllStringSubmatch(page, -1)
	if len(matches) == 0 {
		return page, nil
	}
	ctx, run := a.cfg.Recorder.Start(ctx, "Todo links in a page", owner(user))
	chips := map[uint64]*chip{}
	var problem *chainProblem
	for _, m := range matches {
		id, err := strconv.ParseUint(m[2], 10, 32)
		if err != nil || chips[id] != nil || len(chips) >= maxChips || problem != nil {
			continue
		}
		c := &chip{ID: id, URL: m[1]}
		var t todoItem
		_, p := a.callTodoAPI(ctx, user, readScope, "GET", "/todos/"+m[2], nil, &t)
		switch {
		case p == nil:
			c.Title, c.Done = t.Title, t.Done
		case p.NotFound:
			c.Missing = true
		default:
			problem = p
			continue
		}
		chips[id] = c
	}
	finish(run, problem, fmt.Sprintf("%d todo links shown as chips.", len(chips)))
	out := a.todoLinks.ReplaceAllStringFunc(page, func(link string) string {
		id, _ := strconv.ParseUint(a.todoLinks.FindStringSubmatch(link)[2], 10, 32)
		c := chips[id]
		if c == nil {
			return link
		}
		return c.html()
	})
	return out, problem
}

// html renders the chip; the title is escaped, as it comes from the API.
func (c *chip) html() string {
	status, class, title := "open", "chip", html.EscapeString(c.Title)
	switch {
	case c.Missing:
		status, class, title = "not in your list", "chip chip-missing", fmt.Sprintf("Todo #%d", c.ID)
	case c.Done:
		status, class = "done", "chip chip-done"
	}
	return fmt.Sprintf(`<a class="%s" href="%s" data-todo="%d"><span class="chip-dot" aria-hidden="true"></span><span class="chip-title">%s</span><span class="chip-status">%s</span></a>`,
		class, html.EscapeString(c.URL), c.ID, title, status)
}
