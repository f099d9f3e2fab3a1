package authserver

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

// BenchmarkJWTBearerGrant is the todo AS's token endpoint redeeming one
// fresh ID-JAG per request (client authentication, checks 1 to 12, the jti
// written to the replay store, an access token signed), on SQLite and on
// MariaDB.
func BenchmarkJWTBearerGrant(b *testing.B) {
	storagetest.EachBench(b, func(b *testing.B, store *gorm.DB) {
		ras := newResourceASOn(b, store)
		h := ras.server.Handler()
		bodies := make([]string, b.N)
		for i := range bodies {
			bodies[i] = bearerForm(ras.idjag(b, benchClaims(ras)))
		}
		statements := mariaDBStatements(b, store)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if rec := postGrant(h, bodies[i]); rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
		b.StopTimer()
		reportStatements(b, store, statements)
	})
}

// reportStatements reports the round trips a grant costs on MariaDB: the
// statements the server received since it counted before (the server's
// count, so nothing else may run against it), less the one that reads the
// count. On SQLite (before is -1) it reports nothing.
func reportStatements(b *testing.B, db *gorm.DB, before int64) {
	if before < 0 {
		return
	}
	b.ReportMetric(float64(mariaDBStatements(b, db)-before-1)/float64(b.N), "db-statements/op")
}

// mariaDBStatements is the statements the MariaDB server has received so
// far (its Questions counter, which counts this one), or -1 on SQLite.
func mariaDBStatements(b *testing.B, db *gorm.DB) int64 {
	if db.Dialector.Name() != "mysql" {
		return -1
	}
	var name string
	var n int64
	if err := db.Raw("SHOW GLOBAL STATUS LIKE 'Questions'").Row().Scan(&name, &n); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkJWTBearerGrantParallel is the same grant with concurrent
// clients (GOMAXPROCS goroutines × 8), the shape of a loaded server.
func BenchmarkJWTBearerGrantParallel(b *testing.B) {
	storagetest.EachBench(b, func(b *testing.B, store *gorm.DB) {
		ras := newResourceASOn(b, store)
		h := ras.server.Handler()
		bodies := make(chan string, b.N)
		for range b.N {
			bodies <- bearerForm(ras.idjag(b, benchClaims(ras)))
		}
		close(bodies)
		b.SetParallelism(8)
		statements := mariaDBStatements(b, store)
		cpu := processCPU(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if rec := postGrant(h, <-bodies); rec.Code != http.StatusOK {
					b.Errorf("%d %s", rec.Code, rec.Body)
				}
			}
		})
		b.StopTimer()
		// The server's CPU per grant (this process: the handler, and
		// SQLite when it is the store; MariaDB's own is not in it), the
		// figure issue 19's target is stated in.
		b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		// Fewer than one: concurrent grants share their inserts.
		reportStatements(b, store, statements)
	})
}

// processCPU is the user and system time this process has used.
func processCPU(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// benchClaims is a fresh ID-JAG for one user: after the first grant links
// the account, every grant finds it, as in real traffic.
func benchClaims(ras *resourceAS) map[string]any {
	c := ras.claims()
	c["sub"] = "00u-bench-user"
	return c
}
