package provider

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

func TestAuditSearch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&AuditEvent{}); err != nil {
			t.Fatal(err)
		}
		st := &store{db: db}
		now := time.Now().UTC()
		for i, e := range []AuditEvent{
			{Event: EventIDJAGIssued, Outcome: "issued", UserEmail: "bob@tables.fake", ClientID: "wiki-as", Scope: "todos.read", JTI: "J1"},
			{Event: EventIDJAGRefused, Outcome: "refused", UserEmail: "bob@tables.fake", ClientID: "wiki-as", Reason: "invalid_scope: none allowed"},
			{Event: EventIDJAGRefused, Outcome: "refused", UserEmail: "john@tables.fake2", ClientID: "wiki-as", Reason: "access_denied: 100% off"},
		} {
			e.Time = now.Add(time.Duration(i) * time.Second)
			if err := db.Create(&e).Error; err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			q    AuditQuery
			want int
		}{
			{AuditQuery{}, 3},
			{AuditQuery{Outcome: "refused"}, 2},
			{AuditQuery{Text: "BOB@"}, 2},
			{AuditQuery{Text: "invalid_scope"}, 1},
			{AuditQuery{Text: "invalid%scope"}, 0}, // % is a character here, not a wildcard
			{AuditQuery{Text: "100%"}, 1},
			{AuditQuery{Text: "tables.fake2", Outcome: "issued"}, 0},
			{AuditQuery{Text: "j1"}, 1},
		} {
			got, err := st.auditEvents(ctx, tt.q)
			if err != nil || len(got) != tt.want {
				t.Errorf("%+v: %d events (%v), want %d", tt.q, len(got), err, tt.want)
			}
		}
		newest, _ := st.auditEvents(ctx, AuditQuery{})
		if newest[0].UserEmail != "john@tables.fake2" {
			t.Error("events are not newest first")
		}
	})
}

// TestAuditOutlivesTheCaller (issue 32): a decision made and its audit
// record written after the caller went away (its request's context
// cancelled, as when the client is killed mid-request) is still kept: the
// record belongs to the decision, not to the connection.
func TestAuditOutlivesTheCaller(t *testing.T) {
	db := storagetest.SQLite(t)
	if err := db.AutoMigrate(&AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	s := &Server{store: &store{db: db}, cfg: Config{Log: slog.New(slog.NewTextHandler(&logged, nil))}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.storeAudit(ctx, &AuditEvent{Time: time.Now().UTC(), Event: EventIDJAGIssued, Outcome: "issued", ClientID: "wiki-as"})
	var n int64
	db.Model(&AuditEvent{}).Count(&n)
	if n != 1 || logged.String() != "" {
		t.Errorf("%d audit events kept after the caller went away; log: %s", n, logged.String())
	}
}
