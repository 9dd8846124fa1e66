package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

var now = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// forDialects runs fn as a parallel sub-test per dialect, with a fresh store.
func forDialects(t *testing.T, fn func(t *testing.T, s *sqlstore.Store, db *gorm.DB)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.db(t)
			fn(t, sqlstore.New(db), db)
		})
	}
}

// newDefinition stores a deployment with one definition and returns it.
func newDefinition(ctx context.Context, t *testing.T, s engine.Store, key string) *engine.Definition {
	t.Helper()
	def := &engine.Definition{Key: key, Version: 1, Checksum: "c", XML: []byte("<x/>"), CreatedAt: now}
	if err := s.DeploymentCreate(ctx, &engine.Deployment{Name: key, CreatedAt: now, Definitions: []*engine.Definition{def}}); err != nil {
		t.Fatal(err)
	}
	return def
}

// newInstance returns the changes that create an instance of def.
func newInstance(ctx context.Context, t *testing.T, s engine.Store, def *engine.Definition) *engine.InstanceChanges {
	t.Helper()
	id, err := s.IDBlock(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &engine.InstanceChanges{Created: true, Instance: &engine.Instance{
		ID: id, DefinitionID: def.ID, Key: def.Key, Version: def.Version, State: engine.InstanceActive, Revision: 1, StartedAt: now}}
}

func save(ctx context.Context, t *testing.T, s engine.Store, c *engine.InstanceChanges) {
	t.Helper()
	if err := s.Tx(ctx, func(tx engine.Store) error { return tx.InstanceSave(ctx, c) }); err != nil {
		t.Fatal(err)
	}
}

// TestRevisionConflictRace: a second transaction on an instance waits for
// the first to commit, then its save with the revision it read before
// fails with ErrConflict.
func TestRevisionConflictRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forDialects(t, func(t *testing.T, s *sqlstore.Store, _ *gorm.DB) {
		def := newDefinition(ctx, t, s, "p")
		c := newInstance(ctx, t, s, def)
		save(ctx, t, s, c)
		stale, err := s.InstanceGet(ctx, c.Instance.ID)
		if err != nil {
			t.Fatal(err)
		}

		locked := make(chan struct{})
		release := make(chan struct{})
		firstDone := make(chan error, 1)
		go func() {
			firstDone <- s.Tx(ctx, func(tx engine.Store) error {
				st, err := tx.InstanceLock(ctx, stale.ID)
				if err != nil {
					close(locked)
					return err
				}
				close(locked)
				<-release
				next := *st.Instance
				next.Revision++
				return tx.InstanceSave(ctx, &engine.InstanceChanges{Instance: &next, PrevRevision: st.Instance.Revision})
			})
		}()
		<-locked
		var secondLocked atomic.Bool
		secondDone := make(chan error, 1)
		go func() {
			secondDone <- s.Tx(ctx, func(tx engine.Store) error {
				if _, err := tx.InstanceLock(ctx, stale.ID); err != nil {
					return err
				}
				secondLocked.Store(true)
				next := *stale
				next.Revision++
				return tx.InstanceSave(ctx, &engine.InstanceChanges{Instance: &next, PrevRevision: stale.Revision})
			})
		}()
		// The second transaction must wait on the first's lock; give it
		// time to get there and check that it did not pass.
		time.Sleep(50 * time.Millisecond)
		if secondLocked.Load() {
			t.Fatal("second transaction locked the instance while the first held it")
		}
		close(release)
		if err := <-firstDone; err != nil {
			t.Fatalf("first transaction: %v", err)
		}
		if err := <-secondDone; !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("second transaction: %v, want ErrConflict", err)
		}
		got, err := s.InstanceGet(ctx, stale.ID)
		if err != nil || got.Revision != stale.Revision+1 {
			t.Fatalf("stored revision %v (%v), want %d", got, err, stale.Revision+1)
		}
	})
}

