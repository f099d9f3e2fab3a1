// Package seed fills the tables that grow with traffic to the size they
// have on a server that has been running, so that the load figures are
// taken on data of realistic size (issue 19): the todo AS's replay records
// and the IdP's audit log. The rows are made by the database itself, in
// one statement each: counted by MariaDB's Sequence engine (seq_1_to_N) or,
// on SQLite, by a recursive common table expression.
package seed

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// SteadyRows is the default size of a seeded table: the unexpired replay
// records of a todo AS doing about 3,300 grants/s with ID-JAGs that live
// five minutes; for the audit log, a day of a smaller IdP.
const SteadyRows = 1_000_000

// ReplayRecords adds rows unexpired records to the todo AS's replay table
// (shared/replay/replaydb's spent_jtis), one issuer, their expiries spread
// over five minutes an hour from now, each key its expiry then random bytes
// (replaydb.SpentJTI).
func ReplayRecords(db *gorm.DB, rows int) error {
	if rows <= 0 {
		return nil
	}
	base := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	q := "INSERT INTO spent_jtis (`key`, issuer, expires_at) SELECT UNHEX(CONCAT(LPAD(HEX(? + seq % 300), 16, '0'), LEFT(SHA2(CONCAT(?, seq), 256), 48))), " +
		"'seed', DATE_ADD(?, INTERVAL seq % 300 SECOND) FROM seq_1_to_" + strconv.Itoa(rows)
	args := []any{base.Unix(), base.String(), base}
	if db.Dialector.Name() == "sqlite" {
		// The key is made in hex and unhexed once: || would make TEXT of
		// two BLOBs, which SQLite sorts before every BLOB (so the server's
		// purge would find every row expired, and delete none by value).
		// Times as the services' SQLite driver writes them (AuditEvents).
		q = counted(rows) + `INSERT INTO spent_jtis ("key", issuer, expires_at) SELECT unhex(printf('%016x', ? + i % 300) || hex(randomblob(24))), 'seed', ` +
			`strftime('%Y-%m-%d %H:%M:%f+00:00', ?, '+' || (i % 300) || ' seconds') FROM n`
		args = []any{base.Unix(), base.Format("2006-01-02 15:04:05")}
	}
	if err := db.Exec(q, args...).Error; err != nil {
		return fmt.Errorf("seed replay records: %w", err)
	}
	return nil
}

// AuditEvents adds rows records of issued ID-JAGs to the IdP's audit log
// (idp/audit's audit_events), one a second going back from now, about
// a thousand people. The table must exist: the IdP makes it when it starts.
func AuditEvents(db *gorm.DB, rows int) error {
	if rows <= 0 {
		return nil
	}
	if !db.Migrator().HasTable("audit_events") {
		return errors.New("there is no audit_events table: start the IdP on this database first")
	}
	now := time.Now().UTC()
	const cols = "(time, event, outcome, client_id, user_id, user_email, audience, resource, scope, requested, jti)"
	q := "INSERT INTO audit_events " + cols + ` SELECT DATE_SUB(?, INTERVAL seq SECOND), 'app.oauth2.token.grant.id_jag', 'issued',
		'seed-client', CONCAT('00useed', seq % 1000), CONCAT('seed', seq % 1000, '@load.test'), 'http://seed.test',
		'http://seed.test/api', 'todos.read', 'todos.read', SHA2(CONCAT(?, seq), 256) FROM seq_1_to_` + strconv.Itoa(rows)
	args := []any{now, now.String()}
	if db.Dialector.Name() == "sqlite" {
		// The services' SQLite driver writes times as "2006-01-02
		// 15:04:05.999999999+00:00"; strftime's %f has milliseconds.
		q = counted(rows) + "INSERT INTO audit_events " + cols + ` SELECT strftime('%Y-%m-%d %H:%M:%f+00:00', ?, '-' || i || ' seconds'),
			'app.oauth2.token.grant.id_jag', 'issued', 'seed-client', '00useed' || (i % 1000), 'seed' || (i % 1000) || '@load.test',
			'http://seed.test', 'http://seed.test/api', 'todos.read', 'todos.read', lower(hex(randomblob(32))) FROM n`
		args = []any{now.Format("2006-01-02 15:04:05")}
	}
	if err := db.Exec(q, args...).Error; err != nil {
		return fmt.Errorf("seed audit events: %w", err)
	}
	return nil
}

// counted is SQLite's row counter n(i), 1 to rows.
func counted(rows int) string {
	return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " + strconv.Itoa(rows) + ") "
}
