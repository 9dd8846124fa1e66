// Package sqlstore keeps Baton's state in PostgreSQL or SQLite through gorm:
// an implementation of engine.Store for both dialects, including the task
// and inbox queries. The schema is package migrations; Open applies it.
//
// # Transactions
//
// A command is one transaction. On PostgreSQL, InstanceLock takes the
// instance row with SELECT … FOR UPDATE, so commands on one instance
// queue there while commands on others run in parallel; InstanceSave still
// checks the revision it read.
//
// Round trips are what a PostgreSQL command costs, so the store counts
// them: statements run on the database/sql connection with placeholders
// the store numbers itself (not through gorm's statement building);
// InstanceLock reads the instance and its live rows in one query; a save
// is one statement (data-modifying WITH queries). A transaction sends
// BEGIN only before its first statement and holds the save back until the
// commit, so a command that only creates an instance (a start that runs to
// its end or to its first wait) is that one statement, without BEGIN and
// COMMIT; a command on an instance is BEGIN, the lock, the save, COMMIT.
//
// SQLite has one writer per database. The store lets one of its write
// transactions run at a time (a mutex, so its writers queue in Go instead of
// polling for the lock), and Open begins them with BEGIN IMMEDIATE
// (_txlock=immediate), so a transaction takes the write lock before it reads
// and can never fail to upgrade a read snapshot. Other processes on the same
// file wait for the lock through busy_timeout. File databases use WAL, so
// reads outside a transaction run on other connections while a write goes on.
//
// # Ids
//
// IDBlock hands out ids from a block of idChunk ids the store reserved
// before: PostgreSQL's ids sequence, whose increment is idChunk, returns a
// fresh block with one nextval (no row lock, never rolled back); SQLite
// reserves one by updating its one-row id_source table. A transaction tops
// the block up before it begins, because the engine asks for ids from
// inside its command's transaction but on the Store it was given, not on
// the transaction's: on SQLite's single writer that call must not need a
// second write transaction, and on PostgreSQL it must not need a second
// pooled connection while all of them are held by commands.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/migrations"
)

// Store is an engine.Store in PostgreSQL or SQLite. Its methods are safe
// for concurrent use; the Store passed to a Tx function is bound to that
// transaction and must not be used after it.
type Store struct {
	db *gorm.DB // the pool, or the transaction when tx is set
	tx bool
	sh *shared
	// lk is what InstanceLock read of the instance it locked in this
	// transaction; a Store bound to a transaction only.
	lk *locked
	// pgtx is the transaction of a Store bound to one on PostgreSQL.
	pgtx *pgTx
}

// shared is the state common to a Store and the Stores bound to its transactions.
type shared struct {
	root *gorm.DB
	pg   bool

	// writeMu lets one SQLite write transaction run at a time.
	writeMu sync.Mutex
	// curMu guards cur, the open SQLite write transaction, and idInTx,
	// set when ids were reserved inside it.
	curMu  sync.Mutex
	cur    *gorm.DB
	idInTx bool

	// idMu guards the block [idNext, idEnd) of reserved ids not handed out.
	idMu          sync.Mutex
	idNext, idEnd int64
	refillMu      sync.Mutex // one top-up at a time
}

const (
	// idChunk is how many ids the store reserves at once; the PostgreSQL
	// migration's sequence increments by it.
	idChunk = 65536
	// idLow is how many ids a transaction wants at hand before it begins.
	idLow = idChunk / 4
)

// New returns a Store over db, whose dialector must be PostgreSQL or
// SQLite and whose schema must be migrated (see migrations.Apply). For
// SQLite, db should begin transactions with BEGIN IMMEDIATE and have a busy
// timeout, as OpenDB's does.
func New(db *gorm.DB) *Store {
	return &Store{db: db, sh: &shared{root: db, pg: db.Dialector.Name() == "postgres"}}
}

// Open opens the database at rawURL, applies the migrations and returns a
// Store over it. rawURL is postgres://… (or postgresql://…), sqlite://path,
// sqlite:path or sqlite::memory:. See OpenDB for the pool settings.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	db, err := OpenDB(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return New(db), nil
}

// Pool settings of OpenDB.
const (
	// PostgresMaxConnsDefault bounds a PostgreSQL pool.
	PostgresMaxConnsDefault = 32
	// SQLiteBusyTimeoutDefault is how long an SQLite connection waits for
	// another process's lock before it fails with SQLITE_BUSY.
	SQLiteBusyTimeoutDefault = 10 * time.Second
)

