package enginetest

import (
	"context"

	"github.com/batonbpm/baton/engine"
)

// CommentAdd implements engine.Store.
func (s *MemStore) CommentAdd(ctx context.Context, cm *engine.Comment) error {
	return s.Tx(ctx, func(tx engine.Store) error { return tx.CommentAdd(ctx, cm) })
}

func (t *memTx) CommentAdd(ctx context.Context, cm *engine.Comment) error {
	c := *cm
	t.pending = append(t.pending, func() {
		if t.comments == nil {
			t.comments = map[int64][]*engine.Comment{}
		}
		t.comments[c.TaskID] = append(t.comments[c.TaskID], &c)
	})
	return nil
}

// CommentList implements engine.Store.
func (s *MemStore) CommentList(ctx context.Context, taskID int64) (out []*engine.Comment, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).CommentList(ctx, taskID) })
	return
}

func (t *memTx) CommentList(ctx context.Context, taskID int64) ([]*engine.Comment, error) {
	out := make([]*engine.Comment, 0, len(t.comments[taskID]))
	for _, cm := range t.comments[taskID] {
		c := *cm
		out = append(out, &c)
	}
	return out, nil
}
