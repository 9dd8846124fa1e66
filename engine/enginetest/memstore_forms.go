package enginetest

import (
	"bytes"
	"context"
	"fmt"

	"github.com/batonbpm/baton/engine"
)

// FormCreate implements engine.Store.
func (s *MemStore) FormCreate(ctx context.Context, f *engine.Form) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.FormCreate(ctx, f) })
}

func (t *memTx) FormCreate(ctx context.Context, f *engine.Form) error {
	for _, old := range t.forms {
		if old.FormID == f.FormID && old.Version == f.Version {
			return &engine.ConflictError{Reason: fmt.Sprintf("form %q version %d exists", f.FormID, f.Version)}
		}
	}
	if f.DeploymentID == 0 {
		return &engine.InvalidError{Field: "deployment", Reason: "a form belongs to a deployment"}
	}
	id, _ := t.IDBlock(ctx, 1)
	f.ID = id
	c := *f
	c.JSON = bytes.Clone(f.JSON)
	t.pending = append(t.pending, func() { t.forms = append(t.forms, &c) })
	return nil
}

func copyForm(f *engine.Form) *engine.Form {
	c := *f
	c.JSON = bytes.Clone(f.JSON)
	return &c
}

// FormLatest implements engine.Store.
func (s *MemStore) FormLatest(ctx context.Context, formID string, deploymentID int64) (f *engine.Form, err error) {
	s.read(func() { f, err = (&memTx{MemStore: s}).FormLatest(ctx, formID, deploymentID) })
	return
}

func (t *memTx) FormLatest(ctx context.Context, formID string, deploymentID int64) (*engine.Form, error) {
	var best *engine.Form
	for _, f := range t.forms {
		if f.FormID != formID || (deploymentID != 0 && f.DeploymentID != deploymentID) {
			continue
		}
		if best == nil || f.Version > best.Version {
			best = f
		}
	}
	if best == nil {
		return nil, &engine.NotFoundError{What: "form", ID: formID}
	}
	return copyForm(best), nil
}

// FormVersion implements engine.Store.
func (s *MemStore) FormVersion(ctx context.Context, formID string, v int) (f *engine.Form, err error) {
	s.read(func() { f, err = (&memTx{MemStore: s}).FormVersion(ctx, formID, v) })
	return
}

func (t *memTx) FormVersion(ctx context.Context, formID string, v int) (*engine.Form, error) {
	for _, f := range t.forms {
		if f.FormID == formID && f.Version == v {
			return copyForm(f), nil
		}
	}
	return nil, &engine.NotFoundError{What: "form", ID: fmt.Sprintf("%s version %d", formID, v)}
}
