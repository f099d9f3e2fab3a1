package storage

import (
	"sync"
	"time"
)

// Purge paces the deletion of expired rows on the way of a service's own
// writes, with no timer of its own to stop: a batch when Every has passed
// since the last one began, then another at each call after a full batch
// until one comes back short; one caller at a time.
//
// Batches are bounded because one DELETE of every expired row held its
// row locks (on MariaDB) for as long as it ran, and every write that met
// them waited as long: the replay store's purge once stalled every grant
// for seconds (the third sitting in the history of docs/PERFORMANCE.md).
type Purge struct {
	Every time.Duration
	Batch int // the most rows one batch deletes (at least 1)

	mu      sync.Mutex
	last    time.Time // when the last purge on the Every clock began
	running bool      // a caller is deleting a batch
	behind  bool      // the last batch was full: more expired rows wait
}

// Run calls deleteBatch when a batch is due at now, with the batch's size;
// deleteBatch deletes up to that many expired rows and says how many. A
// failed batch only delays the clean-up.
func (p *Purge) Run(now time.Time, deleteBatch func(batch int) (int, error)) {
	p.mu.Lock()
	due := !p.running && (p.behind || now.Sub(p.last) >= p.Every)
	if due {
		p.running = true
		if !p.behind {
			p.last = now
		}
	}
	p.mu.Unlock()
	if !due {
		return
	}
	batch := max(p.Batch, 1)
	deleted, err := deleteBatch(batch)
	p.mu.Lock()
	p.running = false
	p.behind = err == nil && deleted == batch
	p.mu.Unlock()
}
