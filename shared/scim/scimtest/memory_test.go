package scimtest

import "testing"

// TestMemoryConformance: Memory passes the suite every scim.Accounts must,
// so that the protocol's unit tests stand on the same rules.
func TestMemoryConformance(t *testing.T) {
	Conformance(t, func(t *testing.T) Fixture { return NewMemory() })
}
