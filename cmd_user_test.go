package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server/auth"
)

// TestAccountCommands adds a user, a group and an API key with the
// commands and checks the database took them.
func TestAccountCommands(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "baton.db")
	db := []string{"--database-url", url}
	if code, out, errOut := baton(t, append([]string{"group", "add", "sales"}, db...)...); code != 0 {
		t.Fatalf("group add: %d %s%s", code, out, errOut)
	}
	if code, out, errOut := baton(t, append([]string{"user", "add", "ann", "--password", "secret-one", "--groups", "sales,managers", "--role", "analyst"}, db...)...); code != 0 || !strings.Contains(out, "added user ann") {
		t.Fatalf("user add: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := baton(t, append([]string{"user", "add", "ann", "--password", "secret-one"}, db...)...); code != 1 || !strings.Contains(errOut, "taken") {
		t.Fatalf("a second ann: %d %s", code, errOut)
	}
	if code, _, _ := baton(t, append([]string{"user", "add", "bob", "--password", "secret-two", "--role", "boss"}, db...)...); code != 1 {
		t.Fatalf("an unknown role exits %d, want 1", code)
	}
	passwordInput = strings.NewReader("secret-three\n")
	if code, out, errOut := baton(t, append([]string{"user", "passwd", "ann"}, db...)...); code != 0 {
		t.Fatalf("user passwd: %d %s%s", code, out, errOut)
	}
	code, secret, errOut := baton(t, append([]string{"apikey", "create", "ci", "--role", "developer"}, db...)...)
	secret = strings.TrimSpace(secret)
	if code != 0 || !strings.HasPrefix(secret, auth.APIKeyPrefix) || !strings.Contains(errOut, "shown this once") {
		t.Fatalf("apikey create: %d %q %s", code, secret, errOut)
	}
	if code, _, errOut := baton(t, append([]string{"apikey", "revoke", "ci"}, db...)...); code != 0 {
		t.Fatalf("apikey revoke: %d %s", code, errOut)
	}
	if code, _, _ := baton(t, "user", "remove", "ann"); code != 2 {
		t.Fatalf("an unknown verb exits %d, want 2", code)
	}

	ctx := context.Background()
	g, err := sqlstore.OpenDB(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if d, err := g.DB(); err == nil {
			d.Close()
		}
	}()
	var row struct {
		Role   string
		Groups string
	}
	err = g.Raw(`SELECT u.role, (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) AS groups FROM users u WHERE u.name = 'ann'`).Scan(&row).Error
	if err != nil || row.Role != "analyst" || row.Groups != "2" {
		t.Fatalf("ann: %+v, %v", row, err)
	}
	var revoked int64
	if err := g.Raw(`SELECT COUNT(*) FROM api_keys WHERE name = 'ci' AND revoked_at IS NOT NULL`).Scan(&revoked).Error; err != nil || revoked != 1 {
		t.Fatalf("revoked keys %d, %v", revoked, err)
	}
}
