// Command inbox measures the inbox queries of GET /api/v1/tasks on
// PostgreSQL (make bench-inbox): 1,000,000 open tasks, 10,000 users in
// 1,000 groups, and one staff member in 5 groups asking for their tasks,
// their groups' unassigned tasks, the tasks with a process variable equal
// to a value, and the overdue tasks by due date, through a real server
// with authentication (HTTP Basic). It prints p50 and p99 of each over
// -n requests, PASS or FAIL against the target p99, and the EXPLAIN
// (ANALYZE, BUFFERS) plan of each query's SQL.
//
// The data is generated with set-based INSERT … SELECT generate_series
// into a fresh schema (dropped at the end) of BATON_BENCH_DATABASE_URL, or
// of the test database (BATON_TEST_DATABASE_URL, else
// postgres://postgres@127.0.0.1:5432/test):
//
//   - 10 process keys; one instance per task, with the business key
//     bk-N and the process variable region (one of 20 values);
//   - each task has one candidate group of 1,000, 40% an assignee of
//     10,000 users; due dates spread from 60 hours ago to 140 hours ahead
//     (30% overdue), a tenth without one; priorities 0–99;
//   - user uN is in the groups g(5N mod 1000) … g(5N+4 mod 1000).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
	"github.com/batonbpm/baton/server"
	"github.com/batonbpm/baton/server/auth"
)

func main() {
	tasks := flag.Int("tasks", 1_000_000, "open tasks")
	users := flag.Int("users", 10_000, "users")
	groups := flag.Int("groups", 1_000, "groups")
	n := flag.Int("n", 200, "measured requests per query")
	target := flag.Duration("target", 50*time.Millisecond, "target p99")
	keep := flag.Bool("keep", false, "keep the schema (print its name) instead of dropping it")
	flag.Parse()
	if err := run(*tasks, *users, *groups, *n, *target, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench-inbox:", err)
		os.Exit(1)
	}
}

const user = "u42"

func run(tasks, users, groups, n int, target time.Duration, keep bool) error {
	ctx := context.Background()
	base := os.Getenv("BATON_BENCH_DATABASE_URL")
	if base == "" {
		base = dbtest.PostgresURL()
	}
	schema, schemaURL, drop, err := dbtest.NewSchema(ctx, base, "inbox")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("schema", schema, "(kept)")
	} else {
		defer drop()
	}
	db, err := sqlstore.OpenDB(ctx, schemaURL)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := generate(ctx, db, tasks, users, groups, now); err != nil {
		return err
	}

	store := sqlstore.New(db)
	eng := engine.New(store, engine.Config{})
	a, err := auth.New(ctx, db, auth.Config{})
	if err != nil {
		return err
	}
	sqlDB, dialect, err := server.SQLStoreDB(store)
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{Engine: eng, DB: sqlDB, Dialect: dialect, Auth: a, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	var myGroups []string
	if err := db.Raw(`SELECT g.name FROM groups g JOIN memberships m ON m.group_id = g.id JOIN users u ON u.id = m.user_id WHERE u.name = ? ORDER BY g.name`, user).Scan(&myGroups).Error; err != nil {
		return err
	}
	fmt.Printf("\n%s (staff) is in the groups %s\n", user, strings.Join(myGroups, ", "))
	vis := &engine.TaskVisibility{User: user, Groups: myGroups}
	queries := []struct {
		name, query string
		params      engine.UserTaskListParams
	}{
		{"my tasks", "view=mine", engine.UserTaskListParams{Assignee: user}},
		{"group tasks", "view=group", engine.UserTaskListParams{Unassigned: true, CandidateGroups: myGroups}},
		{"variable filter", "variable=region:r7", engine.UserTaskListParams{Variables: []engine.VariableEquals{{Name: "region", Value: "r7"}}}},
		{"overdue", "overdue=true&sort=due", engine.UserTaskListParams{DueBefore: now, Sort: engine.TaskSortDue}},
	}
	client := &http.Client{}
	failed := false
	fmt.Printf("\n%-16s %6s %6s %9s %9s  %s\n", "query", "tasks", "total", "p50", "p99", "target p99 < "+target.String())
	var plans []string
	for _, q := range queries {
		get := func() (int, error) {
			req, _ := http.NewRequest("GET", hs.URL+"/api/v1/tasks?limit=50&"+q.query, nil)
			req.SetBasicAuth(user, "bench-password")
			res, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("%s: %d %s", q.query, res.StatusCode, body)
			}
			return strings.Count(string(body), `"processInstanceId"`), nil
		}
		for range 20 { // warm up
			if _, err := get(); err != nil {
				return err
			}
		}
		var durs []time.Duration
		items := 0
		for range n {
			start := time.Now()
			k, err := get()
			if err != nil {
				return err
			}
			durs = append(durs, time.Since(start))
			items = k
		}
		slices.Sort(durs)
		p50, p99 := durs[len(durs)/2], durs[min(len(durs)-1, len(durs)*99/100)]
		p := q.params
		p.OpenOnly, p.VisibleTo, p.Page = true, vis, engine.Page{Limit: 50}
		total, err := store.UserTaskCount(ctx, &p)
		if err != nil {
			return err
		}
		verdict := "PASS"
		if p99 >= target {
			verdict, failed = "FAIL", true
		}
		fmt.Printf("%-16s %6d %6d %9s %9s  %s\n", q.name, items, total, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), verdict)
		plan, err := store.UserTaskListExplain(ctx, &p)
		if err != nil {
			return err
		}
		plans = append(plans, fmt.Sprintf("--- %s (GET /api/v1/tasks?%s)\n%s", q.name, q.query, plan))
	}
	fmt.Println("\nPlans (EXPLAIN (ANALYZE, BUFFERS) of the list statement, the caller's visibility included):")
	for _, p := range plans {
		fmt.Println(p)
	}
	if failed {
		return errors.New("a query misses the target p99")
	}
	fmt.Println("\nPASS")
	return nil
}

