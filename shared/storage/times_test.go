package storage_test

import (
	"strings"
	"testing"
	"time"

	"xaa.example/shared/storage/storagetest"
)

// A time given as an argument must be able to use an index on a time
// column. Go's times carry nanoseconds; written into the statement with all
// nine digits, MariaDB cannot read the literal as a DATETIME and compares
// row by row: the replay store's purge (expires_at < now) scanned and
// locked its million rows for over a second, and every grant waited.
func TestMariaDBTimeArgumentsUseIndexes(t *testing.T) {
	db := storagetest.MariaDB(t)
	type expiring struct {
		ID        int
		ExpiresAt time.Time `gorm:"index"`
	}
	if err := db.AutoMigrate(&expiring{}); err != nil {
		t.Fatal(err)
	}
	// A time with a nanosecond part, as time.Now gives.
	at := time.Date(2026, 12, 1, 20, 4, 56, 110694658, time.UTC)
	var plan []struct {
		PossibleKeys *string `gorm:"column:possible_keys"`
	}
	if err := db.Raw("EXPLAIN DELETE FROM expirings WHERE expires_at < ?", at).Scan(&plan).Error; err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || plan[0].PossibleKeys == nil || !strings.Contains(*plan[0].PossibleKeys, "expires_at") {
		keys := "none"
		if len(plan) == 1 && plan[0].PossibleKeys != nil {
			keys = *plan[0].PossibleKeys
		}
		t.Fatalf("a comparison with a time argument cannot use the index on expires_at (%d plan rows, possible keys: %s)", len(plan), keys)
	}
}
