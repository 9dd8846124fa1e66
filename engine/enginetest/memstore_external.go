package enginetest

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/batonbpm/baton/engine"
)

// WorkLock implements engine.ExternalTaskStore.
func (s *MemStore) WorkLock(ctx context.Context, p *engine.WorkLockParams) (out []*engine.Job, err error) {
	err = s.Tx(ctx, func(tx engine.Store) error {
		out, err = tx.(*memTx).WorkLock(ctx, p)
		return err
	})
	return
}

// WorkLock runs under the store's lock, which every transaction holds:
// two fetches never lock the same job.
func (t *memTx) WorkLock(ctx context.Context, p *engine.WorkLockParams) ([]*engine.Job, error) {
	var due []*engine.Job
	until := map[int64]engine.WorkLockTopic{}
	for _, j := range t.jobs {
		if j.State != engine.JobActive || j.Kind != engine.JobWork || j.DueAt.After(p.Now) || j.LeaseUntil.After(p.Now) {
			continue
		}
		for _, tp := range p.Topics {
			if j.Topic == tp.Name && (tp.BusinessKey == "" || j.BusinessKey == tp.BusinessKey) &&
				(len(tp.ProcessKeys) == 0 || slices.Contains(tp.ProcessKeys, j.ProcessKey)) {
				due = append(due, j)
				until[j.ID] = tp
				break
			}
		}
	}
	slices.SortFunc(due, func(a, b *engine.Job) int {
		if p.ByPriority && a.Priority != b.Priority {
			return cmp.Compare(b.Priority, a.Priority)
		}
		c := compareTime(timeKey(a.CreatedAt, a.ID), timeKey(b.CreatedAt, b.ID))
		if p.NewestFirst {
			return -c
		}
		return c
	})
	if p.Limit > 0 && len(due) > p.Limit {
		due = due[:p.Limit]
	}
	out := make([]*engine.Job, len(due))
	for i, j := range due {
		c := *j
		c.LeaseOwner, c.LeaseUntil = p.Owner, until[j.ID].LeaseUntil
		stored := c
		t.pending = append(t.pending, func() { t.jobs[stored.ID] = &stored })
		out[i] = &c
	}
	return out, nil
}

// WorkList implements engine.ExternalTaskStore.
func (s *MemStore) WorkList(ctx context.Context, p *engine.ExternalTaskListParams) (out []*engine.Job, err error) {
	s.read(func() { out, err = (&memTx{MemStore: s}).WorkList(ctx, p) })
	return
}

func (t *memTx) WorkList(ctx context.Context, p *engine.ExternalTaskListParams) ([]*engine.Job, error) {
	var out []*engine.Job
	for _, id := range slices.Sorted(maps.Keys(t.jobs)) {
		j := t.jobs[id]
		live := j.LeaseUntil.After(p.Now)
		switch {
		case j.Kind != engine.JobWork, j.State != engine.JobActive && (p.WithRetriesLeft || j.State != engine.JobFailed),
			p.ID != 0 && j.ID != p.ID, p.Topic != "" && j.Topic != p.Topic, p.InstanceID != 0 && j.InstanceID != p.InstanceID,
			p.WorkerID != "" && (j.LeaseOwner != p.WorkerID || !live), p.Locked && !live, p.NotLocked && live:
			continue
		}
		c := *j
		out = append(out, &c)
	}
	slices.SortStableFunc(out, func(a, b *engine.Job) int {
		return compareTime(timeKey(a.CreatedAt, a.ID), timeKey(b.CreatedAt, b.ID))
	})
	return pageOf(out, p.Page, func(x *engine.Job) engine.CursorKey { return timeKey(x.CreatedAt, x.ID) }, laterTime)
}