// OpenDB opens the database at rawURL with gorm (see Open for the URL
// forms), applies the migrations and configures the pool: PostgreSQL
// through pgx with at most PostgresMaxConnsDefault connections; an SQLite
// file in WAL mode with BEGIN IMMEDIATE transactions, a busy timeout of
// SQLiteBusyTimeoutDefault and foreign keys on, with up to GOMAXPROCS
// connections for reads; an in-memory SQLite database on one connection
// that is never closed (each connection would be a database of its own).
// Query parameters of an sqlite URL are passed to the driver.
func OpenDB(ctx context.Context, rawURL string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true}
	var (
		dial    gorm.Dialector
		dialect string
		maxConn = PostgresMaxConnsDefault
	)
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dial, dialect = postgres.Open(rawURL), migrations.Postgres
	case strings.HasPrefix(rawURL, "sqlite:"):
		dsn, mem, err := sqliteDSN(rawURL)
		if err != nil {
			return nil, err
		}
		dial, dialect = sqlite.Open(dsn), migrations.SQLite
		maxConn = runtime.GOMAXPROCS(0)
		if mem {
			maxConn = 1
		}
	default:
		return nil, fmt.Errorf("open store: unknown database URL %q, expected postgres://… or sqlite:…", redact(rawURL))
	}
	db, err := gorm.Open(dial, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redact(rawURL), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(maxConn)
	sqlDB.SetMaxIdleConns(maxConn)
	if dialect == migrations.SQLite {
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	} else {
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := migrations.Apply(ctx, sqlDB, dialect); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open store %s: %w", redact(rawURL), err)
	}
	return db, nil
}

