package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/batonbpm/baton/engine"
)

// The inbox: the filters and sorts of engine.UserTaskListParams. Each sort
// has an index that the planner can walk in list order (migration 0008:
// user_tasks_state_due, user_tasks_state_priority; user_tasks_state for
// created), and each filter on another table is a correlated lookup by key:
// process_instances by id, variables by their primary key. A caller's
// visibility narrows by the variable filters first (variableProbe).

// taskFilters adds the filters of p, without paging, to w.
func (s *Store) taskFilters(w *where, p *engine.UserTaskListParams) error {
	if p.InstanceID != 0 {
		w.add(`t.process_instance_id = ?`, p.InstanceID)
	}
	if p.Assignee != "" {
		w.add(`t.assignee = ?`, p.Assignee)
	}
	if p.Unassigned {
		w.add(`t.assignee = ''`)
	}
	if p.CandidateGroup != "" {
		w.add(`EXISTS (SELECT 1 FROM user_task_candidates c WHERE c.kind = '`+candGroup+`' AND c.name = ? AND c.task_id = t.id)`, p.CandidateGroup)
	}
	if p.CandidateGroups != nil {
		if len(p.CandidateGroups) == 0 {
			w.add(`1 = 0`)
		} else {
			args := make([]any, len(p.CandidateGroups))
			for i, g := range p.CandidateGroups {
				args[i] = g
			}
			w.add(`t.id IN (SELECT c.task_id FROM user_task_candidates c WHERE c.kind = '`+candGroup+`' AND c.name IN `+group(len(args))+`)`, args...)
		}
	}
	if p.OpenOnly {
		w.add(`t.state = ?`, string(engine.TaskCreated))
	}
	if v := p.VisibleTo; v != nil {
		var probes []instanceProbe
		for _, f := range p.Variables {
			if pr, ok := s.variableProbe(f); ok {
				probes = append(probes, pr)
			}
		}
		s.visibleTo(w, v, probes)
	}
	if p.ProcessKey != "" {
		w.add(`EXISTS (SELECT 1 FROM process_instances pi WHERE pi.id = t.process_instance_id AND pi.key = ?)`, p.ProcessKey)
	}
	if p.BusinessKey != "" {
		w.add(`EXISTS (SELECT 1 FROM process_instances pi WHERE pi.id = t.process_instance_id AND pi.business_key = ?)`, p.BusinessKey)
	}
	if p.NameContains != "" {
		w.add(`LOWER(t.name) LIKE ? ESCAPE '\'`, "%"+likeEscape(asciiLower(p.NameContains))+"%")
	}
	if !p.DueBefore.IsZero() {
		w.add(`t.due_date < ?`, s.tv(p.DueBefore))
	}
	if !p.DueAfter.IsZero() {
		w.add(`t.due_date > ?`, s.tv(p.DueAfter))
	}
	if p.PriorityMin != nil {
		w.add(`t.priority >= ?`, *p.PriorityMin)
	}
	if p.PriorityMax != nil {
		w.add(`t.priority <= ?`, *p.PriorityMax)
	}
	for _, f := range p.Variables {
		if err := s.variableEquals(w, f); err != nil {
			return err
		}
	}
	return nil
}

// instanceProbe is a condition on the process instance of a row of the
// set of tasks a caller may see: sql has %[1]s for the row's alias.
type instanceProbe struct {
	sql  string
	args []any
}

// The bounds of the partial index variables_name_value (migration 0009),
// and the longest encoded value the store looks up in it: a value equal
// to one encoded in at most probeMax bytes has a JSON text of at most 6
// bytes for each of those (PostgreSQL's longest escape) and so is in the
// index.
const (
	indexNameMax  = 256
	indexValueMax = 1024
	probeMax      = indexValueMax / 6
)

