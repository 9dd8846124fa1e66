package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/batonbpm/baton/engine/sqlstore"
)

// cmdMigrate applies the migrations to the database and exits.
func cmdMigrate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", envOr("BATON_DATABASE_URL", databaseURLDefault), "database: sqlite://FILE or postgres://… (env BATON_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "baton migrate: unexpected arguments %q\n", fs.Args())
		return 2
	}
	// OpenDB applies the migrations.
	db, err := sqlstore.OpenDB(context.Background(), *dbURL)
	if err != nil {
		fmt.Fprintln(stderr, "baton migrate:", err)
		return 1
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
	fmt.Fprintln(stdout, "baton migrate: the database is up to date")
	return 0
}
