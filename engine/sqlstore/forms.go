package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/batonbpm/baton/engine"
)

// Forms (migration 0010).

const formCols = `id, form_id, version, deployment_id, checksum, json, created_at`

func scanForm(r *sql.Rows) (*engine.Form, error) {
	f := &engine.Form{}
	err := r.Scan(&f.ID, &f.FormID, &f.Version, &f.DeploymentID, &f.Checksum, &f.JSON, timeCol{&f.CreatedAt})
	return f, err
}

// FormCreate implements engine.Store.
func (s *Store) FormCreate(ctx context.Context, f *engine.Form) error {
	id, err := s.IDBlock(ctx, 1)
	if err != nil {
		return err
	}
	data := f.JSON
	if data == nil {
		data = []byte{}
	}
	_, err = s.db.Statement.ConnPool.ExecContext(ctx, s.rebind(`INSERT INTO forms (`+formCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		id, f.FormID, f.Version, f.DeploymentID, f.Checksum, data, s.tv(f.CreatedAt))
	if err != nil {
		return translate(err, fmt.Sprintf("create form %s version %d", f.FormID, f.Version))
	}
	f.ID = id
	return nil
}

func (s *Store) form(ctx context.Context, id string, q string, args ...any) (*engine.Form, error) {
	rows, err := s.query(ctx, `SELECT `+formCols+` FROM forms WHERE `+q, args...)
	f, err := scanOne(rows, err, scanForm)
	if err != nil {
		return nil, notFound(err, "form", id, "get form")
	}
	return f, nil
}

// FormLatest implements engine.Store.
func (s *Store) FormLatest(ctx context.Context, formID string, deploymentID int64) (*engine.Form, error) {
	if deploymentID != 0 {
		return s.form(ctx, formID, `deployment_id = ? AND form_id = ? ORDER BY version DESC LIMIT 1`, deploymentID, formID)
	}
	return s.form(ctx, formID, `form_id = ? ORDER BY version DESC LIMIT 1`, formID)
}

// FormVersion implements engine.Store.
func (s *Store) FormVersion(ctx context.Context, formID string, v int) (*engine.Form, error) {
	return s.form(ctx, fmt.Sprintf("%s version %d", formID, v), `form_id = ? AND version = ?`, formID, v)
}
