package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"xaa.example/shared/demo"
)

// TestChipsInOneCall: a page that links to several todos, one of them
// twice and one not Bob's, shows each as a chip after one call to the todo
// API (it made one call per link, up to 20, one after the other).
func TestChipsInOneCall(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var apiCalls []string
	s := startStack(t, sqliteDB, func(c *configs) {
		c.wrap["todo"] = func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/api/") {
					mu.Lock()
					apiCalls = append(apiCalls, r.Method+" "+r.URL.RequestURI())
					mu.Unlock()
				}
				h.ServeHTTP(w, r)
			})
		}
	})
	b := newBrowser(t)
	b.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	todo := s.topology.Todo + "/todos/"
	body := "First " + todo + "1, then [the second](" + todo + "2), " + todo + "3 and " + todo + "1 again; not ours: " + todo + "999."
	mu.Lock()
	apiCalls = nil
	mu.Unlock()
	page := b.post(s.topology.Wiki+"/pages", map[string]string{"title": "Many links", "body": body, "action": "preview"})
	mu.Lock()
	calls := append([]string(nil), apiCalls...)
	mu.Unlock()
	if len(calls) != 1 || !strings.HasPrefix(calls[0], "GET /api/todos?ids=") {
		t.Errorf("the preview made %d calls to the todo API, want one list call: %v", len(calls), calls)
	}
	for _, want := range []string{`data-todo="1"`, `data-todo="2"`, `data-todo="3"`, demo.BobTodos[0], demo.BobTodos[1], `chip chip-missing`, "Todo #999"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the preview lacks %q", want)
		}
	}
	if n := strings.Count(page.Body, `data-todo="1"`); n != 2 {
		t.Errorf("todo 1 is linked twice and shown %d times as a chip", n)
	}
}