// variableProbe returns, on PostgreSQL, the condition of f on the process
// instance of a task the caller may see, checked in the set of those tasks
// before any task row is read: a probe of variables_name_value that reads
// no table row. OFFSET 0 keeps it a probe per task, which the planner
// could otherwise turn into a join reading every variable of that value.
// It returns false where the index cannot answer; the condition of
// variableEquals on the task, which always applies, is then the filter.
func (s *Store) variableProbe(f engine.VariableEquals) (instanceProbe, bool) {
	if !s.sh.pg || len(f.Name) > indexNameMax {
		return instanceProbe{}, false
	}
	switch f.Value.(type) {
	case nil, string, bool, int64, float64:
	default:
		return instanceProbe{}, false
	}
	enc, err := encodeValue(f.Value)
	if err != nil || len(enc) > probeMax {
		return instanceProbe{}, false
	}
	return instanceProbe{
		sql: `EXISTS (SELECT 1 FROM variables v WHERE v.name = ? AND v.value = CAST(? AS jsonb) AND v.process_instance_id = %[1]s.process_instance_id AND v.scope_id = %[1]s.process_instance_id` +
			fmt.Sprintf(` AND octet_length(v.name) <= %d AND octet_length(v.value::text) <= %d OFFSET 0)`, indexNameMax, indexValueMax),
		args: []any{f.Name, enc},
	}, true
}

// variableEquals adds the condition of f: a lookup of the process
// variable by the primary key of variables, compared by type and value.
func (s *Store) variableEquals(w *where, f engine.VariableEquals) error {
	const lookup = `EXISTS (SELECT 1 FROM variables v WHERE v.process_instance_id = t.process_instance_id AND v.scope_id = t.process_instance_id AND v.name = ? AND `
	if s.sh.pg {
		switch f.Value.(type) {
		case nil, string, bool, int64, float64:
		default:
			return &engine.InvalidError{Field: "variable", Reason: fmt.Sprintf("%s: expected a string, number, boolean or null, but got %T", f.Name, f.Value)}
		}
		enc, err := encodeValue(f.Value)
		if err != nil {
			return &engine.InvalidError{Field: "variable", Reason: fmt.Sprintf("%s: %v", f.Name, err)}
		}
		// jsonb equality compares numbers by value and strings as strings.
		// A scalar subquery, not EXISTS: the planner cannot turn it into a
		// join that reads every variable of that name, so it stays a
		// primary key probe per task the caller may see.
		w.add(`(SELECT v.value FROM variables v WHERE v.process_instance_id = t.process_instance_id AND v.scope_id = t.process_instance_id AND v.name = ?) = CAST(? AS jsonb)`, f.Name, enc)
		return nil
	}
	switch x := f.Value.(type) {
	case nil:
		w.add(lookup+`json_type(v.value) = 'null')`, f.Name)
	case bool:
		typ := "false"
		if x {
			typ = "true"
		}
		w.add(lookup+`json_type(v.value) = '`+typ+`')`, f.Name)
	case string:
		w.add(lookup+`json_type(v.value) = 'text' AND json_extract(v.value, '$') = ?)`, f.Name, x)
	case int64, float64:
		w.add(lookup+`json_type(v.value) IN ('integer', 'real') AND json_extract(v.value, '$') = ?)`, f.Name, x)
	default:
		return &engine.InvalidError{Field: "variable", Reason: fmt.Sprintf("%s: expected a string, number, boolean or null, but got %T", f.Name, f.Value)}
	}
	return nil
}

