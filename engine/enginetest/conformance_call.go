package enginetest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// runCallConformance runs a parent and its called child through the store,
// every step a job of the executor: the parent link and its filters, the
// variables passed both ways, a cancel that reaches the child, and an error
// of the child caught at the call activity (the child reads the parent's
// state inside its own transaction to know).
func runCallConformance(t *testing.T, newStore func(t *testing.T) engine.Store) {
	ctx := context.Background()
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	parent := bpmntest.New("p").Error("PE", "E1").Start("s").
		Node("ca", "callActivity", bpmntest.Attr("calledElement", "child"),
			bpmntest.Inner(`<bpmn:extensionElements><camunda:in businessKey="#{execution.processBusinessKey}"/><camunda:in source="n" target="n"/>`+
				`<camunda:out source="r" target="result"/></bpmn:extensionElements>`)).
		End("e").Chain("s", "ca", "e").
		Node("onError", "boundaryEvent", bpmntest.Boundary("ca", true), bpmntest.ErrorRef("PE")).End("failed").Chain("onError", "failed")
	child := bpmntest.New("child").Error("E", "E1").Start("cs").Node("work", "userTask").Chain("cs", "work").
		Node("ok", "exclusiveGateway").Chain("work", "ok").End("ce").FlowIf("ok", "ce", "${!fail}").
		End("boom", bpmntest.ErrorRef("E")).FlowIf("ok", "boom", "${fail}")

	setup := func(t *testing.T) (*engine.Engine, engine.Store, *engine.Executor, func(time.Duration)) {
		s := newStore(t)
		var mu sync.Mutex
		at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
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
		e := engine.New(s, engine.Config{NowFunc: clock, IDBlockSize: 64})
		_, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "p.bpmn", Data: parent.XML()}, {Name: "child.bpmn", Data: child.XML()}}})
		must(t, err)
		x := e.NewExecutor(engine.ExecutorConfig{Owner: "node-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		return e, s, x, advance
	}
	runDue := func(t *testing.T, x *engine.Executor, want int) {
		t.Helper()
		n, err := x.RunDue(ctx)
		must(t, err)
		if n != want {
			t.Fatalf("%d jobs ran, want %d", n, want)
		}
	}
	childOf := func(t *testing.T, s engine.Store, id int64) *engine.Instance {
		t.Helper()
		list, err := s.InstanceList(ctx, &engine.InstanceListParams{ParentInstanceID: id})
		must(t, err)
		if len(list) != 1 {
			t.Fatalf("instance %d has %d children, want 1", id, len(list))
		}
		return list[0]
	}
	openTask := func(t *testing.T, s engine.Store, id int64) *engine.UserTask {
		t.Helper()
		tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: id, OpenOnly: true})
		must(t, err)
		if len(tasks) != 1 {
			t.Fatalf("instance %d has %d open tasks, want 1", id, len(tasks))
		}
		return tasks[0]
	}
	state := func(t *testing.T, s engine.Store, id int64) engine.InstanceState {
		t.Helper()
		inst, err := s.InstanceGet(ctx, id)
		must(t, err)
		return inst.State
	}

	t.Run("ChildReturnsToItsCaller", func(t *testing.T) {
		e, s, x, _ := setup(t)
		inst, err := e.Start(ctx, &engine.StartParams{Key: "p", BusinessKey: "order-7", Vars: engine.Vars{"n": 3}})
		must(t, err)
		other, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"n": 4}})
		must(t, err)
		runDue(t, x, 2)
		ch := childOf(t, s, inst.ID)
		live, err := s.InstanceLive(ctx, ch.ID)
		must(t, err)
		var ca int64
		pl, err := s.InstanceLive(ctx, inst.ID)
		must(t, err)
		for _, ei := range pl.ElementInstances {
			if ei.ElementID == "ca" {
				ca = ei.ID
			}
		}
		if ch.Key != "child" || ch.BusinessKey != "order-7" || ch.ParentInstanceID != inst.ID || ch.ParentElementInstanceID != ca || ca == 0 ||
			live.Instance.ParentInstanceID != inst.ID || live.Instance.ParentElementInstanceID != ca {
			t.Fatalf("child %+v, live %+v, call activity instance %d", ch, live.Instance, ca)
		}
		got, err := s.InstanceGet(ctx, ch.ID)
		must(t, err)
		if got.ParentInstanceID != inst.ID || got.ParentElementInstanceID != ca {
			t.Fatalf("child by id %+v", got)
		}
		byCall, err := s.InstanceList(ctx, &engine.InstanceListParams{ParentInstanceID: inst.ID, ParentElementInstanceID: ca, State: engine.InstanceActive})
		must(t, err)
		if len(byCall) != 1 || byCall[0].ID != ch.ID {
			t.Fatalf("child of the call activity instance: %+v", byCall)
		}
		if none, err := s.InstanceList(ctx, &engine.InstanceListParams{ParentInstanceID: inst.ID, ParentElementInstanceID: ca + 1}); err != nil || len(none) != 0 {
			t.Fatalf("children of another call activity instance: %+v, %v", none, err)
		}
		var n any
		for _, v := range live.Variables {
			if v.ScopeID == ch.ID && v.Name == "n" {
				n = v.Value
			}
		}
		if n != int64(3) {
			t.Fatalf("child n = %v, want 3", n)
		}
		must(t, e.CompleteUserTask(ctx, openTask(t, s, ch.ID).ID, engine.Vars{"fail": false, "r": "done"}))
		if st := state(t, s, ch.ID); st != engine.InstanceActive {
			t.Fatalf("child %s before it returned", st)
		}
		runDue(t, x, 1)
		if st := state(t, s, inst.ID); st != engine.InstanceCompleted {
			t.Fatalf("parent %s, want completed", st)
		}
		if st := state(t, s, ch.ID); st != engine.InstanceCompleted {
			t.Fatalf("child %s, want completed", st)
		}
		var result any
		hist, err := s.HistoryList(ctx, inst.ID)
		must(t, err)
		for _, ev := range hist {
			if ev.Type == engine.EventVariableSet && ev.Var.Name == "result" {
				result = ev.Var.NewValue
			}
		}
		if result != "done" {
			t.Fatalf("parent result = %v, want done", result)
		}
		// The other instance's child is its own, and cancelling the
		// parent cancels it.
		oc := childOf(t, s, other.ID)
		if oc.ID == ch.ID {
			t.Fatal("two call activity instances share a child")
		}
		must(t, e.Cancel(ctx, other.ID))
		runDue(t, x, 1)
		if st := state(t, s, oc.ID); st != engine.InstanceCanceled {
			t.Fatalf("child of the cancelled parent is %s", st)
		}
	})

	t.Run("ChildErrorCaughtAtTheCallActivity", func(t *testing.T) {
		e, s, x, _ := setup(t)
		inst, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"n": 1}})
		must(t, err)
		runDue(t, x, 1)
		ch := childOf(t, s, inst.ID)
		must(t, e.CompleteUserTask(ctx, openTask(t, s, ch.ID).ID, engine.Vars{"fail": true}))
		incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: ch.ID, State: engine.IncidentOpen})
		must(t, err)
		if len(incs) != 0 {
			t.Fatalf("child incidents %+v: the caller catches the error", incs)
		}
		runDue(t, x, 2) // the error to the caller, then the cancel of the child
		if st := state(t, s, inst.ID); st != engine.InstanceCompleted {
			t.Fatalf("parent %s, want completed by the error path", st)
		}
		if st := state(t, s, ch.ID); st != engine.InstanceCanceled {
			t.Fatalf("child %s, want cancelled", st)
		}
		if got := Trace(t, s, inst.ID, engine.EventCompleted); len(got) == 0 || got[len(got)-2] != "failed:completed" {
			t.Fatalf("parent path %v, want it to end at failed", got)
		}
	})

	t.Run("AJobRunTwiceAtOnceStartsOneChild", func(t *testing.T) {
		e, s, x, _ := setup(t)
		inst, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"n": 1}})
		must(t, err)
		now := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
		jobs, err := s.JobsClaim(ctx, &engine.JobClaimParams{Owner: "a", Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10})
		must(t, err)
		if len(jobs) != 1 || jobs[0].Kind != engine.JobCall || jobs[0].Topic != engine.CallStart {
			t.Fatalf("claimed %+v, want the call's start job", jobs)
		}
		// Two runs of one claim at once, as when a node that was thought
		// dead wakes up: one child, one completed job.
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.RunJob(ctx, jobs[0].ID, "a"); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		ch := childOf(t, s, inst.ID)
		j, err := s.JobGet(ctx, jobs[0].ID)
		must(t, err)
		if j.State != engine.JobCompleted {
			t.Fatalf("start job %s, want completed", j.State)
		}
		runDue(t, x, 0)
		must(t, e.CompleteUserTask(ctx, openTask(t, s, ch.ID).ID, engine.Vars{"fail": false}))
		runDue(t, x, 1)
		if st := state(t, s, inst.ID); st != engine.InstanceCompleted {
			t.Fatalf("parent %s, want completed", st)
		}
	})
}
