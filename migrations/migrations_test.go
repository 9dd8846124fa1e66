package migrations_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/glebarez/go-sqlite" // registers the "sqlite" driver

	"github.com/batonbpm/baton/migrations"
)

func TestApplySQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if pending, err := migrations.Pending(ctx, db, migrations.SQLite); err != nil || !pending {
		t.Fatalf("pending before Apply: %v, %v; want true", pending, err)
	}
	for range 2 { // the second Apply has nothing to do
		if err := migrations.Apply(ctx, db, migrations.SQLite); err != nil {
			t.Fatal(err)
		}
	}
	if pending, err := migrations.Pending(ctx, db, migrations.SQLite); err != nil || pending {
		t.Fatalf("pending after Apply: %v, %v; want false", pending, err)
	}
	var next int64
	if err := db.QueryRowContext(ctx, `SELECT next_id FROM id_source`).Scan(&next); err != nil || next != 1 {
		t.Fatalf("id_source starts at %d (%v), want 1", next, err)
	}
	if err := migrations.Apply(ctx, db, "oracle"); err == nil {
		t.Fatal("unknown dialect accepted")
	}
}
