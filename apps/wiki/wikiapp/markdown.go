package wikiapp

import (
	"bytes"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders page bodies; GitHub-flavoured tables, strikethrough and
// autolinks included.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

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
