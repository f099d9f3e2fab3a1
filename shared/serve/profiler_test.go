package serve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestProfiler(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := Profiler(ctx, "", log); err != nil {
		t.Fatalf("empty address: %v", err)
	}
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "example.com:6060", "127.0.0.1"} {
		if err := Profiler(ctx, addr, log); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%q: %v, want a refusal naming loopback", addr, err)
		}
	}

	// A free loopback port, then the profiles on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := Profiler(ctx, addr, log); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("profile index: %d %.200s", resp.StatusCode, body)
	}
}
