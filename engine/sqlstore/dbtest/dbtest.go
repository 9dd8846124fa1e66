// Package dbtest gives tests of the SQL store fresh, migrated databases:
// a PostgreSQL schema of their own (Postgres) or an SQLite file (SQLite).
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	base := PostgresURL()
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err == nil {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var sqlDB interface{ PingContext(context.Context) error }
		if sqlDB, err = admin.DB(); err == nil {
			err = sqlDB.PingContext(pingCtx)
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s does not answer (CI=true, so this fails): %v", redacted(base), err)
		}
		t.Skipf("skipped: PostgreSQL at %s does not answer: %v", redacted(base), err)
	}
	adminDB, _ := admin.DB()
	defer adminDB.Close()

	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	if err := admin.Exec(`CREATE SCHEMA ` + schema).Error; err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		drop, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		if err := drop.Exec(`DROP SCHEMA ` + schema + ` CASCADE`).Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		if d, err := drop.DB(); err == nil {
			d.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", redacted(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := sqlstore.OpenDB(ctx, u.String())
	if err != nil {
		t.Fatalf("open schema %s: %v", schema, err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
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
