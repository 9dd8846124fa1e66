package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
)

// InstanceLock implements engine.Store. In a transaction on PostgreSQL it
// takes the instance row with SELECT … FOR UPDATE; on SQLite the
// transaction already holds the database's write lock. Outside a
// transaction it only reads.
func (s *Store) InstanceLock(ctx context.Context, id int64) (*engine.LiveState, error) {
	lock := ""
	if s.tx && s.sh.pg {
		lock = " FOR UPDATE"
	}
	return s.live(ctx, id, lock)
}

// InstanceLive implements engine.Store.
func (s *Store) InstanceLive(ctx context.Context, id int64) (*engine.LiveState, error) {
	return s.live(ctx, id, "")
}

// live reads an instance and its live rows. An instance that is not active
// has none.
func (s *Store) live(ctx context.Context, id int64, lock string) (*engine.LiveState, error) {
	rows, err := s.query(ctx, `SELECT `+instCols+` FROM process_instances WHERE id = ?`+lock, id)
	inst, err := scanOne(rows, err, scanInstance)
	if err != nil {
		return nil, notFound(err, "process instance", id, "lock process instance")
	}
	st := &engine.LiveState{Instance: inst}
	if inst.State != engine.InstanceActive {
		return st, nil
	}
	if err := s.loadLive(ctx, st); err != nil {
		return nil, translate(err, fmt.Sprintf("load process instance %d", id))
	}
	return st, nil
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
	return err
}