// generate fills the schema, printing each step and its time.
func generate(ctx context.Context, db *gorm.DB, tasks, users, groups int, now time.Time) error {
	hash, err := bcrypt.GenerateFromPassword([]byte("bench-password"), bcrypt.MinCost)
	if err != nil {
		return err
	}
	nowArg := now.Format(time.RFC3339)
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"deployment and 10 definitions", `INSERT INTO deployments (id, name, created_at) VALUES (1, 'bench', now());
INSERT INTO process_definitions (id, deployment_id, key, version, checksum, xml, created_at)
SELECT k, 1, 'proc' || k, 1, 'x', '', now() FROM generate_series(1, 10) k`, nil},
		{fmt.Sprintf("%d process instances", tasks), `INSERT INTO process_instances (id, definition_id, key, version, business_key, state, revision, started_at)
SELECT i, 1 + i % 10, 'proc' || (1 + i % 10), 1, 'bk-' || i, 'active', 1, ?::timestamptz - (? - i) * interval '1 second'
FROM generate_series(1, ?) i`, []any{nowArg, tasks, tasks}},
		{fmt.Sprintf("%d user tasks", tasks), `INSERT INTO user_tasks (id, process_instance_id, element_instance_id, element_id, name, state, assignee, due_date, priority, created_at)
SELECT i, i, i, 'task', 'Task ' || (i % 50), 'created',
  CASE WHEN i % 5 < 2 THEN 'u' || (((i / 5)::bigint * 7919) % ?) ELSE '' END,
  CASE WHEN i % 10 = 0 THEN NULL ELSE ?::timestamptz + ((i * 31) % 200 - 60) * interval '1 hour' END,
  (i * 13) % 100, ?::timestamptz - (? - i) * interval '1 second'
FROM generate_series(1, ?) i`, []any{users, nowArg, nowArg, tasks, tasks}},
		{fmt.Sprintf("%d candidate groups", tasks), `INSERT INTO user_task_candidates (task_id, kind, pos, name, process_instance_id)
SELECT i, 'group', 0, 'g' || ((i::bigint * 104729) % ?), i FROM generate_series(1, ?) i`, []any{groups, tasks}},
		{fmt.Sprintf("%d process variables", tasks), `INSERT INTO variables (process_instance_id, scope_id, name, value)
SELECT i, i, 'region', to_jsonb('r' || ((i / 7) % 20)) FROM generate_series(1, ?) i`, []any{tasks}},
		{fmt.Sprintf("%d groups", groups), `INSERT INTO groups (name) SELECT 'g' || g FROM generate_series(0, ? - 1) g`, []any{groups}},
		{fmt.Sprintf("%d users", users), `INSERT INTO users (name, password_hash, role, created_at) SELECT 'u' || u, '', 'staff', now() FROM generate_series(0, ? - 1) u`, []any{users}},
		{"5 memberships per user", `INSERT INTO memberships (user_id, group_id)
SELECT u.id, g.id FROM users u CROSS JOIN generate_series(0, 4) k
JOIN groups g ON g.name = 'g' || ((5 * substr(u.name, 2)::int + k) % ?)`, []any{groups}},
		{"password of " + user, `UPDATE users SET password_hash = ? WHERE name = ?`, []any{string(hash), user}},
		{"VACUUM ANALYZE", `VACUUM ANALYZE`, nil},
	}
	fmt.Println("Generating the data:")
	total := time.Now()
	for _, s := range steps {
		start := time.Now()
		fmt.Printf("  %-44s", s.what+" …")
		for i, stmt := range strings.Split(s.sql, ";\n") {
			var args []any
			if i == strings.Count(s.sql, ";\n") { // only the last statement takes arguments
				args = s.args
			}
			if err := db.WithContext(ctx).Exec(stmt, args...).Error; err != nil {
				return fmt.Errorf("%s: %w", s.what, err)
			}
		}
		fmt.Printf(" %s\n", time.Since(start).Round(10*time.Millisecond))
	}
	fmt.Printf("  done in %s\n", time.Since(total).Round(100*time.Millisecond))
	return nil
}
