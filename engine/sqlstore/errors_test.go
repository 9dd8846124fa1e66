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
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/batonbpm/baton/engine"
)

// TestTranslate: what a database that cannot be reached returns becomes
// engine.ErrUnavailable; statement errors do not. TestPostgresRestartUnderLoad
// (package main) restarts a real PostgreSQL under load.
func TestTranslate(t *testing.T) {
	t.Parallel()
	// A real failed connection attempt: nothing listens on port 1.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, refused := pgconn.Connect(ctx, "postgres://baton@127.0.0.1:1/baton?sslmode=disable&connect_timeout=2")
	if refused == nil {
		t.Fatal("expected no PostgreSQL on 127.0.0.1:1, but connected")
	}
	cases := []struct {
		name string
		err  error
		want error // engine.ErrUnavailable, engine.ErrConflict or nil for neither
	}{
		{"ConnectRefused", refused, engine.ErrUnavailable},
		{"AdminShutdown", &pgconn.PgError{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}, engine.ErrUnavailable},
		{"CrashShutdown", &pgconn.PgError{Severity: "FATAL", Code: "57P02"}, engine.ErrUnavailable},
		{"CannotConnectNow", &pgconn.PgError{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"}, engine.ErrUnavailable},
		{"TooManyConnections", &pgconn.PgError{Severity: "FATAL", Code: "53300", Message: "sorry, too many clients already"}, engine.ErrUnavailable},
		{"ConnectionFailure", &pgconn.PgError{Code: "08006"}, engine.ErrUnavailable},
		{"Reset", fmt.Errorf("query: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), engine.ErrUnavailable},
		{"UnexpectedEOF", io.ErrUnexpectedEOF, engine.ErrUnavailable},
		{"BadConn", driver.ErrBadConn, engine.ErrUnavailable},
		{"ConnDone", sql.ErrConnDone, engine.ErrUnavailable},
		{"ConnClosed", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), engine.ErrUnavailable},
		{"AlreadyUnavailable", &engine.UnavailableError{Doing: "lock", Err: io.EOF}, engine.ErrUnavailable},
		{"UniqueViolation", &pgconn.PgError{Code: "23505"}, engine.ErrConflict},
		{"SerializationFailure", &pgconn.PgError{Code: "40001"}, engine.ErrConflict},
		{"StatementTimeout", &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}, nil},
		{"WrongPassword", &pgconn.PgError{Severity: "FATAL", Code: "28P01"}, nil},
		{"SyntaxError", &pgconn.PgError{Code: "42601"}, nil},
		{"Canceled", fmt.Errorf("query: %w", context.Canceled), nil},
		{"DeadlineExceeded", context.DeadlineExceeded, nil},
		{"NoRows", sql.ErrNoRows, nil},
		{"Other", errors.New("sqlite: disk I/O error"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := translate(tc.err, "do something")
			if !errors.Is(got, tc.err) && !errors.As(got, new(*engine.ConflictError)) {
				t.Errorf("translate(%v) = %v, which does not wrap the cause", tc.err, got)
			}
			for _, sentinel := range []error{engine.ErrUnavailable, engine.ErrConflict} {
				if is := errors.Is(got, sentinel); is != (sentinel == tc.want) {
					t.Errorf("translate(%v) = %v: errors.Is %v = %v, expected %v", tc.err, got, sentinel, is, !is)
				}
			}
			if !strings.Contains(got.Error(), "do something") {
				t.Errorf("translate(%v) = %q, expected it to say what was being done", tc.err, got)
			}
			if n := strings.Count(got.Error(), "unavailable"); n > 1 {
				t.Errorf("translate(%v) = %q, says unavailable %d times", tc.err, got, n)
			}
		})
	}
	if translate(nil, "do something") != nil {
		t.Error("translate(nil) is not nil")
	}
}
