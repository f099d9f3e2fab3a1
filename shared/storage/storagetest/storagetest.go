// Package storagetest gives tests a fresh database: SQLite always, and
// MariaDB when it can be reached, so that store tests run on both.
//
// MariaDB is found at XAA_TEST_MARIADB_URL (default
// mysql://root@127.0.0.1:3306). When it cannot be reached, the MariaDB
// tests fail in CI (CI set) and are skipped elsewhere with a message saying
// how to run them.
package storagetest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/storage"
)

// DefaultMariaDB is where `make test` looks for MariaDB.
const DefaultMariaDB = "mysql://root@127.0.0.1:3306"

// SQLite returns a fresh SQLite database in a temporary folder.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := storage.Open("", filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	t.Cleanup(func() { storage.Close(db) })
	return db
}

// MariaDB returns a fresh schema on the test MariaDB server, dropped when
// the test ends.
func MariaDB(t testing.TB) *gorm.DB {
	t.Helper()
	base := os.Getenv("XAA_TEST_MARIADB_URL")
	if base == "" {
		base = DefaultMariaDB
	}
	base = strings.TrimSuffix(base, "/")
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	schema := "xaa_test_" + hex.EncodeToString(suffix)
	db, err := storage.Open(base+"/"+schema+"?timeout=3s", "")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("MariaDB is required in CI but cannot be used at %s: %v", base, err)
		}
		t.Skipf("MariaDB not reachable at %s (%v): start MariaDB on 127.0.0.1:3306 with user root and no password, or set XAA_TEST_MARIADB_URL, then run `make test-mariadb`", base, err)
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS `" + schema + "`")
		storage.Close(db)
	})
	return db
}

// Each runs fn as two subtests, on SQLite and on MariaDB. The MariaDB
// subtest's name contains "MariaDB", so `go test -run MariaDB` selects it.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("SQLite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("MariaDB", func(t *testing.T) { fn(t, MariaDB(t)) })
}

// EachBench runs a benchmark on SQLite and on MariaDB, as Each runs a test.
func EachBench(b *testing.B, fn func(b *testing.B, db *gorm.DB)) {
	b.Helper()
	b.Run("SQLite", func(b *testing.B) { fn(b, SQLite(b)) })
	b.Run("MariaDB", func(b *testing.B) { fn(b, MariaDB(b)) })
}

// ID returns a short random id for test data.
func ID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
