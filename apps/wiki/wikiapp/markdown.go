package wikiapp

import (
	"bytes"
	"regexp"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders page bodies: GitHub-flavoured tables, strikethrough and
// task lists, and bare URLs made links, including hosts without a dotted
// domain such as http://localhost:3001/todos/1 (goldmark's default needs one).
var markdown = goldmark.New(goldmark.WithExtensions(
	extension.Table, extension.Strikethrough, extension.TaskList,
	extension.NewLinkify(extension.WithLinkifyURLRegexp(bareURL)),
))

var bareURL = regexp.MustCompile(`^(?:http|https)://[-a-zA-Z0-9@:%._+~#=]{1,256}(?::\d+)?(?:[/#?][-a-zA-Z0-9@:%_+.~#$!?&/=();,'^{}\[\]]*)?`)

// sanitizer keeps only safe HTML: whatever a page author writes, no script,
// event handler or javascript: URL reaches a reader.
var sanitizer = bluemonday.UGCPolicy()

// renderMarkdown turns Markdown into sanitised HTML.
func renderMarkdown(src string) string {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(src), &buf); err != nil {
		return sanitizer.Sanitize(src)
	}
	return sanitizer.Sanitize(buf.String())
}
