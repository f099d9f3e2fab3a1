package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"gorm.io/gorm"
)

type note struct {
	ID   uint `gorm:"primaryKey"`
	Body string
}

func openNotes(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := Open("", filepath.Join(t.TempDir(), "notes.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	if err := db.AutoMigrate(&note{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := db.Create(&note{Body: fmt.Sprint("note ", i)}).Error; err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// cache returns the statements of db's one connection.
func cache(t *testing.T, db *gorm.DB) map[string]*cachedStmt {
	t.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sqlDB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var stmts map[string]*cachedStmt
	if err := conn.Raw(func(dc any) error {
		stmts = dc.(*stmtCacheConn).stmts
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return stmts
}

func TestStatementsArePreparedOnce(t *testing.T) {
	db := openNotes(t)
	const query = "SELECT id, body FROM notes WHERE id >= ? ORDER BY id"
	var first, second []note
	if err := db.Raw(query, 1).Scan(&first).Error; err != nil {
		t.Fatal(err)
	}
	kept := cache(t, db)[query]
	if kept == nil {
		t.Fatal("the query's statement was not kept")
	}
	if err := db.Raw(query, 2).Scan(&second).Error; err != nil {
		t.Fatal(err)
	}
	if cache(t, db)[query] != kept {
		t.Error("the second run prepared the statement again")
	}
	// The kept statement was reset and bound anew: the second run's
	// argument, not the first's.
	if len(first) != 3 || len(second) != 2 || second[0].ID != 2 {
		t.Errorf("first %v, second %v", first, second)
	}
}

// Within a transaction a query can run while rows of the same text are
// still open: it must not reset the statement under them.
func TestSameQueryWhileItsRowsAreOpen(t *testing.T) {
	db := openNotes(t)
	const query = "SELECT id, body FROM notes WHERE id >= ? ORDER BY id"
	err := db.Transaction(func(tx *gorm.DB) error {
		rows, err := tx.Raw(query, 1).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		var outer []uint
		for rows.Next() {
			var n note
			if err := tx.ScanRows(rows, &n); err != nil {
				return err
			}
			outer = append(outer, n.ID)
			var inner []note
			if err := tx.Raw(query, n.ID).Scan(&inner).Error; err != nil {
				return err
			}
			if want := 3 - int(n.ID) + 1; len(inner) != want {
				t.Errorf("inner query from %d: %d notes, want %d", n.ID, len(inner), want)
			}
		}
		if len(outer) != 3 {
			t.Errorf("outer query: %v, want the 3 notes", outer)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatementCacheIsBounded(t *testing.T) {
	db := openNotes(t)
	for i := range maxCachedStatements + 10 {
		var n int64
		if err := db.Raw(fmt.Sprintf("SELECT COUNT(*) + %d FROM notes", i)).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != int64(3+i) {
			t.Fatalf("statement %d: %d", i, n)
		}
	}
	if got := len(cache(t, db)); got > maxCachedStatements {
		t.Errorf("%d statements kept, at most %d", got, maxCachedStatements)
	}
}

func TestBusyStatementDroppedWhenTheCacheFills(t *testing.T) {
	db := openNotes(t)
	const query = "SELECT id FROM notes ORDER BY id"
	err := db.Transaction(func(tx *gorm.DB) error {
		rows, err := tx.Raw(query).Rows()
		if err != nil {
			return err
		}
		rows.Next()
		// Fill the cache while the rows are open: their statement is
		// forgotten but must keep serving them.
		for i := range maxCachedStatements + 1 {
			if err := tx.Exec(fmt.Sprintf("UPDATE notes SET body = body WHERE id = %d", i)).Error; err != nil {
				return err
			}
		}
		var ids []uint
		for more := true; more; more = rows.Next() {
			var id uint
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if len(ids) != 3 {
			t.Errorf("rows read: %v, want the 3 notes", ids)
		}
		return rows.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	// The query runs again with a statement of its own.
	var n []note
	if err := db.Raw(query).Scan(&n).Error; err != nil || len(n) != 3 {
		t.Fatalf("after: %v, %v", n, err)
	}
}
