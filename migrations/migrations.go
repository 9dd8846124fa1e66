// Package migrations holds Baton's database schema as plain SQL files, one
// folder per dialect (postgres/, sqlite/), embedded in the binary and
// applied with goose. Apply runs at start-up and in `baton migrate`;
// Pending serves a readiness check.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialects Apply and Pending accept.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// provider returns a goose provider for dialect's folder. A provider has
// no global state, so parallel tests may migrate several databases at once.
func provider(db *sql.DB, dialect string) (*goose.Provider, error) {
	var d goose.Dialect
	switch dialect {
	case Postgres:
		d = goose.DialectPostgres
	case SQLite:
		d = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q, expected %q or %q", dialect, Postgres, SQLite)
	}
	dir, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(d, db, dir)
}

// Apply brings db's schema to the latest version of dialect ("postgres" or
// "sqlite"). Migrations already applied are skipped; each runs in a
// transaction. It returns an error for an unknown dialect or a failed migration.
func Apply(ctx context.Context, db *sql.DB, dialect string) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: apply %s: %w", dialect, err)
	}
	return nil
}

// Pending reports whether db lacks migrations of dialect that Apply would
// run. It returns an error for an unknown dialect or when the database
// cannot be read.
func Pending(ctx context.Context, db *sql.DB, dialect string) (bool, error) {
	p, err := provider(db, dialect)
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("migrations: check %s: %w", dialect, err)
	}
	return pending, nil
}
