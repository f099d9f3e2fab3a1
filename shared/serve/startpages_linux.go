package serve

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// ReleaseStartupPages gives back the memory that only start-up used, once
// a service is ready:
//
//   - The executable's code and read-only data. Start-up runs the init of
//     every linked package (about 250), scattered over the binary, and for
//     each page it touches the kernel maps the pages around it too (fault
//     around, 64 KiB), so a service at rest has ~18 MB of its binary
//     mapped of which serving a request touches ~2 MB. MADV_DONTNEED
//     unmaps those pages from this process; they stay in the page cache,
//     unchanged (code and read-only data are never written), and a page
//     that is needed again is mapped again on first use. Writable mappings
//     are left alone: there MADV_DONTNEED would discard data.
//   - The heap start-up left behind (migrations, templates, key loading):
//     collected and returned to the operating system.
//
// It is an optimisation only: any failure leaves memory as it was.
func ReleaseStartupPages() {
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	type region struct{ start, end uintptr }
	var regions []region
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe {
			continue
		}
		if perms := fields[1]; perms != "r-xp" && perms != "r--p" {
			continue
		}
		from, to, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(from, 16, 64)
		end, err2 := strconv.ParseUint(to, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		regions = append(regions, region{uintptr(start), uintptr(end)})
	}
	for _, r := range regions {
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, r.start, r.end-r.start, syscall.MADV_DONTNEED)
	}
}