// taskOrder adds the keyset condition of p's cursor to w and returns the
// ORDER BY of p's sort.
func (s *Store) taskOrder(w *where, p *engine.UserTaskListParams) (string, error) {
	var cur engine.CursorKey
	if p.After != "" {
		var err error
		if cur, err = engine.TaskCursorKey(p.After, p.Sort); err != nil {
			return "", err
		}
	}
	op, dir := ">", ""
	if p.Desc {
		op, dir = "<", " DESC"
	}
	switch p.Sort {
	case engine.TaskSortDue:
		// Ascending: dated tasks, then those without a due date; descending
		// is the exact reverse (the index walked backwards).
		if p.After != "" {
			switch {
			case !p.Desc && cur.NoDue:
				w.add(`(t.due_date IS NULL AND t.id > ?)`, cur.ID)
			case !p.Desc:
				w.add(`(t.due_date > ? OR (t.due_date = ? AND t.id > ?) OR t.due_date IS NULL)`, s.tv(cur.Time), s.tv(cur.Time), cur.ID)
			case cur.NoDue:
				w.add(`(t.due_date IS NOT NULL OR t.id < ?)`, cur.ID)
			default:
				w.add(`(t.due_date < ? OR (t.due_date = ? AND t.id < ?))`, s.tv(cur.Time), s.tv(cur.Time), cur.ID)
			}
		}
		if p.Desc {
			return ` ORDER BY t.due_date DESC NULLS FIRST, t.id DESC`, nil
		}
		return ` ORDER BY t.due_date ASC NULLS LAST, t.id`, nil
	case engine.TaskSortPriority:
		if p.After != "" {
			w.add(`(t.priority, t.id) `+op+` (?, ?)`, cur.Priority, cur.ID)
		}
		return ` ORDER BY t.priority` + dir + `, t.id` + dir, nil
	case engine.TaskSortCreated, "":
		if p.After != "" {
			w.add(`(t.created_at, t.id) `+op+` (?, ?)`, s.tv(cur.Time), cur.ID)
		}
		return ` ORDER BY t.created_at` + dir + `, t.id` + dir, nil
	}
	return "", &engine.InvalidError{Field: "sort", Reason: fmt.Sprintf("%q is not a task sort", p.Sort)}
}

// userTaskList returns the statement of UserTaskList and its arguments.
func (s *Store) userTaskList(p *engine.UserTaskListParams) (string, []any, error) {
	var w where
	if err := s.taskFilters(&w, p); err != nil {
		return "", nil, err
	}
	order, err := s.taskOrder(&w, p)
	if err != nil {
		return "", nil, err
	}
	return `SELECT ` + s.taskColsCands() + ` FROM user_tasks t` + w.String() + order + pageClause(p.Page), w.args, nil
}

// UserTaskList implements engine.Store. A candidate group is looked up in
// the index of user_task_candidates.
func (s *Store) UserTaskList(ctx context.Context, p *engine.UserTaskListParams) ([]*engine.UserTask, error) {
	q, args, err := s.userTaskList(p)
	if err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, q, args...)
	tasks, err := scanAll(rows, err, s.scanTaskCands)
	if err == nil {
		err = s.withCandidates(ctx, tasks)
	}
	if err != nil {
		return nil, translate(err, "list user tasks")
	}
	return tasks, nil
}

// UserTaskListExplain runs the statement of UserTaskList under EXPLAIN
// (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite, and
// returns the plan, one line per step. For benchmarks and diagnosis.
func (s *Store) UserTaskListExplain(ctx context.Context, p *engine.UserTaskListParams) (string, error) {
	q, args, err := s.userTaskList(p)
	if err != nil {
		return "", err
	}
	prefix := "EXPLAIN QUERY PLAN "
	if s.sh.pg {
		prefix = "EXPLAIN (ANALYZE, BUFFERS) "
	}
	rows, err := s.query(ctx, prefix+q, args...)
	if err != nil {
		return "", translate(err, "explain user task list")
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// UserTaskCount implements engine.Store.
func (s *Store) UserTaskCount(ctx context.Context, p *engine.UserTaskListParams) (int64, error) {
	var w where
	if err := s.taskFilters(&w, p); err != nil {
		return 0, err
	}
	rows, err := s.query(ctx, `SELECT COUNT(*) FROM user_tasks t`+w.String(), w.args...)
	n, err := scanOne(rows, err, func(r *sql.Rows) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	})
	return n, translate(err, "count user tasks")
}

// likeEscape escapes the wildcards of LIKE with a backslash.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// asciiLower lowers ASCII letters only, as SQLite's LOWER does: the
// PostgreSQL LOWER of the column lowers more, which only widens a match.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
