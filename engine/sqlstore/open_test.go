package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// TestOpen: Open accepts the URL forms, migrates, and the store runs an instance.
func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, url := range []string{"sqlite::memory:", "sqlite://" + filepath.Join(dir, "a.db"), "sqlite:" + filepath.Join(dir, "b.db") + "?_pragma=busy_timeout(1000)"} {
		t.Run(url, func(t *testing.T) {
			s, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			e := engine.New(s, engine.Config{})
			deploy(ctx, t, e, bpmntest.New("p").Start("s").Node("a", "userTask").Chain("s", "a"))
			inst, err := e.Start(ctx, &engine.StartParams{Key: "p"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.InstanceLive(ctx, inst.ID); err != nil {
				t.Fatal(err)
			}
			var mode string
			if err := s.DB().Raw(`PRAGMA journal_mode`).Row().Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: "memory", false: "wal"}[url == "sqlite::memory:"]; mode != want {
				t.Fatalf("journal mode %q, want %q", mode, want)
			}
		})
	}
	if _, err := sqlstore.Open(ctx, "mysql://x"); err == nil {
		t.Fatal("mysql URL accepted")
	}
}