// sqliteDSN turns an sqlite URL into the driver's DSN with Baton's settings,
// and reports whether the database is in memory.
func sqliteDSN(rawURL string) (dsn string, mem bool, err error) {
	rest := strings.TrimPrefix(rawURL, "sqlite:")
	rest = strings.TrimPrefix(rest, "//")
	path, query, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", false, fmt.Errorf("open store: bad query in %q: %w", rawURL, err)
	}
	mem = path == ":memory:" || path == "" || strings.Contains(path, "mode=memory")
	if path == "" {
		path = ":memory:"
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	pragmas := q["_pragma"]
	has := func(name string) bool {
		return slices.ContainsFunc(pragmas, func(p string) bool { return strings.HasPrefix(strings.ToLower(p), name) })
	}
	if !has("busy_timeout") {
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", SQLiteBusyTimeoutDefault.Milliseconds()))
	}
	if !has("journal_mode") && !mem {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	if !has("synchronous") && !mem {
		// NORMAL is durable in WAL mode except for the last transactions
		// before a power loss; it avoids an fsync per commit.
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	if !has("foreign_keys") {
		q.Add("_pragma", "foreign_keys(1)")
	}
	return "file:" + path + "?" + q.Encode(), mem, nil
}

// redact hides a password in a URL for error messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// DB returns the gorm handle the store runs on (a transaction's, for a Store
// bound to one).
func (s *Store) DB() *gorm.DB { return s.db }

// Close closes the store's connection pool.
func (s *Store) Close() error {
	sqlDB, err := s.sh.root.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Tx implements engine.Store. A Tx on a Store bound to a transaction joins
// it. A panic in fn rolls back and goes on.
func (s *Store) Tx(ctx context.Context, fn func(tx engine.Store) error) (err error) {
	if s.tx {
		return fn(s)
	}
	sh := s.sh
	if !sh.pg {
		sh.writeMu.Lock()
		defer sh.writeMu.Unlock()
	}
	if err := s.topUpIDs(ctx); err != nil {
		return err
	}
	if pool, ok := sh.root.Statement.ConnPool.(*sql.DB); ok && sh.pg {
		return s.txPostgres(ctx, pool, fn)
	}
	gtx := sh.root.WithContext(ctx).Begin()
	if gtx.Error != nil {
		return translate(gtx.Error, "begin transaction")
	}
	if !sh.pg {
		sh.curMu.Lock()
		sh.cur = gtx
		sh.curMu.Unlock()
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		if sh.pg {
			gtx.Rollback()
			return
		}
		sh.curMu.Lock()
		gtx.Rollback()
		sh.cur = nil
		repersist := sh.idInTx
		sh.idInTx = false
		sh.curMu.Unlock()
		if repersist {
			s.repersistIDs(ctx)
		}
	}()
	if err := fn(&Store{db: gtx, tx: true, sh: sh}); err != nil {
		return err
	}
	if !sh.pg {
		// Keep IDBlock of another goroutine off the transaction while it ends.
		sh.curMu.Lock()
		err = gtx.Commit().Error
		sh.cur = nil
		if err == nil {
			sh.idInTx = false
		}
		sh.curMu.Unlock()
	} else {
		err = gtx.Commit().Error
	}
	if err != nil {
		return translate(err, "commit")
	}
	committed = true
	return nil
}

// txPostgres runs fn in a transaction on a connection of pool that
// begins with fn's first statement (see pgTx): a command whose only
// statement is its save is then one round trip.
func (s *Store) txPostgres(ctx context.Context, pool *sql.DB, fn func(tx engine.Store) error) (err error) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return translate(err, "begin transaction")
	}
	t := &pgTx{conn: conn}
	done := false
	defer func() {
		if !done {
			t.rollback(ctx)
		}
		conn.Close()
	}()
	gtx := s.sh.root.Session(&gorm.Session{Context: ctx, NewDB: true})
	gtx.Statement.ConnPool = t
	if err := fn(&Store{db: gtx, tx: true, sh: s.sh, pgtx: t}); err != nil {
		return err
	}
	done = true
	return t.commit(ctx)
}

// pgTx is a PostgreSQL transaction on one pooled connection. It sends
// BEGIN before its first statement, and holds back the statement of a save
// (InstanceSave writes it last) until the next statement or the commit: a
// transaction of that statement alone runs it without BEGIN and COMMIT, as
// one statement is atomic. It is a gorm.ConnPool and gorm.TxCommitter.
type pgTx struct {
	conn    *sql.Conn
	begun   bool
	pending *writer
	what    string // what pending does, for errors
}

// start begins the transaction and sends what is pending.
func (t *pgTx) start(ctx context.Context) error {
	if !t.begun {
		if _, err := t.conn.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
		t.begun = true
	}
	if w := t.pending; w != nil {
		t.pending = nil
		w.ctx = ctx
		if _, err := w.flushOn(t.conn); err != nil {
			return translate(err, t.what)
		}
	}
	return nil
}

// hold keeps w, a save written in full, to be sent with the next
// statement or the commit.
func (t *pgTx) hold(w *writer, what string) error {
	if t.pending != nil {
		if err := t.start(w.ctx); err != nil {
			return err
		}
	}
	t.pending, t.what = w, what
	return nil
}

func (t *pgTx) commit(ctx context.Context) error {
	if !t.begun {
		if w := t.pending; w != nil {
			t.pending = nil
			w.ctx = ctx
			if _, err := w.flushOn(t.conn); err != nil {
				return translate(err, t.what)
			}
		}
		return nil
	}
	if w := t.pending; w != nil {
		// The save and COMMIT go in one round trip.
		t.pending = nil
		err := t.batch(ctx, func(b *pgx.Batch) { b.Queue(w.text(), w.args...); b.Queue("COMMIT") }, func(br pgx.BatchResults) error {
			if _, err := br.Exec(); err != nil {
				return translate(err, t.what)
			}
			if _, err := br.Exec(); err != nil {
				return translate(err, "commit")
			}
			return nil
		})
		w.reset()
		if err != nil {
			t.rollback(ctx)
			return err
		}
		t.begun = false
		return nil
	}
	t.begun = false
	if _, err := t.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return translate(err, "commit")
	}
	return nil
}

// batch sends the statements queue queues in one round trip on the
// transaction's connection and reads their results with read.
func (t *pgTx) batch(ctx context.Context, queue func(*pgx.Batch), read func(pgx.BatchResults) error) error {
	return t.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("expected a pgx connection, got %T", dc)
		}
		var b pgx.Batch
		queue(&b)
		br := sc.Conn().SendBatch(ctx, &b)
		err := read(br)
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		return err
	})
}

