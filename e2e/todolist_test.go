package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"xaa.example/apps/todo/todoapp"
	"xaa.example/shared/demo"
)

// TestLongTodoList: with 5,000 todos more in bob's list, the API answers in
// pages (limit and cursor) that together hold every todo once, in order;
// bad paging input is a clear 400; the wiki shows the first page and the
// count; the todo app pages its list. Nothing a person can add breaks a page.
func TestLongTodoList(t *testing.T) {
	t.Parallel()
	// The test calls the API with the wiki's held token as a bearer token,
	// so the wiki runs without DPoP (TestWikiChainWithDPoP covers it).
	s := startStack(t, sqliteDB, func(c *configs) { c.wiki.DPoP = false })
	const extra = 5000
	rows := make([]todoapp.Todo, extra)
	for i := range rows {
		rows[i] = todoapp.Todo{OwnerID: demo.AccountID("bob@tables.fake"), Title: fmt.Sprintf("Task %04d %s", i, strings.Repeat("x", 400)), Done: i%3 == 0}
	}
	if err := s.dbs["todo"].CreateInBatches(rows, 500).Error; err != nil {
		t.Fatal(err)
	}
	total := extra + len(demo.BobTodos)

	bob := newBrowser(t)
	bob.signIn(s.topology.Wiki, "bob@tables.fake", demo.Password)
	page := bob.get(s.topology.Wiki + "/todos")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, fmt.Sprintf("open of %d", total)) || !strings.Contains(page.Body, "see them all in the todo app") {
		t.Fatalf("My todos with %d todos: %d:\n%.2000s", total, page.Status, page.Body)
	}
	if n := strings.Count(page.Body, "open in Todo"); n != 50 {
		t.Errorf("My todos shows %d todos, want the first page of 50", n)
	}

	var token string
	if err := s.dbs["wiki"].Table("access_tokens").Select("token").Row().Scan(&token); err != nil {
		t.Fatal(err)
	}
	api := func(query string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.topology.TodoAPI()+"/todos"+query, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("GET /api/todos%s: not JSON: %.200s", query, b)
		}
		return resp.StatusCode, out
	}

	seen := map[float64]bool{}
	lastDone, lastID := false, 0.0
	cursor, pages := "", 0
	for {
		status, out := api("?limit=200&cursor=" + cursor)
		if status != http.StatusOK || out["total"] != float64(total) {
			t.Fatalf("page %d: %d %v", pages, status, out["error_description"])
		}
		for _, raw := range out["todos"].([]any) {
			todo := raw.(map[string]any)
			id, done := todo["id"].(float64), todo["done"].(bool)
			if seen[id] {
				t.Fatalf("todo %v on two pages", id)
			}
			if (lastDone && !done) || (lastDone == done && id < lastID) {
				t.Fatalf("todo %v out of order (open first, then by id)", id)
			}
			seen[id], lastDone, lastID = true, done, id
		}
		pages++
		next, _ := out["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != total || pages != (total+199)/200 {
		t.Errorf("the pages held %d todos in %d pages, want %d in %d", len(seen), pages, total, (total+199)/200)
	}
	for _, bad := range []string{"?limit=0", "?limit=201", "?limit=ten", "?cursor=not-a-cursor", "?cursor=" + strings.Repeat("A", 100)} {
		if status, out := api(bad); status != http.StatusBadRequest || out["error"] != "invalid_request" || out["error_description"] == "" {
			t.Errorf("GET /api/todos%s: %d %v, want 400 invalid_request with a description", bad, status, out)
		}
	}

	bob.signIn(s.topology.Todo, "bob@tables.fake", demo.Password)
	home := bob.get(s.topology.Todo + "/")
	if !strings.Contains(home.Body, fmt.Sprintf("of %d", total)) || !strings.Contains(home.Body, "Next 50") {
		t.Fatalf("the todo app's list with %d todos does not page:\n%.2000s", total, home.Body)
	}
}
