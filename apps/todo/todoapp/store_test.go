package todoapp

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

// TestPage walks a list in pages on SQLite and MariaDB: every todo once,
// open ones first, the counts on every page.
func TestPage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&Todo{}); err != nil {
			t.Fatal(err)
		}
		st := &store{db: db}
		ctx := context.Background()
		for i := range 7 {
			if err := db.Create(&Todo{OwnerID: "bob", Title: "t", Done: i%3 == 0}).Error; err != nil {
				t.Fatal(err)
			}
		}
		_ = db.Create(&Todo{OwnerID: "john", Title: "not bob's"}).Error
		var seen []Todo
		cursor := ""
		for range 5 {
			p, err := st.page(ctx, "bob", cursor, 3)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != 7 || p.Open != 4 {
				t.Fatalf("counts %d total, %d open; want 7 and 4", p.Total, p.Open)
			}
			seen = append(seen, p.Todos...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if len(seen) != 7 {
			t.Fatalf("the pages held %d todos, want 7", len(seen))
		}
		for i := 1; i < len(seen); i++ {
			a, b := seen[i-1], seen[i]
			if (a.Done && !b.Done) || (a.Done == b.Done && a.ID >= b.ID) || b.OwnerID != "bob" {
				t.Fatalf("out of order or not bob's at %d: %+v then %+v", i, a, b)
			}
		}
		if p, err := st.page(ctx, "nobody", "", 3); err != nil || p.Total != 0 || len(p.Todos) != 0 {
			t.Errorf("an empty list: %+v %v", p, err)
		}
	})
}

// TestByIDs: a list call by ids answers the owner's todos among them and
// nothing of anyone else's, on both databases.
func TestByIDs(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&Todo{}); err != nil {
			t.Fatal(err)
		}
		st := &store{db: db}
		mine, _ := st.add(context.Background(), "bob", "mine")
		theirs, _ := st.add(context.Background(), "john", "theirs")
		got, err := st.byIDs(context.Background(), "bob", []uint{mine.ID, theirs.ID, 999999})
		if err != nil || len(got) != 1 || got[0].ID != mine.ID {
			t.Fatalf("bob's todos among %d, %d, 999999: %+v %v; want only #%d", mine.ID, theirs.ID, got, err, mine.ID)
		}
	})
}
