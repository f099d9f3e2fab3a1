package storage_test

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/storage"
	"xaa.example/shared/storage/storagetest"
)

// counted is a step that counts its runs in a table of the test's own.
func counted(id string) storage.Migration {
	return storage.Migration{ID: id, Apply: func(tx *gorm.DB) error {
		if err := tx.Exec("CREATE TABLE IF NOT EXISTS step_runs (step VARCHAR(64) NOT NULL)").Error; err != nil {
			return err
		}
		return tx.Exec("INSERT INTO step_runs (step) VALUES (?)", id).Error
	}}
}

func runs(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var steps []string
	if err := db.Raw("SELECT step FROM step_runs").Scan(&steps).Error; err != nil {
		t.Fatal(err)
	}
	slices.Sort(steps)
	return steps
}

func recorded(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var ids []string
	if err := db.Table(storage.MigrationsTable).Order("id").Pluck("id", &ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestMigrateRunsEachStepOnce: a step runs once per database, in order;
// an upgrade runs only the steps added since; owners share the table
// without meeting; a failed step is not recorded, and runs again next time.
func TestMigrateRunsEachStepOnce(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		if err := storage.Migrate(db, "a", counted("a1"), counted("a2")); err != nil {
			t.Fatal(err)
		}
		if err := storage.Migrate(db, "a", counted("a1"), counted("a2")); err != nil {
			t.Fatalf("a second start: %v", err)
		}
		if err := storage.Migrate(db, "a", counted("a1"), counted("a2"), counted("a3")); err != nil {
			t.Fatalf("an upgrade: %v", err)
		}
		if err := storage.Migrate(db, "b", counted("b1")); err != nil {
			t.Fatal(err)
		}
		if got, want := runs(t, db), []string{"a1", "a2", "a3", "b1"}; !slices.Equal(got, want) {
			t.Errorf("steps run %v, want each once: %v", got, want)
		}
		// Each step is recorded under its owner's name.
		if got, want := recorded(t, db), []string{"a/a1", "a/a2", "a/a3", "b/b1"}; !slices.Equal(got, want) {
			t.Errorf("recorded %v, want %v", got, want)
		}

		broken := storage.Migration{ID: "c1", Apply: func(*gorm.DB) error { return errors.New("disk full") }}
		if err := storage.Migrate(db, "c", broken); err == nil {
			t.Fatal("a failed step was taken as run")
		}
		if slices.Contains(recorded(t, db), "c/c1") {
			t.Error("a failed step was recorded: it would never run again")
		}
		if err := storage.Migrate(db, "c", counted("c1")); err != nil {
			t.Fatal(err)
		}
		if got := runs(t, db); !slices.Contains(got, "c1") {
			t.Error("the step that failed did not run at the next start")
		}
	})
}

// TestReplicasMigrateTogether: replicas starting at once on one MariaDB
// schema run each step once between them, and all start. Without the
// schema lock, two ran the step and the second's record was refused as a
// duplicate, failing its start.
func TestReplicasMigrateTogether(t *testing.T) {
	db := storagetest.MariaDB(t)
	for round := range 5 {
		step := counted("r" + string(rune('0'+round)))
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() { errs <- storage.Migrate(db, "replicas", step) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: a replica did not start: %v", round, err)
			}
		}
	}
	if got := runs(t, db); len(got) != 5 {
		t.Errorf("steps run %v, want each of the 5 once", got)
	}
}
