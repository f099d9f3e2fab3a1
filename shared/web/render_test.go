package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// A page goes out in one piece with its length; a page that fails halfway
// sends nothing of itself, only a readable 500.
func TestWritePage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			io.WriteString(w, "<p>first half</p>")
			if r.URL.Path == "/broken" {
				return errors.New("template failed")
			}
			_, err := io.WriteString(w, "<p>second half</p>")
			return err
		})
		_ = WritePage(w, r, http.StatusOK, page)
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "<p>first half</p><p>second half</p>" ||
		resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
		t.Fatalf("page: %d, length %d, encoding %v, %q", resp.StatusCode, resp.ContentLength, resp.TransferEncoding, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("page is cacheable")
	}

	resp, err = http.Get(srv.URL + "/broken")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), "first half") {
		t.Fatalf("broken page: %d %q", resp.StatusCode, body)
	}
}