// queryRow runs q and scans its one row into dest. A transaction not yet
// begun sends BEGIN with q, in one round trip.
func (t *pgTx) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	if t.begun || t.pending != nil {
		if err := t.start(ctx); err != nil {
			return err
		}
		return t.conn.QueryRowContext(ctx, q, args...).Scan(dest...)
	}
	err := t.batch(ctx, func(b *pgx.Batch) { b.Queue("BEGIN"); b.Queue(q, args...) }, func(br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		t.begun = true
		err := br.QueryRow().Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			return sql.ErrNoRows
		}
		return err
	})
	return err
}

func (t *pgTx) rollback(ctx context.Context) {
	t.pending = nil
	if t.begun {
		t.begun = false
		if _, err := t.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			// database/sql drops a connection left in a transaction.
			return
		}
	}
}

// PrepareContext implements gorm.ConnPool.
func (t *pgTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	if err := t.start(ctx); err != nil {
		return nil, err
	}
	return t.conn.PrepareContext(ctx, q)
}

// ExecContext implements gorm.ConnPool.
func (t *pgTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := t.start(ctx); err != nil {
		return nil, err
	}
	return t.conn.ExecContext(ctx, q, args...)
}

// QueryContext implements gorm.ConnPool.
func (t *pgTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if err := t.start(ctx); err != nil {
		return nil, err
	}
	return t.conn.QueryContext(ctx, q, args...)
}

// QueryRowContext implements gorm.ConnPool. If the transaction cannot
// begin, the row reports a canceled context.
func (t *pgTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if err := t.start(ctx); err != nil {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		return t.conn.QueryRowContext(cctx, q, args...)
	}
	return t.conn.QueryRowContext(ctx, q, args...)
}

// Commit implements gorm.TxCommitter, for gorm calls on Store.DB.
func (t *pgTx) Commit() error { return t.commit(context.Background()) }

// Rollback implements gorm.TxCommitter.
func (t *pgTx) Rollback() error {
	t.rollback(context.Background())
	return nil
}

// IDBlock implements engine.Store. It returns ids from the block the store
// reserved and reserves another (of idChunk ids, or more for a larger n)
// when it runs out.
func (s *Store) IDBlock(ctx context.Context, n int) (int64, error) {
	if n <= 0 {
		return 0, &engine.InvalidError{Field: "id block", Reason: fmt.Sprintf("expected a positive size, but got %d", n)}
	}
	sh := s.sh
	for {
		sh.idMu.Lock()
		if sh.idEnd-sh.idNext >= int64(n) {
			first := sh.idNext
			sh.idNext += int64(n)
			sh.idMu.Unlock()
			return first, nil
		}
		sh.idMu.Unlock()
		first, size, err := s.reserveIDs(ctx, int64(n))
		if err != nil {
			return 0, err
		}
		sh.addIDs(first, size)
	}
}

// addIDs adds the reserved block [first, first+size) to the ids at hand:
// it extends the block at hand when it follows it, else replaces it when it
// is larger than what is left.
func (sh *shared) addIDs(first, size int64) {
	sh.idMu.Lock()
	defer sh.idMu.Unlock()
	switch {
	case first == sh.idEnd:
		sh.idEnd += size
	case size > sh.idEnd-sh.idNext:
		sh.idNext, sh.idEnd = first, first+size
	}
}

// topUpIDs reserves a block before a transaction begins when fewer than
// idLow ids are at hand. On SQLite the caller holds writeMu.
func (s *Store) topUpIDs(ctx context.Context) error {
	sh := s.sh
	sh.idMu.Lock()
	low := sh.idEnd-sh.idNext < idLow
	sh.idMu.Unlock()
	if !low || !sh.refillMu.TryLock() {
		return nil
	}
	defer sh.refillMu.Unlock()
	var (
		first, size int64
		err         error
	)
	if sh.pg {
		first, size, err = reservePostgres(ctx, sh.root, idChunk)
	} else {
		first, size, err = reserveSQLite(ctx, sh.root, idChunk)
	}
	if err != nil {
		return err
	}
	sh.addIDs(first, size)
	return nil
}

