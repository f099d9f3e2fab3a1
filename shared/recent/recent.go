// Package recent keeps what a process read or wrote a moment ago, in
// memory, for a while: a bounded map whose entries expire. The session
// store, the wiki's held access tokens and the access-token verifier use it
// to skip a query or a signature check they made seconds before.
//
// A Map is only right where its process is the only writer of what it
// remembers (here, each service runs as one process); For bounds how stale
// an answer can be otherwise.
package recent

import (
	"cmp"
	"sync"
	"time"
)

// Map remembers values by key for For (zero: DefaultFor). It holds at most
// Max entries (zero: DefaultMax): when full, it forgets them all, which
// costs only the work they saved. The caller passes the time, so tests can
// move it. The zero Map is ready to use; set For and Max before first use.
type Map[K comparable, V any] struct {
	For time.Duration
	Max int

	mu sync.Mutex
	m  map[K]entry[V]
}

// Defaults for a Map's For and Max.
const (
	DefaultFor = time.Minute
	DefaultMax = 10_000
)

type entry[V any] struct {
	value V
	at    time.Time
}

// Get returns the value remembered for k, unless it was put For or more ago.
func (m *Map[K, V]) Get(k K, now time.Time) (V, bool) {
	m.mu.Lock()
	e, ok := m.m[k]
	m.mu.Unlock()
	if !ok || now.Sub(e.at) >= cmp.Or(m.For, DefaultFor) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put remembers v for k from now.
func (m *Map[K, V]) Put(k K, v V, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, known := m.m[k]; m.m == nil || !known && len(m.m) >= cmp.Or(m.Max, DefaultMax) {
		m.m = map[K]entry[V]{}
	}
	m.m[k] = entry[V]{v, now}
}

// Delete forgets k.
func (m *Map[K, V]) Delete(k K) {
	m.mu.Lock()
	delete(m.m, k)
	m.mu.Unlock()
}

// DeleteFunc forgets every key for which del is true.
func (m *Map[K, V]) DeleteFunc(del func(K) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.m {
		if del(k) {
			delete(m.m, k)
		}
	}
}
