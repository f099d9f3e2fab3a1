package wikiapp

import (
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	for _, tt := range []struct{ name, in, want, not string }{
		{name: "bare localhost URL", in: "see http://localhost:3001/todos/1.", want: `<a href="http://localhost:3001/todos/1" rel="nofollow">http://localhost:3001/todos/1</a>.`},
		{name: "bare IP URL", in: "http://127.0.0.1:8080/todos/2", want: `href="http://127.0.0.1:8080/todos/2"`},
		{name: "explicit link", in: "[the plan](http://localhost:3001/todos/3)", want: `href="http://localhost:3001/todos/3"`},
		{name: "script removed", in: "hi <script>alert(1)</script>", not: "<script"},
		{name: "event handler removed", in: `<img src="x" onerror="alert(1)">`, not: "onerror"},
		{name: "javascript URL removed", in: "[x](javascript:alert(1))", not: "javascript:"},
		{name: "table", in: "| a | b |\n|---|---|\n| 1 | 2 |", want: "<table>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := renderMarkdown(tt.in)
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("got %s\nwant it to contain %s", got, tt.want)
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("got %s\nwhich contains %s", got, tt.not)
			}
		})
	}
}
