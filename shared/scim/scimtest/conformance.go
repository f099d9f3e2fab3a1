package scimtest

import (
	"context"
	"errors"
	"testing"

	"xaa.example/shared/scim"
)

// Fixture is a scim.Accounts under test, with the two ways an account
// comes to be other than by provisioning.
type Fixture interface {
	scim.Accounts
	// Unclaimed makes an account no IdP has claimed yet (a seeded one).
	Unclaimed(t *testing.T, email string) (id string)
	// SignedIn makes the account of someone who signed in from issuer
	// (and tenant) as subject.
	SignedIn(t *testing.T, issuer, tenant, subject, email string) (id string)
}

// Conformance is what every scim.Accounts must do, each case on a fresh,
// empty one from open (dex's storage/conformance, for this interface): an
// account is reached only by the client of its issuer and tenant exactly,
// or, unclaimed, by a client of its domain; an email or externalId is one
// account's; lists are stable pages with their total.
func Conformance(t *testing.T, open func(t *testing.T) Fixture) {
	ctx := context.Background()
	idp := &scim.Client{Token: "a", Issuer: "https://idp.test", Domains: []string{"tables.test"}}
	tenantB := &scim.Client{Token: "b", Issuer: "https://idp.test", Tenant: "tenantB", Domains: []string{"tenantb.test"}}
	other := &scim.Client{Token: "c", Issuer: "https://other-idp.test", Domains: []string{"tables.test"}}
	anyone := &scim.Client{Token: "d", Issuer: "https://lone-idp.test"}
	person := func(email, externalID string) *scim.Account {
		return &scim.Account{Email: email, Name: "Person " + email, Active: true, ExternalID: externalID,
			Attributes: map[string]any{"userName": email, "displayName": "Person " + email}}
	}
	create := func(t *testing.T, f Fixture, c *scim.Client, a *scim.Account) *scim.Account {
		t.Helper()
		if err := f.Create(ctx, c, a); err != nil {
			t.Fatalf("create %s: %v", a.Email, err)
		}
		if a.ID == "" || a.Version != 1 || a.Created.IsZero() {
			t.Fatalf("create %s gave id %q, version %d, created %v", a.Email, a.ID, a.Version, a.Created)
		}
		return a
	}
	notFound := func(t *testing.T, f Fixture, c *scim.Client, id, who string) {
		t.Helper()
		if _, err := f.Get(ctx, c, id); !errors.Is(err, scim.ErrNotFound) {
			t.Errorf("%s: Get = %v, want ErrNotFound", who, err)
		}
		a := person("mallory@tenantb.test", "00u-mallory")
		a.ID = id
		if err := f.Update(ctx, c, a); !errors.Is(err, scim.ErrNotFound) {
			t.Errorf("%s: Update = %v, want ErrNotFound", who, err)
		}
		if err := f.Delete(ctx, c, id); !errors.Is(err, scim.ErrNotFound) {
			t.Errorf("%s: Delete = %v, want ErrNotFound", who, err)
		}
		if list, total, err := f.List(ctx, c, scim.Query{Field: "id", Value: id, Limit: 10}); err != nil || total != 0 || len(list) != 0 {
			t.Errorf("%s: List by id = %d, %d, %v; want none", who, len(list), total, err)
		}
	}

	t.Run("create, read and list", func(t *testing.T) {
		f := open(t)
		a := create(t, f, idp, person("ann@tables.test", "00u-ann"))
		b := create(t, f, idp, person("ben@tables.test", "00u-ben"))
		got, err := f.Get(ctx, idp, a.ID)
		if err != nil || got.Email != "ann@tables.test" || got.Name != "Person ann@tables.test" || !got.Active ||
			got.ExternalID != "00u-ann" || got.Attributes["displayName"] != "Person ann@tables.test" || got.Version != 1 {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		list, total, err := f.List(ctx, idp, scim.Query{Limit: 1})
		if err != nil || total != 2 || len(list) != 1 || list[0].ID != a.ID {
			t.Fatalf("first page = %+v, %d, %v", list, total, err)
		}
		list, total, err = f.List(ctx, idp, scim.Query{Offset: 1, Limit: 10})
		if err != nil || total != 2 || len(list) != 1 || list[0].ID != b.ID {
			t.Fatalf("second page = %+v, %d, %v", list, total, err)
		}
		for _, q := range []scim.Query{{Field: "email", Value: "BEN@tables.test"}, {Field: "externalId", Value: "00u-ben"}, {Field: "id", Value: b.ID}} {
			q.Limit = 10
			if list, total, err := f.List(ctx, idp, q); err != nil || total != 1 || len(list) != 1 || list[0].ID != b.ID {
				t.Errorf("List %+v = %+v, %d, %v", q, list, total, err)
			}
		}
	})

	t.Run("update", func(t *testing.T) {
		f := open(t)
		a := create(t, f, idp, person("cat@tables.test", "00u-cat"))
		a.Email, a.Name, a.Active = "catherine@tables.test", "Catherine", false
		a.Attributes = map[string]any{"userName": "catherine@tables.test"}
		if err := f.Update(ctx, idp, a); err != nil {
			t.Fatal(err)
		}
		got, err := f.Get(ctx, idp, a.ID)
		if err != nil || got.Email != "catherine@tables.test" || got.Name != "Catherine" || got.Active || got.Version != 2 ||
			got.Attributes["userName"] != "catherine@tables.test" || got.Modified.IsZero() {
			t.Fatalf("after Update, Get = %+v, %v", got, err)
		}
	})

	t.Run("an email or externalId is one account's", func(t *testing.T) {
		f := open(t)
		a := create(t, f, idp, person("dan@tables.test", "00u-dan"))
		b := create(t, f, idp, person("eve@tables.test", "00u-eve"))
		for _, tt := range []struct {
			what string
			try  func() error
		}{
			{"create with a taken email", func() error { return f.Create(ctx, idp, person("dan@tables.test", "00u-dan2")) }},
			{"create with a taken externalId", func() error { return f.Create(ctx, idp, person("dan2@tables.test", "00u-dan")) }},
			{"update to a taken email", func() error { c := *b; c.Email = "dan@tables.test"; return f.Update(ctx, idp, &c) }},
			{"update to a taken externalId", func() error { c := *b; c.ExternalID = "00u-dan"; return f.Update(ctx, idp, &c) }},
		} {
			if err := tt.try(); !errors.Is(err, scim.ErrTaken) {
				t.Errorf("%s: %v, want ErrTaken", tt.what, err)
			}
		}
		if got, _ := f.Get(ctx, idp, a.ID); got == nil || got.Email != "dan@tables.test" || got.ExternalID != "00u-dan" {
			t.Errorf("dan after the refusals: %+v", got)
		}
		if got, _ := f.Get(ctx, idp, b.ID); got == nil || got.Email != "eve@tables.test" || got.ExternalID != "00u-eve" {
			t.Errorf("eve after the refusals: %+v", got)
		}
		// Another issuer's externalId space is its own.
		if err := f.Create(ctx, other, person("dan.other@tables.test", "00u-dan")); err != nil {
			t.Errorf("the same externalId from another issuer: %v", err)
		}
	})

	t.Run("another issuer or tenant does not reach a client's people", func(t *testing.T) {
		f := open(t)
		a := create(t, f, idp, person("fay@tables.test", "00u-fay"))
		c := create(t, f, tenantB, person("gus@tenantb.test", "00u-gus"))
		notFound(t, f, other, a.ID, "another issuer, on a provisioned person")
		notFound(t, f, tenantB, a.ID, "tenantB, on the tenant-less client's person")
		notFound(t, f, idp, c.ID, "the tenant-less client, on tenantB's person")
		if _, err := f.Get(ctx, idp, a.ID); err != nil {
			t.Errorf("the client's own person, after the others tried: %v", err)
		}
		if list, total, _ := f.List(ctx, tenantB, scim.Query{Field: "externalId", Value: "00u-fay", Limit: 10}); total != 0 || len(list) != 0 {
			t.Errorf("tenantB finds the other's externalId: %+v", list)
		}
	})

	t.Run("people who signed in", func(t *testing.T) {
		f := open(t)
		id := f.SignedIn(t, idp.Issuer, "", "00u-hal", "hal@tables.test")
		if got, err := f.Get(ctx, idp, id); err != nil || got.Email != "hal@tables.test" || got.ExternalID != "" || got.Attributes != nil {
			t.Errorf("the issuer's client: %+v, %v", got, err)
		}
		notFound(t, f, tenantB, id, "the same issuer's tenantB")
		notFound(t, f, other, id, "another issuer with the domain")
	})

	t.Run("unclaimed accounts, at a client's domains", func(t *testing.T) {
		f := open(t)
		id := f.Unclaimed(t, "ida@tables.test")
		notFound(t, f, tenantB, id, "a client of another domain")
		if _, err := f.Get(ctx, anyone, id); err != nil {
			t.Errorf("a client with no domains: %v", err)
		}
		got, err := f.Get(ctx, idp, id)
		if err != nil {
			t.Fatalf("a client of the domain: %v", err)
		}
		// Adopted by one, it is no one else's.
		got.ExternalID, got.Attributes = "00u-ida", map[string]any{"userName": "ida@tables.test"}
		if err := f.Update(ctx, idp, got); err != nil {
			t.Fatal(err)
		}
		notFound(t, f, other, id, "another issuer with the domain, once adopted")
		if got, err := f.Get(ctx, idp, id); err != nil || got.ExternalID != "00u-ida" {
			t.Errorf("the adopting client: %+v, %v", got, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		f := open(t)
		a := create(t, f, idp, person("jo@tables.test", "00u-jo"))
		if err := f.Delete(ctx, idp, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Get(ctx, idp, a.ID); !errors.Is(err, scim.ErrNotFound) {
			t.Errorf("Get after Delete: %v", err)
		}
		if err := f.Delete(ctx, idp, a.ID); !errors.Is(err, scim.ErrNotFound) {
			t.Errorf("a second Delete: %v", err)
		}
		// Its email and externalId are free again.
		create(t, f, idp, person("jo@tables.test", "00u-jo"))
	})
}
