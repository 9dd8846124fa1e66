package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/batonbpm/baton/engine"
)

const commentCols = `id, task_id, process_instance_id, author, text, created_at`

// CommentAdd implements engine.Store.
func (s *Store) CommentAdd(ctx context.Context, cm *engine.Comment) error {
	_, err := s.db.Statement.ConnPool.ExecContext(ctx, s.rebind(`INSERT INTO comments (`+commentCols+`) VALUES (?, ?, ?, ?, ?, ?)`),
		cm.ID, cm.TaskID, cm.InstanceID, cm.Author, cm.Text, s.tv(cm.CreatedAt))
	return translate(err, fmt.Sprintf("add comment to task %d", cm.TaskID))
}

// CommentList implements engine.Store. It reads comments_task.
func (s *Store) CommentList(ctx context.Context, taskID int64) ([]*engine.Comment, error) {
	rows, err := s.query(ctx, `SELECT `+commentCols+` FROM comments WHERE task_id = ? ORDER BY created_at, id`, taskID)
	out, err := scanAll(rows, err, func(r *sql.Rows) (*engine.Comment, error) {
		cm := &engine.Comment{}
		err := r.Scan(&cm.ID, &cm.TaskID, &cm.InstanceID, &cm.Author, &cm.Text, timeCol{&cm.CreatedAt})
		return cm, err
	})
	if out == nil && err == nil {
		out = []*engine.Comment{}
	}
	return out, translate(err, fmt.Sprintf("list comments of task %d", taskID))
}
