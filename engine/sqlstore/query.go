package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/batonbpm/baton/engine"
)

// maxParams bounds the parameters of one statement: SQLite allows 32766,
// PostgreSQL 65535.
const maxParams = 30000

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.WithContext(ctx).Raw(q, args...).Rows()
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (int64, error) {
	r := s.db.WithContext(ctx).Exec(q, args...)
	return r.RowsAffected, r.Error
}

// scanAll scans every row with scan and closes rows.
func scanAll[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanOne scans the first row, or returns sql.ErrNoRows.
func scanOne[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return zero, err
		}
		return zero, sql.ErrNoRows
	}
	v, err := scan(rows)
	if err != nil {
		return zero, err
	}
	return v, rows.Close()
}

// group returns "(?,?,…)" with n placeholders.
func group(n int) string {
	return "(" + strings.Repeat("?,", n-1) + "?)"
}

// insertRows runs head VALUES (…),(…) tail for n rows of cols columns, as
// few statements as maxParams allows; row appends the arguments of row i.
func (s *Store) insertRows(ctx context.Context, head, tail string, cols, n int, row func(args []any, i int) ([]any, error)) error {
	g := group(cols)
	per := maxParams / cols
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		var b strings.Builder
		b.Grow(len(head) + len(tail) + (end-start)*(len(g)+1) + 8)
		b.WriteString(head)
		b.WriteString(" VALUES ")
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteByte(',')
			}
			b.WriteString(g)
			var err error
			if args, err = row(args, i); err != nil {
				return err
			}
		}
		b.WriteString(tail)
		if _, err := s.exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// inChunks runs build for windows of at most maxParams/per of n items.
func inChunks(n, per int, fn func(start, end int) error) error {
	step := maxParams / per
	for start := 0; start < n; start += step {
		if err := fn(start, min(n, start+step)); err != nil {
			return err
		}
	}
	return nil
}

// pageClause returns the LIMIT of p.
func pageClause(p engine.Page) string {
	return fmt.Sprintf(" LIMIT %d", limit(p))
}

// afterTime adds the keyset condition of p to w for a list in (time, id)
// order: rows after the cursor, or before it when the list is newest first.
func (s *Store) afterTime(w *where, p engine.Page, timeCol, idCol string, newestFirst bool) error {
	if p.After == "" {
		return nil
	}
	cur, err := engine.ParseCursor(p.After)
	if err != nil {
		return err
	}
	op := ">"
	if newestFirst {
		op = "<"
	}
	w.add(`(`+timeCol+`, `+idCol+`) `+op+` (?, ?)`, s.tv(cur.Time), cur.ID)
	return nil
}

// where builds a WHERE clause of the conditions given.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Deployments and definitions.

const defCols = `id, deployment_id, key, version, name, checksum, resource_name, xml, created_at`
const defColsNoXML = `id, deployment_id, key, version, name, checksum, resource_name, NULL, created_at`

func scanDef(r *sql.Rows) (*engine.Definition, error) {
	d := &engine.Definition{}
	err := r.Scan(&d.ID, &d.DeploymentID, &d.Key, &d.Version, &d.Name, &d.Checksum, &d.ResourceName, &d.XML, timeCol{&d.CreatedAt})
	return d, err
}

// DeploymentCreate implements engine.Store.
func (s *Store) DeploymentCreate(ctx context.Context, d *engine.Deployment) error {
	if !s.tx {
		return s.Tx(ctx, func(tx engine.Store) error { return tx.DeploymentCreate(ctx, d) })
	}
	id, err := s.IDBlock(ctx, 1+len(d.Definitions))
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, `INSERT INTO deployments (id, name, created_at) VALUES (?, ?, ?)`, id, d.Name, s.tv(d.CreatedAt)); err != nil {
		return translate(err, "create deployment")
	}
	defs := d.Definitions
	err = s.insertRows(ctx, `INSERT INTO process_definitions (`+defCols+`)`, "", 9, len(defs), func(args []any, i int) ([]any, error) {
		def := defs[i]
		xml := def.XML
		if xml == nil {
			xml = []byte{}
		}
		return append(args, id+1+int64(i), id, def.Key, def.Version, def.Name, def.Checksum, def.ResourceName, xml, s.tv(def.CreatedAt)), nil
	})
	if err != nil {
		return translate(err, "create deployment: definitions")
	}
	d.ID = id
	for i, def := range defs {
		def.ID, def.DeploymentID = id+1+int64(i), id
	}
	return nil
}

