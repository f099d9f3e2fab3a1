package replaydb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"xaa.example/shared/replay"
	"xaa.example/shared/storage"
)

// TestSurvivesKill: the replay records a server was told were kept are
// still there after the process is killed with SIGKILL (SQLite, as
// storage.Open configures it: WAL, synchronous NORMAL). A child process
// records jtis and says how many; the parent kills it mid-stream and finds
// every one it was told about refused as replayed.
func TestSurvivesKill(t *testing.T) {
	if path := os.Getenv("REPLAYDB_KILL_CHILD"); path != "" {
		recordUntilKilled(path)
		return
	}
	path := filepath.Join(t.TempDir(), "replay.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesKill$")
	// until comes from the assertion, the same at each presentation.
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	cmd.Env = append(os.Environ(), "REPLAYDB_KILL_CHILD="+path, "REPLAYDB_KILL_UNTIL="+strconv.FormatInt(until.Unix(), 10))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	told := 0
	for lines.Scan() && told < 500 {
		if n, err := strconv.Atoi(lines.Text()); err == nil {
			told = n
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if told < 500 {
		t.Fatalf("the child recorded %d jtis before it stopped", told)
	}

	db, err := storage.Open("", path)
	if err != nil {
		t.Fatal(err)
	}
	defer storage.Close(db)
	store, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= told; i++ {
		if err := store.Remember(context.Background(), "https://idp.example", fmt.Sprint("jti-", i), until); !errors.Is(err, replay.ErrReplayed) {
			t.Fatalf("jti-%d, recorded before the kill, was forgotten (%v)", i, err)
		}
	}
}

// recordUntilKilled is the child: it records jtis one by one, printing the
// count after each success, until it is killed.
func recordUntilKilled(path string) {
	db, err := storage.Open("", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	store, err := New(db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	seconds, err := strconv.ParseInt(os.Getenv("REPLAYDB_KILL_UNTIL"), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 1; ; i++ {
		if err := store.Remember(context.Background(), "https://idp.example", fmt.Sprint("jti-", i), time.Unix(seconds, 0)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(i)
	}
}
