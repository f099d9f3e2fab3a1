package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A window the ID-JAGs cannot fill is not the sustained figure asked for:
// run must fail rather than print it as one. The token endpoint here is a
// stand-in that grants in 5 ms, so two clients spend 100 ID-JAGs in about
// a quarter of the window's 2 s. (No warm-up: one that spent them all would
// leave a window with no grant, which fails for another reason.)
func TestRunFailsWhenTheIDJAGsRunOutBeforeTheWindowEnds(t *testing.T) {
	grants := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(5 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"x","token_type":"Bearer"}`))
	}))
	defer grants.Close()
	err := run([]string{"-key", filepath.Join(t.TempDir(), "key.pem"), "-todo-as", grants.URL,
		"-clients", "2", "-warmup", "0s", "-window", "2s", "-tokens", "100"})
	if err == nil || !strings.Contains(err.Error(), "ran out") {
		t.Fatalf("run over a window cut short returned %v, want the ID-JAGs ran out", err)
	}
}
