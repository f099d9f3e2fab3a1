package provisioning

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/idp/audit"
	"xaa.example/idp/outbox"
	"xaa.example/shared/scim"
	"xaa.example/shared/scim/scimtest"
	"xaa.example/shared/storage"
	"xaa.example/shared/storage/storagetest"
)

const appToken = "app-scim-token"

// directory is the IdP's people, as a test holds them.
type directory struct {
	mu     sync.Mutex
	people map[string]Person
}

func (d *directory) Person(_ context.Context, id string) (*Person, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.people[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &p, nil
}

func (d *directory) Everyone(context.Context) ([]Person, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []Person
	for _, p := range d.people {
		out = append(out, p)
	}
	return out, nil
}

func (d *directory) set(p Person) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.people[p.ID] = p
}

func (d *directory) remove(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.people, id)
}

// app is an app's SCIM service (package scim, over scimtest.Memory) behind
// a real server: what the IdP provisions.
func app(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	h, err := (&scim.Service{BaseURL: srv.URL + "/scim/v2", Accounts: scimtest.NewMemory(),
		Clients: []scim.Client{{Token: appToken, Issuer: "https://idp.test"}}}).Handler()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/v2/", h)
	srv.Config.Handler = mux
	return srv.URL + "/scim/v2"
}

// account is the app's account for email, as its SCIM service shows it, or
// nil.
func account(t *testing.T, base, email string) map[string]any {
	t.Helper()
	status, body := scimtest.Call(t, base, appToken, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "`+email+`"`), "")
	if status != http.StatusOK {
		t.Fatalf("list: %d %v", status, body)
	}
	list, _ := body["Resources"].([]any)
	if len(list) == 0 {
		return nil
	}
	m, _ := list[0].(map[string]any)
	return m
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
	}
}

// TestPushes: switched on for an app, provisioning pushes everyone there
// (externalId the IdP's id); a person disabled is deactivated there, one
// deleted is deleted; every push is audited. A push the app refuses is
// retried, its error kept, and audited as failed. The app is the project's
// own SCIM service, which speaks RFC 7644 to strict clients.
func TestPushes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		base := app(t)
		log := slog.New(slog.DiscardHandler)
		ob, err := outbox.Open(db, time.Now, log)
		if err != nil {
			t.Fatal(err)
		}
		al, err := audit.Open(db, log)
		if err != nil {
			t.Fatal(err)
		}
		dir := &directory{people: map[string]Person{"00u1": {ID: "00u1", Email: "bob@tables.fake", Name: "Bobby Tables"}}}
		p, err := New(t.Context(), Config{Apps: []App{{Name: "Todo AS", BaseURL: base, Token: appToken}}, People: dir,
			DB: db, Outbox: ob, Audit: al, Now: time.Now, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		ob.Start()
		defer ob.Stop()

		targets, err := p.Targets(t.Context())
		if err != nil || len(targets) != 1 || targets[0].Enabled {
			t.Fatalf("seeded: %v %+v", err, targets)
		}
		target := &targets[0]
		target.Enabled = true
		if err := p.SaveTarget(t.Context(), target); err != nil {
			t.Fatal(err)
		}
		if err := p.AssignEveryone(t.Context(), target); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bob at the app", func() bool { return account(t, base, "bob@tables.fake") != nil })
		if a := account(t, base, "bob@tables.fake"); a["externalId"] != "00u1" || a["active"] != true {
			t.Errorf("bob at the app: %v", a)
		}

		bob := dir.people["00u1"]
		bob.Disabled = true
		dir.set(bob)
		if err := p.Changed(t.Context(), bob, "disabled"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bob deactivated", func() bool { return account(t, base, "bob@tables.fake")["active"] == false })

		dir.remove("00u1")
		if err := p.Changed(t.Context(), bob, "deleted"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bob deleted", func() bool { return account(t, base, "bob@tables.fake") == nil })
		// The outbox records a push once its handler returns.
		eventually(t, "the deletion recorded", func() bool {
			pushes, _ := p.Recent(t.Context(), 1)
			return len(pushes) == 1 && pushes[0].Done()
		})
		pushes, err := p.Recent(t.Context(), 10)
		if err != nil || len(pushes) != 3 || !pushes[0].Done() || pushes[0].Why != "deleted" || pushes[2].Why != "assigned" {
			t.Errorf("recent pushes: %v %+v", err, pushes)
		}

		// The app refuses the IdP's token: retried, kept, audited.
		target.Token = "not-the-token"
		if err := p.SaveTarget(t.Context(), target); err != nil {
			t.Fatal(err)
		}
		carol := Person{ID: "00u2", Email: "carol@tables.fake", Name: "Carol Tables"}
		dir.set(carol)
		if err := p.Changed(t.Context(), carol, "created"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a failed push", func() bool {
			pushes, _ := p.Recent(t.Context(), 1)
			return len(pushes) == 1 && pushes[0].Attempts > 0
		})
		pushes, _ = p.Recent(t.Context(), 1)
		if pushes[0].Done() || pushes[0].LastError == "" || pushes[0].NextAt.Before(time.Now()) {
			t.Errorf("the failed push: %+v", pushes[0])
		}
		failed, err := al.Search(t.Context(), audit.Query{Text: "carol@tables.fake"})
		if err != nil || len(failed) == 0 || failed[0].Outcome != "failed" || failed[0].Event != audit.ProvisionPush {
			t.Errorf("the failure in the audit log: %v %+v", err, failed)
		}
		pushed, _ := al.Search(t.Context(), audit.Query{Text: "bob@tables.fake"})
		if len(pushed) != 3 {
			t.Errorf("bob's pushes audited: %d, want 3", len(pushed))
		}
	})
}

// TestSwitchedOffHoldsPushes: a push to an app switched off since it was
// queued is not sent; it waits, with the reason shown.
func TestSwitchedOffHoldsPushes(t *testing.T) {
	db := storagetest.SQLite(t)
	log := slog.New(slog.DiscardHandler)
	ob, _ := outbox.Open(db, time.Now, log)
	al, _ := audit.Open(db, log)
	dir := &directory{people: map[string]Person{"00u1": {ID: "00u1", Email: "bob@tables.fake"}}}
	p, err := New(t.Context(), Config{Apps: []App{{Name: "Todo AS", BaseURL: "http://127.0.0.1:1/scim/v2", Token: appToken}}, People: dir,
		DB: db, Outbox: ob, Audit: al, Now: time.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	targets, _ := p.Targets(t.Context())
	if err := p.AssignEveryone(t.Context(), &targets[0]); err != nil {
		t.Fatal(err)
	}
	ob.Start()
	defer ob.Stop()
	eventually(t, "the push tried", func() bool {
		pushes, _ := p.Recent(t.Context(), 1)
		return len(pushes) == 1 && pushes[0].Attempts > 0
	})
	pushes, _ := p.Recent(t.Context(), 1)
	if pushes[0].Done() || pushes[0].LastError != "provisioning to Todo AS is switched off" {
		t.Errorf("%+v", pushes[0])
	}
}