// DeploymentList implements engine.Store.
func (s *Store) DeploymentList(ctx context.Context, p *engine.DeploymentListParams) ([]*engine.Deployment, error) {
	var w where
	if err := s.afterTime(&w, p.Page, "created_at", "id", true); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT id, name, created_at FROM deployments`+w.String()+` ORDER BY created_at DESC, id DESC`+pageClause(p.Page), w.args...)
	deps, err := scanAll(rows, err, func(r *sql.Rows) (*engine.Deployment, error) {
		d := &engine.Deployment{}
		return d, r.Scan(&d.ID, &d.Name, timeCol{&d.CreatedAt})
	})
	if err != nil || len(deps) == 0 {
		return deps, translate(err, "list deployments")
	}
	byID := make(map[int64]*engine.Deployment, len(deps))
	args := make([]any, len(deps))
	for i, d := range deps {
		byID[d.ID] = d
		args[i] = d.ID
	}
	rows, err = s.query(ctx, `SELECT `+defColsNoXML+` FROM process_definitions WHERE deployment_id IN `+group(len(deps))+` ORDER BY key, version`, args...)
	defs, err := scanAll(rows, err, scanDef)
	if err != nil {
		return nil, translate(err, "list deployments: definitions")
	}
	for _, def := range defs {
		d := byID[def.DeploymentID]
		d.Definitions = append(d.Definitions, def)
	}
	return deps, nil
}

func (s *Store) def(ctx context.Context, id any, q string, args ...any) (*engine.Definition, error) {
	rows, err := s.query(ctx, `SELECT `+defCols+` FROM process_definitions WHERE `+q, args...)
	d, err := scanOne(rows, err, scanDef)
	if err != nil {
		return nil, notFound(err, "process definition", id, "get process definition")
	}
	return d, nil
}

// DefinitionGet implements engine.Store.
func (s *Store) DefinitionGet(ctx context.Context, id int64) (*engine.Definition, error) {
	return s.def(ctx, id, `id = ?`, id)
}

// DefinitionLatest implements engine.Store.
func (s *Store) DefinitionLatest(ctx context.Context, key string) (*engine.Definition, error) {
	return s.def(ctx, key, `key = ? ORDER BY version DESC LIMIT 1`, key)
}

// DefinitionLatestID implements engine.Store: an index-only lookup.
func (s *Store) DefinitionLatestID(ctx context.Context, key string) (int64, error) {
	rows, err := s.query(ctx, `SELECT id FROM process_definitions WHERE key = ? ORDER BY version DESC LIMIT 1`, key)
	id, err := scanOne(rows, err, func(r *sql.Rows) (int64, error) {
		var id int64
		return id, r.Scan(&id)
	})
	if err != nil {
		return 0, notFound(err, "process definition", key, "get latest process definition")
	}
	return id, nil
}

// DefinitionVersion implements engine.Store.
func (s *Store) DefinitionVersion(ctx context.Context, key string, v int) (*engine.Definition, error) {
	return s.def(ctx, fmt.Sprintf("%s version %d", key, v), `key = ? AND version = ?`, key, v)
}

// DefinitionList implements engine.Store.
func (s *Store) DefinitionList(ctx context.Context, p *engine.DefinitionListParams) ([]*engine.Definition, error) {
	var w where
	if p.Key != "" {
		w.add(`d.key = ?`, p.Key)
	}
	if p.LatestOnly {
		w.add(`d.version = (SELECT max(l.version) FROM process_definitions l WHERE l.key = d.key)`)
	}
	if p.After != "" {
		cur, err := engine.ParseCursor(p.After)
		if err != nil {
			return nil, err
		}
		w.add(`(d.key, d.version) > (?, ?)`, cur.Key, cur.Version)
	}
	rows, err := s.query(ctx, `SELECT `+defCols+` FROM process_definitions d`+w.String()+` ORDER BY d.key, d.version`+pageClause(p.Page), w.args...)
	defs, err := scanAll(rows, err, scanDef)
	return defs, translate(err, "list process definitions")
}

// Instances.

const instCols = `id, definition_id, key, version, business_key, state, revision, started_at, ended_at`

func scanInstance(r *sql.Rows) (*engine.Instance, error) {
	in := &engine.Instance{}
	err := r.Scan(&in.ID, &in.DefinitionID, &in.Key, &in.Version, &in.BusinessKey, &in.State, &in.Revision,
		timeCol{&in.StartedAt}, timeCol{&in.EndedAt})
	return in, err
}

// InstanceGet implements engine.Store.
func (s *Store) InstanceGet(ctx context.Context, id int64) (*engine.Instance, error) {
	rows, err := s.query(ctx, `SELECT `+instCols+` FROM process_instances WHERE id = ?`, id)
	in, err := scanOne(rows, err, scanInstance)
	if err != nil {
		return nil, notFound(err, "process instance", id, "get process instance")
	}
	return in, nil
}

// InstanceList implements engine.Store.
func (s *Store) InstanceList(ctx context.Context, p *engine.InstanceListParams) ([]*engine.Instance, error) {
	var w where
	if p.Key != "" {
		w.add(`key = ?`, p.Key)
	}
	if p.State != "" {
		w.add(`state = ?`, string(p.State))
	}
	if p.BusinessKey != "" {
		w.add(`business_key = ?`, p.BusinessKey)
	}
	if err := s.afterTime(&w, p.Page, "started_at", "id", false); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+instCols+` FROM process_instances`+w.String()+` ORDER BY started_at, id`+pageClause(p.Page), w.args...)
	out, err := scanAll(rows, err, scanInstance)
	return out, translate(err, "list process instances")
}

// User tasks.

const taskCols = `t.id, t.process_instance_id, t.element_instance_id, t.element_id, t.name, t.state, t.assignee, t.due_date, t.follow_up_date, t.priority, t.form_key, t.created_at, t.ended_at`

func scanTask(r *sql.Rows) (*engine.UserTask, error) {
	t := &engine.UserTask{}
	err := r.Scan(&t.ID, &t.InstanceID, &t.ElementInstanceID, &t.ElementID, &t.Name, &t.State, &t.Assignee,
		timePtrCol{&t.DueDate}, timePtrCol{&t.FollowUpDate}, &t.Priority, &t.FormKey, timeCol{&t.CreatedAt}, timeCol{&t.EndedAt})
	return t, err
}

// Candidate kinds in user_task_candidates.
const (
	candUser  = "user"
	candGroup = "group"
)

// loadCandidates fills the candidates of tasks from rows of (task_id, kind, name).
func loadCandidates(tasks []*engine.UserTask, rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	byID := make(map[int64]*engine.UserTask, len(tasks))
	for _, t := range tasks {
		byID[t.ID] = t
	}
	for rows.Next() {
		var (
			id         int64
			kind, name string
		)
		if err := rows.Scan(&id, &kind, &name); err != nil {
			return err
		}
		t := byID[id]
		switch {
		case t == nil:
		case kind == candGroup:
			t.CandidateGroups = append(t.CandidateGroups, name)
		default:
			t.CandidateUsers = append(t.CandidateUsers, name)
		}
	}
	return rows.Err()
}

// withCandidates loads the candidates of tasks.
func (s *Store) withCandidates(ctx context.Context, tasks []*engine.UserTask) error {
	if len(tasks) == 0 {
		return nil
	}
	args := make([]any, len(tasks))
	for i, t := range tasks {
		args[i] = t.ID
	}
	rows, err := s.query(ctx, `SELECT task_id, kind, name FROM user_task_candidates WHERE task_id IN `+group(len(tasks))+` ORDER BY task_id, kind, pos`, args...)
	return loadCandidates(tasks, rows, err)
}

// UserTaskGet implements engine.Store.
func (s *Store) UserTaskGet(ctx context.Context, id int64) (*engine.UserTask, error) {
	rows, err := s.query(ctx, `SELECT `+taskCols+` FROM user_tasks t WHERE t.id = ?`, id)
	t, err := scanOne(rows, err, scanTask)
	if err != nil {
		return nil, notFound(err, "user task", id, "get user task")
	}
	if err := s.withCandidates(ctx, []*engine.UserTask{t}); err != nil {
		return nil, translate(err, "get user task candidates")
	}
	return t, nil
}

// UserTaskList implements engine.Store. A candidate group is looked up in
// the index of user_task_candidates.
func (s *Store) UserTaskList(ctx context.Context, p *engine.UserTaskListParams) ([]*engine.UserTask, error) {
	var w where
	if p.InstanceID != 0 {
		w.add(`t.process_instance_id = ?`, p.InstanceID)
	}
	if p.Assignee != "" {
		w.add(`t.assignee = ?`, p.Assignee)
	}
	if p.CandidateGroup != "" {
		w.add(`EXISTS (SELECT 1 FROM user_task_candidates c WHERE c.kind = '`+candGroup+`' AND c.name = ? AND c.task_id = t.id)`, p.CandidateGroup)
	}
	if p.OpenOnly {
		w.add(`t.state = ?`, string(engine.TaskCreated))
	}
	if err := s.afterTime(&w, p.Page, "t.created_at", "t.id", false); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+taskCols+` FROM user_tasks t`+w.String()+` ORDER BY t.created_at, t.id`+pageClause(p.Page), w.args...)
	tasks, err := scanAll(rows, err, scanTask)
	if err == nil {
		err = s.withCandidates(ctx, tasks)
	}
	if err != nil {
		return nil, translate(err, "list user tasks")
	}
	return tasks, nil
}

// Jobs.

const jobCols = `id, process_instance_id, element_instance_id, element_id, topic, state, retries, due_at, error_message, error_details, headers, business_key, created_at`

func scanJob(r *sql.Rows) (*engine.Job, error) {
	j := &engine.Job{}
	var headers string
	err := r.Scan(&j.ID, &j.InstanceID, &j.ElementInstanceID, &j.ElementID, &j.Topic, &j.State, &j.Retries,
		timeCol{&j.DueAt}, &j.ErrorMessage, &j.ErrorDetails, &headers, &j.BusinessKey, timeCol{&j.CreatedAt})
	if err == nil && headers != "" {
		if err := json.Unmarshal([]byte(headers), &j.Headers); err != nil {
			return nil, fmt.Errorf("job %d headers: %w", j.ID, err)
		}
	}
	return j, err
}

// JobGet implements engine.Store.
func (s *Store) JobGet(ctx context.Context, id int64) (*engine.Job, error) {
	rows, err := s.query(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id)
	j, err := scanOne(rows, err, scanJob)
	if err != nil {
		return nil, notFound(err, "job", id, "get job")
	}
	return j, nil
}

// JobList implements engine.Store.
func (s *Store) JobList(ctx context.Context, p *engine.JobListParams) ([]*engine.Job, error) {
	var w where
	if p.InstanceID != 0 {
		w.add(`process_instance_id = ?`, p.InstanceID)
	}
	if p.Topic != "" {
		w.add(`topic = ?`, p.Topic)
	}
	if p.State != "" {
		w.add(`state = ?`, string(p.State))
	}
	if err := s.afterTime(&w, p.Page, "created_at", "id", false); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+jobCols+` FROM jobs`+w.String()+` ORDER BY created_at, id`+pageClause(p.Page), w.args...)
	out, err := scanAll(rows, err, scanJob)
	return out, translate(err, "list jobs")
}

// Incidents.

const incCols = `id, process_instance_id, element_instance_id, element_id, type, message, job_id, state, created_at, resolved_at`

func scanIncident(r *sql.Rows) (*engine.Incident, error) {
	in := &engine.Incident{}
	err := r.Scan(&in.ID, &in.InstanceID, &in.ElementInstanceID, &in.ElementID, &in.Type, &in.Message, &in.JobID, &in.State,
		timeCol{&in.CreatedAt}, timeCol{&in.ResolvedAt})
	return in, err
}

// IncidentGet implements engine.Store.
func (s *Store) IncidentGet(ctx context.Context, id int64) (*engine.Incident, error) {
	rows, err := s.query(ctx, `SELECT `+incCols+` FROM incidents WHERE id = ?`, id)
	in, err := scanOne(rows, err, scanIncident)
	if err != nil {
		return nil, notFound(err, "incident", id, "get incident")
	}
	return in, nil
}

// IncidentList implements engine.Store.
func (s *Store) IncidentList(ctx context.Context, p *engine.IncidentListParams) ([]*engine.Incident, error) {
	var w where
	if p.InstanceID != 0 {
		w.add(`process_instance_id = ?`, p.InstanceID)
	}
	if p.State != "" {
		w.add(`state = ?`, string(p.State))
	}
	if err := s.afterTime(&w, p.Page, "created_at", "id", false); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+incCols+` FROM incidents`+w.String()+` ORDER BY created_at, id`+pageClause(p.Page), w.args...)
	out, err := scanAll(rows, err, scanIncident)
	return out, translate(err, "list incidents")
}

// History.

// eventTypes maps the names history rows keep to event types.
var eventTypes = func() map[string]engine.EventType {
	m := map[string]engine.EventType{}
	for t := engine.EventType(1); t < 255; t++ {
		if name := t.String(); name != "unknown" {
			m[name] = t
		}
	}
	return m
}()

// HistoryList implements engine.Store. Consecutive events of one command
// share one *engine.CommandInfo.
func (s *Store) HistoryList(ctx context.Context, instanceID int64) ([]engine.HistoryEvent, error) {
	rows, err := s.query(ctx, `SELECT element_instance_id, element_id, type, command, actor, request_id, at, detail,
var_scope_id, var_name, var_old, var_new, var_created FROM history WHERE process_instance_id = ? ORDER BY seq`, instanceID)
	var cmd *engine.CommandInfo
	events, err := scanAll(rows, err, func(r *sql.Rows) (engine.HistoryEvent, error) {
		var (
			ev       engine.HistoryEvent
			typ      string
			ci       engine.CommandInfo
			scope    sql.NullInt64
			name     sql.NullString
			old, new []byte
			created  sql.NullBool
		)
		if err := r.Scan(&ev.ElementInstanceID, &ev.ElementID, &typ, &ci.Name, &ci.Actor, &ci.RequestID, timeCol{&ci.Time},
			&ev.Detail, &scope, &name, &old, &new, &created); err != nil {
			return ev, err
		}
		ev.Type = eventTypes[typ]
		if cmd == nil || *cmd != ci {
			cmd = &ci
		}
		ev.Command = cmd
		if name.Valid {
			v := &engine.VarChange{ScopeID: scope.Int64, Name: name.String, Created: created.Bool}
			var err error
			if v.OldValue, err = decodeValue(old); err != nil {
				return ev, err
			}
			if v.NewValue, err = decodeValue(new); err != nil {
				return ev, err
			}
			ev.Var = v
		}
		return ev, nil
	})
	if err != nil {
		return nil, translate(err, "list history")
	}
	if len(events) == 0 {
		if _, err := s.InstanceGet(ctx, instanceID); err != nil {
			return nil, err
		}
	}
	return events, nil
}
