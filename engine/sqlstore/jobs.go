package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/batonbpm/baton/engine"
)

// JobsClaim implements engine.Store. On PostgreSQL one statement selects
// the due jobs FOR UPDATE SKIP LOCKED and leases them, so nodes claiming at
// the same moment take disjoint jobs and never wait for each other; SQLite
// has one writer, which serialises claims.
func (s *Store) JobsClaim(ctx context.Context, p *engine.JobClaimParams) ([]*engine.Job, error) {
	if !s.tx && !s.sh.pg {
		var out []*engine.Job
		err := s.Tx(ctx, func(tx engine.Store) (err error) {
			out, err = tx.JobsClaim(ctx, p)
			return err
		})
		return out, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	var which strings.Builder
	which.WriteString(`(kind <> '` + string(engine.JobWork) + `'`)
	args := []any{p.Owner, s.tv(p.LeaseUntil), s.tv(p.Now), s.tv(p.Now)}
	if len(p.Topics) > 0 {
		which.WriteString(` OR (kind = '` + string(engine.JobWork) + `' AND topic IN (` + strings.TrimSuffix(strings.Repeat("?,", len(p.Topics)), ",") + `))`)
		for _, t := range p.Topics {
			args = append(args, t)
		}
	}
	which.WriteString(`)`)
	args = append(args, limit)
	skip := ""
	if s.sh.pg {
		skip = ` FOR UPDATE SKIP LOCKED`
	}
	q := `UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id IN (SELECT id FROM jobs
WHERE state = '` + string(engine.JobActive) + `' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) AND ` + which.String() + `
ORDER BY due_at LIMIT ?` + skip + `) RETURNING ` + jobCols
	rows, err := s.query(ctx, q, args...)
	out, err := scanAll(rows, err, scanJob)
	if err != nil {
		return nil, translate(err, "claim due jobs")
	}
	slices.SortFunc(out, func(a, b *engine.Job) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}

// JobsRelease implements engine.Store.
func (s *Store) JobsRelease(ctx context.Context, owner string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if !s.tx && !s.sh.pg {
		return s.Tx(ctx, func(tx engine.Store) error { return tx.JobsRelease(ctx, owner, ids) })
	}
	args := []any{owner}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := s.db.Statement.ConnPool.ExecContext(ctx, s.rebind(`UPDATE jobs SET lease_owner = '', lease_until = NULL WHERE lease_owner = ? AND id IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`)`), args...)
	return translate(err, "release jobs")
}

// JobLock implements engine.Store.
func (s *Store) JobLock(ctx context.Context, id int64) (*engine.Job, error) {
	lock := ""
	if s.sh.pg && s.tx {
		lock = ` FOR UPDATE`
	}
	rows, err := s.query(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`+lock, id)
	j, err := scanOne(rows, err, scanJob)
	if err != nil {
		return nil, notFound(err, "job", id, "lock job")
	}
	return j, nil
}

// JobsSave implements engine.Store.
func (s *Store) JobsSave(ctx context.Context, jobs []*engine.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	if !s.tx {
		return s.Tx(ctx, func(tx engine.Store) error { return tx.JobsSave(ctx, jobs) })
	}
	for _, j := range jobs {
		if j.InstanceID != 0 {
			return &engine.InvalidError{Field: "job", Reason: fmt.Sprintf("job %d belongs to instance %d: save it with the instance", j.ID, j.InstanceID)}
		}
		headers, err := encodeHeaders(j.Headers)
		if err != nil {
			return err
		}
		_, err = s.db.Statement.ConnPool.ExecContext(ctx, s.rebind(`INSERT INTO jobs (id, process_instance_id, element_instance_id, element_id, topic, state, retries, due_at,
error_message, error_details, headers, business_key, created_at, kind, definition_id, timer, fired, lease_owner, lease_until)
VALUES (?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET state = excluded.state, retries = excluded.retries, due_at = excluded.due_at,
error_message = excluded.error_message, error_details = excluded.error_details, fired = excluded.fired,
lease_owner = excluded.lease_owner, lease_until = excluded.lease_until`),
			j.ID, j.ElementID, j.Topic, string(j.State), j.Retries, s.tn(j.DueAt), j.ErrorMessage, j.ErrorDetails, headers,
			s.tv(j.CreatedAt), string(j.Kind), j.DefinitionID, j.Timer, j.Fired, j.LeaseOwner, s.tn(j.LeaseUntil))
		if err != nil {
			return translate(err, fmt.Sprintf("save job %d", j.ID))
		}
	}
	return nil
}

// Exec runs a statement (with ? placeholders) in the transaction of the Go
// handler whose ctx it is given (see engine.TxStore), so that the handler's
// writes commit with its job or not at all. Outside a handler, or on
// another store, it is an error.
func Exec(ctx context.Context, query string, args ...any) error {
	s, ok := engine.TxStore(ctx).(*Store)
	if !ok || !s.tx {
		return fmt.Errorf("sqlstore.Exec: expected the context of a Go handler running on a sqlstore, but it carries none")
	}
	_, err := s.db.Statement.ConnPool.ExecContext(ctx, s.rebind(query), args...)
	return translate(err, "handler statement")
}

// jobsChannel is the PostgreSQL notification channel of due jobs.
const jobsChannel = "baton_jobs"

// NotifyJobs implements engine.JobNotifier: on PostgreSQL it tells every
// node listening (ListenJobs) that a job is due; on SQLite, one node only,
// it does nothing.
func (s *Store) NotifyJobs(ctx context.Context) error {
	if !s.sh.pg {
		return nil
	}
	_, err := s.db.Statement.ConnPool.ExecContext(ctx, `SELECT pg_notify('`+jobsChannel+`', '')`)
	return translate(err, "notify due jobs")
}

// ListenJobs implements engine.JobNotifier: on PostgreSQL it holds one
// connection that LISTENs for NotifyJobs and calls wake for each
// notification, until ctx ends or the connection fails; on SQLite it
// waits for ctx.
func (s *Store) ListenJobs(ctx context.Context, wake func()) error {
	return s.listen(ctx, jobsChannel, "listen for due jobs", func(string) { wake() })
}

// listen holds one PostgreSQL connection that LISTENs on channel and calls
// wake with each notification's payload, until ctx ends (nil) or the
// connection fails; on SQLite it waits for ctx. what names the work in
// errors.
func (s *Store) listen(ctx context.Context, channel, what string, wake func(payload string)) error {
	pool, ok := s.sh.root.Statement.ConnPool.(*sql.DB)
	if !s.sh.pg || !ok {
		<-ctx.Done()
		return nil
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return translate(err, what)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("expected a pgx connection, got %T", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, `LISTEN `+channel); err != nil {
			return err
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			wake(n.Payload)
		}
	})
	if ctx.Err() != nil {
		return nil
	}
	return translate(err, what)
}

// encodeHeaders returns a job's headers as the JSON its column keeps; ""
// for none.
func encodeHeaders(h map[string]string) (string, error) {
	if len(h) == 0 {
		return "", nil
	}
	b, err := json.Marshal(h)
	return string(b), err
}