// InstanceSave implements engine.Store: one statement per table and kind of
// change (a multi-row INSERT … ON CONFLICT DO UPDATE for the rows to keep, a
// DELETE for the rows that left the live state). Outside a transaction it
// runs in one of its own. Nothing of c is kept.
func (s *Store) InstanceSave(ctx context.Context, c *engine.InstanceChanges) error {
	if !s.tx {
		return s.Tx(ctx, func(tx engine.Store) error { return tx.InstanceSave(ctx, c) })
	}
	in := c.Instance
	id := in.ID
	nh := int64(len(c.History))
	var seqEnd int64 // the seq of the instance's last history row after this save
	if c.Created {
		_, err := s.exec(ctx, `INSERT INTO process_instances (id, definition_id, key, version, business_key, state, revision, history_seq, started_at, ended_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, in.DefinitionID, in.Key, in.Version, in.BusinessKey, string(in.State), in.Revision, nh, s.tv(in.StartedAt), s.tn(in.EndedAt))
		if err != nil {
			return translate(err, fmt.Sprintf("create process instance %d", id))
		}
		seqEnd = nh
	} else {
		err := s.db.WithContext(ctx).Raw(`UPDATE process_instances SET definition_id = ?, key = ?, version = ?, business_key = ?, state = ?, revision = ?,
history_seq = history_seq + ?, ended_at = ? WHERE id = ? AND revision = ? RETURNING history_seq`,
			in.DefinitionID, in.Key, in.Version, in.BusinessKey, string(in.State), in.Revision, nh, s.tn(in.EndedAt), id, c.PrevRevision).Row().Scan(&seqEnd)
		if err == sql.ErrNoRows {
			var stored int64
			err := s.db.WithContext(ctx).Raw(`SELECT revision FROM process_instances WHERE id = ?`, id).Row().Scan(&stored)
			if err != nil {
				return notFound(err, "process instance", id, fmt.Sprintf("save process instance %d", id))
			}
			return &engine.ConflictError{Reason: fmt.Sprintf("process instance %d: revision %d was read, but %d is stored", id, c.PrevRevision, stored)}
		}
		if err != nil {
			return translate(err, fmt.Sprintf("save process instance %d", id))
		}
	}
	steps := []struct {
		what string
		fn   func(context.Context, *engine.InstanceChanges) error
	}{
		{"element instances", s.saveElementInstances},
		{"variables", s.saveVariables},
		{"join tokens", s.saveJoinTokens},
		{"user tasks", s.saveUserTasks},
		{"jobs", s.saveJobs},
		{"incidents", s.saveIncidents},
	}
	for _, step := range steps {
		if err := step.fn(ctx, c); err != nil {
			return translate(err, fmt.Sprintf("save process instance %d: %s", id, step.what))
		}
	}
	if err := s.saveHistory(ctx, c, seqEnd-nh+1); err != nil {
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

func (s *Store) saveElementInstances(ctx context.Context, c *engine.InstanceChanges) error {
	if ended(c) {
		if c.Created {
			return nil // none were stored
		}
		_, err := s.exec(ctx, `DELETE FROM element_instances WHERE process_instance_id = ?`, c.Instance.ID)
		return err
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
	err := s.insertRows(ctx, `INSERT INTO element_instances (id, process_instance_id, scope_id, element_id, kind, state, phase, created_at)`,
		` ON CONFLICT (id) DO UPDATE SET scope_id = excluded.scope_id, state = excluded.state, phase = excluded.phase`,
		8, len(live), func(args []any, i int) ([]any, error) {
			ei := live[i]
			return append(args, ei.ID, c.Instance.ID, ei.ScopeID, ei.ElementID, string(ei.Kind), string(ei.State), ei.Phase, s.tv(ei.CreatedAt)), nil
		})
	if err != nil {
		return err
	}
	return inChunks(len(gone), 1, func(start, end int) error {
		args := make([]any, 0, end-start)
		for _, ei := range gone[start:end] {
			args = append(args, ei.ID)
		}
		_, err := s.exec(ctx, `DELETE FROM element_instances WHERE id IN `+group(len(args)), args...)
		return err
	})
}

type varKey struct {
	scope int64
	name  string
}

func (s *Store) saveVariables(ctx context.Context, c *engine.InstanceChanges) error {
	id := c.Instance.ID
	if ended(c) {
		if c.Created {
			return nil // none were stored
		}
		_, err := s.exec(ctx, `DELETE FROM variables WHERE process_instance_id = ?`, id)
		return err
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
	err := s.insertRows(ctx, `INSERT INTO variables (process_instance_id, scope_id, name, value)`,
		` ON CONFLICT (process_instance_id, scope_id, name) DO UPDATE SET value = excluded.value`,
		4, len(keep), func(args []any, i int) ([]any, error) {
			v := keep[i]
			val, err := encodeValue(v.Value)
			if err != nil {
				return nil, &engine.InvalidError{Field: "variable " + v.Name, Reason: err.Error()}
			}
			return append(args, id, v.ScopeID, v.Name, val), nil
		})
	if err != nil {
		return err
	}
	return inChunks(len(gone), 2, func(start, end int) error {
		args := []any{id}
		for _, v := range gone[start:end] {
			args = append(args, v.ScopeID, v.Name)
		}
		_, err := s.exec(ctx, `DELETE FROM variables WHERE process_instance_id = ? AND (scope_id, name) IN (`+
			strings.Repeat("(?, ?),", end-start-1)+`(?, ?))`, args...)
		return err
	})
}

type joinKey struct {
	scope         int64
	element, flow string
}

func (s *Store) saveJoinTokens(ctx context.Context, c *engine.InstanceChanges) error {
	id := c.Instance.ID
	if ended(c) {
		if c.Created {
			return nil // none were stored
		}
		_, err := s.exec(ctx, `DELETE FROM join_tokens WHERE process_instance_id = ?`, id)
		return err
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
	err := s.insertRows(ctx, `INSERT INTO join_tokens (process_instance_id, scope_id, element_id, flow_id, count)`,
		` ON CONFLICT (process_instance_id, scope_id, element_id, flow_id) DO UPDATE SET count = excluded.count`,
		5, len(keep), func(args []any, i int) ([]any, error) {
			jt := keep[i]
			return append(args, id, jt.ScopeID, jt.ElementID, jt.FlowID, jt.Count), nil
		})
	if err != nil {
		return err
	}
	return inChunks(len(gone), 3, func(start, end int) error {
		args := []any{id}
		for _, jt := range gone[start:end] {
			args = append(args, jt.ScopeID, jt.ElementID, jt.FlowID)
		}
		_, err := s.exec(ctx, `DELETE FROM join_tokens WHERE process_instance_id = ? AND (scope_id, element_id, flow_id) IN (`+
			strings.Repeat("(?, ?, ?),", end-start-1)+`(?, ?, ?))`, args...)
		return err
	})
}

// saveUserTasks upserts the tasks and rewrites their candidates.
func (s *Store) saveUserTasks(ctx context.Context, c *engine.InstanceChanges) error {
	tasks := lastByKey(c.UserTasks, func(t *engine.UserTask) int64 { return t.ID })
	if len(tasks) == 0 {
		return nil
	}
	id := c.Instance.ID
	err := s.insertRows(ctx, `INSERT INTO user_tasks (id, process_instance_id, element_instance_id, element_id, name, state, assignee, due_date, follow_up_date, priority, form_key, created_at, ended_at)`,
		` ON CONFLICT (id) DO UPDATE SET name = excluded.name, state = excluded.state, assignee = excluded.assignee, due_date = excluded.due_date,
follow_up_date = excluded.follow_up_date, priority = excluded.priority, form_key = excluded.form_key, ended_at = excluded.ended_at`,
		13, len(tasks), func(args []any, i int) ([]any, error) {
			t := tasks[i]
			return append(args, t.ID, id, t.ElementInstanceID, t.ElementID, t.Name, string(t.State), t.Assignee,
				s.tp(t.DueDate), s.tp(t.FollowUpDate), t.Priority, t.FormKey, s.tv(t.CreatedAt), s.tn(t.EndedAt)), nil
		})
	if err != nil {
		return err
	}
	err = inChunks(len(tasks), 1, func(start, end int) error {
		args := make([]any, 0, end-start)
		for _, t := range tasks[start:end] {
			args = append(args, t.ID)
		}
		_, err := s.exec(ctx, `DELETE FROM user_task_candidates WHERE task_id IN `+group(len(args)), args...)
		return err
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
	for _, t := range tasks {
		for i, u := range t.CandidateUsers {
			cands = append(cands, cand{t.ID, candUser, u, i})
		}
		for i, g := range t.CandidateGroups {
			cands = append(cands, cand{t.ID, candGroup, g, i})
		}
	}
	return s.insertRows(ctx, `INSERT INTO user_task_candidates (task_id, kind, pos, name, process_instance_id)`, "",
		5, len(cands), func(args []any, i int) ([]any, error) {
			cd := cands[i]
			return append(args, cd.task, cd.kind, cd.pos, cd.name, id), nil
		})
}

func (s *Store) saveJobs(ctx context.Context, c *engine.InstanceChanges) error {
	jobs := lastByKey(c.Jobs, func(j *engine.Job) int64 { return j.ID })
	id := c.Instance.ID
	return s.insertRows(ctx, `INSERT INTO jobs (id, process_instance_id, element_instance_id, element_id, topic, state, retries, due_at, error_message, error_details, headers, business_key, created_at)`,
		` ON CONFLICT (id) DO UPDATE SET topic = excluded.topic, state = excluded.state, retries = excluded.retries, due_at = excluded.due_at,
error_message = excluded.error_message, error_details = excluded.error_details, headers = excluded.headers, business_key = excluded.business_key`,
		13, len(jobs), func(args []any, i int) ([]any, error) {
			j := jobs[i]
			headers := ""
			if len(j.Headers) > 0 {
				b, err := json.Marshal(j.Headers)
				if err != nil {
					return nil, err
				}
				headers = string(b)
			}
			return append(args, j.ID, id, j.ElementInstanceID, j.ElementID, j.Topic, string(j.State), j.Retries, s.tn(j.DueAt),
				j.ErrorMessage, j.ErrorDetails, headers, j.BusinessKey, s.tv(j.CreatedAt)), nil
		})
}

func (s *Store) saveIncidents(ctx context.Context, c *engine.InstanceChanges) error {
	incs := lastByKey(c.Incidents, func(in *engine.Incident) int64 { return in.ID })
	id := c.Instance.ID
	return s.insertRows(ctx, `INSERT INTO incidents (id, process_instance_id, element_instance_id, element_id, type, message, job_id, state, created_at, resolved_at)`,
		` ON CONFLICT (id) DO UPDATE SET message = excluded.message, state = excluded.state, resolved_at = excluded.resolved_at`,
		10, len(incs), func(args []any, i int) ([]any, error) {
			in := incs[i]
			return append(args, in.ID, id, in.ElementInstanceID, in.ElementID, in.Type, in.Message, in.JobID, string(in.State),
				s.tv(in.CreatedAt), s.tn(in.ResolvedAt)), nil
		})
}

// saveHistory appends c's events, numbered from seq.
func (s *Store) saveHistory(ctx context.Context, c *engine.InstanceChanges, seq int64) error {
	id := c.Instance.ID
	var (
		lastCmd *engine.CommandInfo
		at      any
	)
	none := &engine.CommandInfo{}
	return s.insertRows(ctx, `INSERT INTO history (process_instance_id, seq, element_instance_id, element_id, type, command, actor, request_id, at, detail,
var_scope_id, var_name, var_old, var_new, var_created)`, "",
		15, len(c.History), func(args []any, i int) ([]any, error) {
			ev := &c.History[i]
			cmd := ev.Command
			if cmd == nil {
				cmd = none
			}
			if cmd != lastCmd {
				lastCmd, at = cmd, s.tv(cmd.Time)
			}
			args = append(args, id, seq+int64(i), ev.ElementInstanceID, ev.ElementID, ev.Type.String(), cmd.Name, cmd.Actor, cmd.RequestID, at, ev.Detail)
			if ev.Var == nil {
				return append(args, nil, nil, nil, nil, nil), nil
			}
			old, err := encodeValue(ev.Var.OldValue)
			if err != nil {
				return nil, &engine.InvalidError{Field: "variable " + ev.Var.Name, Reason: err.Error()}
			}
			nv, err := encodeValue(ev.Var.NewValue)
			if err != nil {
				return nil, &engine.InvalidError{Field: "variable " + ev.Var.Name, Reason: err.Error()}
			}
			return append(args, ev.Var.ScopeID, ev.Var.Name, old, nv, ev.Var.Created), nil
		})
}
