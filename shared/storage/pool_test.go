package storage_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"xaa.example/shared/storage/storagetest"
)

// A burst of requests that uses every connection the MariaDB pool may open
// must find them all again in the next burst. When the pool kept fewer idle
// connections than it opens, each burst closed the extra ones and the next
// opened them anew: under 16 concurrent grants the todo AS reconnected
// (handshake, authentication, its statements prepared again) thousands of
// times in 20 s.
func TestMariaDBPoolKeepsItsConnections(t *testing.T) {
	db := storagetest.MariaDB(t)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	limit := sqlDB.Stats().MaxOpenConnections
	if limit == 0 {
		t.Fatal("the MariaDB pool has no limit on open connections")
	}
	ctx := context.Background()
	for burst := range 3 {
		conns := make([]*sql.Conn, limit)
		var wg sync.WaitGroup
		for i := range conns {
			wg.Go(func() {
				c, err := sqlDB.Conn(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if err := c.PingContext(ctx); err != nil {
					t.Error(err)
				}
				conns[i] = c
			})
		}
		wg.Wait()
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		s := sqlDB.Stats()
		if s.MaxIdleClosed != 0 || s.OpenConnections != limit {
			t.Fatalf("after burst %d of %d connections: %d open, %d closed for want of idle room", burst+1, limit, s.OpenConnections, s.MaxIdleClosed)
		}
	}
}
