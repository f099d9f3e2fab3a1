package wikiapp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"xaa.example/shared/storage"
	"xaa.example/shared/storage/storagetest"
)

func openStore(t *testing.T, db *gorm.DB) *store {
	t.Helper()
	if err := migrate(db); err != nil {
		t.Fatal(err)
	}
	return &store{db: db, now: time.Now}
}

// TestPages: the welcome page is seeded once and an edit survives a
// restart; a second page with the same slug is refused, not overwritten.
func TestPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		if err := s.seed(ctx); err != nil {
			t.Fatal(err)
		}
		welcome, err := s.page(ctx, "welcome")
		if err != nil {
			t.Fatal(err)
		}
		welcome.Body, welcome.Author = "Edited.", "Alice"
		if err := s.updatePage(ctx, welcome); err != nil {
			t.Fatal(err)
		}
		if err := s.seed(ctx); err != nil {
			t.Fatalf("a second start: %v", err)
		}
		if p, _ := s.page(ctx, "welcome"); p.Body != "Edited." || p.Author != "Alice" {
			t.Errorf("a restart undid the edit: %+v", p)
		}

		if err := s.createPage(ctx, &Page{Slug: "runbook", Title: "Runbook", Body: "one"}); err != nil {
			t.Fatal(err)
		}
		err = s.createPage(ctx, &Page{Slug: "runbook", Title: "Runbook!", Body: "two"})
		if !errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("a second page at /pages/runbook: %v, want ErrAlreadyExists", err)
		}
		if p, _ := s.page(ctx, "runbook"); p.Body != "one" {
			t.Errorf("the first runbook was overwritten: %q", p.Body)
		}
		if _, err := s.page(ctx, "nowhere"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a page that is not there: %v", err)
		}
		pages, err := s.pages(ctx)
		if err != nil || len(pages) != 2 {
			t.Errorf("pages = %d, %v; want 2", len(pages), err)
		}
	})
}

// TestAccessTokensPerPersonAndResource: a token is kept for one person at
// one resource; a new one replaces it, forgetting one leaves the others.
func TestAccessTokensPerPersonAndResource(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := openStore(t, db)
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		for _, tok := range []AccessToken{
			{UserID: "bob", Resource: "todo", Token: "T1", Scope: "todos.read", ExpiresAt: exp, TokenType: "DPoP"},
			{UserID: "bob", Resource: "other", Token: "T2", ExpiresAt: exp},
			{UserID: "alice", Resource: "todo", Token: "T3", ExpiresAt: exp},
			{UserID: "bob", Resource: "todo", Token: "T4", Scope: "todos.read todos.write", Requested: "todos.read todos.write", ExpiresAt: exp, TokenType: "DPoP"},
		} {
			if err := s.saveAccessToken(ctx, &tok); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.accessToken(ctx, "bob", "todo")
		if err != nil || got.Token != "T4" || got.Scope != "todos.read todos.write" || got.TokenType != "DPoP" || !got.ExpiresAt.Equal(exp) {
			t.Fatalf("Bob's token at todo = %+v, %v; want the newer T4", got, err)
		}
		if err := s.forgetAccessToken(ctx, "bob", "todo"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.accessToken(ctx, "bob", "todo"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a forgotten token: %v", err)
		}
		if got, _ := s.accessToken(ctx, "bob", "other"); got.Token != "T2" {
			t.Error("forgetting Bob's todo token forgot his token at another resource")
		}
		if err := s.forgetAccessTokens(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.accessToken(ctx, "bob", "other"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Bob's tokens after his sign-out: %v", err)
		}
		if got, _ := s.accessToken(ctx, "alice", "todo"); got.Token != "T3" {
			t.Error("Bob's sign-out forgot Alice's token")
		}
	})
}

func TestSlugify(t *testing.T) {
	for title, want := range map[string]string{
		"Runbook":                   "runbook",
		"  Q3 Plans: Draft #2!  ":   "q3-plans-draft-2",
		"Été à Zürich":              "t-z-rich",
		"!!!":                       "page",
		strings.Repeat("ab ", 60):   strings.TrimRight(strings.Repeat("ab-", 27), "-"),
		"<script>alert(1)</script>": "script-alert-1-script",
	} {
		if got := slugify(title); got != want {
			t.Errorf("slugify(%q) = %q, want %q", title, got, want)
		}
	}
}

func TestPageFormLimits(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for _, tt := range []struct {
		title, body, problem string
	}{
		{"Runbook", "text", ""},
		{"   ", "text", "A page needs a title."},
		{strings.Repeat("t", maxTitle+1), "text", "The title is too long"},
		{"Runbook", strings.Repeat("b", maxBody+1), "The page is too long"},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		form := url.Values{"title": {tt.title}, "body": {tt.body}}
		c.Request = httptest.NewRequest(http.MethodPost, "/pages", strings.NewReader(form.Encode()))
		c.Request.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		f, ok := readPageForm(c, "/pages")
		if ok != (tt.problem == "") || !strings.HasPrefix(f.Problem, tt.problem) {
			t.Errorf("title of %d, body of %d: ok %v, problem %q; want %q", len(tt.title), len(tt.body), ok, f.Problem, tt.problem)
		}
		if f.Body != tt.body {
			t.Error("the text written was not kept for the form shown again")
		}
	}
}