// TestValueRoundTrip: variable values and history values come back with
// their exact types, at any depth.
func TestValueRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ist := time.FixedZone("IST", 5*3600+1800)
	values := []struct {
		name  string
		value any
	}{
		{"nil", nil},
		{"emptyString", ""},
		{"string", "quotes \" backslash \\ newline \n tab \t control \x01 ünïcödé 日本 😀"},
		{"stringLikeJSON", `{"$time":"2026-01-01T00:00:00Z"}`},
		{"true", true},
		{"false", false},
		{"zero", int64(0)},
		{"negative", int64(-42)},
		{"maxInt64", int64(math.MaxInt64)},
		{"minInt64", int64(math.MinInt64)},
		{"float", 1.5},
		{"integralFloat", 2.0},
		{"floatZero", 0.0},
		{"negativeZero", math.Copysign(0, -1)},
		{"tenth", 0.1},
		{"hugeFloat", 1e300},
		{"maxFloat", math.MaxFloat64},
		{"tinyFloat", 5e-324},
		{"negativeFloat", -123456.789},
		{"float2to63", 9223372036854775808.0},
		{"inf", math.Inf(1)},
		{"negInf", math.Inf(-1)},
		{"timeUTC", time.Date(2026, 3, 4, 10, 0, 0, 123456789, time.UTC)},
		{"timeZone", time.Date(1999, 12, 31, 23, 59, 59, 1000, ist)},
		{"timeZero", time.Time{}},
		{"emptyMap", map[string]any{}},
		{"emptyList", []any{}},
		{"nested", map[string]any{
			"int": int64(7), "float": 7.0, "big": int64(math.MaxInt64), "at": time.Date(2026, 1, 2, 3, 4, 5, 6, ist),
			"list": []any{int64(1), 1.0, "1", true, nil, []any{int64(2), map[string]any{"deep": []any{2.5, int64(-3)}}}},
			"obj":  map[string]any{"a": nil, "b": map[string]any{}},
		}},
		{"tagLikeMap", map[string]any{"$time": "not a time"}},
		{"tagLikeObj", map[string]any{"$obj": int64(1)}},
		{"tagLikeFloat", map[string]any{"$float": map[string]any{"$time": int64(3)}}},
		{"dollarKeys", map[string]any{"$a": int64(1), "$b": 2.0}},
		{"listOfTimes", []any{time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC), time.Date(2026, 3, 4, 10, 0, 0, 0, ist)}},
	}
	forDialects(t, func(t *testing.T, s *sqlstore.Store, _ *gorm.DB) {
		def := newDefinition(ctx, t, s, "p")
		c := newInstance(ctx, t, s, def)
		cmd := &engine.CommandInfo{Name: "start", Time: now}
		for _, v := range values {
			c.Variables = append(c.Variables, &engine.Variable{InstanceID: c.Instance.ID, ScopeID: c.Instance.ID, Name: v.name, Value: v.value})
			c.History = append(c.History, engine.HistoryEvent{ElementInstanceID: c.Instance.ID, ElementID: "p", Type: engine.EventVariableSet, Command: cmd,
				Var: &engine.VarChange{ScopeID: c.Instance.ID, Name: v.name, OldValue: v.value, NewValue: v.value, Created: true}})
		}
		save(ctx, t, s, c)
		st, err := s.InstanceLive(ctx, c.Instance.ID)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]any{}
		for _, v := range st.Variables {
			got[v.Name] = v.Value
		}
		hist, err := s.HistoryList(ctx, c.Instance.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != len(values) {
			t.Fatalf("%d history events, want %d", len(hist), len(values))
		}
		for i, v := range values {
			t.Run(v.name, func(t *testing.T) {
				g, ok := got[v.name]
				if !ok {
					t.Fatalf("variable %s missing", v.name)
				}
				if msg := sameValue(g, v.value); msg != "" {
					t.Errorf("variable: %s", msg)
				}
				h := hist[i].Var
				if msg := sameValue(h.OldValue, v.value); msg != "" {
					t.Errorf("history old value: %s", msg)
				}
				if msg := sameValue(h.NewValue, v.value); msg != "" {
					t.Errorf("history new value: %s", msg)
				}
			})
		}
	})
}

