//go:build !linux

package serve

import "runtime/debug"

// ReleaseStartupPages returns the heap start-up left behind to the
// operating system (on Linux it also unmaps the executable's pages only
// start-up used: startpages_linux.go).
func ReleaseStartupPages() { debug.FreeOSMemory() }
