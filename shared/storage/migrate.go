package storage

import (
	"fmt"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// A service's schema is versioned: each package that owns tables declares
// its steps, in order, and Migrate runs those its database has not yet
// recorded in the table schema_migrations (one row per step, named
// "owner/id"), so that a database tells which version of each part's
// tables it holds, and an upgrade runs exactly the steps it lacks.
//
// Step 1 of every owner creates its tables as they were when versioning
// began (the release whose schema e2e's TestUpgradeFromLastRelease loads):
// it is that release's AutoMigrate, and on a database that release made it
// finds everything in place and only records itself. A later change to a
// table is a new step written against the schema before it; once a model
// changes, step 1 must keep creating the old shape (a copy of the old
// model), or the upgrade test fails.

// MigrationsTable records the steps a database has run.
const MigrationsTable = "schema_migrations"

// Migration is one step of an owner's schema.
type Migration struct {
	// ID names the step among its owner's: "1", "2", …
	ID string
	// Apply changes the schema; it runs once per database.
	Apply func(tx *gorm.DB) error
}

// Migrate runs owner's steps that db has not recorded, in order, recording
// each once it has run. Several replicas may start at once: on MariaDB a
// named lock lets one migrate while the others wait, then find the steps
// recorded.
func Migrate(db *gorm.DB, owner string, steps ...Migration) error {
	ms := make([]*gormigrate.Migration, len(steps))
	for i, s := range steps {
		ms[i] = &gormigrate.Migration{ID: owner + "/" + s.ID, Migrate: s.Apply}
	}
	opts := &gormigrate.Options{TableName: MigrationsTable, IDColumnName: "id", IDColumnSize: 255}
	run := func(tx *gorm.DB) error {
		if err := gormigrate.New(tx, opts, ms).Migrate(); err != nil {
			return fmt.Errorf("migrate %s: %w", owner, err)
		}
		return nil
	}
	if db.Dialector.Name() != "mysql" {
		return run(db)
	}
	// GET_LOCK belongs to a connection: hold one for the whole run. Its
	// name is the server's, so it names the schema.
	const lock = "CONCAT('" + MigrationsTable + ":', DATABASE())"
	return db.Connection(func(pinned *gorm.DB) error {
		// A new session on the pinned connection: each statement starts
		// clean, as on db.
		conn := pinned.Session(&gorm.Session{NewDB: true})
		var got *int
		if err := conn.Raw("SELECT GET_LOCK(" + lock + ", 60)").Scan(&got).Error; err != nil {
			return fmt.Errorf("migrate %s: %w", owner, err)
		}
		if got == nil || *got != 1 {
			return fmt.Errorf("migrate %s: another replica held the schema lock for a minute", owner)
		}
		defer conn.Exec("SELECT RELEASE_LOCK(" + lock + ")")
		return run(conn)
	})
}

// AddColumns adds model's fields that the table lacks: a step that gives a
// table made by an earlier step its new columns (step 1's AutoMigrate of
// the model as it is now already made them on a new database).
func AddColumns(tx *gorm.DB, model any, fields ...string) error {
	for _, f := range fields {
		if tx.Migrator().HasColumn(model, f) {
			continue
		}
		if err := tx.Migrator().AddColumn(model, f); err != nil {
			return err
		}
	}
	return nil
}
