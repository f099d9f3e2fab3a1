package npmtest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Serve runs `node script` in dir (a folder Install made) with env added
// to the test's environment, and returns the base URL the script prints
// as its first line, "listening <url>", once it does. The server is
// stopped when the test ends. what names it in failures ("the samlify
// IdP").
func Serve(t testing.TB, dir, script, what string, env ...string) string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		stop()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		stop()
		t.Fatalf("start %s: %v", what, err)
	}
	t.Cleanup(func() { stop(); _ = cmd.Wait() })
	started := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(out)
		if lines.Scan() {
			started <- lines.Text()
		}
		close(started)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-started:
		base, ok := strings.CutPrefix(line, "listening ")
		if !ok {
			t.Fatalf("%s printed %q\n%s", what, line, stderr.String())
		}
		return base
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start\n%s", what, stderr.String())
	}
	return ""
}
