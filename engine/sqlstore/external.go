package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/batonbpm/baton/engine"
)

// WorkLock implements engine.ExternalTaskStore. As JobsClaim, one
// statement selects the fetchable jobs FOR UPDATE SKIP LOCKED on PostgreSQL
// and leases them, so two workers fetching at the same moment take disjoint
// tasks and never wait for each other; SQLite has one writer, which
// serialises fetches. Each topic's jobs get that topic's lock expiry.
func (s *Store) WorkLock(ctx context.Context, p *engine.WorkLockParams) ([]*engine.Job, error) {
	if len(p.Topics) == 0 {
		return nil, nil
	}
	if !s.tx && !s.sh.pg {
		var out []*engine.Job
		err := s.Tx(ctx, func(tx engine.Store) (err error) {
			out, err = tx.(*Store).WorkLock(ctx, p)
			return err
		})
		return out, err
	}
	ts := `?`
	if s.sh.pg {
		ts = `CAST(? AS TIMESTAMPTZ)`
	}
	var until, which strings.Builder
	args := []any{p.Owner}
	until.WriteString(`CASE topic`)
	for _, t := range p.Topics {
		until.WriteString(` WHEN ? THEN ` + ts)
		args = append(args, t.Name, s.tv(t.LeaseUntil))
	}
	until.WriteString(` END`)
	args = append(args, s.tv(p.Now), s.tv(p.Now))
	for i, t := range p.Topics {
		if i > 0 {
			which.WriteString(` OR `)
		}
		which.WriteString(`(topic = ?`)
		args = append(args, t.Name)
		if t.BusinessKey != "" {
			which.WriteString(` AND business_key = ?`)
			args = append(args, t.BusinessKey)
		}
		if len(t.ProcessKeys) > 0 {
			which.WriteString(` AND process_key IN (` + strings.TrimSuffix(strings.Repeat("?,", len(t.ProcessKeys)), ",") + `)`)
			for _, k := range t.ProcessKeys {
				args = append(args, k)
			}
		}
		which.WriteString(`)`)
	}
	order := `created_at, id`
	if p.NewestFirst {
		order = `created_at DESC, id DESC`
	}
	if p.ByPriority {
		order = `priority DESC, ` + order
	}
	limit := cmp.Or(p.Limit, 1)
	args = append(args, limit)
	skip := ""
	if s.sh.pg {
		skip = ` FOR UPDATE SKIP LOCKED`
	}
	q := `UPDATE jobs SET lease_owner = ?, lease_until = ` + until.String() + ` WHERE id IN (SELECT id FROM jobs
WHERE state = '` + string(engine.JobActive) + `' AND kind = '` + string(engine.JobWork) + `' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
AND (` + which.String() + `)
ORDER BY ` + order + ` LIMIT ?` + skip + `) RETURNING ` + jobCols
	rows, err := s.query(ctx, q, args...)
	out, err := scanAll(rows, err, scanJob)
	if err != nil {
		return nil, translate(err, "lock external tasks")
	}
	slices.SortFunc(out, func(a, b *engine.Job) int {
		if p.ByPriority && a.Priority != b.Priority {
			return cmp.Compare(b.Priority, a.Priority)
		}
		c := a.CreatedAt.Compare(b.CreatedAt)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if p.NewestFirst {
			return -c
		}
		return c
	})
	return out, nil
}

// WorkList implements engine.ExternalTaskStore.
func (s *Store) WorkList(ctx context.Context, p *engine.ExternalTaskListParams) ([]*engine.Job, error) {
	var w where
	w.add(`kind = ?`, string(engine.JobWork))
	if p.WithRetriesLeft {
		w.add(`state = ?`, string(engine.JobActive))
	} else {
		w.add(`state IN (?, ?)`, string(engine.JobActive), string(engine.JobFailed))
	}
	if p.ID != 0 {
		w.add(`id = ?`, p.ID)
	}
	if p.Topic != "" {
		w.add(`topic = ?`, p.Topic)
	}
	if p.InstanceID != 0 {
		w.add(`process_instance_id = ?`, p.InstanceID)
	}
	if p.WorkerID != "" {
		w.add(`lease_owner = ? AND lease_until > ?`, p.WorkerID, s.tv(p.Now))
	}
	if p.Locked {
		w.add(`lease_until > ?`, s.tv(p.Now))
	}
	if p.NotLocked {
		w.add(`(lease_until IS NULL OR lease_until <= ?)`, s.tv(p.Now))
	}
	if err := s.afterTime(&w, p.Page, "created_at", "id", false); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+jobCols+` FROM jobs`+w.String()+` ORDER BY created_at, id`+pageClause(p.Page), w.args...)
	out, err := scanAll(rows, err, scanJob)
	return out, translate(err, "list external tasks")
}

// workChannel is the PostgreSQL notification channel of fetchable work.
const workChannel = "baton_work"

// NotifyWork implements engine.WorkNotifier: on PostgreSQL it tells every
// node listening (ListenWork) that work became fetchable, with from as the
// payload; on SQLite, one node only, it does nothing.
func (s *Store) NotifyWork(ctx context.Context, from string) error {
	if !s.sh.pg {
		return nil
	}
	_, err := s.db.Statement.ConnPool.ExecContext(ctx, s.rebind(`SELECT pg_notify('`+workChannel+`', ?)`), from)
	return translate(err, "notify work")
}

// ListenWork implements engine.WorkNotifier: on PostgreSQL it holds one
// connection that LISTENs for NotifyWork and calls wake for each
// notification, until ctx ends or the connection fails; on SQLite it
// waits for ctx.
func (s *Store) ListenWork(ctx context.Context, wake func(from string)) error {
	return s.listen(ctx, workChannel, "listen for work", wake)
}