// sameValue compares values by type and content; times by instant and
// offset, floats by bits.
func sameValue(got, want any) string {
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		if !ok {
			return fmt.Sprintf("got %T %v, want time %v", got, got, w)
		}
		_, gOff := g.Zone()
		_, wOff := w.Zone()
		if !g.Equal(w) || gOff != wOff {
			return fmt.Sprintf("got %v, want %v", g, w)
		}
	case float64:
		g, ok := got.(float64)
		if !ok || math.Float64bits(g) != math.Float64bits(w) {
			return fmt.Sprintf("got %T %v, want float64 %v", got, got, w)
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("got %T %v, want %v", got, got, w)
		}
		for k := range w {
			if msg := sameValue(g[k], w[k]); msg != "" {
				return k + ": " + msg
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("got %T %v, want %v", got, got, w)
		}
		for i := range w {
			if msg := sameValue(g[i], w[i]); msg != "" {
				return fmt.Sprintf("[%d]: %s", i, msg)
			}
		}
	default:
		if !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("got %T %#v, want %T %#v", got, got, want, want)
		}
	}
	return ""
}

// TestHistoryRows: history rows keep the command, who, which request and
// when, and the typed old and new values of variable writes.
func TestHistoryRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forDialects(t, func(t *testing.T, s *sqlstore.Store, db *gorm.DB) {
		e := engine.New(s, engine.Config{NowFunc: func() time.Time { return now }})
		deploy(ctx, t, e, bpmntest.New("p").Start("s").Node("a", "userTask").End("e").Chain("s", "a", "e"))
		inst, err := e.Start(engine.WithCommandInfo(ctx, "ann", "req-1"), &engine.StartParams{Key: "p", Vars: engine.Vars{"n": 1, "f": 2.0}})
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("tasks %v: %v", tasks, err)
		}
		later := now.Add(time.Hour)
		e2 := engine.New(s, engine.Config{NowFunc: func() time.Time { return later }})
		if err := e2.CompleteUserTask(engine.WithCommandInfo(ctx, "bob", "req-2"), tasks[0].ID, engine.Vars{"n": 2.5}); err != nil {
			t.Fatal(err)
		}

		type row struct {
			Seq        int64
			Type       string
			ElementID  string
			Command    string
			Actor      string
			RequestID  string
			VarName    *string
			VarOld     *string
			VarNew     *string
			VarCreated *bool
		}
		var rows []row
		err = db.Raw(`SELECT seq, type, element_id, command, actor, request_id, var_name, var_old, var_new, var_created
FROM history WHERE process_instance_id = ? ORDER BY seq`, inst.ID).Scan(&rows).Error
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for i, r := range rows {
			if r.Seq != int64(i+1) {
				t.Fatalf("row %d has seq %d", i, r.Seq)
			}
			line := fmt.Sprintf("%s %s by %s/%s in %s", r.Type, r.ElementID, r.Actor, r.RequestID, r.Command)
			if r.VarName != nil {
				line += fmt.Sprintf(" %s: %s -> %s created=%v", *r.VarName, compact(*r.VarOld), compact(*r.VarNew), *r.VarCreated)
			}
			lines = append(lines, line)
		}
		want := []string{
			"activated p by ann/req-1 in start",
			"variableSet p by ann/req-1 in start f: null -> 2.0 created=true",
			"variableSet p by ann/req-1 in start n: null -> 1 created=true",
			"activated s by ann/req-1 in start",
			"completed s by ann/req-1 in start",
			"taken s-a by ann/req-1 in start",
			"activated a by ann/req-1 in start",
			"userTaskCreated a by ann/req-1 in start",
			"userTaskClaimed a by bob/req-2 in completeUserTask", // bob completes the unassigned task: he claims it first
			"variableSet p by bob/req-2 in completeUserTask n: 1 -> 2.5 created=false",
			"userTaskCompleted a by bob/req-2 in completeUserTask",
			"completed a by bob/req-2 in completeUserTask",
			"taken a-e by bob/req-2 in completeUserTask",
			"activated e by bob/req-2 in completeUserTask",
			"completed e by bob/req-2 in completeUserTask",
			"completed p by bob/req-2 in completeUserTask",
		}
		if !equalLines(lines, want) {
			t.Fatalf("history rows:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}

		hist, err := s.HistoryList(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		first, last := hist[0].Command, hist[len(hist)-1].Command
		if first.Name != "start" || first.Actor != "ann" || first.RequestID != "req-1" || !first.Time.Equal(now) {
			t.Fatalf("first command %+v", first)
		}
		if last.Name != "completeUserTask" || last.Actor != "bob" || last.RequestID != "req-2" || !last.Time.Equal(later) {
			t.Fatalf("last command %+v", last)
		}
		if hist[1].Command != first {
			t.Fatal("events of one command do not share its CommandInfo")
		}
		for _, ev := range hist {
			if ev.Var != nil && ev.Var.Name == "n" && !ev.Var.Created {
				if ev.Var.OldValue != int64(1) || ev.Var.NewValue != 2.5 || ev.Var.ScopeID != inst.ID {
					t.Fatalf("write of n: %+v", ev.Var)
				}
			}
		}
	})
}

// equalLines compares history lines, ignoring the order of the variable
// writes of one command (the engine writes a map's entries).
func equalLines(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	norm := func(l []string) []string {
		out := append([]string(nil), l...)
		for i := 0; i+1 < len(out); i++ {
			if strings.HasPrefix(out[i], "variableSet") && strings.HasPrefix(out[i+1], "variableSet") && out[i] > out[i+1] {
				out[i], out[i+1] = out[i+1], out[i]
			}
		}
		return out
	}
	return reflect.DeepEqual(norm(got), norm(want))
}

// compact removes the spaces PostgreSQL's jsonb puts in its text.
func compact(s string) string { return strings.ReplaceAll(s, " ", "") }

func deploy(ctx context.Context, t testing.TB, e *engine.Engine, b *bpmntest.Builder) {
	t.Helper()
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "m.bpmn", Data: b.XML()}}}); err != nil {
		t.Fatal(err)
	}
}

