// Package procstat reads, from Linux's /proc, what the load drivers report
// beside their figures: the CPU time each measured process spent, the
// machine's load average, and what the machine is.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Process is one whose CPU time is reported, under its name.
type Process struct {
	Name string
	PID  int
}

// Meter is the processes whose CPU time is read, in the order to print them.
type Meter []Process

// Parse reads a -pids flag, "name=pid,name=pid"; pairs that are not one
// are left out.
func Parse(flag string) Meter {
	var m Meter
	for _, pair := range strings.Split(flag, ",") {
		name, pid, ok := strings.Cut(pair, "=")
		if n, err := strconv.Atoi(pid); ok && err == nil {
			m = append(m, Process{name, n})
		}
	}
	return m
}

// CPU is each process's CPU time so far (user and system), by name; a
// process that cannot be read (not Linux, or gone) is left out.
func (m Meter) CPU() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, p := range m {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): utime is
		// the 14th field, stime the 15th, in clock ticks of 1/100 s.
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.Atoi(fields[11])
		stime, _ := strconv.Atoi(fields[12])
		out[p.Name] = time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return out
}

// LoadAverage is the machine's load average over 1, 5 and 15 minutes, as
// /proc/loadavg gives it, or "?".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// Machine describes what the figures were measured on: the cores and their
// model, the kernel, and whether the kernel isolates its page tables (PTI,
// the Meltdown mitigation), which makes every system call, page fault and
// switch between processes dearer. (On 2026-12-01 a machine booted with
// pti=on, another CPU too, did about half the grants per second of the
// morning's with the same code: the fourth sitting in the history of
// docs/PERFORMANCE.md.)
func Machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(value)
				break
			}
		}
	}
	kernel := "?"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	pti := "?"
	if b, err := os.ReadFile("/sys/devices/system/cpu/vulnerabilities/meltdown"); err == nil {
		pti = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d cores (%s), Linux %s, meltdown: %s", runtime.NumCPU(), model, kernel, pti)
}
