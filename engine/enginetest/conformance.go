package enginetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// RunConformance checks that a Store behaves as the engine needs. Every
// Store implementation runs it; newStore returns an empty store for each
// sub-test.
func RunConformance(t *testing.T, newStore func(t *testing.T) engine.Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	newEngine := func(t *testing.T) (*engine.Engine, engine.Store) {
		s := newStore(t)
		return engine.New(s, engine.Config{NowFunc: func() time.Time { return now }, IDBlockSize: 7}), s
	}
	deploy := func(t *testing.T, e *engine.Engine, b *bpmntest.Builder) *engine.Deployment {
		t.Helper()
		d, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "m.bpmn", Data: b.XML()}}})
		if err != nil {
			t.Fatalf("deploy: %v", err)
		}
		return d
	}
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("IDBlocksAreDisjoint", func(t *testing.T) {
		s := newStore(t)
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					first, err := s.IDBlock(ctx, 10)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					for id := first; id < first+10; id++ {
						if seen[id] || id <= 0 {
							t.Errorf("id %d handed out twice or not positive", id)
						}
						seen[id] = true
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})

	t.Run("DefinitionsByKeyAndVersion", func(t *testing.T) {
		e, s := newEngine(t)
		v1 := deploy(t, e, bpmntest.New("p").Start("s").End("e").Chain("s", "e"))
		v2 := deploy(t, e, bpmntest.New("p").Start("s").Node("a", "task").End("e").Chain("s", "a", "e"))
		deploy(t, e, bpmntest.New("q").Start("s").End("e").Chain("s", "e"))
		latest, err := s.DefinitionLatest(ctx, "p")
		must(t, err)
		if latest.Version != 2 || latest.ID != v2.Definitions[0].ID || len(latest.XML) == 0 || latest.Checksum == "" {
			t.Fatalf("latest %+v", latest)
		}
		latestID, err := s.DefinitionLatestID(ctx, "p")
		must(t, err)
		if latestID != latest.ID {
			t.Fatalf("latest id %d, want %d", latestID, latest.ID)
		}
		if _, err := s.DefinitionLatestID(ctx, "nope"); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("latest id of an unknown key: %v", err)
		}
		got, err := s.DefinitionVersion(ctx, "p", 1)
		must(t, err)
		if got.ID != v1.Definitions[0].ID || got.DeploymentID != v1.ID {
			t.Fatalf("version 1 %+v", got)
		}
		byID, err := s.DefinitionGet(ctx, v2.Definitions[0].ID)
		must(t, err)
		if byID.Key != "p" || byID.Version != 2 || !byID.CreatedAt.Equal(now) {
			t.Fatalf("by id %+v", byID)
		}
		all, err := s.DefinitionList(ctx, &engine.DefinitionListParams{})
		must(t, err)
		if len(all) != 3 || all[0].Key != "p" || all[0].Version != 1 || all[2].Key != "q" {
			t.Fatalf("list %d definitions: %+v", len(all), all)
		}
		lat, err := s.DefinitionList(ctx, &engine.DefinitionListParams{LatestOnly: true})
		must(t, err)
		if len(lat) != 2 || lat[0].Version != 2 {
			t.Fatalf("latest only: %+v", lat)
		}
		deps, err := s.DeploymentList(ctx, &engine.DeploymentListParams{Page: engine.Page{Limit: 2}})
		must(t, err)
		if len(deps) != 2 || deps[0].ID < deps[1].ID {
			t.Fatalf("deployments newest first, limit 2: %+v", deps)
		}
		for _, err := range []error{
			func() error { _, err := s.DefinitionLatest(ctx, "nope"); return err }(),
			func() error { _, err := s.DefinitionVersion(ctx, "p", 9); return err }(),
			func() error { _, err := s.DefinitionGet(ctx, 999999); return err }(),
		} {
			if !errors.Is(err, engine.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		}
		err = s.DeploymentCreate(ctx, &engine.Deployment{Name: "dup", CreatedAt: now,
			Definitions: []*engine.Definition{{Key: "p", Version: 2, Checksum: "x", XML: []byte("<x/>"), CreatedAt: now}}})
		if !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("duplicate version: %v, want ErrConflict", err)
		}
	})

	t.Run("KeysetPagesNeitherSkipNorRepeat", func(t *testing.T) {
		e, s := newEngine(t)
		deploy(t, e, bpmntest.New("p").Start("s").Node("a", "userTask", bpmntest.Attr("camunda:assignee", "ann")).Chain("s", "a"))
		deploy(t, e, bpmntest.New("p").Start("s").Node("b", "userTask", bpmntest.Attr("camunda:assignee", "ann")).Chain("s", "b"))
		deploy(t, e, bpmntest.New("q").Start("s").End("e").Chain("s", "e"))
		for range 7 {
			_, err := e.Start(ctx, &engine.StartParams{Key: "p"})
			must(t, err)
		}
		var seen []int64
		after := ""
		for {
			page, err := s.UserTaskList(ctx, &engine.UserTaskListParams{Assignee: "ann", Page: engine.Page{Limit: 3, After: after}})
			must(t, err)
			if len(page) == 0 {
				break
			}
			for _, tk := range page {
				seen = append(seen, tk.ID)
			}
			after = engine.Cursor(page[len(page)-1])
		}
		if len(seen) != 7 || !slices.IsSorted(seen) {
			t.Fatalf("walked task ids %v, want 7 in order", seen)
		}
		defs, err := s.DefinitionList(ctx, &engine.DefinitionListParams{Page: engine.Page{Limit: 1}})
		must(t, err)
		rest, err := s.DefinitionList(ctx, &engine.DefinitionListParams{Page: engine.Page{After: engine.Cursor(defs[0])}})
		must(t, err)
		if defs[0].Key != "p" || defs[0].Version != 1 || len(rest) != 2 || rest[0].Version != 2 || rest[1].Key != "q" {
			t.Fatalf("definition pages %+v then %+v", defs, rest)
		}
		deps, err := s.DeploymentList(ctx, &engine.DeploymentListParams{Page: engine.Page{Limit: 1}})
		must(t, err)
		older, err := s.DeploymentList(ctx, &engine.DeploymentListParams{Page: engine.Page{After: engine.Cursor(deps[0])}})
		must(t, err)
		if len(deps) != 1 || len(older) != 2 || older[0].ID >= deps[0].ID || older[1].ID >= older[0].ID {
			t.Fatalf("deployment pages %+v then %+v", deps, older)
		}
	})

	t.Run("UserTaskListVisibleTo", func(t *testing.T) {
		e, s := newEngine(t)
		deploy(t, e, bpmntest.New("p").Start("s").
			Node("mine", "userTask", bpmntest.Attr("camunda:assignee", "ann")).
			Node("cand", "userTask", bpmntest.Attr("camunda:candidateUsers", "bob, ann")).
			Node("sales", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales,managers")).
			Node("legal", "userTask", bpmntest.Attr("camunda:candidateGroups", "legal")).
			Node("other", "userTask", bpmntest.Attr("camunda:assignee", "zed")).
			Node("fork", "parallelGateway").
			Chain("s", "fork").Flow("fork", "mine").Flow("fork", "cand").Flow("fork", "sales").Flow("fork", "legal").Flow("fork", "other"))
		_, err := e.Start(ctx, &engine.StartParams{Key: "p"})
		must(t, err)
		for _, tc := range []struct {
			v    engine.TaskVisibility
			want []string
		}{
			{engine.TaskVisibility{User: "ann"}, []string{"cand", "mine"}},
			{engine.TaskVisibility{User: "ann", Groups: []string{"sales", "x"}}, []string{"cand", "mine", "sales"}},
			{engine.TaskVisibility{User: "bob", Groups: []string{"legal", "managers"}}, []string{"cand", "legal", "sales"}},
			{engine.TaskVisibility{Groups: []string{"legal"}}, []string{"legal"}},
			{engine.TaskVisibility{User: "eve", Groups: []string{"hr"}}, nil},
			{engine.TaskVisibility{}, nil},
		} {
			got, err := s.UserTaskList(ctx, &engine.UserTaskListParams{OpenOnly: true, VisibleTo: &tc.v})
			must(t, err)
			var ids []string
			for _, tk := range got {
				ids = append(ids, tk.ElementID)
				if !tc.v.Sees(tk) {
					t.Errorf("%+v: listed %s, which it does not see", tc.v, tk.ElementID)
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tc.want) {
				t.Errorf("%+v sees %v, want %v", tc.v, ids, tc.want)
			}
		}
	})

	t.Run("TxRollsBackOnError", func(t *testing.T) {
		s := newStore(t)
		boom := errors.New("boom")
		err := s.Tx(ctx, func(tx engine.Store) error {
			if err := tx.DeploymentCreate(ctx, &engine.Deployment{Name: "d", CreatedAt: now,
				Definitions: []*engine.Definition{{Key: "r", Version: 1, Checksum: "c", XML: []byte("<x/>"), CreatedAt: now}}}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Tx returned %v, want the function's error", err)
		}
		if _, err := s.DefinitionLatest(ctx, "r"); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("rolled back definition is visible: %v", err)
		}
	})

	// A model that leaves every kind of live row behind: a user task, a
	// job, an incident, a join token and variables in two scopes.
	busy := bpmntest.New("p").Start("s").Node("fork", "parallelGateway").
		Node("task", "userTask", bpmntest.Attr("camunda:assignee", "ann"), bpmntest.Attr("camunda:candidateGroups", "sales,eu")).
		Node("job", "serviceTask", bpmntest.Topic("work")).
		Node("stuck", "exclusiveGateway").End("x").
		Node("join", "parallelGateway").End("e").
		Sub("sub", func(b *bpmntest.Builder) { b.Start("ss").Node("inner", "userTask").Chain("ss", "inner") }, bpmntest.Input("local", "${n}")).
		Chain("s", "fork", "task", "join", "e").Chain("fork", "job", "join").Chain("fork", "stuck").FlowIf("stuck", "x", "${n > 10}").
		Chain("fork", "sub")

	t.Run("LiveStateRoundTrip", func(t *testing.T) {
		e, s := newEngine(t)
		deploy(t, e, busy)
		ctxActor := engine.WithCommandInfo(ctx, "ann", "req-1")
		inst, err := e.Start(ctxActor, &engine.StartParams{Key: "p", BusinessKey: "order-7", Vars: engine.Vars{
			"n": 1, "s": "text", "b": true, "f": 1.5, "d": now, "o": map[string]any{"a": []any{int64(1), "x"}}, "l": []any{"a"}, "nil": nil}})
		must(t, err)
		st, err := s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if st.Instance.BusinessKey != "order-7" || st.Instance.State != engine.InstanceActive || st.Instance.Revision != 1 {
			t.Fatalf("instance %+v", st.Instance)
		}
		var ids []string
		for _, ei := range st.ElementInstances {
			ids = append(ids, ei.ElementID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"inner", "job", "p", "stuck", "sub", "task"}) {
			t.Fatalf("live element instances %v", ids)
		}
		if len(st.UserTasks) != 2 || len(st.Jobs) != 1 || len(st.Incidents) != 1 || len(st.JoinTokens) != 0 {
			t.Fatalf("tasks %d jobs %d incidents %d joins %d", len(st.UserTasks), len(st.Jobs), len(st.Incidents), len(st.JoinTokens))
		}
		values := map[string]any{}
		for _, v := range st.Variables {
			values[v.Name] = v.Value
		}
		if values["n"] != int64(1) || values["s"] != "text" || values["b"] != true || values["f"] != 1.5 ||
			!values["d"].(time.Time).Equal(now) || values["local"] != int64(1) || values["nil"] != nil {
			t.Fatalf("variables %v", values)
		}
		if o := values["o"].(map[string]any); o["a"].([]any)[1] != "x" {
			t.Fatalf("object variable %v", o)
		}

		// Complete the task: its token waits at the join.
		var task *engine.UserTask
		for _, tk := range st.UserTasks {
			if tk.ElementID == "task" {
				task = tk
			}
		}
		if task.Assignee != "ann" || !slices.Equal(task.CandidateGroups, []string{"sales", "eu"}) {
			t.Fatalf("task %+v", task)
		}
		must(t, e.CompleteUserTask(ctxActor, task.ID, engine.Vars{"n": 2}))
		st, err = s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if len(st.JoinTokens) != 1 || st.JoinTokens[0].ElementID != "join" || st.JoinTokens[0].Count != 1 || st.Instance.Revision != 2 {
			t.Fatalf("join tokens %+v, revision %d", st.JoinTokens, st.Instance.Revision)
		}
		// Complete the job: the join fires and its token row leaves.
		must(t, e.CompleteJob(ctx, st.Jobs[0].ID, nil))
		st, err = s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if len(st.JoinTokens) != 0 || len(st.Jobs) != 0 {
			t.Fatalf("after the join: tokens %+v jobs %+v", st.JoinTokens, st.Jobs)
		}
		// Cancel: the sub-process's local variable and every live row leave.
		must(t, e.Cancel(ctx, inst.ID))
		st, err = s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if st.Instance.State != engine.InstanceCanceled || len(st.ElementInstances) != 0 || len(st.UserTasks) != 0 || len(st.Incidents) != 0 {
			t.Fatalf("after cancel: %+v, %d element instances, %d tasks, %d incidents", st.Instance, len(st.ElementInstances), len(st.UserTasks), len(st.Incidents))
		}
		for _, v := range st.Variables {
			if v.Name == "local" {
				t.Fatal("local variable of the terminated sub-process is still live")
			}
		}

		hist, err := s.HistoryList(ctx, inst.ID)
		must(t, err)
		if len(hist) == 0 || hist[0].Type != engine.EventActivated || hist[0].ElementID != "p" {
			t.Fatalf("history starts with %+v", hist[0])
		}
		var nChange *engine.VarChange
		for _, ev := range hist {
			if ev.Type == engine.EventVariableSet && ev.Var.Name == "n" && !ev.Var.Created {
				nChange = ev.Var
				if ev.Command.Actor != "ann" || ev.Command.RequestID != "req-1" || ev.Command.Name != "completeUserTask" {
					t.Fatalf("command of the variable write %+v", ev.Command)
				}
			}
		}
		if nChange == nil || nChange.OldValue != int64(1) || nChange.NewValue != int64(2) {
			t.Fatalf("lineage of n: %+v", nChange)
		}
	})

	t.Run("RevisionCatchesLostUpdates", func(t *testing.T) {
		e, s := newEngine(t)
		deploy(t, e, bpmntest.New("p").Start("s").Node("a", "userTask").Chain("s", "a"))
		inst, err := e.Start(ctx, &engine.StartParams{Key: "p"})
		must(t, err)
		stale := *inst
		err = s.Tx(ctx, func(tx engine.Store) error {
			if _, err := tx.InstanceLock(ctx, inst.ID); err != nil {
				return err
			}
			next := stale
			next.Revision = 2
			return tx.InstanceSave(ctx, &engine.InstanceChanges{Instance: &next, PrevRevision: 0})
		})
		if !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("save with a stale revision: %v, want ErrConflict", err)
		}
		err = s.Tx(ctx, func(tx engine.Store) error {
			return tx.InstanceSave(ctx, &engine.InstanceChanges{Instance: &stale, Created: true})
		})
		if !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("creating an existing instance: %v, want ErrConflict", err)
		}
		if _, err := s.InstanceLive(ctx, 987654321); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("unknown instance: %v", err)
		}
	})

	t.Run("StartKeyStartsOnce", func(t *testing.T) {
		e, s := newEngine(t)
		deploy(t, e, bpmntest.New("p").Start("s").Node("a", "userTask").Chain("s", "a"))
		deploy(t, e, bpmntest.New("q").Start("s").Node("a", "userTask").Chain("s", "a"))
		first, err := e.Start(ctx, &engine.StartParams{Key: "p", StartKey: "k-1", BusinessKey: "b1"})
		must(t, err)
		if first.Replayed || first.StartKey != "k-1" {
			t.Fatalf("first start: replayed %v, start key %q", first.Replayed, first.StartKey)
		}
		again, err := e.Start(ctx, &engine.StartParams{Key: "p", StartKey: "k-1", BusinessKey: "other"})
		must(t, err)
		if again.ID != first.ID || !again.Replayed || again.BusinessKey != "b1" {
			t.Fatalf("repeated start: %+v, want instance %d replayed", again, first.ID)
		}
		other, err := e.Start(ctx, &engine.StartParams{Key: "q", StartKey: "k-1"})
		must(t, err)
		if other.ID == first.ID || other.Replayed {
			t.Fatalf("same start key of another process: %+v, want a new instance", other)
		}
		// Concurrent starts with one key: one instance, every caller gets it.
		var wg sync.WaitGroup
		ids := make([]int64, 6)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inst, err := e.Start(ctx, &engine.StartParams{Key: "p", StartKey: "k-2"})
				if err != nil {
					t.Errorf("concurrent start %d: %v", i, err)
					return
				}
				ids[i] = inst.ID
			}()
		}
		wg.Wait()
		for i, id := range ids {
			if id != ids[0] {
				t.Fatalf("concurrent starts with one key got instances %v (start %d differs)", ids, i)
			}
		}
		list, err := s.InstanceList(ctx, &engine.InstanceListParams{Key: "p"})
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("process p has %d instances, want 2 (one per start key)", len(list))
		}
		// The store itself refuses a second instance with the same key.
		dup := *first
		dup.ID, dup.Revision = first.ID+1000, 1
		err = s.Tx(ctx, func(tx engine.Store) error {
			return tx.InstanceSave(ctx, &engine.InstanceChanges{Instance: &dup, Created: true})
		})
		if !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("second instance with start key k-1: %v, want ErrConflict", err)
		}
		if _, err := e.Start(ctx, &engine.StartParams{Key: "p", StartKey: strings.Repeat("x", engine.StartKeyMaxLen+1)}); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("overlong start key: %v, want ErrInvalid", err)
		}
	})

	// timed returns an engine over a new store whose clock the test moves.
	timed := func(t *testing.T) (*engine.Engine, engine.Store, func(time.Duration), func() time.Time) {
		s := newStore(t)
		var mu sync.Mutex
		at := now
		clock := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return at
		}
		advance := func(d time.Duration) {
			mu.Lock()
			at = at.Add(d)
			mu.Unlock()
		}
		return engine.New(s, engine.Config{NowFunc: clock, IDBlockSize: 64}), s, advance, clock
	}

	t.Run("TimersFireOnceWithManyExecutors", func(t *testing.T) {
		e, s, advance, _ := timed(t)
		deploy(t, e, bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1M")).
			Node("task", "userTask").End("e").Chain("s", "wait", "task", "e").
			Node("late", "boundaryEvent", bpmntest.Boundary("task", true), bpmntest.Timer("timeDuration", "PT1H")).End("timedOut").Chain("late", "timedOut"))
		const n = 40
		ids := make([]int64, n)
		for i := range ids {
			inst, err := e.Start(ctx, &engine.StartParams{Key: "p"})
			must(t, err)
			ids[i] = inst.ID
		}
		runAll := func() int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			total := 0
			for k := range 4 {
				x := e.NewExecutor(engine.ExecutorConfig{Owner: fmt.Sprintf("node-%d", k), Batch: 3})
				wg.Add(1)
				go func() {
					defer wg.Done()
					ran, err := x.RunDue(ctx)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					total += ran
					mu.Unlock()
				}()
			}
			wg.Wait()
			return total
		}
		if ran := runAll(); ran != 0 {
			t.Fatalf("%d jobs ran before they were due", ran)
		}
		advance(time.Minute)
		if ran := runAll(); ran != n {
			t.Fatalf("%d catch timers ran, want %d", ran, n)
		}
		advance(time.Hour)
		if ran := runAll(); ran != n {
			t.Fatalf("%d boundary timers ran, want %d", ran, n)
		}
		for _, id := range ids {
			inst, err := s.InstanceGet(ctx, id)
			must(t, err)
			if inst.State != engine.InstanceCompleted {
				t.Fatalf("instance %d is %s, want completed", id, inst.State)
			}
			if got := Trace(t, s, id, engine.EventTimerFired); len(got) != 2 {
				t.Fatalf("instance %d: timers fired %v, want wait and late once each", id, got)
			}
		}
	})

	t.Run("LeasesExpire", func(t *testing.T) {
		e, s, advance, clock := timed(t)
		deploy(t, e, bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1M")).
			End("e").Chain("s", "wait", "e"))
		inst, err := e.Start(ctx, &engine.StartParams{Key: "p"})
		must(t, err)
		advance(time.Minute)
		claim := func(owner string) []*engine.Job {
			jobs, err := s.JobsClaim(ctx, &engine.JobClaimParams{Owner: owner, Now: clock(), LeaseUntil: clock().Add(30 * time.Second), Limit: 10})
			must(t, err)
			return jobs
		}
		got := claim("a")
		if len(got) != 1 || got[0].LeaseOwner != "a" || got[0].Kind != engine.JobTimer || got[0].InstanceID != inst.ID {
			t.Fatalf("claim by a: %+v", got)
		}
		if again := claim("b"); len(again) != 0 {
			t.Fatalf("claim by b during a's lease: %+v", again)
		}
		advance(31 * time.Second)
		if again := claim("b"); len(again) != 1 || again[0].LeaseOwner != "b" {
			t.Fatalf("claim by b after a's lease expired: %+v", again)
		}
		must(t, e.RunJob(ctx, got[0].ID, "a")) // a lost its lease: nothing happens
		if st, _ := s.InstanceGet(ctx, inst.ID); st.State != engine.InstanceActive {
			t.Fatalf("instance %s after a stale run", st.State)
		}
		must(t, e.RunJob(ctx, got[0].ID, "b"))
		if st, _ := s.InstanceGet(ctx, inst.ID); st.State != engine.InstanceCompleted {
			t.Fatalf("instance %s after b's run", st.State)
		}
		// Work jobs are claimed only by nodes with a handler for their topic.
		deploy(t, e, bpmntest.New("w").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e").Chain("s", "charge", "e"))
		_, err = e.Start(ctx, &engine.StartParams{Key: "w"})
		must(t, err)
		if jobs := claim("c"); len(jobs) != 0 {
			t.Fatalf("work claimed without a handler topic: %+v", jobs)
		}
		jobs, err := s.JobsClaim(ctx, &engine.JobClaimParams{Owner: "c", Now: clock(), LeaseUntil: clock().Add(time.Minute), Limit: 10, Topics: []string{"charge"}})
		must(t, err)
		if len(jobs) != 1 || jobs[0].Topic != "charge" || jobs[0].Kind != engine.JobWork {
			t.Fatalf("work claim: %+v", jobs)
		}
	})

	t.Run("TimerStartEventsAndRetriesSurviveInTheStore", func(t *testing.T) {
		e, s, advance, _ := timed(t)
		deploy(t, e, bpmntest.New("tick").Start("t", bpmntest.Timer("timeCycle", "R/PT10M")).
			Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e").Chain("t", "charge", "e"))
		fail := true
		e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			if fail {
				return nil, errors.New("bank down")
			}
			return engine.Vars{"charged": true}, nil
		})
		// A second engine over the same store (another node, or this one
		// restarted) runs what the first scheduled.
		other := engine.New(s, engine.Config{NowFunc: func() time.Time { return now.Add(10 * time.Minute) }})
		other.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, errors.New("bank down") })
		advance(10 * time.Minute)
		x := other.NewExecutor(engine.ExecutorConfig{Owner: "other"})
		ran, err := x.RunDue(ctx)
		must(t, err)
		if ran != 1 {
			t.Fatalf("%d jobs ran at the first tick, want the start timer", ran)
		}
		list, err := s.InstanceList(ctx, &engine.InstanceListParams{Key: "tick"})
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("%d instances after the first tick, want 1", len(list))
		}
		jobs, err := s.JobList(ctx, &engine.JobListParams{InstanceID: list[0].ID, State: engine.JobActive})
		must(t, err)
		if len(jobs) != 1 || jobs[0].Retries != engine.JobRetriesDefault-1 || jobs[0].ErrorMessage != "bank down" || !jobs[0].DueAt.After(now.Add(10*time.Minute)) {
			t.Fatalf("failed job %+v, want a retry scheduled", jobs)
		}
		fail = false
		advance(time.Minute)
		ran, err = e.NewExecutor(engine.ExecutorConfig{Owner: "first"}).RunDue(ctx)
		must(t, err)
		if ran != 1 {
			t.Fatalf("%d jobs ran at the retry, want 1", ran)
		}
		inst, err := s.InstanceGet(ctx, list[0].ID)
		must(t, err)
		if inst.State != engine.InstanceCompleted {
			t.Fatalf("instance %s after the retry", inst.State)
		}
		def, err := s.DefinitionLatest(ctx, "tick")
		must(t, err)
		starts, err := s.JobList(ctx, &engine.JobListParams{DefinitionID: def.ID, State: engine.JobActive})
		must(t, err)
		if len(starts) != 1 || !starts[0].DueAt.Equal(now.Add(20*time.Minute)) || starts[0].Fired != 1 || starts[0].LeaseOwner != "" {
			t.Fatalf("start timer %+v, want the next tick due, unleased", starts)
		}
	})

	t.Run("EventGatewaySurvivesTheStore", func(t *testing.T) {
		e, s, advance, _ := timed(t)
		deploy(t, e, bpmntest.New("p").Message("m", "paid", "=orderId").Start("s").Node("gw", "eventBasedGateway").
			Node("paid", "intermediateCatchEvent", bpmntest.MessageRef("m")).Node("ship", "userTask").
			Node("late", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1H")).Node("remind", "userTask").
			Chain("s", "gw", "paid", "ship").Chain("gw", "late", "remind"))
		a, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"orderId": "o-1"}})
		must(t, err)
		b, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"orderId": "o-2"}})
		must(t, err)
		gateway := func(id int64) *engine.ElementInstance {
			t.Helper()
			st, err := s.InstanceLive(ctx, id)
			must(t, err)
			for _, ei := range st.ElementInstances {
				if ei.ElementID == "gw" && ei.State == engine.ElementActivated {
					return ei
				}
			}
			t.Fatalf("instance %d: no gateway waiting", id)
			return nil
		}
		gw := gateway(a.ID)
		timers, err := s.JobList(ctx, &engine.JobListParams{InstanceID: a.ID, State: engine.JobActive})
		must(t, err)
		if len(timers) != 1 || timers[0].ElementInstanceID != gw.ID || timers[0].ElementID != "late" || timers[0].Kind != engine.JobTimer {
			t.Fatalf("jobs %+v, want the timer of late bound to the gateway %d", timers, gw.ID)
		}
		key := "o-1"
		subs, err := s.SubscriptionFind(ctx, &engine.SubscriptionFindParams{Kind: engine.SubscribeMessage, Name: "paid", CorrelationKey: &key})
		must(t, err)
		if len(subs) != 1 || subs[0].ElementInstanceID != gw.ID || subs[0].ElementID != "paid" || subs[0].InstanceID != a.ID {
			t.Fatalf("subscriptions %+v, want paid bound to the gateway %d", subs, gw.ID)
		}
		gateway(b.ID)

		// Another engine over the same store (another node, or this one
		// restarted) correlates the message: the message wins in a.
		other := engine.New(s, engine.Config{NowFunc: func() time.Time { return now }})
		res, err := other.CorrelateMessage(ctx, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1"})
		must(t, err)
		if res.InstanceID != a.ID || res.ElementID != "paid" {
			t.Fatalf("result %+v, want instance %d at paid", res, a.ID)
		}
		cancelled, err := s.JobList(ctx, &engine.JobListParams{InstanceID: a.ID, State: engine.JobCanceled})
		must(t, err)
		if len(cancelled) != 1 || cancelled[0].ID != timers[0].ID {
			t.Fatalf("cancelled jobs %+v, want the losing timer", cancelled)
		}
		// The timer wins in b; its subscription is gone with the gateway.
		advance(time.Hour)
		ran, err := e.NewExecutor(engine.ExecutorConfig{Owner: "x"}).RunDue(ctx)
		must(t, err)
		if ran != 1 {
			t.Fatalf("%d jobs ran, want b's timer", ran)
		}
		if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "paid", CorrelationKey: "o-2"}); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("message after b's timer fired: %v, want ErrNotFound", err)
		}
		events := []engine.EventType{engine.EventActivated, engine.EventCompleted, engine.EventTimerFired, engine.EventMessageCorrelated}
		want := map[int64][]string{
			a.ID: {"p:activated", "s:activated", "s:completed", "gw:activated", "gw:completed", "paid:activated", "paid:messageCorrelated", "paid:completed", "ship:activated"},
			b.ID: {"p:activated", "s:activated", "s:completed", "gw:activated", "gw:completed", "late:activated", "late:timerFired", "late:completed", "remind:activated"},
		}
		for id, w := range want {
			AssertTrace(t, Trace(t, s, id, events...), w)
		}
	})

	t.Run("CallActivities", func(t *testing.T) { runCallConformance(t, newStore) })

	t.Run("Inbox", func(t *testing.T) { runInboxConformance(t, newStore) })

	t.Run("FormsByIDAndVersion", func(t *testing.T) { runFormConformance(t, newStore) })

	t.Run("ExternalTasks", func(t *testing.T) { runExternalConformance(t, newStore) })

	t.Run("ListsFilterAndPage", func(t *testing.T) {
		e, s := newEngine(t)
		deploy(t, e, busy)
		deploy(t, e, bpmntest.New("q").Start("s").End("e").Chain("s", "e"))
		var ids []int64
		for i := range 3 {
			inst, err := e.Start(ctx, &engine.StartParams{Key: "p", BusinessKey: []string{"a", "b", "a"}[i], Vars: engine.Vars{"n": 1}})
			must(t, err)
			ids = append(ids, inst.ID)
		}
		q, err := e.Start(ctx, &engine.StartParams{Key: "q"})
		must(t, err)

		insts, err := s.InstanceList(ctx, &engine.InstanceListParams{Key: "p", BusinessKey: "a"})
		must(t, err)
		if len(insts) != 2 || insts[0].ID != ids[0] || insts[1].ID != ids[2] {
			t.Fatalf("instances of p with business key a: %+v", insts)
		}
		some, err := s.InstanceList(ctx, &engine.InstanceListParams{IDs: []int64{q.ID, ids[1], 987654321}})
		must(t, err)
		if len(some) != 2 || some[0].ID != ids[1] || some[1].ID != q.ID {
			t.Fatalf("instances %d and %d by id: %+v", ids[1], q.ID, some)
		}
		done, err := s.InstanceList(ctx, &engine.InstanceListParams{State: engine.InstanceCompleted})
		must(t, err)
		if len(done) != 1 || done[0].ID != q.ID {
			t.Fatalf("completed instances %+v", done)
		}
		first, err := s.InstanceList(ctx, &engine.InstanceListParams{Page: engine.Page{Limit: 2}})
		must(t, err)
		paged, err := s.InstanceList(ctx, &engine.InstanceListParams{Page: engine.Page{Limit: 2, After: engine.Cursor(first[1])}})
		must(t, err)
		if len(first) != 2 || first[0].ID != ids[0] || len(paged) != 2 || paged[0].ID != ids[2] || paged[1].ID != q.ID {
			t.Fatalf("pages of size 2: %+v then %+v", first, paged)
		}
		if _, err := s.InstanceList(ctx, &engine.InstanceListParams{Page: engine.Page{After: "not-a-cursor"}}); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("bad cursor: %v, want ErrInvalid", err)
		}
		tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{Assignee: "ann"})
		must(t, err)
		if len(tasks) != 3 {
			t.Fatalf("tasks of ann: %d", len(tasks))
		}
		tasks, err = s.UserTaskList(ctx, &engine.UserTaskListParams{CandidateGroup: "eu", InstanceID: ids[1]})
		must(t, err)
		if len(tasks) != 1 || tasks[0].InstanceID != ids[1] {
			t.Fatalf("eu tasks of one instance: %+v", tasks)
		}
		must(t, e.CompleteUserTask(ctx, tasks[0].ID, nil))
		open, err := s.UserTaskList(ctx, &engine.UserTaskListParams{Assignee: "ann", OpenOnly: true})
		must(t, err)
		if len(open) != 2 {
			t.Fatalf("open tasks of ann: %d, want 2", len(open))
		}
		got, err := s.UserTaskGet(ctx, tasks[0].ID)
		must(t, err)
		if got.State != engine.TaskCompleted || !got.EndedAt.Equal(now) {
			t.Fatalf("completed task %+v", got)
		}
		jobs, err := s.JobList(ctx, &engine.JobListParams{Topic: "work", State: engine.JobActive})
		must(t, err)
		if len(jobs) != 3 {
			t.Fatalf("active jobs of topic work: %d", len(jobs))
		}
		j, err := s.JobGet(ctx, jobs[0].ID)
		must(t, err)
		if j.Topic != "work" || j.Retries != engine.JobRetriesDefault || j.BusinessKey != "a" {
			t.Fatalf("job %+v", j)
		}
		incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: ids[0], State: engine.IncidentOpen})
		must(t, err)
		if len(incs) != 1 || incs[0].ElementID != "stuck" {
			t.Fatalf("incidents %+v", incs)
		}
		in, err := s.IncidentGet(ctx, incs[0].ID)
		must(t, err)
		if in.Message == "" || in.Type != engine.IncidentConditionNoMatch {
			t.Fatalf("incident %+v", in)
		}
		for _, err := range []error{
			func() error { _, err := s.UserTaskGet(ctx, 987654321); return err }(),
			func() error { _, err := s.JobGet(ctx, 987654321); return err }(),
			func() error { _, err := s.IncidentGet(ctx, 987654321); return err }(),
			func() error { _, err := s.InstanceGet(ctx, 987654321); return err }(),
			func() error { _, err := s.HistoryList(ctx, 987654321); return err }(),
		} {
			if !errors.Is(err, engine.ErrNotFound) {
				t.Fatalf("got %v, want ErrNotFound", err)
			}
		}
	})

	t.Run("CompensationRecordsSurviveTheStore", func(t *testing.T) {
		e, s := newEngine(t)
		deploy(t, e, bpmntest.New("p").Start("s").
			Sub("sub", func(b *bpmntest.Builder) {
				b.Start("ss").Node("book", "task").End("se").Chain("ss", "book", "se").
					Node("unbook", "userTask", bpmntest.ForCompensation(), bpmntest.Attr("camunda:assignee", "${clerk}")).
					CompensationBoundary("cb", "book", "unbook").
					Sub("onCompensate", func(b *bpmntest.Builder) {
						b.Start("cs", bpmntest.Compensate("")).Node("approve", "userTask", bpmntest.Attr("camunda:assignee", "${clerk}")).
							Node("undoBook", "intermediateThrowEvent", bpmntest.Compensate("book")).End("ce").Chain("cs", "approve", "undoBook", "ce")
					}, bpmntest.Attr("triggeredByEvent", "true"))
			}, bpmntest.Input("clerk", "ann")).
			Node("ship", "task", bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item"/>`)).
			Node("unship", "userTask", bpmntest.ForCompensation(), bpmntest.Attr("camunda:assignee", "${item}")).
			CompensationBoundary("cbShip", "ship", "unship").
			Node("review", "userTask").Node("undo", "intermediateThrowEvent", bpmntest.Compensate("")).End("e").
			Chain("s", "sub", "ship", "review", "undo", "e"))
		inst, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"items": []any{"x", "y"}}})
		must(t, err)
		records := func(st *engine.LiveState) (out []string) {
			for _, sub := range st.Subscriptions {
				if sub.Kind == engine.SubscribeCompensation {
					out = append(out, sub.ElementID+">"+sub.Name)
				}
			}
			slices.Sort(out)
			return out
		}
		tasks := func(st *engine.LiveState) (out []string) {
			tks := slices.Clone(st.UserTasks)
			slices.SortFunc(tks, func(a, b *engine.UserTask) int { return int(a.ID - b.ID) })
			for _, tk := range tks {
				out = append(out, tk.ElementID+"@"+tk.Assignee)
			}
			return out
		}
		taskOf := func(st *engine.LiveState, elementID string) *engine.UserTask {
			t.Helper()
			for _, tk := range st.UserTasks {
				if tk.ElementID == elementID {
					return tk
				}
			}
			t.Fatalf("no open task %s", elementID)
			return nil
		}
		// The completed sub-process, whose handler is its compensation
		// event sub-process, and the multi-instance body hold the records
		// of what completed inside them, with their variables.
		st, err := s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if got := records(st); !slices.Equal(got, []string{"book>unbook", "ship>", "ship>unship", "ship>unship", "sub>onCompensate"}) {
			t.Fatalf("compensation records %v", got)
		}
		snapshot := map[string]int{}
		for _, v := range st.Variables {
			if v.ScopeID != inst.ID {
				snapshot[v.Name]++
			}
		}
		if snapshot["clerk"] != 1 || snapshot["item"] != 2 || snapshot["loopCounter"] != 2 {
			t.Fatalf("kept variables %v", snapshot)
		}
		if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "unbook"}); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("a message reached a compensation record: %v", err)
		}

		// Another command compensates from the stored records, latest
		// first: the shipments, then the sub-process by its event
		// sub-process, which waits for an approval.
		must(t, e.CompleteUserTask(ctx, taskOf(st, "review").ID, nil))
		st, err = s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if got := tasks(st); !slices.Equal(got, []string{"unship@y", "unship@x", "approve@ann"}) {
			t.Fatalf("open tasks %v, want unship y, x, then the sub-process's approval", got)
		}
		if got := records(st); !slices.Equal(got, []string{"book>unbook", "sub>"}) {
			t.Fatalf("compensation records %v, want the booking, linked from the event sub-process", got)
		}
		// A third command: the event sub-process's throw reaches the
		// booking inside the completed sub-process through the link.
		must(t, e.CompleteUserTask(ctx, taskOf(st, "approve").ID, nil))
		st, err = s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if got := tasks(st); !slices.Equal(got, []string{"unship@y", "unship@x", "unbook@ann"}) {
			t.Fatalf("open tasks %v, want unbook beside the shipments", got)
		}
		if got := records(st); !slices.Equal(got, []string{"sub>"}) {
			t.Fatalf("compensation records %v, want only the link, until the event sub-process ends", got)
		}
		for _, tk := range st.UserTasks {
			must(t, e.CompleteUserTask(ctx, tk.ID, nil))
		}
		st, err = s.InstanceLive(ctx, inst.ID)
		must(t, err)
		if st.Instance.State != engine.InstanceCompleted || len(st.Subscriptions) != 0 || len(st.Variables) != 0 {
			t.Fatalf("instance %s with %d subscriptions and %d variables, want completed with none", st.Instance.State, len(st.Subscriptions), len(st.Variables))
		}
	})
}
