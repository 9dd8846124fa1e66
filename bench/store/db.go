package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
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

// openPostgres opens a store in a fresh, migrated schema of the database
// at base, dropped by close.
func openPostgres(ctx context.Context, base string) (*benchStore, error) {
	schema, schemaURL, drop, err := dbtest.NewSchema(ctx, base, "bench")
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
