package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/storage"
	"xaa.example/shared/storage/storagetest"
)

// TestUpgradeFromLastRelease: every service starts on the database the
// last release before versioned schemas left (testdata/release: that
// release's tables, made by its AutoMigrate, with what Bob, an
// administrator and the wiki wrote there, and no schema_migrations), keeps
// what it holds, and ends with the schema and the recorded steps of a
// fresh install.
func TestUpgradeFromLastRelease(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, dialect string
		fresh         openDB
	}{
		{"SQLite", "sqlite", sqliteDB},
		{"MariaDB", "mariadb", func(tb testing.TB, _ string) *gorm.DB { return storagetest.MariaDB(tb) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var topo demo.Topology
			upgraded := startStack(t, func(tb testing.TB, name string) *gorm.DB {
				db := tt.fresh(tb, name)
				loadRelease(tb, db, filepath.Join("testdata", "release", name+"."+tt.dialect+".sql"), topo)
				return db
			}, func(c *configs) { topo = c.topology })

			// What the release held is there, and the chain reaches it.
			b := newBrowser(t)
			b.signIn(upgraded.topology.Wiki, "bob@tables.fake", demo.Password)
			if p := b.get(upgraded.topology.Wiki + "/pages/release-notes"); !strings.Contains(p.Body, "Written before the upgrade.") {
				t.Errorf("the wiki page written before the upgrade: %d\n%s", p.Status, p.Body)
			}
			if p := b.get(upgraded.topology.Wiki + "/todos"); !strings.Contains(p.Body, "Written before the upgrade") || !strings.Contains(p.Body, demo.BobTodos[0]) {
				t.Errorf("My todos after the upgrade does not show Bob's todos of before:\n%s", p.Body)
			}
			// A person an administrator added before, with Bob's password.
			if p := newBrowser(t).signIn(upgraded.topology.Wiki, "release@tables.fake", demo.Password); !strings.Contains(p.Body, "Rel Ease") {
				t.Errorf("the person added before the upgrade cannot sign in: %d at %s", p.Status, p.URL)
			}

			fresh := startStack(t, tt.fresh)
			for name, db := range upgraded.dbs {
				got, want := schemaOf(t, db), schemaOf(t, fresh.dbs[name])
				for table, cols := range want {
					if !slices.Equal(got[table], cols) {
						t.Errorf("%s, table %s: upgraded\n  %s\nfresh\n  %s", name, table, strings.Join(got[table], "\n  "), strings.Join(cols, "\n  "))
					}
				}
				for table := range got {
					if _, ok := want[table]; !ok {
						t.Errorf("%s: the upgrade left table %s, which a fresh install has not", name, table)
					}
				}
				steps, freshSteps := recordedSteps(t, db), recordedSteps(t, fresh.dbs[name])
				if len(steps) == 0 || !slices.Equal(steps, freshSteps) {
					t.Errorf("%s: steps recorded after the upgrade %v, on a fresh install %v", name, steps, freshSteps)
				}
			}
		})
	}
}

// loadRelease runs a release's dump on db, with the services' addresses of
// this stack where the dump has {{idp}}, {{wiki-as}} and the others: SQLite
// takes the script whole, MariaDB a statement at a time (mysqldump ends
// each with ";" and a new line, which no value it writes contains).
func loadRelease(tb testing.TB, db *gorm.DB, path string, topo demo.Topology) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	script := strings.NewReplacer("{{idp}}", topo.IdP, "{{wiki-as}}", topo.WikiAS, "{{todo-as}}", topo.TodoAS,
		"{{wiki}}", topo.Wiki, "{{todo}}", topo.Todo).Replace(string(raw))
	if db.Dialector.Name() != "mysql" {
		if err := db.Exec(script).Error; err != nil {
			tb.Fatalf("load %s: %v", path, err)
		}
		return
	}
	for stmt := range strings.SplitSeq(script, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if err := db.Exec(stmt).Error; err != nil {
			tb.Fatalf("load %s: %v\n%s", path, err, stmt)
		}
	}
}

// schemaOf is each table's columns (name, type, nullable) and indexes
// (name, columns, unique), sorted.
func schemaOf(tb testing.TB, db *gorm.DB) map[string][]string {
	tb.Helper()
	m := db.Migrator()
	tables, err := m.GetTables()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string][]string{}
	for _, table := range tables {
		if strings.HasPrefix(table, "sqlite_") {
			continue
		}
		cols, err := m.ColumnTypes(table)
		if err != nil {
			tb.Fatal(err)
		}
		var desc []string
		for _, c := range cols {
			null, _ := c.Nullable()
			desc = append(desc, fmt.Sprintf("column %s %s null=%v", c.Name(), strings.ToLower(c.DatabaseTypeName()), null))
		}
		indexes, err := m.GetIndexes(table)
		if err != nil {
			tb.Fatal(err)
		}
		for _, ix := range indexes {
			unique, _ := ix.Unique()
			desc = append(desc, fmt.Sprintf("index %s (%s) unique=%v", ix.Name(), strings.Join(ix.Columns(), ", "), unique))
		}
		slices.Sort(desc)
		out[table] = desc
	}
	return out
}

func recordedSteps(tb testing.TB, db *gorm.DB) []string {
	tb.Helper()
	var ids []string
	if err := db.Table(storage.MigrationsTable).Order("id").Pluck("id", &ids).Error; err != nil {
		tb.Fatal(err)
	}
	return ids
}
