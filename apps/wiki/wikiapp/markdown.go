package wikiapp

import (
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
)

// markdown renders page bodies: GitHub-flavoured tables, strikethrough and
// task lists, and bare URLs made links, including hosts without a dotted
// domain such as http://localhost:3001/todos/1 (goldmark's default needs one).
func newMarkdown(opts ...renderer.Option) goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(
		extension.Table, extension.Strikethrough, extension.TaskList,
		extension.NewLinkify(extension.WithLinkifyURLRegexp(bareURL)),
	), goldmark.WithRendererOptions(opts...))
}

var bareURL = regexp.MustCompile(`^(?:http|https)://[-a-zA-Z0-9@:%._+~#=]{1,256}(?::\d+)?(?:[/#?][-a-zA-Z0-9@:%_+.~#$!?&/=();,'^{}\[\]]*)?`)

// sanitizer keeps only safe HTML: whatever a page author writes, no script,
// event handler or javascript: URL reaches a reader. It lets through the
// todo chips' own markup (todoChip): their classes, the todo's number and
// aria-hidden, each matched exactly.
var sanitizer = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^(chip|chip chip-done|chip chip-missing)$`)).OnElements("a")
	p.AllowAttrs("class").Matching(regexp.MustCompile(`^chip-(dot|title|status)$`)).OnElements("span")
	p.AllowAttrs("data-todo").Matching(regexp.MustCompile(`^[0-9]{1,10}$`)).OnElements("a")
	p.AllowAttrs("aria-hidden").Matching(regexp.MustCompile(`^true$`)).OnElements("span")
	// Task lists' boxes (GitHub-flavoured Markdown): disabled checkboxes.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	return p
}()
