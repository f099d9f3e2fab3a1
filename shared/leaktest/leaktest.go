// Package leaktest fails a package's tests when a goroutine outlives them
// (go.uber.org/goleak): what a constructor starts, its Close must stop.
// Only tests import it.
package leaktest

import (
	"testing"

	"go.uber.org/goleak"
)

// expected are goroutines no Close can stop: scs.New starts an in-memory
// session store's cleanup loop before sessions.New replaces that store,
// one per session manager, and scs offers no other constructor.
var expected = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"),
}

// VerifyTestMain runs the tests, then fails if goroutines are left.
func VerifyTestMain(m *testing.M) { goleak.VerifyTestMain(m, expected...) }
