package provider

import (
	"context"
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
