package op

import (
	"testing"

	"xaa.example/shared/leaktest"
)

// TestMain fails the package's tests if a goroutine outlives them: what
// New starts, Close must stop.
func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }
