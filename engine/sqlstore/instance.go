package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
)

// InstanceLock implements engine.Store. In a transaction on PostgreSQL it
// takes the instance row with SELECT … FOR UPDATE; on SQLite the
// transaction already holds the database's write lock. Outside a
// transaction it only reads. In a transaction the store remembers what it
// read of the instance (see locked), so that InstanceSave can skip work.
func (s *Store) InstanceLock(ctx context.Context, id int64) (*engine.LiveState, error) {
	return s.live(ctx, id, s.tx)
}

// InstanceLive implements engine.Store.
func (s *Store) InstanceLive(ctx context.Context, id int64) (*engine.LiveState, error) {
	return s.live(ctx, id, false)
}

// locked is what InstanceLock read, in a transaction, of the instance it
// locked: no other transaction can change it before this one ends, so
// InstanceSave numbers history from seq without reading it back, skips the
// DELETEs of live tables that had no rows and leaves the candidates of
// tasks alone when they did not change.
type locked struct {
	id, rev, seq int64
	vars, joins  bool // live variables or join tokens may be stored
	// known tells that cands holds the stored candidates of every task a
	// save may change: the open tasks (none for a new instance).
	known bool
	cands map[int64]taskCands
}

type taskCands struct{ users, groups []string }

// live reads an instance and its live rows, and remembers them in s.lk when
// lock is set. An instance that is not active has none.
func (s *Store) live(ctx context.Context, id int64, lock bool) (*engine.LiveState, error) {
	var (
		st  *engine.LiveState
		seq int64
		err error
	)
	if s.sh.pg {
		st, seq, err = s.livePostgres(ctx, id, lock)
	} else {
		st, seq, err = s.liveSQLite(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	if lock {
		rev := st.Instance.Revision
		lk := &locked{id: id, rev: rev, seq: seq, vars: len(st.Variables) > 0, joins: len(st.JoinTokens) > 0, known: true}
		if st.Instance.State != engine.InstanceActive {
			lk = &locked{id: id, rev: rev, seq: seq, vars: true, joins: true} // live rows were not read
		}
		for _, t := range st.UserTasks {
			if lk.cands == nil {
				lk.cands = make(map[int64]taskCands, len(st.UserTasks))
			}
			// The engine may change the tasks it was given: keep copies.
			lk.cands[t.ID] = taskCands{slices.Clone(t.CandidateUsers), slices.Clone(t.CandidateGroups)}
		}
		s.lk = lk
	}
	return st, nil
}

func (s *Store) liveSQLite(ctx context.Context, id int64) (*engine.LiveState, int64, error) {
	var seq int64
	rows, err := s.query(ctx, `SELECT `+instCols+`, history_seq FROM process_instances WHERE id = ?`, id)
	inst, err := scanOne(rows, err, func(r *sql.Rows) (*engine.Instance, error) {
		in := &engine.Instance{}
		err := r.Scan(&in.ID, &in.DefinitionID, &in.Key, &in.Version, &in.BusinessKey, &in.StartKey, &in.State, &in.Revision,
			timeCol{&in.StartedAt}, timeCol{&in.EndedAt}, &in.ParentInstanceID, &in.ParentElementInstanceID, &seq)
		return in, err
	})
	if err != nil {
		return nil, 0, notFound(err, "process instance", id, "lock process instance")
	}
	st := &engine.LiveState{Instance: inst}
	if inst.State != engine.InstanceActive {
		return st, seq, nil
	}
	if err := s.loadLive(ctx, st); err != nil {
		return nil, 0, translate(err, fmt.Sprintf("load process instance %d", id))
	}
	return st, seq, nil
}

// liveQuery reads, on PostgreSQL, an instance row and its live rows in one
// round trip, each table's as a JSON array of row arrays. With FOR UPDATE
// the subqueries still read the statement's snapshot: if another
// transaction changed the instance before the lock was granted, the locked
// row is newer than that snapshot, which fresh tells (then the caller reads
// again, now that the row is locked).
const liveQuery = `SELECT p.id, p.definition_id, p.key, p.version, p.business_key, p.start_key, p.state, p.revision, p.started_at, p.ended_at,
p.parent_instance_id, p.parent_element_instance_id, p.history_seq,
p.xmin = (SELECT q.xmin FROM process_instances q WHERE q.id = p.id),
(SELECT json_agg(json_build_array(id, scope_id, element_id, kind, state, phase, created_at) ORDER BY id)
	FROM element_instances WHERE process_instance_id = p.id),
(SELECT json_agg(json_build_array(scope_id, name, value) ORDER BY scope_id, name)
	FROM variables WHERE process_instance_id = p.id),
(SELECT json_agg(json_build_array(t.id, t.element_instance_id, t.element_id, t.name, t.state, t.assignee, t.due_date, t.follow_up_date,
		t.priority, t.form_key, t.created_at, t.ended_at, t.owner, t.delegation,
		(SELECT json_agg(json_build_array(c.kind, c.name) ORDER BY c.kind, c.pos) FROM user_task_candidates c WHERE c.task_id = t.id)) ORDER BY t.id)
	FROM user_tasks t WHERE t.process_instance_id = p.id AND t.state = '` + string(engine.TaskCreated) + `'),
(SELECT json_agg(json_build_array(id, element_instance_id, element_id, topic, state, retries, due_at, error_message, error_details,
		headers, business_key, created_at, kind, definition_id, timer, fired, lease_owner, lease_until, priority, process_key, traceparent) ORDER BY id)
	FROM jobs WHERE process_instance_id = p.id AND state IN ('` + string(engine.JobActive) + `', '` + string(engine.JobFailed) + `')),
(SELECT json_agg(json_build_array(id, element_instance_id, element_id, type, message, job_id, state, created_at, resolved_at) ORDER BY id)
	FROM incidents WHERE process_instance_id = p.id AND state = '` + string(engine.IncidentOpen) + `'),
(SELECT json_agg(json_build_array(scope_id, element_id, flow_id, count) ORDER BY scope_id, element_id, flow_id)
	FROM join_tokens WHERE process_instance_id = p.id),
(SELECT json_agg(json_build_array(id, element_instance_id, element_id, definition_id, kind, name, correlation_key, business_key, created_at) ORDER BY id)
	FROM subscriptions WHERE process_instance_id = p.id)
FROM process_instances p WHERE p.id = $1`

func (s *Store) livePostgres(ctx context.Context, id int64, lock bool) (*engine.LiveState, int64, error) {
	q := liveQuery
	if lock {
		q += ` FOR UPDATE OF p`
	}
	for try := 0; ; try++ {
		var (
			in    engine.Instance
			seq   int64
			fresh sql.NullBool
			js    [7][]byte
		)
		dest := []any{&in.ID, &in.DefinitionID, &in.Key, &in.Version, &in.BusinessKey,
			&in.StartKey, &in.State, &in.Revision, timeCol{&in.StartedAt}, timeCol{&in.EndedAt}, &in.ParentInstanceID, &in.ParentElementInstanceID, &seq, &fresh,
			&js[0], &js[1], &js[2], &js[3], &js[4], &js[5], &js[6]}
		var err error
		if s.pgtx != nil {
			err = s.pgtx.queryRow(ctx, q, []any{id}, dest...)
		} else {
			err = s.db.Statement.ConnPool.QueryRowContext(ctx, q, id).Scan(dest...)
		}
		if err != nil {
			return nil, 0, notFound(err, "process instance", id, "lock process instance")
		}
		if lock && !fresh.Bool {
			if try == 2 {
				return nil, 0, fmt.Errorf("lock process instance %d: expected its row to be current once locked, but it was not", id)
			}
			continue // the row is locked now: read again in a fresh snapshot
		}
		st := &engine.LiveState{Instance: &in}
		if in.State != engine.InstanceActive {
			return st, seq, nil
		}
		if err := decodeLive(st, js); err != nil {
			return nil, 0, fmt.Errorf("load process instance %d: %w", id, err)
		}
		return st, seq, nil
	}
}

// decodeLive fills st from the JSON arrays of liveQuery.
func decodeLive(st *engine.LiveState, js [7][]byte) error {
	id := st.Instance.ID
	var err error
	if st.ElementInstances, err = jsonRows(js[0], func(f []json.RawMessage) (*engine.ElementInstance, error) {
		ei := &engine.ElementInstance{InstanceID: id}
		var kind string
		err := jsonFields(f, &ei.ID, &ei.ScopeID, &ei.ElementID, &kind, &ei.State, &ei.Phase, jsonTime{&ei.CreatedAt})
		ei.Kind = bpmn.Kind(kind)
		return ei, err
	}); err != nil {
		return fmt.Errorf("element instances: %w", err)
	}
	if st.Variables, err = jsonRows(js[1], func(f []json.RawMessage) (*engine.Variable, error) {
		v := &engine.Variable{InstanceID: id}
		if err := jsonFields(f[:2], &v.ScopeID, &v.Name); err != nil {
			return nil, err
		}
		val, err := decodeValue(f[2])
		if err != nil {
			return nil, fmt.Errorf("variable %q of scope %d: %w", v.Name, v.ScopeID, err)
		}
		v.Value = val
		return v, nil
	}); err != nil {
		return fmt.Errorf("variables: %w", err)
	}
	if st.UserTasks, err = jsonRows(js[2], func(f []json.RawMessage) (*engine.UserTask, error) {
		t := &engine.UserTask{InstanceID: id}
		var cands [][2]string
		err := jsonFields(f, &t.ID, &t.ElementInstanceID, &t.ElementID, &t.Name, &t.State, &t.Assignee, jsonTimePtr{&t.DueDate},
			jsonTimePtr{&t.FollowUpDate}, &t.Priority, &t.FormKey, jsonTime{&t.CreatedAt}, jsonTime{&t.EndedAt}, &t.Owner, &t.Delegation, &cands)
		addCandidates(t, cands)
		return t, err
	}); err != nil {
		return fmt.Errorf("user tasks: %w", err)
	}
	if st.Jobs, err = jsonRows(js[3], func(f []json.RawMessage) (*engine.Job, error) {
		j := &engine.Job{InstanceID: id}
		var headers string
		err := jsonFields(f, &j.ID, &j.ElementInstanceID, &j.ElementID, &j.Topic, &j.State, &j.Retries, jsonTime{&j.DueAt},
			&j.ErrorMessage, &j.ErrorDetails, &headers, &j.BusinessKey, jsonTime{&j.CreatedAt},
			&j.Kind, &j.DefinitionID, &j.Timer, &j.Fired, &j.LeaseOwner, jsonTime{&j.LeaseUntil}, &j.Priority, &j.ProcessKey, &j.Traceparent)
		if err == nil && headers != "" {
			if err := json.Unmarshal([]byte(headers), &j.Headers); err != nil {
				return nil, fmt.Errorf("job %d headers: %w", j.ID, err)
			}
		}
		return j, err
	}); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if st.Incidents, err = jsonRows(js[4], func(f []json.RawMessage) (*engine.Incident, error) {
		in := &engine.Incident{InstanceID: id}
		err := jsonFields(f, &in.ID, &in.ElementInstanceID, &in.ElementID, &in.Type, &in.Message, &in.JobID, &in.State,
			jsonTime{&in.CreatedAt}, jsonTime{&in.ResolvedAt})
		return in, err
	}); err != nil {
		return fmt.Errorf("incidents: %w", err)
	}
	if st.JoinTokens, err = jsonRows(js[5], func(f []json.RawMessage) (*engine.JoinToken, error) {
		jt := &engine.JoinToken{InstanceID: id}
		return jt, jsonFields(f, &jt.ScopeID, &jt.ElementID, &jt.FlowID, &jt.Count)
	}); err != nil {
		return fmt.Errorf("join tokens: %w", err)
	}
	if st.Subscriptions, err = jsonRows(js[6], func(f []json.RawMessage) (*engine.Subscription, error) {
		sub := &engine.Subscription{InstanceID: id}
		return sub, jsonFields(f, &sub.ID, &sub.ElementInstanceID, &sub.ElementID, &sub.DefinitionID, &sub.Kind, &sub.Name,
			&sub.CorrelationKey, &sub.BusinessKey, jsonTime{&sub.CreatedAt})
	}); err != nil {
		return fmt.Errorf("subscriptions: %w", err)
	}
	return nil
}

// jsonRows decodes a JSON array of row arrays (SQL NULL for none) with row.
func jsonRows[T any](data []byte, row func([]json.RawMessage) (T, error)) ([]T, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var raw [][]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	out := make([]T, len(raw))
	for i, f := range raw {
		v, err := row(f)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// jsonFields decodes the fields of one row array into dst, in order.
func jsonFields(f []json.RawMessage, dst ...any) error {
	if len(f) != len(dst) {
		return fmt.Errorf("expected a row of %d fields, but got %d", len(dst), len(f))
	}
	for i, d := range dst {
		var err error
		if u, ok := d.(json.Unmarshaler); ok {
			err = u.UnmarshalJSON(f[i])
		} else {
			err = json.Unmarshal(f[i], d)
		}
		if err != nil {
			return fmt.Errorf("field %d: %w", i, err)
		}
	}
	return nil
}

// jsonTime decodes a JSON timestamp, or null as the zero time.
type jsonTime struct{ t *time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (j jsonTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*j.t = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return timeCol{j.t}.parse(s)
}

// jsonTimePtr decodes a nullable JSON timestamp; null is nil.
type jsonTimePtr struct{ p **time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (j jsonTimePtr) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*j.p = nil
		return nil
	}
	var t time.Time
	if err := (jsonTime{&t}).UnmarshalJSON(b); err != nil {
		return err
	}
	*j.p = &t
	return nil
}

func (s *Store) loadLive(ctx context.Context, st *engine.LiveState) error {
	id := st.Instance.ID
	var err error
	rows, err := s.query(ctx, `SELECT id, scope_id, element_id, kind, state, phase, created_at FROM element_instances WHERE process_instance_id = ? ORDER BY id`, id)
	st.ElementInstances, err = scanAll(rows, err, func(r *sql.Rows) (*engine.ElementInstance, error) {
		ei := &engine.ElementInstance{InstanceID: id}
		var kind string
		err := r.Scan(&ei.ID, &ei.ScopeID, &ei.ElementID, &kind, &ei.State, &ei.Phase, timeCol{&ei.CreatedAt})
		ei.Kind = bpmn.Kind(kind)
		return ei, err
	})
	if err != nil {
		return err
	}
	rows, err = s.query(ctx, `SELECT scope_id, name, value FROM variables WHERE process_instance_id = ? ORDER BY scope_id, name`, id)
	st.Variables, err = scanAll(rows, err, func(r *sql.Rows) (*engine.Variable, error) {
		v := &engine.Variable{InstanceID: id}
		var raw []byte
		if err := r.Scan(&v.ScopeID, &v.Name, &raw); err != nil {
			return nil, err
		}
		val, err := decodeValue(raw)
		if err != nil {
			return nil, fmt.Errorf("variable %q of scope %d: %w", v.Name, v.ScopeID, err)
		}
		v.Value = val
		return v, nil
	})
	if err != nil {
		return err
	}
	rows, err = s.query(ctx, `SELECT `+taskCols+` FROM user_tasks t WHERE t.process_instance_id = ? AND t.state = ? ORDER BY t.id`, id, string(engine.TaskCreated))
	if st.UserTasks, err = scanAll(rows, err, scanTask); err != nil {
		return err
	}
	if len(st.UserTasks) > 0 {
		rows, err = s.query(ctx, `SELECT task_id, kind, name FROM user_task_candidates WHERE process_instance_id = ? ORDER BY task_id, kind, pos`, id)
		if err := loadCandidates(st.UserTasks, rows, err); err != nil {
			return err
		}
	}
	rows, err = s.query(ctx, `SELECT `+jobCols+` FROM jobs WHERE process_instance_id = ? AND state IN (?, ?) ORDER BY id`, id, string(engine.JobActive), string(engine.JobFailed))
	if st.Jobs, err = scanAll(rows, err, scanJob); err != nil {
		return err
	}
	rows, err = s.query(ctx, `SELECT `+incCols+` FROM incidents WHERE process_instance_id = ? AND state = ? ORDER BY id`, id, string(engine.IncidentOpen))
	if st.Incidents, err = scanAll(rows, err, scanIncident); err != nil {
		return err
	}
	rows, err = s.query(ctx, `SELECT scope_id, element_id, flow_id, count FROM join_tokens WHERE process_instance_id = ? ORDER BY scope_id, element_id, flow_id`, id)
	st.JoinTokens, err = scanAll(rows, err, func(r *sql.Rows) (*engine.JoinToken, error) {
		jt := &engine.JoinToken{InstanceID: id}
		return jt, r.Scan(&jt.ScopeID, &jt.ElementID, &jt.FlowID, &jt.Count)
	})
	if err != nil {
		return err
	}
	rows, err = s.query(ctx, `SELECT `+subCols+` FROM subscriptions WHERE process_instance_id = ? ORDER BY id`, id)
	st.Subscriptions, err = scanAll(rows, err, scanSubscription)
	return err
}

// InstanceSave implements engine.Store: one statement per table and kind of
// change (a multi-row INSERT … ON CONFLICT DO UPDATE for the rows to keep, a
// DELETE for the rows that left the live state), then the instance row. On
// PostgreSQL a writer joins them into one statement, which the transaction
// sends with its commit (see pgTx). When InstanceLock locked the instance
// in this transaction, or c creates it, the revision is checked against
// what was read and history numbered from it; else the instance row is
// updated first. Outside a transaction it runs in one of its own. Nothing
// of c is kept but copies of its values.
func (s *Store) InstanceSave(ctx context.Context, c *engine.InstanceChanges) error {
	if !s.tx {
		return s.Tx(ctx, func(tx engine.Store) error { return tx.InstanceSave(ctx, c) })
	}
	in := c.Instance
	id := in.ID
	nh := int64(len(c.History))
	lk := s.lockedFor(c)
	w := s.newWriter(ctx)
	if lk == nil {
		// The instance was not locked in this transaction: update it first
		// and number history from what is stored.
		rows, err := s.query(ctx, `UPDATE process_instances SET definition_id = ?, key = ?, version = ?, business_key = ?, state = ?, revision = ?,
history_seq = history_seq + ?, ended_at = ? WHERE id = ? AND revision = ? RETURNING history_seq`,
			in.DefinitionID, in.Key, in.Version, in.BusinessKey, string(in.State), in.Revision, nh, s.tn(in.EndedAt), id, c.PrevRevision)
		seqEnd, err := scanOne(rows, err, func(r *sql.Rows) (int64, error) {
			var n int64
			return n, r.Scan(&n)
		})
		if err == sql.ErrNoRows {
			return s.revisionConflict(ctx, c)
		}
		if err != nil {
			return translate(err, fmt.Sprintf("save process instance %d", id))
		}
		if err := s.saveRows(w, c, nil, seqEnd-nh+1); err != nil {
			return err
		}
		_, err = w.flush()
		return translate(err, fmt.Sprintf("save process instance %d", id))
	}
	if !c.Created && c.PrevRevision != lk.rev {
		return &engine.ConflictError{Reason: fmt.Sprintf("process instance %d: revision %d was read, but %d is stored", id, c.PrevRevision, lk.rev)}
	}
	if err := s.saveRows(w, c, lk, lk.seq+1); err != nil {
		return err
	}
	if err := w.stmt(13); err != nil {
		return translate(err, fmt.Sprintf("save process instance %d", id))
	}
	if c.Created {
		w.sql(`INSERT INTO process_instances (id, definition_id, key, version, business_key, start_key, state, revision, history_seq, started_at, ended_at,
parent_instance_id, parent_element_instance_id) VALUES `)
		w.group(id, in.DefinitionID, in.Key, in.Version, in.BusinessKey, in.StartKey, string(in.State), in.Revision, nh, s.tv(in.StartedAt), s.tn(in.EndedAt),
			in.ParentInstanceID, in.ParentElementInstanceID)
	} else {
		// The instance is locked and its revision was checked above; the
		// condition is a second guard.
		w.sql(`UPDATE process_instances SET (definition_id, key, version, business_key, state, revision, history_seq, ended_at) = `)
		w.group(in.DefinitionID, in.Key, in.Version, in.BusinessKey, string(in.State), in.Revision, lk.seq+nh, s.tn(in.EndedAt))
		w.sql(` WHERE id = `)
		w.arg(id)
		w.sql(` AND revision = `)
		w.arg(c.PrevRevision)
	}
	// What the save leaves in the live tables is not tracked: a next save
	// in this transaction, if any, does not skip.
	s.lk = &locked{id: id, rev: in.Revision, seq: lk.seq + nh, vars: true, joins: true}
	what := fmt.Sprintf("save process instance %d", id)
	if s.pgtx != nil {
		// Sent with the commit, or before the transaction's next statement.
		return s.pgtx.hold(w, what)
	}
	_, err := w.flush()
	return translate(err, what)
}

// lockedFor returns what the transaction knows of the stored instance of c:
// nothing (nil) unless InstanceLock locked it or c creates it.
func (s *Store) lockedFor(c *engine.InstanceChanges) *locked {
	switch {
	case c.Created:
		return &locked{id: c.Instance.ID, known: true}
	case s.lk != nil && s.lk.id == c.Instance.ID:
		return s.lk
	}
	return nil
}

// revisionConflict returns the error of a save whose revision check failed.
func (s *Store) revisionConflict(ctx context.Context, c *engine.InstanceChanges) error {
	id := c.Instance.ID
	rows, err := s.query(ctx, `SELECT revision FROM process_instances WHERE id = ?`, id)
	stored, err := scanOne(rows, err, func(r *sql.Rows) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	})
	if err != nil {
		return notFound(err, "process instance", id, fmt.Sprintf("save process instance %d", id))
	}
	return &engine.ConflictError{Reason: fmt.Sprintf("process instance %d: revision %d was read, but %d is stored", id, c.PrevRevision, stored)}
}

// saveRows writes the live rows and history of c with w; lk is what the
// transaction knows of the stored instance (nil: nothing); history is
// numbered from seq.
func (s *Store) saveRows(w *writer, c *engine.InstanceChanges, lk *locked, seq int64) error {
	steps := []struct {
		what string
		fn   func(*writer, *engine.InstanceChanges, *locked) error
	}{
		{"element instances", s.saveElementInstances},
		{"variables", s.saveVariables},
		{"join tokens", s.saveJoinTokens},
		{"user tasks", s.saveUserTasks},
		{"jobs", s.saveJobs},
		{"incidents", s.saveIncidents},
		{"subscriptions", s.saveSubscriptions},
	}
	id := c.Instance.ID
	w.inst.set(id)
	for _, step := range steps {
		if err := step.fn(w, c, lk); err != nil {
			return translate(err, fmt.Sprintf("save process instance %d: %s", id, step.what))
		}
	}
	if err := s.saveHistory(w, c, seq); err != nil {
		return translate(err, fmt.Sprintf("save process instance %d: history", id))
	}
	return nil
}

// ended reports whether the instance left the active state: then its live
// rows go, whatever c lists.
func ended(c *engine.InstanceChanges) bool { return c.Instance.State != engine.InstanceActive }

// lastByKey returns rows without earlier duplicates of a key (the last one
// wins). It returns rows itself when there are none, which is the rule.
func lastByKey[T any, K comparable](rows []T, key func(T) K) []T {
	if len(rows) < 2 {
		return rows
	}
	seen := make(map[K]int, len(rows))
	dup := false
	for i, r := range rows {
		if _, ok := seen[key(r)]; ok {
			dup = true
		}
		seen[key(r)] = i
	}
	if !dup {
		return rows
	}
	out := make([]T, 0, len(seen))
	for i, r := range rows {
		if seen[key(r)] == i {
			out = append(out, r)
		}
	}
	return out
}

func (s *Store) saveElementInstances(w *writer, c *engine.InstanceChanges, lk *locked) error {
	if ended(c) {
		if c.Created {
			return nil // none were stored
		}
		return w.exec(`DELETE FROM element_instances WHERE process_instance_id = `, c.Instance.ID)
	}
	eis := lastByKey(c.ElementInstances, func(ei *engine.ElementInstance) int64 { return ei.ID })
	var live, gone []*engine.ElementInstance
	for _, ei := range eis {
		if ei.State.Live() {
			live = append(live, ei)
		} else {
			gone = append(gone, ei)
		}
	}
	err := w.insertRows(`INSERT INTO element_instances (id, process_instance_id, scope_id, element_id, kind, state, phase, created_at)`,
		` ON CONFLICT (id) DO UPDATE SET scope_id = excluded.scope_id, state = excluded.state, phase = excluded.phase`,
		8, len(live), func(i int) error {
			ei := live[i]
			w.group(ei.ID, &w.inst, ei.ScopeID, ei.ElementID, string(ei.Kind), string(ei.State), ei.Phase, s.tv(ei.CreatedAt))
			return nil
		})
	if err != nil {
		return err
	}
	return w.deleteRows(`DELETE FROM element_instances WHERE id IN `, 1, len(gone), func(i int) {
		w.arg(gone[i].ID)
	})
}

type varKey struct {
	scope int64
	name  string
}

func (s *Store) saveVariables(w *writer, c *engine.InstanceChanges, lk *locked) error {
	id := c.Instance.ID
	if ended(c) {
		if lk != nil && !lk.vars {
			return nil // none were stored
		}
		return w.exec(`DELETE FROM variables WHERE process_instance_id = `, id)
	}
	vars := lastByKey(c.Variables, func(v *engine.Variable) varKey { return varKey{v.ScopeID, v.Name} })
	var keep, gone []*engine.Variable
	for _, v := range vars {
		if v.Deleted {
			gone = append(gone, v)
		} else {
			keep = append(keep, v)
		}
	}
	err := w.insertRows(`INSERT INTO variables (process_instance_id, scope_id, name, value)`,
		` ON CONFLICT (process_instance_id, scope_id, name) DO UPDATE SET value = excluded.value`,
		4, len(keep), func(i int) error {
			v := keep[i]
			val, err := encodeValue(v.Value)
			if err != nil {
				return &engine.InvalidError{Field: "variable " + v.Name, Reason: err.Error()}
			}
			w.group(&w.inst, v.ScopeID, v.Name, val)
			return nil
		})
	if err != nil {
		return err
	}
	return w.deleteRows(`DELETE FROM variables WHERE (process_instance_id, scope_id, name) IN `, 3, len(gone), func(i int) {
		w.group(&w.inst, gone[i].ScopeID, gone[i].Name)
	})
}

type joinKey struct {
	scope         int64
	element, flow string
}

func (s *Store) saveJoinTokens(w *writer, c *engine.InstanceChanges, lk *locked) error {
	id := c.Instance.ID
	if ended(c) {
		if lk != nil && !lk.joins {
			return nil // none were stored
		}
		return w.exec(`DELETE FROM join_tokens WHERE process_instance_id = `, id)
	}
	jts := lastByKey(c.JoinTokens, func(jt *engine.JoinToken) joinKey { return joinKey{jt.ScopeID, jt.ElementID, jt.FlowID} })
	var keep, gone []*engine.JoinToken
	for _, jt := range jts {
		if jt.Count > 0 {
			keep = append(keep, jt)
		} else {
			gone = append(gone, jt)
		}
	}
	err := w.insertRows(`INSERT INTO join_tokens (process_instance_id, scope_id, element_id, flow_id, count)`,
		` ON CONFLICT (process_instance_id, scope_id, element_id, flow_id) DO UPDATE SET count = excluded.count`,
		5, len(keep), func(i int) error {
			jt := keep[i]
			w.group(&w.inst, jt.ScopeID, jt.ElementID, jt.FlowID, jt.Count)
			return nil
		})
	if err != nil {
		return err
	}
	return w.deleteRows(`DELETE FROM join_tokens WHERE (process_instance_id, scope_id, element_id, flow_id) IN `, 4, len(gone), func(i int) {
		jt := gone[i]
		w.group(&w.inst, jt.ScopeID, jt.ElementID, jt.FlowID)
	})
}

// saveUserTasks upserts the tasks and rewrites the candidates of those
// whose candidates may have changed: all of them, unless lk knows the
// stored candidates of the instance's open tasks.
func (s *Store) saveUserTasks(w *writer, c *engine.InstanceChanges, lk *locked) error {
	tasks := lastByKey(c.UserTasks, func(t *engine.UserTask) int64 { return t.ID })
	if len(tasks) == 0 {
		return nil
	}
	err := w.insertRows(`INSERT INTO user_tasks (id, process_instance_id, element_instance_id, element_id, name, state, assignee, due_date, follow_up_date, priority, form_key, created_at, ended_at, owner, delegation)`,
		` ON CONFLICT (id) DO UPDATE SET name = excluded.name, state = excluded.state, assignee = excluded.assignee, due_date = excluded.due_date,
follow_up_date = excluded.follow_up_date, priority = excluded.priority, form_key = excluded.form_key, ended_at = excluded.ended_at,
owner = excluded.owner, delegation = excluded.delegation`,
		15, len(tasks), func(i int) error {
			t := tasks[i]
			w.group(t.ID, &w.inst, t.ElementInstanceID, t.ElementID, t.Name, string(t.State), t.Assignee,
				s.tp(t.DueDate), s.tp(t.FollowUpDate), t.Priority, t.FormKey, s.tv(t.CreatedAt), s.tn(t.EndedAt), t.Owner, string(t.Delegation))
			return nil
		})
	if err != nil {
		return err
	}
	// stored: tasks whose candidates go first; write: tasks whose candidates
	// are inserted.
	var stored, write []*engine.UserTask
	for _, t := range tasks {
		if lk == nil || !lk.known {
			stored, write = append(stored, t), append(write, t)
			continue
		}
		old, ok := lk.cands[t.ID]
		switch {
		case !ok: // not open when locked, so new: nothing stored
			write = append(write, t)
		case !slices.Equal(old.users, t.CandidateUsers) || !slices.Equal(old.groups, t.CandidateGroups):
			stored, write = append(stored, t), append(write, t)
		}
	}
	err = w.deleteRows(`DELETE FROM user_task_candidates WHERE task_id IN `, 1, len(stored), func(i int) {
		w.arg(stored[i].ID)
	})
	if err != nil {
		return err
	}
	type cand struct {
		task       int64
		kind, name string
		pos        int
	}
	var cands []cand
	for _, t := range write {
		for i, u := range t.CandidateUsers {
			cands = append(cands, cand{t.ID, candUser, u, i})
		}
		for i, g := range t.CandidateGroups {
			cands = append(cands, cand{t.ID, candGroup, g, i})
		}
	}
	if len(cands) > 0 && len(stored) > 0 {
		// In one statement, the INSERT would not see the DELETE's effect.
		if _, err := w.flush(); err != nil {
			return err
		}
	}
	return w.insertRows(`INSERT INTO user_task_candidates (task_id, kind, pos, name, process_instance_id)`, "",
		5, len(cands), func(i int) error {
			cd := cands[i]
			w.group(cd.task, cd.kind, cd.pos, cd.name, &w.inst)
			return nil
		})
}

func (s *Store) saveJobs(w *writer, c *engine.InstanceChanges, _ *locked) error {
	jobs := lastByKey(c.Jobs, func(j *engine.Job) int64 { return j.ID })
	return w.insertRows(`INSERT INTO jobs (id, process_instance_id, element_instance_id, element_id, topic, state, retries, due_at, error_message, error_details, headers, business_key, created_at,
kind, definition_id, timer, fired, lease_owner, lease_until, priority, process_key, traceparent)`,
		` ON CONFLICT (id) DO UPDATE SET topic = excluded.topic, state = excluded.state, retries = excluded.retries, due_at = excluded.due_at,
error_message = excluded.error_message, error_details = excluded.error_details, headers = excluded.headers, business_key = excluded.business_key,
fired = excluded.fired, lease_owner = excluded.lease_owner, lease_until = excluded.lease_until`,
		22, len(jobs), func(i int) error {
			j := jobs[i]
			headers, err := encodeHeaders(j.Headers)
			if err != nil {
				return err
			}
			w.group(j.ID, &w.inst, j.ElementInstanceID, j.ElementID, j.Topic, string(j.State), j.Retries, s.tn(j.DueAt),
				j.ErrorMessage, j.ErrorDetails, headers, j.BusinessKey, s.tv(j.CreatedAt),
				string(cmp.Or(j.Kind, engine.JobWork)), j.DefinitionID, j.Timer, j.Fired, j.LeaseOwner, s.tn(j.LeaseUntil), j.Priority, j.ProcessKey, j.Traceparent)
			return nil
		})
}

func (s *Store) saveIncidents(w *writer, c *engine.InstanceChanges, _ *locked) error {
	incs := lastByKey(c.Incidents, func(in *engine.Incident) int64 { return in.ID })
	return w.insertRows(`INSERT INTO incidents (id, process_instance_id, element_instance_id, element_id, type, message, job_id, state, created_at, resolved_at)`,
		` ON CONFLICT (id) DO UPDATE SET message = excluded.message, state = excluded.state, resolved_at = excluded.resolved_at`,
		10, len(incs), func(i int) error {
			in := incs[i]
			w.group(in.ID, &w.inst, in.ElementInstanceID, in.ElementID, in.Type, in.Message, in.JobID, string(in.State),
				s.tv(in.CreatedAt), s.tn(in.ResolvedAt))
			return nil
		})
}

// saveHistory appends c's events, numbered from seq. What describes the
// command is a shared argument, as the instance id is.
func (s *Store) saveHistory(w *writer, c *engine.InstanceChanges, seq int64) error {
	var (
		lastCmd                     *engine.CommandInfo
		name, actor, req, trace, at sharedArg
	)
	none := &engine.CommandInfo{}
	return w.insertRows(`INSERT INTO history (process_instance_id, seq, element_instance_id, element_id, type, command, actor, request_id, trace_id, at, detail,
var_scope_id, var_name, var_old, var_new, var_created)`, "",
		16, len(c.History), func(i int) error {
			ev := &c.History[i]
			cmd := ev.Command
			if cmd == nil {
				cmd = none
			}
			if cmd != lastCmd {
				lastCmd = cmd
				name.set(cmd.Name)
				actor.set(cmd.Actor)
				req.set(cmd.RequestID)
				trace.set(cmd.TraceID)
				at.set(s.tv(cmd.Time))
			}
			if ev.Var == nil {
				w.group(&w.inst, seq+int64(i), ev.ElementInstanceID, ev.ElementID, ev.Type.String(), &name, &actor, &req, &trace, &at, ev.Detail,
					nil, nil, nil, nil, nil)
				return nil
			}
			old, err := encodeValue(ev.Var.OldValue)
			if err != nil {
				return &engine.InvalidError{Field: "variable " + ev.Var.Name, Reason: err.Error()}
			}
			nv, err := encodeValue(ev.Var.NewValue)
			if err != nil {
				return &engine.InvalidError{Field: "variable " + ev.Var.Name, Reason: err.Error()}
			}
			w.group(&w.inst, seq+int64(i), ev.ElementInstanceID, ev.ElementID, ev.Type.String(), &name, &actor, &req, &trace, &at, ev.Detail,
				ev.Var.ScopeID, ev.Var.Name, old, nv, ev.Var.Created)
			return nil
		})
}
