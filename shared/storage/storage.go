package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/libtnb/sqlite"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	moderncsqlite "modernc.org/sqlite"
)

// ErrNotFound and ErrAlreadyExists are the store errors services see; gorm's
// own errors never leave a store.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
)

// Translate maps gorm errors to the package's errors.
func Translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return ErrAlreadyExists
	}
	return err
}

// Open connects to databaseURL, or to an SQLite file at sqlitePath when the
// URL is empty. A mysql:// or mariadb:// URL names its schema in the path;
// the schema is created when missing, so that a fresh server needs no setup.
//
//	mysql://user:password@127.0.0.1:3306/xaa_todo
//	sqlite:///absolute/path/todo.db  or  sqlite://relative/path/todo.db
func Open(databaseURL, sqlitePath string) (*gorm.DB, error) {
	cfg := &gorm.Config{
		// A single insert or update is atomic by itself: gorm's default
		// BEGIN and COMMIT around it would cost two more round trips (on
		// MariaDB) for nothing. Statements that must go together say so
		// with an explicit Transaction.
		SkipDefaultTransaction: true,
		TranslateError:         true,
		Logger:                 logger.Default.LogMode(logger.Silent),
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	if databaseURL == "" {
		return openSQLite(sqlitePath, cfg)
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database URL is not a URL")
	}
	switch u.Scheme {
	case "sqlite":
		return openSQLite(strings.TrimPrefix(databaseURL, "sqlite://"), cfg)
	case "mysql", "mariadb":
		return openMySQL(u, cfg)
	}
	return nil, fmt.Errorf("database URL scheme %q is not supported (use mysql:// or sqlite://)", u.Scheme)
}

func openSQLite(path string, cfg *gorm.Config) (*gorm.DB, error) {
	if path == "" {
		return nil, errors.New("no SQLite path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	// synchronous(NORMAL) in WAL mode: a commit is in the write-ahead log,
	// in the operating system's hands, when it returns, so it survives the
	// process being killed (kill -9, a crash); the log is flushed to disk
	// at each checkpoint, so a power cut (or a kernel crash) can lose the
	// last commits before it. That is acceptable here: the database is the
	// demo's default, and what such a loss forgets are recent single-use
	// records (a replayed ID-JAG would still have to be unexpired: minutes),
	// sessions and the last edits. MariaDB is for deployments that must not
	// lose a commit (docs/PERFORMANCE.md). Each commit no longer waits for
	// its own fsync, which bounded the todo AS to one grant per fsync.
	// Times are written as SQLite's own format with sub-second digits and
	// zone (what the driver used before wrote too) and read back as times.
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		"&_time_format=sqlite&_texttotime=1"
	base, err := moderncsqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	// Statements are prepared once per connection (stmtCacheConnector);
	// gorm's own PrepareStmt would do it above database/sql, and with one
	// connection it deadlocks: a transaction waits for a statement that
	// another request is preparing, which waits for the connection.
	db, err := gorm.Open(sqlite.New(sqlite.Config{Conn: sql.OpenDB(stmtCacheConnector{base})}), cfg)
	if err != nil {
		return nil, fmt.Errorf("open SQLite %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// SQLite has one writer; one connection turns lock contention into a
	// queue instead of "database is locked" errors.
	sqlDB.SetMaxOpenConns(1)
	return db, nil
}

func openMySQL(u *url.URL, cfg *gorm.Config) (*gorm.DB, error) {
	schema := strings.TrimPrefix(u.Path, "/")
	if schema == "" || strings.ContainsAny(schema, "`/ ") {
		return nil, fmt.Errorf("database URL must name a schema, like mysql://root@127.0.0.1:3306/xaa_todo")
	}
	mc := mysql.NewConfig()
	mc.Net = "tcp"
	mc.Addr = u.Host
	mc.User = u.User.Username()
	mc.Passwd, _ = u.User.Password()
	mc.ParseTime = true
	mc.Loc = time.UTC
	mc.Params = map[string]string{"charset": "utf8mb4"}
	// The driver would otherwise prepare, execute and close every query
	// with arguments: three round trips where one will do. Interpolating is
	// safe with utf8mb4 (the driver refuses it for charsets where it is not).
	mc.InterpolateParams = true
	// Times are written into statements to the microsecond, the finest
	// MariaDB reads: with Go's nine digits of nanoseconds the literal is not
	// a DATETIME to it, so a comparison such as the replay purge's
	// expires_at < ? could use no index and scanned (and locked) every row.
	if err := mc.Apply(mysql.TimeTruncate(time.Microsecond)); err != nil {
		return nil, err
	}
	for k, v := range u.Query() {
		mc.Params[k] = v[0]
	}

	// Create the schema on first start.
	admin, err := gorm.Open(gormmysql.Open(mc.FormatDSN()), cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to MariaDB at %s: %w", u.Host, err)
	}
	if err := admin.Exec("CREATE DATABASE IF NOT EXISTS `" + schema + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci").Error; err != nil {
		return nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	if sqlDB, err := admin.DB(); err == nil {
		sqlDB.Close()
	}

	mc.DBName = schema
	db, err := gorm.Open(gormmysql.Open(mc.FormatDSN()), cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to MariaDB schema %s: %w", schema, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// As many kept idle as may be open: with fewer, every burst of
	// concurrent requests closed the extra connections on their way back and
	// the next burst opened them anew (a handshake, an authentication, the
	// prepared statements again), thousands of times a minute under load.
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(20)
	sqlDB.SetConnMaxLifetime(5 * time.Minute)
	return db, nil
}

// Close closes the connection pool behind db.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
