package storage

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
)

// modernc.org/sqlite prepares (parses and plans) the SQL of every Query
// and Exec anew and throws the statement away afterwards: under a login
// burst that was a sixth of the server's CPU. pgx keeps a statement cache
// per connection; nothing in database/sql or the SQLite driver does, so
// the SQLite connections are wrapped here in one: each connection keeps
// the statements it has prepared, by SQL text, and runs them again.
// database/sql hands a connection to one goroutine at a time, so the
// cache needs no lock.

// maxCachedStmts bounds the statements one connection keeps. Parley's
// queries are constants, well under this; SQL built at run time (a
// migration) past the bound just runs uncached.
const maxCachedStmts = 256

// maxCachedParams keeps SQL with more placeholders than this out of the
// cache: an IN list built for each count of keys would fill it with
// large statements used once.
const maxCachedParams = 16

// sqliteConn is the set of driver interfaces the SQLite driver's
// connections implement and database/sql uses; the wrapper offers the same
// set, so database/sql behaves as it would on the driver's own.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachedStmt is a statement a connection keeps. busy is set while rows
// read from it are open: the same SQL asked again meanwhile (a query
// nested in the loop over its own rows) runs uncached.
type cachedStmt struct {
	s interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool
}

// stmtCacheConnector opens the SQLite driver's connections wrapped in a
// statement cache.
type stmtCacheConnector struct {
	driver.Connector
}

func (c stmtCacheConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("storage: the SQLite driver's connection (%T) lacks an interface the statement cache needs", conn)
	}
	return &stmtCacheConn{sqliteConn: inner, stmts: make(map[string]*cachedStmt)}, nil
}

// stmtCacheConn is a SQLite connection with a statement cache.
type stmtCacheConn struct {
	sqliteConn
	stmts map[string]*cachedStmt
}

// stmt returns the kept statement for query, preparing it the first time,
// or nil when query is to run uncached: the cache is full, the statement
// is busy, or it cannot be prepared on its own (the driver's uncached path
// then gives the error).
func (c *stmtCacheConn) stmt(ctx context.Context, query string) *cachedStmt {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil
		}
		return cs
	}
	if len(c.stmts) >= maxCachedStmts || strings.Count(query, "?") > maxCachedParams {
		return nil
	}
	s, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	ps, ok := s.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		s.Close()
		return nil
	}
	cs := &cachedStmt{s: ps}
	c.stmts[query] = cs
	return cs
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs := c.stmt(ctx, query)
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.s.ExecContext(ctx, args)
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs := c.stmt(ctx, query)
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.s.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

// Unwrap returns the driver's own connection, for helpers that reach it
// through sql.Conn.Raw.
func (c *stmtCacheConn) Unwrap() driver.Conn { return c.sqliteConn }

// Close closes the kept statements, then the connection.
func (c *stmtCacheConn) Close() error {
	for q, cs := range c.stmts {
		cs.s.Close()
		delete(c.stmts, q)
	}
	return c.sqliteConn.Close()
}

// cachedRows frees its statement for the next query when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}
