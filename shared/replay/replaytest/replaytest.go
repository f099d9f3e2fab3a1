// Package replaytest is a replay store for tests: used ids in a map, in
// this process only (which is why no server uses one: replicas must see
// each other's ids, package replaydb). Only tests import it.
package replaytest

import (
	"context"
	"sync"
	"time"

	"xaa.example/shared/replay"
)

// Memory is a replay.Store in a map, safe for concurrent use; the zero
// value is empty and ready.
type Memory struct {
	mu   sync.Mutex
	seen map[string]bool
}

// Remember records (issuer, jti), or refuses it as a replay.
func (m *Memory) Remember(_ context.Context, issuer, jti string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]bool{}
	}
	key := issuer + "\x00" + jti
	if m.seen[key] {
		return replay.ErrReplayed
	}
	m.seen[key] = true
	return nil
}

// Len is how many ids it holds.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}
