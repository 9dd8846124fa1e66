// Package dbtest gives tests of the SQL store fresh, migrated databases:
// a PostgreSQL schema of their own (Postgres) or an SQLite file (SQLite).
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/batonbpm/baton/engine/sqlstore"
)

// PostgresURLDefault is the database tests use when BATON_TEST_DATABASE_URL is unset.
const PostgresURLDefault = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns BATON_TEST_DATABASE_URL, or PostgresURLDefault.
func PostgresURL() string {
	if u := os.Getenv("BATON_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return PostgresURLDefault
}

// Postgres returns a handle on a fresh, migrated schema of its own in the
// test database (see PostgresURL): every pooled connection has it on its
// search_path, and it is dropped at cleanup. Where no PostgreSQL answers,
// the test is skipped with a line that says so, or fails under CI=true.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	ctx := context.Background()
	schema, schemaURL := schemaFor(t, "test")
	db, err := sqlstore.OpenDB(ctx, schemaURL)
	if err != nil {
		t.Fatalf("open schema %s: %v", schema, err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}

// PostgresSchemaURL returns the URL of a fresh, empty schema named
// prefix_<random> in the test database (see PostgresURL), dropped at
// cleanup, for a test that migrates it itself (e.g. through baton serve).
// Where no PostgreSQL answers, the test is skipped with a line that says
// so, or fails under CI=true.
func PostgresSchemaURL(t testing.TB, prefix string) string {
	t.Helper()
	_, schemaURL := schemaFor(t, prefix)
	return schemaURL
}

// schemaFor creates a schema for t (see NewSchema), skipping or failing t
// where no PostgreSQL answers, and drops it at cleanup.
func schemaFor(t testing.TB, prefix string) (schema, schemaURL string) {
	t.Helper()
	schema, schemaURL, drop, err := NewSchema(context.Background(), PostgresURL(), prefix)
	switch {
	case errors.Is(err, ErrNoPostgres) && os.Getenv("CI") == "true":
		t.Fatalf("%v (CI=true, so this fails)", err)
	case errors.Is(err, ErrNoPostgres):
		t.Skipf("skipped: %v", err)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	return schema, schemaURL
}

// ErrNoPostgres is wrapped by NewSchema's error when PostgreSQL does not answer.
var ErrNoPostgres = errors.New("PostgreSQL does not answer")

// NewSchema creates a schema named prefix_<random> in the database at base
// and returns its name, a URL whose connections have it on their
// search_path, and a function that drops it. For tests and benchmarks.
func NewSchema(ctx context.Context, base, prefix string) (schema, schemaURL string, drop func() error, err error) {
	admin, err := adminDB(ctx, base)
	if err != nil {
		return "", "", nil, err
	}
	defer closeDB(admin)
	var b [6]byte
	rand.Read(b[:])
	schema = prefix + "_" + hex.EncodeToString(b[:])
	if err := admin.WithContext(ctx).Exec(`CREATE SCHEMA ` + schema).Error; err != nil {
		return "", "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop = func() error {
		// Not ctx: an interrupted run still drops its schema.
		admin, err := adminDB(context.Background(), base)
		if err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		defer closeDB(admin)
		if err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`).Error; err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", "", nil, fmt.Errorf("parse %s: %w", redacted(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String(), drop, nil
}

// adminDB opens the database at base for schema changes; an error wraps
// ErrNoPostgres when it does not answer.
func adminDB(ctx context.Context, base string) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err == nil {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var sqlDB interface{ PingContext(context.Context) error }
		if sqlDB, err = db.DB(); err == nil {
			err = sqlDB.PingContext(pingCtx)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrNoPostgres, redacted(base), err)
	}
	return db, nil
}

// SQLite returns a handle on a fresh, migrated SQLite database in a file in
// the test's temporary directory, opened as sqlstore.OpenDB opens files.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "baton.db")
	db, err := sqlstore.OpenDB(context.Background(), "sqlite://"+path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}

func closeDB(db *gorm.DB) {
	if d, err := db.DB(); err == nil {
		d.Close()
	}
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%q", raw)
	}
	return u.Redacted()
}
