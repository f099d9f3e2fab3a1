package serve

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestReleaseStartupPages: the executable's read-only pages mapped at
// start-up are given back, and code and read-only data still work after
// (they are mapped again on use).
func TestReleaseStartupPages(t *testing.T) {
	before := exeReadOnlyRSS(t)
	ReleaseStartupPages()
	after := exeReadOnlyRSS(t)
	t.Logf("executable's code and read-only data resident: %d KiB before, %d KiB after", before, after)
	if after >= before/2 {
		t.Fatalf("resident read-only pages of the executable went from %d KiB to %d KiB; want at least half given back", before, after)
	}
	// Code, type data and string constants, all faulted back in.
	b, err := json.Marshal(map[string]any{"still": []int{1, 2, 3}})
	if err != nil || string(b) != `{"still":[1,2,3]}` {
		t.Fatalf("after release: %s, %v", b, err)
	}
}

// exeReadOnlyRSS sums Rss over this executable's r-xp and r--p mappings.
func exeReadOnlyRSS(t *testing.T) int {
	t.Helper()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Skip("no /proc/self/exe:", err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps:", err)
	}
	defer f.Close()
	total, counting := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 2 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			counting = len(fields) >= 6 && fields[5] == exe && (fields[1] == "r-xp" || fields[1] == "r--p")
		case counting && fields[0] == "Rss:":
			n, _ := strconv.Atoi(fields[1])
			total += n
		}
	}
	return total
}
