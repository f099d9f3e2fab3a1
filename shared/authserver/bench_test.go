package authserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"xaa.example/shared/storage/storagetest"
)

// BenchmarkJWTBearerGrant is the todo AS's token endpoint redeeming one
// fresh ID-JAG per request (client authentication, checks 1 to 12, the jti
// written to the replay store, an access token signed), on SQLite and on
// MariaDB.
func BenchmarkJWTBearerGrant(b *testing.B) {
	for _, db := range []string{"SQLite", "MariaDB"} {
		b.Run(db, func(b *testing.B) {
			store := storagetest.SQLite(b)
			if db == "MariaDB" {
				store = storagetest.MariaDB(b)
			}
			ras := newResourceASOn(b, store)
			h := ras.server.Handler()
			bodies := make([]string, b.N)
			for i := range bodies {
				bodies[i] = bearerForm(ras.idjag(b, benchClaims(ras)))
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("wiki-at-todo", "wiki-secret")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkJWTBearerGrantParallel is the same grant with concurrent
// clients (GOMAXPROCS goroutines × 8), the shape of a loaded server.
func BenchmarkJWTBearerGrantParallel(b *testing.B) {
	for _, db := range []string{"SQLite", "MariaDB"} {
		b.Run(db, func(b *testing.B) {
			store := storagetest.SQLite(b)
			if db == "MariaDB" {
				store = storagetest.MariaDB(b)
			}
			ras := newResourceASOn(b, store)
			h := ras.server.Handler()
			bodies := make(chan string, b.N)
			for range b.N {
				bodies <- bearerForm(ras.idjag(b, benchClaims(ras)))
			}
			close(bodies)
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(<-bodies))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth("wiki-at-todo", "wiki-secret")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("%d %s", rec.Code, rec.Body)
					}
				}
			})
		})
	}
}

// benchClaims is a fresh ID-JAG for one user: after the first grant links
// the account, every grant finds it, as in real traffic.
func benchClaims(ras *resourceAS) map[string]any {
	c := ras.claims()
	c["sub"] = "00u-bench-user"
	return c
}
