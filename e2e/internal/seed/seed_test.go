package seed

import (
	"encoding/binary"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/idp/audit"
	"xaa.example/shared/replay/replaydb"
	"xaa.example/shared/storage/storagetest"
)

// The seeded rows read back through the services' own models: times parse,
// the replay records are unexpired, the audit events go back from now.
func TestSeededRowsReadBack(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&replaydb.SpentJTI{}, &audit.Event{}); err != nil {
			t.Fatal(err)
		}
		const rows = 1500
		if err := ReplayRecords(db, rows); err != nil {
			t.Fatal(err)
		}
		if err := AuditEvents(db, rows); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		var jtis []replaydb.SpentJTI
		if err := db.Find(&jtis).Error; err != nil {
			t.Fatal(err)
		}
		distinct := map[string]bool{}
		for _, j := range jtis {
			distinct[string(j.Key)] = true
			if len(j.Key) != 32 || !j.ExpiresAt.After(now) || int64(binary.BigEndian.Uint64(j.Key)) != j.ExpiresAt.Unix() {
				t.Fatalf("replay record %+v: want a 32-byte key beginning with its expiry, unexpired", j)
			}
		}
		if len(jtis) != rows || len(distinct) != rows {
			t.Errorf("%d replay records, %d distinct keys, want %d", len(jtis), len(distinct), rows)
		}
		// The rows must compare as the server's own do. Its purge deletes
		// the keys that sort before now's expiry (replaydb.purgeBatch) by
		// their values; a replay is an equal key. A key stored as another
		// type (SQLite's || makes TEXT of two BLOBs, and TEXT sorts before
		// every BLOB) would be found expired at every grant and never
		// deleted, and would match nothing.
		before := binary.BigEndian.AppendUint64(nil, uint64(now.Unix()))
		var expired, same int64
		if err := db.Model(&replaydb.SpentJTI{}).Where(clause.Lt{Column: clause.Column{Name: "key"}, Value: before}).Count(&expired).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Model(&replaydb.SpentJTI{}).Where(clause.Eq{Column: clause.Column{Name: "key"}, Value: jtis[0].Key}).Count(&same).Error; err != nil {
			t.Fatal(err)
		}
		if expired != 0 || same != 1 {
			t.Errorf("%d seeded keys sort before now's (want 0); a seeded key looked up by its value: %d rows (want 1)", expired, same)
		}
		var events []audit.Event
		if err := db.Order("time DESC").Find(&events).Error; err != nil {
			t.Fatal(err)
		}
		if len(events) != rows {
			t.Fatalf("%d audit events, want %d", len(events), rows)
		}
		newest, oldest := events[0].Time, events[len(events)-1].Time
		if newest.After(now) || now.Sub(newest) > time.Minute || newest.Sub(oldest) < (rows-2)*time.Second {
			t.Errorf("audit events from %v to %v, want one a second back from now", oldest, newest)
		}
		if e := events[0]; e.Event != audit.IDJAGIssued || e.Outcome != "issued" || e.UserEmail == "" || e.JTI == "" {
			t.Errorf("audit event %+v", e)
		}
	})
}
