package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

const boundaryDeclined = "Event_1c6y9ru" // payment.bpmn: error boundary "Card declined" on "Charge card"

// TestEmbedded runs the program on an SQLite file and on a PostgreSQL
// schema, checks what it prints, and reads the store it left behind: every
// payment completed, the small ones paid by the handlers' variables, the
// large one declined by the BPMN error the boundary event caught.
func TestEmbedded(t *testing.T) {
	t.Parallel()
	backends := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "payments.db") }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresSchemaURL(t, "embedded") }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.url(t)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), []string{"-db", url}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr.String())
			}
			want := []string{
				"PAY-1 completed paid: amount=120 receipt=R-PAY-1 risk=low",
				"PAY-2 completed paid: amount=480 receipt=R-PAY-2 risk=low",
				"PAY-3 completed declined: amount=5000 declineReason=over the limit risk=high",
			}
			if got := strings.Split(strings.TrimSpace(stdout.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("printed\n%s\nwant\n%s", stdout.String(), strings.Join(want, "\n"))
			}

			ctx := context.Background()
			store, err := sqlstore.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			insts, err := store.InstanceList(ctx, &engine.InstanceListParams{Key: "payment", Page: engine.Page{Limit: 10}})
			if err != nil {
				t.Fatal(err)
			}
			if len(insts) != len(payments) {
				t.Fatalf("%d payment instances in the store, want %d", len(insts), len(payments))
			}
			for _, inst := range insts {
				r, err := outcome(ctx, store, inst.ID)
				if err != nil {
					t.Fatal(err)
				}
				hist, err := store.HistoryList(ctx, inst.ID)
				if err != nil {
					t.Fatal(err)
				}
				caught := false
				for _, ev := range hist {
					caught = caught || (ev.Type == engine.EventCompleted && ev.ElementID == boundaryDeclined)
				}
				wantEnd, wantCaught := endPaid, false
				if inst.BusinessKey == "PAY-3" {
					wantEnd, wantCaught = endDeclined, true
				}
				if inst.State != engine.InstanceCompleted || r.End != wantEnd || caught != wantCaught {
					t.Errorf("%s: state %s, end %s, caught by the boundary event %v; want completed, %s, %v",
						inst.BusinessKey, inst.State, r.End, caught, wantEnd, wantCaught)
				}
			}
			// The store is left for the next run: deploying the same model
			// again is no new version, and the next payments run the same.
			stdout.Reset()
			if code := run(context.Background(), []string{"-db", url}, &stdout, &stderr); code != 0 || strings.Count(stdout.String(), "\n") != len(payments) {
				t.Fatalf("second run: exit %d, printed\n%s%s", code, stdout.String(), stderr.String())
			}
		})
	}
}
