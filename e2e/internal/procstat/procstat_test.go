package procstat

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	m := Parse("todo-as=12,bad,MariaDB=x,wiki=7")
	if len(m) != 2 || m[0] != (Process{"todo-as", 12}) || m[1] != (Process{"wiki", 7}) {
		t.Fatalf("Parse: %v", m)
	}
}

// TestCPUOfThisProcess: the meter reads a live process's CPU time, which
// grows as it works.
func TestCPUOfThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc: Linux only")
	}
	m := Meter{{"self", os.Getpid()}}
	before, ok := m.CPU()["self"]
	if !ok {
		t.Fatal("no CPU time read for this process")
	}
	// Work until the clock ticks (1/100 s), for at most two seconds.
	x := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		for i := range 1_000_000 {
			x += i % 7
		}
		if m.CPU()["self"] > before {
			break
		}
	}
	if after := m.CPU()["self"]; after <= before {
		t.Fatalf("CPU time stayed at %v after two seconds of work (%d)", after, x)
	}
	if LoadAverage() == "?" {
		t.Error("no load average")
	}
}

func TestMachine(t *testing.T) {
	m := Machine()
	if !strings.Contains(m, fmt.Sprintf("%d cores (", runtime.NumCPU())) || !strings.Contains(m, "Linux ") || !strings.Contains(m, "meltdown: ") {
		t.Errorf("Machine() = %q, want the cores, the kernel and the Meltdown mitigation", m)
	}
	if _, err := os.Stat("/proc/cpuinfo"); err == nil && strings.Contains(m, "(?)") {
		t.Errorf("Machine() = %q: /proc/cpuinfo is there but no model was read", m)
	}
}