// reserveIDs reserves a block of at least n ids. On PostgreSQL it uses the
// store's connection (nextval is not transactional). On SQLite a Store
// bound to a transaction, or any caller while a write transaction is open
// (most likely the engine asking from inside its command), reserves inside
// that transaction, which then repersistIDs if it rolls back; else it runs
// a write transaction of its own.
func (s *Store) reserveIDs(ctx context.Context, n int64) (int64, int64, error) {
	sh := s.sh
	if sh.pg {
		return reservePostgres(ctx, s.db, n)
	}
	if s.tx {
		sh.curMu.Lock()
		defer sh.curMu.Unlock()
		sh.idInTx = true
		return reserveSQLite(ctx, s.db, n)
	}
	sh.curMu.Lock()
	if sh.cur != nil {
		defer sh.curMu.Unlock()
		sh.idInTx = true
		return reserveSQLite(ctx, sh.cur, n)
	}
	sh.curMu.Unlock()
	// No write transaction was open, so this goroutine is in none: wait
	// for the writer's turn.
	sh.writeMu.Lock()
	defer sh.writeMu.Unlock()
	return reserveSQLite(ctx, sh.root, n)
}

// repersistIDs writes the end of the ids at hand to id_source after a
// transaction that reserved ids rolled back, so that they are not handed
// out again. The caller holds writeMu. If it fails, a restart may hand out
// ids that were reserved in memory but only used by rolled-back work.
func (s *Store) repersistIDs(ctx context.Context) {
	s.sh.idMu.Lock()
	end := s.sh.idEnd
	s.sh.idMu.Unlock()
	s.sh.root.WithContext(context.WithoutCancel(ctx)).Exec(`UPDATE id_source SET next_id = max(next_id, ?) WHERE id = 1`, end)
}

func reservePostgres(ctx context.Context, db *gorm.DB, n int64) (int64, int64, error) {
	if n <= idChunk {
		var first int64
		if err := db.WithContext(ctx).Raw(`SELECT nextval('ids')`).Row().Scan(&first); err != nil {
			return 0, 0, translate(err, "reserve ids")
		}
		return first, idChunk, nil
	}
	// More than one chunk: take k at once and keep them if they are
	// consecutive (another node may take one in between; then try again).
	k := (n + idChunk - 1) / idChunk
	for range 10 {
		rows, err := db.WithContext(ctx).Raw(`SELECT nextval('ids') FROM generate_series(1, ?)`, k).Rows()
		if err != nil {
			return 0, 0, translate(err, "reserve ids")
		}
		var got []int64
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return 0, 0, translate(err, "reserve ids")
			}
			got = append(got, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, 0, translate(err, "reserve ids")
		}
		slices.Sort(got)
		if int64(len(got)) == k && got[k-1]-got[0] == (k-1)*idChunk {
			return got[0], k * idChunk, nil
		}
	}
	return 0, 0, &engine.ConflictError{Reason: fmt.Sprintf("reserve %d ids: no consecutive blocks after 10 tries", n)}
}

func reserveSQLite(ctx context.Context, db *gorm.DB, n int64) (int64, int64, error) {
	size := (n + idChunk - 1) / idChunk * idChunk
	var first int64
	err := db.WithContext(ctx).Raw(`UPDATE id_source SET next_id = next_id + ? WHERE id = 1 RETURNING next_id - ?`, size, size).Row().Scan(&first)
	if err != nil {
		return 0, 0, translate(err, "reserve ids")
	}
	return first, size, nil
}

// sqliteTime is how SQLite columns hold times: fixed width in UTC, so that
// they sort as text.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// tv returns t as a query argument: UTC, truncated to microseconds (what
// PostgreSQL keeps), text on SQLite.
func (s *Store) tv(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if s.sh.pg {
		return t
	}
	return t.Format(sqliteTime)
}

// tn is tv for a nullable column: the zero time is NULL.
func (s *Store) tn(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.tv(t)
}

// tp is tv for a nullable column from a pointer.
func (s *Store) tp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return s.tv(*t)
}

// timeCol scans a time column of either dialect into t; NULL is the zero time.
type timeCol struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c timeCol) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		*c.t = time.Time{}
	case time.Time:
		*c.t = x.UTC()
	case string:
		return c.parse(x)
	case []byte:
		return c.parse(string(x))
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

func (c timeCol) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("scan time %q: %w", s, err)
	}
	*c.t = t.UTC()
	return nil
}

// timePtrCol scans a nullable time column into a *time.Time; NULL is nil.
type timePtrCol struct{ p **time.Time }

// Scan implements sql.Scanner.
func (c timePtrCol) Scan(src any) error {
	if src == nil {
		*c.p = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.p = &t
	return nil
}

// limit returns p's limit, PageLimitDefault for 0.
func limit(p engine.Page) int {
	if p.Limit <= 0 {
		return engine.PageLimitDefault
	}
	return p.Limit
}
