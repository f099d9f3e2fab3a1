package audit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"xaa.example/shared/storage/storagetest"
)

func open(t *testing.T, db *gorm.DB, log *slog.Logger) *Log {
	t.Helper()
	l, err := Open(db, log)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSearch(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		l := open(t, db, slog.New(slog.DiscardHandler))
		now := time.Now().UTC()
		for i, e := range []Event{
			{Event: IDJAGIssued, Outcome: "issued", UserEmail: "bob@tables.fake", ClientID: "wiki-as", Scope: "todos.read", JTI: "J1"},
			{Event: IDJAGRefused, Outcome: "refused", UserEmail: "bob@tables.fake", ClientID: "wiki-as", Reason: "invalid_scope: none allowed"},
			{Event: IDJAGRefused, Outcome: "refused", UserEmail: "john@tables.fake2", ClientID: "wiki-as", Reason: "access_denied: 100% off"},
		} {
			e.Time = now.Add(time.Duration(i) * time.Second)
			l.Record(ctx, &e)
		}
		for _, tt := range []struct {
			q    Query
			want int
		}{
			{Query{}, 3},
			{Query{Outcome: "refused"}, 2},
			{Query{Text: "BOB@"}, 2},
			{Query{Text: "invalid_scope"}, 1},
			{Query{Text: "invalid%scope"}, 0}, // % is a character here, not a wildcard
			{Query{Text: "100%"}, 1},
			{Query{Text: "tables.fake2", Outcome: "issued"}, 0},
			{Query{Text: "j1"}, 1},
		} {
			got, err := l.Search(ctx, tt.q)
			if err != nil || len(got) != tt.want {
				t.Errorf("%+v: %d events (%v), want %d", tt.q, len(got), err, tt.want)
			}
		}
		newest, _ := l.Search(ctx, Query{})
		if newest[0].UserEmail != "john@tables.fake2" {
			t.Error("events are not newest first")
		}
		if e, err := l.Get(ctx, newest[0].ID); err != nil || e.Reason != "access_denied: 100% off" {
			t.Errorf("get: %v %+v", err, e)
		}
	})
}

// TestRecordOutlivesTheCaller (issue 32): a decision made and its record
// written after the caller went away (its request's context cancelled, as
// when the client is killed mid-request) is still kept: the record belongs
// to the decision, not to the connection.
func TestRecordOutlivesTheCaller(t *testing.T) {
	db := storagetest.SQLite(t)
	var logged bytes.Buffer
	l := open(t, db, slog.New(slog.NewTextHandler(&logged, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l.Record(ctx, &Event{Time: time.Now().UTC(), Event: IDJAGIssued, Outcome: "issued", ClientID: "wiki-as"})
	var n int64
	db.Model(&Event{}).Count(&n)
	if n != 1 || logged.String() != "" {
		t.Errorf("%d audit events kept after the caller went away; log: %s", n, logged.String())
	}
}

// TestRecordCutsLongFields: a field longer than its column is cut, not
// refused (MariaDB would refuse it and lose the record).
func TestRecordCutsLongFields(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		var logged bytes.Buffer
		l := open(t, db, slog.New(slog.NewTextHandler(&logged, nil)))
		l.Record(t.Context(), &Event{Time: time.Now().UTC(), Event: SignInFailed, Outcome: "refused",
			UserEmail: strings.Repeat("a", 300) + "@tables.fake", Reason: strings.Repeat("why ", 400)})
		got, err := l.Search(t.Context(), Query{})
		if err != nil || len(got) != 1 || len(got[0].UserEmail) != 255 || len(got[0].Reason) != 1024 || logged.String() != "" {
			t.Errorf("%v %d records; log: %s", err, len(got), logged.String())
		}
	})
}
