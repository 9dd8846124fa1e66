package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
)

// maxParams bounds the parameters of one statement: SQLite allows 32766,
// PostgreSQL 65535.
const maxParams = 30000

// query runs q on the database/sql handle under s.db (the *sql.Tx
// of a transaction, or the pool), without gorm's statement building: q is
// written with ? placeholders, which rebind numbers for PostgreSQL.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.Statement.ConnPool.QueryContext(ctx, s.rebind(q), args...)
}

// rebind returns q with its ? placeholders written in the store's dialect
// (see ph). Statements must not hold a ? of their own, in a literal or as
// an operator.
func (s *Store) rebind(q string) string {
	if !s.sh.pg {
		return q
	}
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	b := make([]byte, 0, len(q)+2*n)
	i := 0
	for k := 1; ; k++ {
		j := strings.IndexByte(q[i:], '?')
		if j < 0 {
			break
		}
		b = append(b, q[i:i+j]...)
		b = s.ph(b, k)
		i += j + 1
	}
	return string(append(b, q[i:]...))
}

// ph appends the placeholder of argument k (from 1): $k on PostgreSQL,
// whose driver would otherwise need gorm to rewrite ?, and ? on SQLite.
func (s *Store) ph(b []byte, k int) []byte {
	if !s.sh.pg {
		return append(b, '?')
	}
	return strconv.AppendInt(append(b, '$'), int64(k), 10)
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

// group returns "(?,?,…)" with n placeholders, for statements that go
// through rebind.
func group(n int) string {
	return "(" + strings.Repeat("?,", n-1) + "?)"
}

// writer writes the statements of one change with the store's placeholders
// (see ph), numbered across them. On PostgreSQL it sends them together as
// one statement, each but the last a data-modifying WITH query, so that a
// save is one round trip: they see one snapshot and none sees another's
// changes, so they must not touch the same rows (flush between those). On
// SQLite, where a statement costs no round trip, it runs each when the
// next begins.
type writer struct {
	s    *Store
	ctx  context.Context
	with []byte // "WITH w1 AS (…), w2 AS (…)": the statements before cur
	nw   int    // how many with holds
	cur  []byte // the statement being written
	args []any
	gen  int // flushes so far
	// inst is the id of the instance a save writes, a shared argument.
	inst sharedArg
}

func (s *Store) newWriter(ctx context.Context) *writer {
	return &writer{s: s, ctx: ctx, cur: make([]byte, 0, 1024)}
}

// stmt begins a statement of at most n arguments. What was written runs
// first on SQLite, or when n more arguments would exceed maxParams.
func (w *writer) stmt(n int) error {
	if len(w.cur) == 0 {
		return nil
	}
	if !w.s.sh.pg || len(w.args)+n > maxParams {
		_, err := w.flush()
		return err
	}
	if w.nw == 0 {
		w.with = append(w.with, "WITH "...)
	} else {
		w.with = append(w.with, ", "...)
	}
	w.nw++
	w.with = append(strconv.AppendInt(append(w.with, 'w'), int64(w.nw), 10), " AS ("...)
	w.with = append(append(w.with, w.cur...), ')')
	w.cur = w.cur[:0]
	return nil
}

// sql appends text to the statement; it must hold no placeholder.
func (w *writer) sql(q string) { w.cur = append(w.cur, q...) }

// arg appends the placeholder of v.
func (w *writer) arg(v any) {
	w.args = append(w.args, v)
	w.cur = w.s.ph(w.cur, len(w.args))
}

// group appends "(…)" with the placeholders of vs; see sharedArg.
func (w *writer) group(vs ...any) {
	w.cur = append(w.cur, '(')
	for i, v := range vs {
		if i > 0 {
			w.cur = append(w.cur, ", "...)
		}
		if sh, ok := v.(*sharedArg); ok {
			w.argShared(sh)
		} else {
			w.arg(v)
		}
	}
	w.cur = append(w.cur, ')')
}

// sharedArg is an argument that many rows of a statement repeat (the instance
// id, the command's time): on PostgreSQL they share one placeholder, which
// spares encoding and sending it again. Set v with set, so that a new value
// gets a placeholder of its own.
type sharedArg struct {
	v      any
	gen, k int // the placeholder $k of v in the statements of flush gen
}

func (sh *sharedArg) set(v any) {
	sh.v, sh.k = v, 0
}

func (w *writer) argShared(sh *sharedArg) {
	if w.s.sh.pg && sh.k > 0 && sh.gen == w.gen {
		w.cur = w.s.ph(w.cur, sh.k)
		return
	}
	w.arg(sh.v)
	sh.gen, sh.k = w.gen, len(w.args)
}

// exec writes the statement q followed by the placeholder of one argument.
func (w *writer) exec(q string, arg any) error {
	if err := w.stmt(1); err != nil {
		return err
	}
	w.sql(q)
	w.arg(arg)
	return nil
}

// flush runs what was written and returns the rows the last statement
// affected.
func (w *writer) flush() (int64, error) {
	return w.flushOn(w.s.db.Statement.ConnPool)
}

// flushOn is flush on the connection or transaction c.
func (w *writer) flushOn(c gorm.ConnPool) (int64, error) {
	if len(w.cur) == 0 {
		return 0, nil
	}
	r, err := c.ExecContext(w.ctx, w.text(), w.args...)
	w.reset()
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// text returns the statement written: the WITH queries, then the last.
func (w *writer) text() string {
	if w.nw > 0 {
		return string(w.with) + " " + string(w.cur)
	}
	return string(w.cur)
}

// reset empties the writer for the next statement.
func (w *writer) reset() {
	clear(w.args)
	w.with, w.nw, w.cur, w.args = w.with[:0], 0, w.cur[:0], w.args[:0]
	w.gen++
}

// insertRows writes head VALUES (…),(…) tail for n rows of cols columns,
// as few statements as maxParams allows; row writes row i with group.
func (w *writer) insertRows(head, tail string, cols, n int, row func(i int) error) error {
	per := maxParams / cols
	for start := 0; start < n; start += per {
		end := min(n, start+per)
		if err := w.stmt((end - start) * cols); err != nil {
			return err
		}
		w.sql(head)
		w.sql(" VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				w.sql(", ")
			}
			if err := row(i); err != nil {
				return err
			}
		}
		w.sql(tail)
	}
	return nil
}

// deleteRows writes head (…) for n items of per arguments, as few
// statements as maxParams allows; item writes item i with arg or group.
func (w *writer) deleteRows(head string, per, n int, item func(i int)) error {
	step := maxParams / per
	for start := 0; start < n; start += step {
		end := min(n, start+step)
		if err := w.stmt((end - start) * per); err != nil {
			return err
		}
		w.sql(head)
		w.sql("(")
		for i := start; i < end; i++ {
			if i > start {
				w.sql(", ")
			}
			item(i)
		}
		w.sql(")")
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
	w := s.newWriter(ctx)
	w.sql(`INSERT INTO deployments (id, name, created_at) VALUES `)
	w.group(id, d.Name, s.tv(d.CreatedAt))
	defs := d.Definitions
	err = w.insertRows(`INSERT INTO process_definitions (`+defCols+`)`, "", 9, len(defs), func(i int) error {
		def := defs[i]
		xml := def.XML
		if xml == nil {
			xml = []byte{}
		}
		w.group(id+1+int64(i), id, def.Key, def.Version, def.Name, def.Checksum, def.ResourceName, xml, s.tv(def.CreatedAt))
		return nil
	})
	if err == nil {
		_, err = w.flush()
	}
	if err != nil {
		return translate(err, "create deployment")
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

const instCols = `id, definition_id, key, version, business_key, start_key, state, revision, started_at, ended_at,
parent_instance_id, parent_element_instance_id`

func scanInstance(r *sql.Rows) (*engine.Instance, error) {
	in := &engine.Instance{}
	err := r.Scan(&in.ID, &in.DefinitionID, &in.Key, &in.Version, &in.BusinessKey, &in.StartKey, &in.State, &in.Revision,
		timeCol{&in.StartedAt}, timeCol{&in.EndedAt}, &in.ParentInstanceID, &in.ParentElementInstanceID)
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
	if p.StartKey != "" {
		// start_key <> '' lets the planner use the partial unique index.
		w.add(`start_key = ? AND start_key <> ''`, p.StartKey)
	}
	if p.BusinessKey != "" {
		w.add(`business_key = ?`, p.BusinessKey)
	}
	if p.ParentInstanceID != 0 {
		// parent_instance_id <> 0 lets the planner use the partial index.
		w.add(`parent_instance_id = ? AND parent_instance_id <> 0`, p.ParentInstanceID)
	}
	if p.ParentElementInstanceID != 0 {
		w.add(`parent_element_instance_id = ?`, p.ParentElementInstanceID)
	}
	if len(p.IDs) > 0 {
		args := make([]any, len(p.IDs))
		for i, id := range p.IDs {
			args[i] = id
		}
		w.add(`id IN (?`+strings.Repeat(`, ?`, len(p.IDs)-1)+`)`, args...)
	}
	if err := s.afterTime(&w, p.Page, "started_at", "id", false); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+instCols+` FROM process_instances`+w.String()+` ORDER BY started_at, id`+pageClause(p.Page), w.args...)
	out, err := scanAll(rows, err, scanInstance)
	return out, translate(err, "list process instances")
}

// User tasks.

const taskCols = `t.id, t.process_instance_id, t.element_instance_id, t.element_id, t.name, t.state, t.assignee, t.due_date, t.follow_up_date, t.priority, t.form_key, t.created_at, t.ended_at, t.owner, t.delegation`

func scanTask(r *sql.Rows) (*engine.UserTask, error) {
	t := &engine.UserTask{}
	err := r.Scan(&t.ID, &t.InstanceID, &t.ElementInstanceID, &t.ElementID, &t.Name, &t.State, &t.Assignee,
		timePtrCol{&t.DueDate}, timePtrCol{&t.FollowUpDate}, &t.Priority, &t.FormKey, timeCol{&t.CreatedAt}, timeCol{&t.EndedAt}, &t.Owner, &t.Delegation)
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

// taskColsCands is taskCols and, on PostgreSQL, the candidates of the task
// as a JSON array of [kind, name], so that reading tasks is one round trip.
func (s *Store) taskColsCands() string {
	if !s.sh.pg {
		return taskCols
	}
	return taskCols + `, (SELECT json_agg(json_build_array(c.kind, c.name) ORDER BY c.kind, c.pos) FROM user_task_candidates c WHERE c.task_id = t.id)`
}

// scanTaskCands scans the columns of taskColsCands.
func (s *Store) scanTaskCands(r *sql.Rows) (*engine.UserTask, error) {
	if !s.sh.pg {
		return scanTask(r)
	}
	t := &engine.UserTask{}
	var cands []byte
	err := r.Scan(&t.ID, &t.InstanceID, &t.ElementInstanceID, &t.ElementID, &t.Name, &t.State, &t.Assignee,
		timePtrCol{&t.DueDate}, timePtrCol{&t.FollowUpDate}, &t.Priority, &t.FormKey, timeCol{&t.CreatedAt}, timeCol{&t.EndedAt}, &t.Owner, &t.Delegation, &cands)
	if err != nil || len(cands) == 0 {
		return t, err
	}
	var kn [][2]string
	if err := json.Unmarshal(cands, &kn); err != nil {
		return nil, fmt.Errorf("user task %d candidates: %w", t.ID, err)
	}
	addCandidates(t, kn)
	return t, nil
}

// addCandidates adds candidates given as [kind, name] to t.
func addCandidates(t *engine.UserTask, kn [][2]string) {
	for _, c := range kn {
		if c[0] == candGroup {
			t.CandidateGroups = append(t.CandidateGroups, c[1])
		} else {
			t.CandidateUsers = append(t.CandidateUsers, c[1])
		}
	}
}

// withCandidates loads the candidates of tasks, which taskColsCands read
// already on PostgreSQL.
func (s *Store) withCandidates(ctx context.Context, tasks []*engine.UserTask) error {
	if len(tasks) == 0 || s.sh.pg {
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
	rows, err := s.query(ctx, `SELECT `+s.taskColsCands()+` FROM user_tasks t WHERE t.id = ?`, id)
	t, err := scanOne(rows, err, s.scanTaskCands)
	if err != nil {
		return nil, notFound(err, "user task", id, "get user task")
	}
	if err := s.withCandidates(ctx, []*engine.UserTask{t}); err != nil {
		return nil, translate(err, "get user task candidates")
	}
	return t, nil
}

// visibleTo adds the condition of engine.TaskVisibility.Sees: the
// assignee is looked up in user_tasks_assignee, the candidates in
// user_task_candidates_name_instance, so the set of ids is built from index
// ranges rather than by probing the candidates of every task. Each of
// probes is checked on the process instance of every row of the set
// (user_task_candidates carries it), so that a filter on a process
// variable narrows the set before any task row is read.
func (s *Store) visibleTo(w *where, v *engine.TaskVisibility, probes []instanceProbe) {
	var sub []string
	var args []any
	branch := func(q, alias string, a ...any) {
		for _, p := range probes {
			q += ` AND ` + fmt.Sprintf(p.sql, alias)
			a = append(a, p.args...)
		}
		sub = append(sub, q)
		args = append(args, a...)
	}
	if v.User != "" {
		branch(`SELECT c.task_id FROM user_task_candidates c WHERE c.kind = '`+candUser+`' AND c.name = ?`, "c", v.User)
	}
	if len(v.Groups) > 0 {
		a := make([]any, len(v.Groups))
		for i, g := range v.Groups {
			a[i] = g
		}
		branch(`SELECT c.task_id FROM user_task_candidates c WHERE c.kind = '`+candGroup+`' AND c.name IN (?`+strings.Repeat(`, ?`, len(v.Groups)-1)+`)`, "c", a...)
	}
	if v.User != "" {
		// In the same set rather than OR-ed: the planner then starts from
		// the ids the caller may see, however many tasks there are.
		branch(`SELECT a.id FROM user_tasks a WHERE a.assignee = ?`, "a", v.User)
	}
	if len(sub) == 0 {
		w.add(`1 = 0`) // nobody: no task
		return
	}
	w.add(`t.id IN (`+strings.Join(sub, ` UNION ALL `)+`)`, args...)
}

// Jobs.

const jobCols = `id, process_instance_id, element_instance_id, element_id, topic, state, retries, due_at, error_message, error_details, headers, business_key, created_at,
kind, definition_id, timer, fired, lease_owner, lease_until, priority, process_key, traceparent`

func scanJob(r *sql.Rows) (*engine.Job, error) {
	j := &engine.Job{}
	var headers string
	err := r.Scan(&j.ID, &j.InstanceID, &j.ElementInstanceID, &j.ElementID, &j.Topic, &j.State, &j.Retries,
		timeCol{&j.DueAt}, &j.ErrorMessage, &j.ErrorDetails, &headers, &j.BusinessKey, timeCol{&j.CreatedAt},
		&j.Kind, &j.DefinitionID, &j.Timer, &j.Fired, &j.LeaseOwner, timeCol{&j.LeaseUntil}, &j.Priority, &j.ProcessKey, &j.Traceparent)
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
	if p.DefinitionID != 0 {
		w.add(`definition_id = ?`, p.DefinitionID)
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
	rows, err := s.query(ctx, `SELECT element_instance_id, element_id, type, command, actor, request_id, trace_id, at, detail,
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
		if err := r.Scan(&ev.ElementInstanceID, &ev.ElementID, &typ, &ci.Name, &ci.Actor, &ci.RequestID, &ci.TraceID, timeCol{&ci.Time},
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
