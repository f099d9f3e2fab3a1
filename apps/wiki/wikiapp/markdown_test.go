package wikiapp

import (
	"context"
	"strings"
	"testing"

	"xaa.example/shared/signin"
)

// TestRenderMarkdown: what goldmark and the sanitiser make of page bodies
// without todo links (chips are the e2e tests' part).
func TestRenderMarkdown(t *testing.T) {
	a := &App{todoLinks: todoLinksIn("http://todo.invalid")}
	for _, tt := range []struct{ name, in, want, not string }{
		{name: "bare localhost URL", in: "see http://localhost:3001/todos/1.", want: `<a href="http://localhost:3001/todos/1" rel="nofollow">http://localhost:3001/todos/1</a>.`},
		{name: "bare IP URL", in: "http://127.0.0.1:8080/todos/2", want: `href="http://127.0.0.1:8080/todos/2"`},
		{name: "explicit link", in: "[the plan](http://localhost:3001/todos/3)", want: `href="http://localhost:3001/todos/3"`},
		{name: "javascript URL removed", in: "[x](javascript:alert(1))", not: "javascript:"},
		{name: "table", in: "| a | b |\n|---|---|\n| 1 | 2 |", want: "<table>"},
		{name: "task list", in: "- [x] done\n- [ ] open", want: `type="checkbox"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := a.renderPage(context.Background(), signin.User{}, tt.in)
			if problem != nil {
				t.Fatal(problem)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("got %s\nwant it to contain %s", got, tt.want)
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("got %s\nwhich contains %s", got, tt.not)
			}
		})
	}
}

// TestSanitizer tests the sanitiser itself, with HTML goldmark would never
// let through (it drops raw HTML): the policy must hold on its own, and let
// through the chips' markup and nothing like it.
func TestSanitizer(t *testing.T) {
	for _, tt := range []struct{ name, in, want, not string }{
		{name: "script", in: `hi <script>alert(1)</script>`, not: "<script"},
		{name: "event handler", in: `<img src="x" onerror="alert(1)">`, not: "onerror"},
		{name: "javascript href", in: `<a href="javascript:alert(1)">x</a>`, not: "javascript:"},
		{name: "iframe", in: `<iframe src="https://evil.example"></iframe>`, not: "<iframe"},
		{name: "style attribute", in: `<p style="position:fixed">x</p>`, not: "style="},
		{name: "form", in: `<form action="https://evil.example"><input name="p"></form>`, not: "<form"},
		{name: "a chip", in: `<a class="chip chip-done" href="http://localhost:3001/todos/1" data-todo="1"><span class="chip-dot" aria-hidden="true"></span><span class="chip-title">x</span></a>`,
			want: `<a class="chip chip-done" href="http://localhost:3001/todos/1" data-todo="1" rel="nofollow"><span class="chip-dot" aria-hidden="true"></span><span class="chip-title">x</span></a>`},
		{name: "another class on a link", in: `<a class="button danger" href="/x">x</a>`, not: "class="},
		{name: "a chip class on another element", in: `<div class="chip">x</div>`, not: "class="},
		{name: "a data-todo that is not a number", in: `<a data-todo="1 onclick=x" href="/x">x</a>`, not: "data-todo"},
		{name: "aria-hidden false", in: `<span aria-hidden="false">x</span>`, not: "aria-hidden"},
		{name: "a text input", in: `<input type="text" name="password">`, not: "<input"},
		{name: "a task box", in: `<input checked="" disabled="" type="checkbox">`, want: `<input checked="" disabled="" type="checkbox">`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := sanitizer.Sanitize(tt.in)
			if tt.want != "" && got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if tt.not != "" && strings.Contains(got, tt.not) {
				t.Errorf("got %s\nwhich contains %s", got, tt.not)
			}
		})
	}
}
