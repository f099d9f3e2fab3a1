package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// maxCachedStatements bounds each SQLite connection's statement cache. The
// services run a few dozen distinct statements; when the cache is full
// (statements built with a varying number of placeholders, say) it is
// emptied and fills again with what runs next.
const maxCachedStatements = 256

// stmtCacheConnector opens SQLite connections that keep their prepared
// statements. SQLite parses and plans a statement in sqlite3_prepare, which
// for the services' short queries costs more than running them; database/sql
// and gorm call the driver with the SQL text each time, and the driver would
// prepare it anew every time. modernc.org/sqlite keeps the compiled statement
// of one it was asked to prepare (resetting it after each use), so each
// connection here prepares a statement the first time its text is seen and
// runs that from then on.
type stmtCacheConnector struct{ base driver.Connector }

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &stmtCacheConn{conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.base.Driver() }

// stmtCacheConn is one connection and its statements. database/sql uses a
// connection from one goroutine at a time, so the map needs no lock.
type stmtCacheConn struct {
	conn  driver.Conn
	stmts map[string]*cachedStmt
}

// cachedStmt is a prepared statement; busy while rows it returned are open
// (within a transaction, a second query with the same text could run before
// the first's rows are closed: it gets a statement of its own); dropped
// when the cache forgot it while busy, to be closed with its rows.
type cachedStmt struct {
	stmt    driver.Stmt
	busy    bool
	dropped bool
}

// statement returns the connection's prepared statement for query, preparing
// it the first time, or nil when it is in use.
func (c *stmtCacheConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= maxCachedStatements {
		c.dropIdle()
	}
	stmt, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{stmt: stmt}
	c.stmts[query] = s
	return s, nil
}

// dropIdle closes the statements not in use and forgets them all; a busy
// one is closed when its rows are.
func (c *stmtCacheConn) dropIdle() {
	for query, s := range c.stmts {
		if s.busy {
			s.dropped = true
		} else {
			_ = s.stmt.Close()
		}
		delete(c.stmts, query)
	}
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *stmtCacheConn) Close() error {
	var errs []error
	for query, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
		delete(c.stmts, query)
	}
	return errors.Join(append(errs, c.conn.Close())...)
}

// The rest is the driver's own, forwarded: what modernc.org/sqlite asks of a
// wrapper (NewConnector's documentation).

func (c *stmtCacheConn) Unwrap() driver.Conn { return c.conn }

func (c *stmtCacheConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *stmtCacheConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

//nolint:staticcheck // driver.Conn requires Begin; database/sql calls BeginTx.
func (c *stmtCacheConn) Begin() (driver.Tx, error) { return c.conn.Begin() }

func (c *stmtCacheConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtCacheConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }

func (c *stmtCacheConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *stmtCacheConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }

// cachedRows frees its statement for the next query when closed.
type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	if r.stmt.dropped {
		err = errors.Join(err, r.stmt.stmt.Close())
	}
	return err
}

// The column types, as the driver reports them (gorm reads them to scan).

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	return r.Rows.(driver.RowsColumnTypeNullable).ColumnTypeNullable(i)
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.Rows.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}
