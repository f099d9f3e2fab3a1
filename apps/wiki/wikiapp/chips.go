package wikiapp

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"xaa.example/shared/signin"
)

// A link to a todo, http://localhost:3001/todos/42, in a page is shown as a
// chip with the todo's title and status, fetched through Cross App Access
// for the person reading the page: each reader sees only their own todos.
// The links are found in the Markdown's syntax tree, all the page's todos
// come in one API call, and each chip is a templ component (todoChip)
// rendered where the link was.

// maxChips bounds the todos one page view asks for.
const maxChips = 20

// chip is one todo link and what the API said about it.
type chip struct {
	ID      uint64
	URL     string
	Title   string
	Done    bool
	Missing bool // not found, or not the reader's
}

func (c chip) class() string {
	switch {
	case c.Missing:
		return "chip chip-missing"
	case c.Done:
		return "chip chip-done"
	}
	return "chip"
}

func (c chip) status() string {
	switch {
	case c.Missing:
		return "not in your list"
	case c.Done:
		return "done"
	}
	return "open"
}

func (c chip) title() string {
	if c.Missing {
		return fmt.Sprintf("Todo #%d", c.ID)
	}
	return c.Title
}

// todoLinksIn matches the address of one of the todo app's todos;
// App.todoLinks keeps it, compiled once.
func todoLinksIn(todoAppURL string) *regexp.Regexp {
	return regexp.MustCompile(`^` + regexp.QuoteMeta(todoAppURL) + `/todos/(\d+)$`)
}

// kindChip is the syntax-tree node a todo link becomes.
var kindChip = ast.NewNodeKind("TodoChip")

type chipNode struct {
	ast.BaseInline
	chip *chip
}

func (n *chipNode) Kind() ast.NodeKind { return kindChip }

func (n *chipNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"ID": strconv.FormatUint(n.chip.ID, 10)}, nil)
}

// chipRenderer renders chip nodes with the templ component.
type chipRenderer struct{ ctx context.Context }

func (r chipRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindChip, func(w util.BufWriter, _ []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			if err := todoChip(*n.(*chipNode).chip).Render(r.ctx, w); err != nil {
				return ast.WalkStop, err
			}
		}
		return ast.WalkSkipChildren, nil
	})
}

// renderPage turns a page's Markdown into sanitised HTML for user, its
// links to their todos as chips. When the chain fails, the links stay
// links and the problem is returned to show.
func (a *App) renderPage(ctx context.Context, user signin.User, src string) (string, error) {
	source := []byte(src)
	md := newMarkdown(renderer.WithNodeRenderers(util.Prioritized(chipRenderer{ctx}, 100)))
	doc := md.Parser().Parse(text.NewReader(source))

	// The todo links, in the order they stand.
	type found struct {
		link ast.Node
		chip *chip
	}
	var links []found
	chips := map[uint64]*chip{}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		var dest string
		switch l := n.(type) {
		case *ast.Link:
			dest = string(l.Destination)
		case *ast.AutoLink:
			dest = string(l.URL(source))
		default:
			return ast.WalkContinue, nil
		}
		m := a.todoLinks.FindStringSubmatch(dest)
		if m == nil {
			return ast.WalkSkipChildren, nil
		}
		id, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil {
			return ast.WalkSkipChildren, nil
		}
		c := chips[id]
		if c == nil && len(chips) < maxChips {
			c = &chip{ID: id, URL: dest, Missing: true}
			chips[id] = c
		}
		if c != nil {
			links = append(links, found{n, c})
		}
		return ast.WalkSkipChildren, nil
	})

	var problem error
	if len(chips) > 0 {
		problem = a.fetchChips(ctx, user, chips)
		if problem == nil {
			for _, l := range links {
				l.link.Parent().ReplaceChild(l.link.Parent(), l.link, &chipNode{chip: l.chip})
			}
		}
	}
	var buf bytes.Buffer
	if err := md.Renderer().Render(&buf, source, doc); err != nil {
		return sanitizer.Sanitize(src), problem
	}
	return sanitizer.Sanitize(buf.String()), problem
}

// fetchChips asks the todo API for all the page's todos at once; those it
// does not return stay missing (not the reader's, or gone).
func (a *App) fetchChips(ctx context.Context, user signin.User, chips map[uint64]*chip) error {
	ctx, run := a.cfg.Recorder.Start(ctx, "Todo links in a page", owner(user))
	ids := make([]string, 0, len(chips))
	for id := range chips {
		ids = append(ids, strconv.FormatUint(id, 10))
	}
	var list struct {
		Todos []todoItem `json:"todos"`
	}
	_, problem := a.callTodoAPI(ctx, user, readScope, "GET", "/todos?"+url.Values{"ids": {strings.Join(ids, ",")}}.Encode(), nil, &list)
	if problem == nil {
		for _, t := range list.Todos {
			if c := chips[uint64(t.ID)]; c != nil {
				c.Title, c.Done, c.Missing = t.Title, t.Done, false
			}
		}
	}
	finish(run, problem, fmt.Sprintf("%d todo links shown as chips, from one call to the todo API.", len(chips)))
	return problem
}
