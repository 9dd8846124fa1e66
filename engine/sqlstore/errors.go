package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
)

// translate turns driver errors into the engine's: a unique violation, a
// PostgreSQL serialization failure or deadlock into *engine.ConflictError;
// a database that cannot be reached (see unreachable) into
// *engine.UnavailableError; anything else is wrapped with what was being
// done.
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, engine.ErrUnavailable) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505", "40001", "40P01":
			return &engine.ConflictError{Reason: fmt.Sprintf("%s: %s (SQLSTATE %s)", doing, pgErr.Message, pgErr.Code)}
		}
	}
	var sqErr interface{ Code() int }
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case 1555, 2067: // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
			return &engine.ConflictError{Reason: fmt.Sprintf("%s: %v", doing, err)}
		}
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return &engine.ConflictError{Reason: fmt.Sprintf("%s: %v", doing, err)}
	}
	if unreachable(err) {
		return &engine.UnavailableError{Doing: doing, Err: err}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// notFound returns a NotFoundError for err == sql.ErrNoRows, else translates err.
func notFound(err error, what string, id any, doing string) error {
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, gorm.ErrRecordNotFound) {
		return &engine.NotFoundError{What: what, ID: fmt.Sprint(id)}
	}
	return translate(err, doing)
}

// unreachable reports whether err says that the database cannot be
// reached rather than that it refused the statement: PostgreSQL is down,
// starting, shutting down, or the connection broke. A restart of
// PostgreSQL under load (TestPostgresRestartUnderLoad) returns these:
//
//   - a connection attempt that fails, *pgconn.ConnectError: the refused
//     dial (*net.OpError, ECONNREFUSED) while it is down; ECONNRESET or
//     io.ErrUnexpectedEOF reading the server's first answer while it stops;
//     FATAL 57P03 ("the database system is shutting down", "is starting
//     up", "is not yet accepting connections");
//   - on a pooled connection whose session the server ended: FATAL 57P01
//     ("terminating connection due to administrator command"), or, when
//     the server died first (pg_ctl stop -m immediate), the socket's
//     ECONNRESET (*net.OpError) or io.ErrUnexpectedEOF;
//   - on the connection a transaction holds, once the driver found it
//     closed: driver.ErrBadConn, then sql.ErrConnDone (database/sql cannot
//     switch the connection of a transaction).
//
// Also: SQLSTATE class 08 (connection exception), 57P02 (crash shutdown),
// 53300 (too many connections), io.EOF, EPIPE and pgconn.ErrConnClosed. Not unreachable: the caller's
// own cancellation, its deadline passing during a statement (a slow query
// is not a database that is down; a dial that runs out of time is), a
// statement timeout (57014), and a connection attempt the server refused
// for another reason (a wrong password, an unknown database).
//
// Where a connection breaks after a write was sent (a one-statement save,
// COMMIT), whether it took effect is unknown; the caller still learns that
// the database was unavailable.
func unreachable(err error) bool {
	var (
		pgErr   *pgconn.PgError
		connErr *pgconn.ConnectError
		opErr   *net.OpError
	)
	switch {
	case errors.As(err, &pgErr):
		return strings.HasPrefix(pgErr.Code, "08") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" ||
			pgErr.Code == "53300" // too many connections: the server is full for now
	case errors.As(err, &connErr):
		// A dial that ran out of time is a database that does not
		// answer; the caller's own cancellation is not.
		return !errors.Is(err, context.Canceled)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &opErr),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// Translate turns a driver error of a query outside the Store (e.g. of the
// auth tables) into the engine's errors as the Store's own methods do: a
// unique violation into engine.ErrConflict, an unreachable database into
// engine.ErrUnavailable; anything else is wrapped with doing.
func Translate(err error, doing string) error { return translate(err, doing) }
