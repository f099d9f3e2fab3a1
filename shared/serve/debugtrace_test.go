package serve

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"xaa.example/shared/envconfig"
	"xaa.example/shared/trace"
)

// TestDebugTraceSharesOneKey: services started at once on one machine,
// with no setup, end up with one key, in a file only its owner reads.
func TestDebugTraceSharesOneKey(t *testing.T) {
	dir := t.TempDir()
	env := envconfig.New(func(k string) string {
		if k == "DATA_DIR" {
			return dir
		}
		return ""
	})
	keys := make([]string, 5)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			s, err := DebugTrace(env, trace.NewStore("svc"))
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = string(s.Key)
		})
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) < 32 || k != keys[0] {
			t.Fatalf("keys %q: want one shared key of 32 characters or more", keys)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "debug-trace.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

func TestDebugTraceOffAndShortKey(t *testing.T) {
	off := envconfig.New(func(k string) string { return map[string]string{"DEBUG_CONSOLE": "false"}[k] })
	if s, err := DebugTrace(off, trace.NewStore("svc")); s != nil || err != nil {
		t.Errorf("DEBUG_CONSOLE=false: %v, %v; want no store", s, err)
	}
	short := envconfig.New(func(k string) string { return map[string]string{"DEBUG_TRACE_KEY": "short"}[k] })
	if _, err := DebugTrace(short, trace.NewStore("svc")); err == nil {
		t.Error("a short DEBUG_TRACE_KEY was accepted")
	}
}