// TestTxRollbackLeavesNothing: a transaction that fails leaves no row in any table.
func TestTxRollbackLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forDialects(t, func(t *testing.T, s *sqlstore.Store, db *gorm.DB) {
		boom := errors.New("boom")
		err := s.Tx(ctx, func(tx engine.Store) error {
			def := newDefinition(ctx, t, tx, "p")
			c := newInstance(ctx, t, tx, def)
			id := c.Instance.ID
			cmd := &engine.CommandInfo{Name: "start", Time: now}
			c.ElementInstances = []*engine.ElementInstance{{ID: id, InstanceID: id, ElementID: "p", Kind: "process", State: engine.ElementActivated, CreatedAt: now},
				{ID: id + 1, InstanceID: id, ScopeID: id, ElementID: "a", Kind: "userTask", State: engine.ElementActivated, CreatedAt: now}}
			c.Variables = []*engine.Variable{{InstanceID: id, ScopeID: id, Name: "x", Value: int64(1)}}
			c.JoinTokens = []*engine.JoinToken{{InstanceID: id, ScopeID: id, ElementID: "j", FlowID: "f", Count: 1}}
			c.UserTasks = []*engine.UserTask{{ID: id + 2, InstanceID: id, ElementInstanceID: id + 1, ElementID: "a", State: engine.TaskCreated,
				CandidateGroups: []string{"g"}, CandidateUsers: []string{"u"}, CreatedAt: now}}
			c.Jobs = []*engine.Job{{ID: id + 3, InstanceID: id, ElementInstanceID: id + 1, ElementID: "a", Topic: "t", State: engine.JobActive, CreatedAt: now}}
			c.Incidents = []*engine.Incident{{ID: id + 4, InstanceID: id, ElementInstanceID: id + 1, ElementID: "a", Type: "x", State: engine.IncidentOpen, CreatedAt: now}}
			c.History = []engine.HistoryEvent{{ElementInstanceID: id, ElementID: "p", Type: engine.EventActivated, Command: cmd}}
			if err := tx.InstanceSave(ctx, c); err != nil {
				return err
			}
			// Inside the transaction the rows are there.
			st, err := tx.InstanceLive(ctx, id)
			if err != nil || len(st.ElementInstances) != 2 || len(st.UserTasks) != 1 || len(st.Jobs) != 1 || len(st.Incidents) != 1 || len(st.JoinTokens) != 1 || len(st.Variables) != 1 {
				t.Errorf("live state inside the transaction: %+v, %v", st, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx: %v, want boom", err)
		}
		for _, table := range []string{"deployments", "process_definitions", "process_instances", "element_instances", "variables",
			"join_tokens", "user_tasks", "user_task_candidates", "jobs", "incidents", "history"} {
			var n int64
			if err := db.Raw(`SELECT count(*) FROM ` + table).Row().Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s has %d rows after the rollback", table, n)
			}
		}
		// Ids reserved in the rolled-back transaction are not handed out again.
		a, err := s.IDBlock(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		b, err := sqlstore.New(db).IDBlock(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Fatalf("two stores on one database handed out id %d twice", a)
		}
	})
}

// TestConcurrentCommands: 8 goroutines start instances of a model with a
// parallel fork of a user task and a Go-handled service task and complete
// the tasks; every instance completes, and no command fails.
func TestConcurrentCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const workers, perWorker = 8, 10
	forDialects(t, func(t *testing.T, s *sqlstore.Store, _ *gorm.DB) {
		e := engine.New(s, engine.Config{})
		e.RegisterHandler("calc", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			return engine.Vars{"calc": j.ElementID}, nil
		})
		deploy(ctx, t, e, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").
			Node("approve", "userTask", bpmntest.Attr("camunda:candidateGroups", "staff")).
			Node("calc", "serviceTask", bpmntest.Topic("calc")).
			Node("join", "parallelGateway").End("e").
			Chain("s", "fork", "approve", "join", "e").Chain("fork", "calc", "join"))

		var (
			mu  sync.Mutex
			ids []int64
			wg  sync.WaitGroup
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perWorker {
					inst, err := e.Start(ctx, &engine.StartParams{Key: "p", BusinessKey: fmt.Sprintf("w%d-%d", w, i), Vars: engine.Vars{"i": i}})
					if err != nil {
						t.Errorf("start: %v", err)
						return
					}
					mu.Lock()
					ids = append(ids, inst.ID)
					mu.Unlock()
					tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
					if err != nil || len(tasks) != 1 {
						t.Errorf("open tasks of %d: %v, %v", inst.ID, tasks, err)
						return
					}
					if err := e.CompleteUserTask(ctx, tasks[0].ID, engine.Vars{"ok": true}); err != nil {
						t.Errorf("complete: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		if len(ids) != workers*perWorker {
			t.Fatalf("%d instances started, want %d", len(ids), workers*perWorker)
		}
		for _, id := range ids {
			inst, err := s.InstanceGet(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if inst.State != engine.InstanceCompleted {
				t.Errorf("instance %d is %s", id, inst.State)
			}
		}
		done, err := s.InstanceList(ctx, &engine.InstanceListParams{State: engine.InstanceCompleted, Page: engine.Page{Limit: 1000}})
		if err != nil || len(done) != workers*perWorker {
			t.Fatalf("%d completed instances listed (%v)", len(done), err)
		}
	})
}
