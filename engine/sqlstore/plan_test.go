package sqlstore_test

import (
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// hotQueries are the queries every command or inbox page runs, with
// arguments of the right types. Each must be answered through an index: a
// full scan of a table that grows with every instance would make commands
// slower as the database fills.
var hotQueries = []struct {
	name, sql string
	args      []any
}{
	{"lock instance", `SELECT id, revision FROM process_instances WHERE id = ?`, []any{1}},
	{"live element instances", `SELECT id FROM element_instances WHERE process_instance_id = ? ORDER BY id`, []any{1}},
	{"live variables", `SELECT name FROM variables WHERE process_instance_id = ? ORDER BY scope_id, name`, []any{1}},
	{"open tasks of instance", `SELECT id FROM user_tasks t WHERE t.process_instance_id = ? AND t.state = ? ORDER BY t.id`, []any{1, "created"}},
	{"candidates of instance", `SELECT task_id FROM user_task_candidates WHERE process_instance_id = ? ORDER BY task_id, kind, pos`, []any{1}},
	{"active jobs of instance", `SELECT id FROM jobs WHERE process_instance_id = ? AND state IN (?, ?) ORDER BY id`, []any{1, "active", "failed"}},
	{"open incidents of instance", `SELECT id FROM incidents WHERE process_instance_id = ? AND state = ? ORDER BY id`, []any{1, "open"}},
	{"join tokens of instance", `SELECT flow_id FROM join_tokens WHERE process_instance_id = ? ORDER BY scope_id, element_id, flow_id`, []any{1}},
	{"history of instance", `SELECT seq FROM history WHERE process_instance_id = ? ORDER BY seq`, []any{1}},
	{"latest definition", `SELECT id FROM process_definitions WHERE key = ? ORDER BY version DESC LIMIT 1`, []any{"order"}},
	{"instances by key", `SELECT id FROM process_instances WHERE key = ? ORDER BY started_at, id LIMIT 100`, []any{"order"}},
	{"instances by state", `SELECT id FROM process_instances WHERE state = ? ORDER BY started_at, id LIMIT 100`, []any{"active"}},
	{"due jobs", `SELECT id FROM jobs WHERE state = 'active' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) AND (kind <> 'work' OR (kind = 'work' AND topic IN (?))) ORDER BY due_at LIMIT 10`, []any{"2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", "charge"}},
	{"message subscriptions", `SELECT id FROM subscriptions WHERE kind = 'message' AND name = ? AND correlation_key = ? AND process_instance_id <> 0 ORDER BY created_at, id LIMIT 20`, []any{"paid", "o-1"}},
	{"buffered message", `SELECT id FROM messages WHERE name = ? AND correlation_key = ? AND state = 'buffered' AND expires_at > ? ORDER BY created_at, id LIMIT 1`, []any{"paid", "o-1", "2026-01-01T00:00:00.000000Z"}},
	{"jobs of a definition", `SELECT id FROM jobs WHERE definition_id = ? AND state = 'active'`, []any{7}},
	{"instance by start key", `SELECT id FROM process_instances WHERE key = ? AND start_key = ? AND start_key <> '' ORDER BY started_at, id LIMIT 1`, []any{"order", "k-1"}},
	{"children of instance", `SELECT id FROM process_instances WHERE parent_instance_id = ? AND parent_instance_id <> 0 ORDER BY started_at, id LIMIT 100`, []any{1}},
	{"child of call activity", `SELECT id FROM process_instances WHERE parent_instance_id = ? AND parent_instance_id <> 0 AND parent_element_instance_id = ? AND state = ? ORDER BY started_at, id LIMIT 100`, []any{1, 2, "active"}},
	{"instances by business key", `SELECT id FROM process_instances WHERE business_key = ? ORDER BY started_at, id LIMIT 100`, []any{"b-1"}},
	{"tasks of assignee", `SELECT id FROM user_tasks t WHERE t.assignee = ? AND t.state = ? ORDER BY t.created_at, t.id LIMIT 100`, []any{"ann", "created"}},
	{"tasks of candidate group", `SELECT t.id FROM user_tasks t WHERE EXISTS (SELECT 1 FROM user_task_candidates c WHERE c.kind = 'group' AND c.name = ? AND c.task_id = t.id) AND t.state = ? ORDER BY t.created_at, t.id LIMIT 100`, []any{"sales", "created"}},
	{"jobs of topic", `SELECT id FROM jobs WHERE topic = ? AND state = ? ORDER BY created_at, id LIMIT 100`, []any{"charge", "active"}},
	{"open incidents", `SELECT id FROM incidents WHERE state = ? ORDER BY created_at, id LIMIT 100`, []any{"open"}},
	// Fetch-and-lock of external tasks (sqlstore/external.go), by creation and by priority.
	{"fetchable work", `SELECT id FROM jobs WHERE state = 'active' AND kind = 'work' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) AND ((topic = ?)) ORDER BY created_at, id LIMIT 10`, []any{"2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", "charge"}},
	{"fetchable work by priority", `SELECT id FROM jobs WHERE state = 'active' AND kind = 'work' AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?) AND ((topic = ?) OR (topic = ? AND business_key = ?)) ORDER BY priority DESC, created_at, id LIMIT 10`, []any{"2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z", "charge", "refund", "b-1"}},
	// The inbox (sqlstore/inbox.go), as a staff member in two groups asks.
	{"inbox: my tasks", `SELECT t.id FROM user_tasks t WHERE t.assignee = ? AND t.state = ? AND (t.assignee = ? OR t.id IN (SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'user' AND c.name = ? UNION ALL SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'group' AND c.name IN (?, ?))) ORDER BY t.created_at, t.id LIMIT 100`, []any{"ann", "created", "ann", "ann", "sales", "hr"}},
	{"inbox: my tasks by due date", `SELECT t.id FROM user_tasks t WHERE t.assignee = ? AND t.state = ? ORDER BY t.due_date ASC NULLS LAST, t.id LIMIT 100`, []any{"ann", "created"}},
	{"inbox: group tasks", `SELECT t.id FROM user_tasks t WHERE t.assignee = '' AND t.id IN (SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'group' AND c.name IN (?, ?)) AND t.state = ? AND (t.assignee = ? OR t.id IN (SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'user' AND c.name = ? UNION ALL SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'group' AND c.name IN (?, ?))) ORDER BY t.created_at, t.id LIMIT 100`, []any{"sales", "hr", "created", "ann", "ann", "sales", "hr"}},
	{"inbox: variable filter", `SELECT t.id FROM user_tasks t WHERE t.state = ? AND (t.assignee = ? OR t.id IN (SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'user' AND c.name = ? UNION ALL SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'group' AND c.name IN (?, ?))) AND (SELECT v.value FROM variables v WHERE v.process_instance_id = t.process_instance_id AND v.scope_id = t.process_instance_id AND v.name = ?) = ? ORDER BY t.created_at, t.id LIMIT 100`, []any{"created", "ann", "ann", "sales", "hr", "region", `"north"`}},
	{"inbox: overdue", `SELECT t.id FROM user_tasks t WHERE t.state = ? AND (t.assignee = ? OR t.id IN (SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'user' AND c.name = ? UNION ALL SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'group' AND c.name IN (?, ?))) AND t.due_date < ? ORDER BY t.due_date ASC NULLS LAST, t.id LIMIT 100`, []any{"created", "ann", "ann", "sales", "hr", "2026-01-01T00:00:00.000000Z"}},
	{"inbox: by priority", `SELECT t.id FROM user_tasks t WHERE t.state = ? ORDER BY t.priority DESC, t.id DESC LIMIT 100`, []any{"created"}},
	{"inbox: process key", `SELECT t.id FROM user_tasks t WHERE t.state = ? AND EXISTS (SELECT 1 FROM process_instances pi WHERE pi.id = t.process_instance_id AND pi.key = ?) ORDER BY t.created_at, t.id LIMIT 100`, []any{"created", "order"}},
	{"saved filters of a user", `SELECT f.id FROM saved_filters f WHERE f.owner = ? OR f.id IN (SELECT g.filter_id FROM saved_filter_groups g WHERE g.group_name IN (?, ?)) ORDER BY f.id`, []any{"ann", "sales", "hr"}},
}

// pgHotQueries are hot queries of PostgreSQL only: the variable filter of
// a caller who sees only some tasks probes variables_name_value (migration
// 0009) in the set of those tasks (sqlstore/inbox.go, variableProbe).
var pgHotQueries = []struct {
	name, sql string
	args      []any
}{
	{"inbox: variable filter, probed in the visible set", `SELECT t.id FROM user_tasks t WHERE t.state = ? AND t.id IN (SELECT c.task_id FROM user_task_candidates c WHERE c.kind = 'group' AND c.name IN (?, ?) AND EXISTS (SELECT 1 FROM variables v WHERE v.name = ? AND v.value = ? AND v.process_instance_id = c.process_instance_id AND v.scope_id = c.process_instance_id AND octet_length(v.name) <= 256 AND octet_length(v.value::text) <= 1024 OFFSET 0) UNION ALL SELECT a.id FROM user_tasks a WHERE a.assignee = ? AND EXISTS (SELECT 1 FROM variables v WHERE v.name = ? AND v.value = ? AND v.process_instance_id = a.process_instance_id AND v.scope_id = a.process_instance_id AND octet_length(v.name) <= 256 AND octet_length(v.value::text) <= 1024 OFFSET 0)) ORDER BY t.created_at, t.id LIMIT 100`, []any{"created", "sales", "hr", "region", `"north"`, "ann", "region", `"north"`}},
}

// TestHotQueriesUseIndexes checks the plan of every hot query: PostgreSQL
// with sequential scans disabled (so an index is used whenever one fits,
// even on an empty table) must not fall back to a Seq Scan of a table, and
// SQLite must SEARCH or use an index, never SCAN a table bare.
func TestHotQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		db := dbtest.Postgres(t)
		sqlstore.New(db) // the schema is migrated by dbtest
		for _, q := range append(hotQueries, pgHotQueries...) {
			plan := explain(ctx, t, db, q.sql, q.args, true)
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("%s: PostgreSQL scans a whole table:\n%s", q.name, plan)
			}
		}
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		db := dbtest.SQLite(t)
		for _, q := range hotQueries {
			plan := explain(ctx, t, db, q.sql, q.args, false)
			for _, line := range strings.Split(plan, "\n") {
				if strings.Contains(line, "SCAN ") && !strings.Contains(line, "USING INDEX") && !strings.Contains(line, "USING COVERING INDEX") &&
					!strings.Contains(line, "USING INTEGER PRIMARY KEY") && !strings.Contains(line, "CONSTANT ROW") {
					t.Errorf("%s: SQLite scans a whole table:\n%s", q.name, plan)
				}
			}
		}
	})
}

// explain returns the query plan of q, one line per step.
func explain(ctx context.Context, t *testing.T, db *gorm.DB, q string, args []any, pg bool) string {
	t.Helper()
	var lines []string
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		prefix := "EXPLAIN QUERY PLAN "
		if pg {
			if err := tx.Exec(`SET LOCAL enable_seqscan = off`).Error; err != nil {
				return err
			}
			prefix = "EXPLAIN "
		}
		rows, err := tx.Raw(prefix+q, args...).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			// The step text is the last column in both dialects.
			switch v := vals[len(vals)-1].(type) {
			case string:
				lines = append(lines, v)
			case []byte:
				lines = append(lines, string(v))
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain %q: %v", q, err)
	}
	return strings.Join(lines, "\n")
}
