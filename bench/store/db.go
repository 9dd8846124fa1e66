package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/batonbpm/baton/engine/sqlstore"
)

// benchStore is a fresh store for one dialect's workloads and how to get
// rid of it.
type benchStore struct {
	dialect string
	desc    string
	store   *sqlstore.Store
	cleanup func() error
}

// close closes the store and drops what was made for it.
func (b *benchStore) close() error {
	err := b.store.Close()
	if cerr := b.cleanup(); cerr != nil {
		err = cerr
	}
	return err
}

// adminDB opens the database at base for schema changes, failing with a
// clear message when no PostgreSQL answers.
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
		return nil, fmt.Errorf("PostgreSQL at %s does not answer (set BATON_BENCH_DATABASE_URL, or -dialects sqlite): %w", redact(base), err)
	}
	return db, nil
}

func closeDB(db *gorm.DB) {
	if d, err := db.DB(); err == nil {
		d.Close()
	}
}

// newSchema creates a schema named prefix_<random> in the database at base
// and returns its name, a URL whose connections have it on their
// search_path, and a function that drops it.
func newSchema(ctx context.Context, base, prefix string) (schema, schemaURL string, drop func() error, err error) {
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
		return "", "", nil, fmt.Errorf("parse %s: %w", redact(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String(), drop, nil
}

// openPostgres opens a store in a fresh, migrated schema of the database
// at base, dropped by close.
func openPostgres(ctx context.Context, base string) (*benchStore, error) {
	schema, schemaURL, drop, err := newSchema(ctx, base, "bench")
	if err != nil {
		return nil, err
	}
	st, err := sqlstore.Open(ctx, schemaURL)
	if err != nil {
		drop()
		return nil, fmt.Errorf("open the store in schema %s: %w", schema, err)
	}
	var version string
	if err := st.DB().WithContext(ctx).Raw(`SHOW server_version`).Row().Scan(&version); err != nil {
		st.Close()
		drop()
		return nil, fmt.Errorf("read the server version: %w", err)
	}
	desc := fmt.Sprintf("PostgreSQL %s at %s, schema %s, pool of %d", version, redact(base), schema, sqlstore.PostgresMaxConnsDefault)
	return &benchStore{dialect: "postgres", desc: desc, store: st, cleanup: drop}, nil
}

// openSQLite opens a store in a new SQLite file in a temporary directory,
// removed by close.
func openSQLite(ctx context.Context) (*benchStore, error) {
	dir, err := os.MkdirTemp("", "baton-bench-store-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "baton.db")
	st, err := sqlstore.Open(ctx, "sqlite://"+path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("open the store in %s: %w", path, err)
	}
	var mode string
	if err := st.DB().WithContext(ctx).Raw(`PRAGMA journal_mode`).Row().Scan(&mode); err != nil {
		st.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("read the journal mode of %s: %w", path, err)
	}
	if mode != "wal" {
		st.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: expected journal mode wal, but it is %q", path, mode)
	}
	desc := fmt.Sprintf("SQLite file %s, journal mode %s", path, mode)
	return &benchStore{dialect: "sqlite", desc: desc, store: st, cleanup: func() error { return os.RemoveAll(dir) }}, nil
}

// redact hides a password in a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%q", raw)
	}
	return u.Redacted()
}
