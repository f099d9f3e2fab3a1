package store

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/demo"
	"xaa.example/shared/storage"
	"xaa.example/shared/storage/storagetest"
)

var seed = Seed{
	Orgs:     []demo.Org{{Domain: "tables.fake", Name: "Tables"}},
	Users:    []demo.User{{Email: "bob@tables.fake", Name: "Bobby Tables", Admin: true}},
	Password: "correct horse",
	Connections: []Connection{{
		Title: "Wiki → Todo", RequestingClientID: "wiki-as", Audience: "https://todo-as.example",
		AllowedScopes: "todos.read", ClientIDAtResource: "wiki-at-todo", Enabled: true,
	}},
}

// TestSeedKeepsAdministratorsChanges: a restart seeds what is missing and
// leaves what an administrator changed as it is.
func TestSeedKeepsAdministratorsChanges(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		st, err := Open(ctx, db, seed)
		if err != nil {
			t.Fatal(err)
		}
		bob, err := st.UserByEmail(ctx, " BOB@tables.fake")
		if err != nil || bob.Name != "Bobby Tables" || !bob.Admin || len(bob.ID) != 20 {
			t.Fatalf("seeded Bob = %+v, %v", bob, err)
		}
		conns, _ := st.Connections(ctx)
		if len(conns) != 1 {
			t.Fatalf("%d connections seeded, want 1", len(conns))
		}
		conn := conns[0]
		conn.Enabled, conn.AllowedScopes = false, ""
		if err := st.SaveConnection(ctx, &conn); err != nil {
			t.Fatal(err)
		}
		bob.Disabled = true
		if err := st.SetDisabled(ctx, bob); err != nil {
			t.Fatal(err)
		}

		again, err := Open(ctx, db, seed)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := again.User(ctx, bob.ID)
		if !after.Disabled {
			t.Error("a restart enabled the person the administrator disabled")
		}
		conns, _ = again.Connections(ctx)
		if len(conns) != 1 || conns[0].Enabled || conns[0].AllowedScopes != "" {
			t.Errorf("a restart changed the administrator's connection: %+v", conns)
		}
		to, err := again.ConnectionsTo(ctx, "https://todo-as.example")
		if err != nil || len(to) != 1 || to[0].Enabled {
			t.Errorf("ConnectionsTo = %+v, %v", to, err)
		}
	})
}

func TestPeople(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		st, err := Open(ctx, db, seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CheckPassword(ctx, "bob@tables.fake", "correct horse"); err != nil {
			t.Errorf("the right password: %v", err)
		}
		for _, tt := range []struct{ email, password string }{
			{"bob@tables.fake", "wrong"},
			{"nobody@tables.fake", "correct horse"},
		} {
			if _, err := st.CheckPassword(ctx, tt.email, tt.password); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("CheckPassword(%s, %s) = %v, want ErrNotFound", tt.email, tt.password, err)
			}
		}

		org, err := st.OrgByEmail(ctx, "carol@TABLES.fake")
		if err != nil || org.Domain != "tables.fake" {
			t.Fatalf("OrgByEmail = %+v, %v", org, err)
		}
		if _, err := st.OrgByEmail(ctx, "carol@elsewhere.fake"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("an address of no organisation: %v", err)
		}
		carol := &User{OrgID: org.ID, Email: "carol@tables.fake", Name: "Carol", PasswordHash: []byte("x")}
		if err := st.CreateUser(ctx, carol); err != nil || len(carol.ID) != 20 || carol.ID[:3] != "00u" {
			t.Fatalf("CreateUser: id %q, %v", carol.ID, err)
		}
		twin := &User{OrgID: org.ID, Email: "carol@tables.fake", Name: "Carol again", PasswordHash: []byte("x")}
		if err := st.CreateUser(ctx, twin); !errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("a second person with Carol's email: %v, want ErrAlreadyExists", err)
		}
		acct, err := st.Account(ctx, carol.ID)
		if err != nil || acct.Email != "carol@tables.fake" {
			t.Errorf("Account = %+v, %v", acct, err)
		}
		if err := st.DeleteUser(ctx, carol.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.User(ctx, carol.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Carol after her deletion: %v", err)
		}
		everyone, err := st.Everyone(ctx)
		if err != nil || len(everyone) != 1 {
			t.Errorf("Everyone = %d people, %v", len(everyone), err)
		}
	})
}
