package enginetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// runFormConformance checks that forms deployed with Deploy are stored,
// versioned by their id, found by version and by deployment, and that
// identical content is not a new version.
func runFormConformance(t *testing.T, newStore func(t *testing.T) engine.Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	s := newStore(t)
	e := engine.New(s, engine.Config{NowFunc: func() time.Time { return now }, IDBlockSize: 7})
	form := func(label string) []byte {
		return []byte(`{"id":"f","type":"default","components":[{"type":"textfield","key":"name","label":"` + label + `"}]}`)
	}
	d1, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{
		{Name: "m.bpmn", Data: bpmntest.New("p").Start("s").End("e").Chain("s", "e").XML()},
		{Name: "f.form", Data: form("Name")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d1.Forms) != 1 || d1.Forms[0].Version != 1 || d1.Forms[0].DeploymentID != d1.ID || d1.Forms[0].ID == 0 {
		t.Fatalf("first deployment's forms: %+v", d1.Forms)
	}
	// Only a form, identical: nothing new.
	same, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "f.form", Data: form("Name")}}})
	if err != nil || same.ID != d1.ID || len(same.Forms) != 1 || same.Forms[0].Version != 1 {
		t.Fatalf("identical form: %+v, %v", same, err)
	}
	// Only a form, changed: version 2 in a deployment of its own.
	d2, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "f.form", Data: form("Full name")}}})
	if err != nil || d2.ID == d1.ID || len(d2.Forms) != 1 || d2.Forms[0].Version != 2 || len(d2.Definitions) != 0 {
		t.Fatalf("changed form: %+v, %v", d2, err)
	}
	latest, err := s.FormLatest(ctx, "f", 0)
	if err != nil || latest.Version != 2 || latest.DeploymentID != d2.ID || string(latest.JSON) != string(form("Full name")) || !latest.CreatedAt.Equal(now) {
		t.Fatalf("latest: %+v, %v", latest, err)
	}
	inD1, err := s.FormLatest(ctx, "f", d1.ID)
	if err != nil || inD1.Version != 1 || inD1.ID != d1.Forms[0].ID {
		t.Fatalf("latest of deployment 1: %+v, %v", inD1, err)
	}
	v1, err := s.FormVersion(ctx, "f", 1)
	if err != nil || v1.ID != d1.Forms[0].ID || v1.Checksum != d1.Forms[0].Checksum {
		t.Fatalf("version 1: %+v, %v", v1, err)
	}
	for _, err := range []error{
		func() error { _, err := s.FormLatest(ctx, "nope", 0); return err }(),
		func() error { _, err := s.FormLatest(ctx, "f", 999999); return err }(),
		func() error { _, err := s.FormVersion(ctx, "f", 9); return err }(),
	} {
		if !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	}
	err = s.FormCreate(ctx, &engine.Form{FormID: "f", Version: 2, DeploymentID: d2.ID, Checksum: "x", JSON: []byte("{}"), CreatedAt: now})
	if !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("duplicate version: %v, want ErrConflict", err)
	}
	// Not a form: the deployment fails naming the file, and stores nothing.
	for _, bad := range []string{`not json`, `{"components":[]}`, `{"id":"g"}`, `[1]`} {
		_, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "bad.form", Data: []byte(bad)}}})
		var de *engine.DeployError
		if !errors.As(err, &de) || de.Resource != "bad.form" || !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("deploy %s: %v, want a DeployError naming bad.form", bad, err)
		}
	}
}
