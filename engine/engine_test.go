package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

var ctx = context.Background()

var t0 = time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)

// deploy builds an engine over a fresh memory store with the model deployed.
func deploy(t *testing.T, b *bpmntest.Builder) (*engine.Engine, *enginetest.MemStore) {
	t.Helper()
	b.Definitions(t) // fails on validation problems, with the XML
	s := enginetest.NewMemStore()
	e := engine.New(s, engine.Config{NowFunc: func() time.Time { return t0 }})
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "model.bpmn", Data: b.XML()}}}); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return e, s
}

func start(t *testing.T, e *engine.Engine, key string, vars engine.Vars) *engine.Instance {
	t.Helper()
	inst, err := e.Start(ctx, &engine.StartParams{Key: key, Vars: vars})
	if err != nil {
		t.Fatalf("start %s: %v", key, err)
	}
	return inst
}

func state(t *testing.T, s engine.Store, id int64) *engine.LiveState {
	t.Helper()
	st, err := s.InstanceLive(ctx, id)
	if err != nil {
		t.Fatalf("instance %d: %v", id, err)
	}
	return st
}

// active returns the sorted element ids of the live element instances (not the process).
func active(t *testing.T, s engine.Store, id int64) []string {
	t.Helper()
	var ids []string
	for _, ei := range state(t, s, id).ElementInstances {
		if ei.ID != id {
			ids = append(ids, ei.ElementID)
		}
	}
	slices.Sort(ids)
	return ids
}

// openTask returns the only open user task of element elementID.
func openTask(t *testing.T, s engine.Store, id int64, elementID string) *engine.UserTask {
	t.Helper()
	var found []*engine.UserTask
	for _, tk := range state(t, s, id).UserTasks {
		if tk.ElementID == elementID {
			found = append(found, tk)
		}
	}
	if len(found) != 1 {
		t.Fatalf("open tasks of %q: got %d, want 1", elementID, len(found))
	}
	return found[0]
}

func complete(t *testing.T, e *engine.Engine, s engine.Store, id int64, elementID string, vars engine.Vars) {
	t.Helper()
	if err := e.CompleteUserTask(ctx, openTask(t, s, id, elementID).ID, vars); err != nil {
		t.Fatalf("complete %s: %v", elementID, err)
	}
}

func wantState(t *testing.T, s engine.Store, id int64, want engine.InstanceState) {
	t.Helper()
	inst, err := s.InstanceGet(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if inst.State != want {
		t.Fatalf("instance state %s, want %s (active: %v)", inst.State, want, active(t, s, id))
	}
}

func vars(t *testing.T, s engine.Store, id int64) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, v := range state(t, s, id).Variables {
		if v.ScopeID == id {
			out[v.Name] = v.Value
		}
	}
	return out
}

// finalVars rebuilds the last value of each process variable from history:
// an ended instance keeps no live variables.
func finalVars(t *testing.T, s engine.Store, id int64) map[string]any {
	t.Helper()
	hist, err := s.HistoryList(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, ev := range hist {
		if ev.Type == engine.EventVariableSet && ev.Var.ScopeID == id {
			out[ev.Var.Name] = ev.Var.NewValue
		}
	}
	return out
}

func TestSequences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		model *bpmntest.Builder
		vars  engine.Vars
		want  []string
		state engine.InstanceState
	}{
		{
			name:  "NoneStartTasksEnd",
			model: bpmntest.New("p").Start("s").Node("a", "manualTask").Node("b", "task").End("e").Chain("s", "a", "b", "e"),
			want:  []string{"p:activated", "s:activated", "s:completed", "a:activated", "a:completed", "b:activated", "b:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name:  "IntermediateNoneThrowPassesThrough",
			model: bpmntest.New("p").Start("s").Node("t", "intermediateThrowEvent").End("e").Chain("s", "t", "e"),
			want:  []string{"p:activated", "s:activated", "s:completed", "t:activated", "t:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "ParallelForkJoinWaitsForEveryBranch",
			model: bpmntest.New("p").Start("s").Node("fork", "parallelGateway").Node("a", "manualTask").Node("b", "manualTask").
				Node("join", "parallelGateway").End("e").Chain("s", "fork", "a", "join", "e").Chain("fork", "b", "join"),
			want: []string{"p:activated", "s:activated", "s:completed", "fork:activated", "fork:completed",
				"a:activated", "b:activated", "a:completed", "b:completed", "join:activated", "join:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name:  "ImplicitForkFromActivity",
			model: bpmntest.New("p").Start("s").Node("a", "manualTask").End("e1").End("e2").Chain("s", "a", "e1").Flow("a", "e2"),
			want: []string{"p:activated", "s:activated", "s:completed", "a:activated", "a:completed",
				"e1:activated", "e2:activated", "e1:completed", "e2:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "ConditionedFlowsOutOfActivity",
			model: bpmntest.New("p").Start("s").Node("a", "manualTask", bpmntest.Attr("default", "a-e3")).End("e1").End("e2").End("e3").
				Chain("s", "a").FlowIf("a", "e1", "${x > 1}").FlowIf("a", "e2", "${x > 5}").Flow("a", "e3"),
			vars:  engine.Vars{"x": 3},
			want:  []string{"p:activated", "s:activated", "s:completed", "a:activated", "a:completed", "e1:activated", "e1:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "ConvergingExclusivePassesEachToken",
			model: bpmntest.New("p").Start("s").Node("fork", "parallelGateway").Node("merge", "exclusiveGateway").End("e").
				Chain("s", "fork").Flow("fork", "merge").Node("x", "manualTask").Chain("fork", "x", "merge").Flow("merge", "e"),
			want: []string{"p:activated", "s:activated", "s:completed", "fork:activated", "fork:completed",
				"merge:activated", "x:activated", "merge:completed", "x:completed", "e:activated", "merge:activated", "e:completed",
				"merge:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name:  "ActivityWithoutOutgoingFlowEndsItsPath",
			model: bpmntest.New("p").Start("s").Node("a", "manualTask").Chain("s", "a"),
			want:  []string{"p:activated", "s:activated", "s:completed", "a:activated", "a:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "LinkEventsJumpByName",
			model: bpmntest.New("p").Start("s").Node("throw", "intermediateThrowEvent", bpmntest.Link("L")).
				Node("catch", "intermediateCatchEvent", bpmntest.Link("L")).End("e").Chain("s", "throw").Chain("catch", "e"),
			want: []string{"p:activated", "s:activated", "s:completed", "throw:activated", "throw:completed",
				"catch:activated", "catch:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "ExclusiveFirstTrueInDocumentOrder",
			model: bpmntest.New("p").Start("s").Node("g", "exclusiveGateway", bpmntest.Attr("default", "g-c")).End("a").End("b").End("c").
				Chain("s", "g").FlowIf("g", "a", "${x > 1}").FlowIf("g", "b", "${x > 0}").Flow("g", "c"),
			vars:  engine.Vars{"x": 2},
			want:  []string{"p:activated", "s:activated", "s:completed", "g:activated", "g:completed", "a:activated", "a:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "ExclusiveDefaultWhenNoneTrue",
			model: bpmntest.New("p").Start("s").Node("g", "exclusiveGateway", bpmntest.Attr("default", "g-c")).End("a").End("c").
				Chain("s", "g").FlowIf("g", "a", "= x > 1").Flow("g", "c"),
			vars:  engine.Vars{"x": 0},
			want:  []string{"p:activated", "s:activated", "s:completed", "g:activated", "g:completed", "c:activated", "c:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "InclusiveForkByConditions",
			model: bpmntest.New("p").Start("s").Node("g", "inclusiveGateway", bpmntest.Attr("default", "g-c")).End("a").End("b").End("c").
				Chain("s", "g").FlowIf("g", "a", "${x > 1}").FlowIf("g", "b", "${x > 0}").Flow("g", "c"),
			vars: engine.Vars{"x": 2},
			want: []string{"p:activated", "s:activated", "s:completed", "g:activated", "g:completed",
				"a:activated", "b:activated", "a:completed", "b:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "InclusiveDefaultOnly",
			model: bpmntest.New("p").Start("s").Node("g", "inclusiveGateway", bpmntest.Attr("default", "g-c")).End("a").End("c").
				Chain("s", "g").FlowIf("g", "a", "${x > 1}").Flow("g", "c"),
			vars:  engine.Vars{"x": 0},
			want:  []string{"p:activated", "s:activated", "s:completed", "g:activated", "g:completed", "c:activated", "c:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "InclusiveJoinAfterPartialFork",
			model: bpmntest.New("p").Start("s").Node("fork", "inclusiveGateway").Node("a", "manualTask").Node("b", "manualTask").Node("c", "manualTask").
				Node("join", "inclusiveGateway").End("e").Chain("s", "fork").
				FlowIf("fork", "a", "${x > 0}").FlowIf("fork", "b", "${x > 1}").FlowIf("fork", "c", "${x > 5}").
				Chain("a", "join").Chain("b", "join").Chain("c", "join").Chain("join", "e"),
			vars: engine.Vars{"x": 2},
			want: []string{"p:activated", "s:activated", "s:completed", "fork:activated", "fork:completed",
				"a:activated", "b:activated", "a:completed", "b:completed", "join:activated", "join:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "SubProcessWithNestedParallelForks",
			model: bpmntest.New("p").Start("s").Sub("sub", func(b *bpmntest.Builder) {
				b.Start("ss").Node("f1", "parallelGateway").Node("f2", "parallelGateway").Node("a", "manualTask").Node("b", "manualTask").Node("c", "manualTask").
					Node("j2", "parallelGateway").Node("j1", "parallelGateway").End("se").
					Chain("ss", "f1", "f2", "a", "j2", "j1", "se").Chain("f2", "b", "j2").Chain("f1", "c", "j1")
			}).End("e").Chain("s", "sub", "e"),
			want: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"f1:activated", "f1:completed", "f2:activated", "c:activated", "f2:completed", "c:completed",
				"a:activated", "b:activated", "a:completed", "b:completed", "j2:activated", "j2:completed",
				"j1:activated", "j1:completed", "se:activated", "se:completed", "sub:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "SubProcessWithoutEndEventCompletes",
			model: bpmntest.New("p").Start("s").Sub("sub", func(b *bpmntest.Builder) {
				b.Start("ss").Node("a", "manualTask").Chain("ss", "a")
			}).End("e").Chain("s", "sub", "e"),
			want: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"a:activated", "a:completed", "sub:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "ScriptTaskExpressionSetsResult",
			model: bpmntest.New("p").Start("s").Node("calc", "scriptTask", bpmntest.Attr("scriptFormat", "juel"), bpmntest.Attr("camunda:resultVariable", "y"),
				bpmntest.Inner("<bpmn:script>${x * 2}</bpmn:script>")).
				Node("g", "exclusiveGateway", bpmntest.Attr("default", "g-b")).End("a").End("b").Chain("s", "calc", "g").FlowIf("g", "a", "${y == 8}").Flow("g", "b"),
			vars:  engine.Vars{"x": 4},
			want:  []string{"p:activated", "s:activated", "s:completed", "calc:activated", "calc:completed", "g:activated", "g:completed", "a:activated", "a:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s := deploy(t, tt.model)
			inst := start(t, e, "p", tt.vars)
			enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), tt.want)
			wantState(t, s, inst.ID, tt.state)
		})
	}
}

func TestTerminateEndEvent(t *testing.T) {
	t.Parallel()
	t.Run("AtTopLevelEndsTheInstance", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").Node("wait", "userTask").End("kill", bpmntest.Terminate()).
			Chain("s", "fork", "wait").Chain("fork", "kill"))
		inst := start(t, e, "p", nil)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"fork:activated", "fork:completed", "wait:activated", "kill:activated", "kill:completed", "wait:terminated", "p:completed"})
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		tasks, _ := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
		if len(tasks) != 1 || tasks[0].State != engine.TaskCanceled {
			t.Fatalf("user task after terminate: %+v, want one canceled", tasks)
		}
	})
	t.Run("InSubProcessEndsOnlyTheSubProcess", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").Node("outside", "userTask").
			Sub("sub", func(b *bpmntest.Builder) {
				b.Start("ss").Node("f", "parallelGateway").Node("inner", "userTask").End("kill", bpmntest.Terminate()).Chain("ss", "f", "inner").Chain("f", "kill")
			}).Node("after", "userTask").End("e1").End("e2").
			Chain("s", "fork", "sub", "after", "e1").Chain("fork", "outside", "e2"))
		inst := start(t, e, "p", nil)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"fork:activated", "fork:completed", "sub:activated", "outside:activated", "ss:activated", "ss:completed",
			"f:activated", "f:completed", "inner:activated", "kill:activated", "kill:completed", "inner:terminated",
			"sub:completed", "after:activated"})
		if got := active(t, s, inst.ID); !slices.Equal(got, []string{"after", "outside"}) {
			t.Fatalf("active %v, want [after outside]", got)
		}
		wantState(t, s, inst.ID, engine.InstanceActive)
	})
}

func TestUserTask(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("p").Start("s").
		Node("review", "userTask", bpmntest.Attr("camunda:assignee", "${owner}"), bpmntest.Attr("camunda:candidateGroups", "sales, ${region}-sales"),
			bpmntest.Attr("camunda:dueDate", "P2D"), bpmntest.Attr("camunda:priority", "${prio}"), bpmntest.Attr("camunda:formKey", "app:review")).
		Node("g", "exclusiveGateway", bpmntest.Attr("default", "g-no")).End("yes").End("no").
		Chain("s", "review", "g").FlowIf("g", "yes", "${approved}").Flow("g", "no")

	t.Run("AssignmentFromExpressionsThenComplete", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		inst := start(t, e, "p", engine.Vars{"owner": "ann", "region": "eu", "prio": 70})
		tk := openTask(t, s, inst.ID, "review")
		due := t0.Add(48 * time.Hour)
		if tk.Assignee != "ann" || !slices.Equal(tk.CandidateGroups, []string{"sales", "eu-sales"}) || tk.Priority != 70 ||
			tk.DueDate == nil || !tk.DueDate.Equal(due) || tk.FormKey != "app:review" {
			t.Fatalf("task %+v", tk)
		}
		if err := e.CompleteUserTask(ctx, tk.ID, engine.Vars{"approved": true}); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		got := enginetest.Trace(t, s, inst.ID)
		if !slices.Contains(got, "yes:completed") {
			t.Fatalf("trace %v, want yes:completed", got)
		}
	})

	t.Run("CompletingTwiceIsAConflictAndChangesNothing", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, bpmntest.New("p").Start("s").Node("a", "userTask").Node("b", "userTask").End("e").Chain("s", "a", "b", "e"))
		inst := start(t, e, "p", nil)
		tk := openTask(t, s, inst.ID, "a")
		if err := e.CompleteUserTask(ctx, tk.ID, nil); err != nil {
			t.Fatal(err)
		}
		before := len(enginetest.Trace(t, s, inst.ID, engine.EventActivated))
		err := e.CompleteUserTask(ctx, tk.ID, engine.Vars{"x": 1})
		if !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("second completion: %v, want ErrConflict", err)
		}
		if !strings.Contains(err.Error(), "already completed") {
			t.Fatalf("message %q does not say the task is already completed", err)
		}
		if after := len(enginetest.Trace(t, s, inst.ID, engine.EventActivated)); after != before {
			t.Fatalf("history grew from %d to %d", before, after)
		}
		if _, ok := vars(t, s, inst.ID)["x"]; ok {
			t.Fatal("variable x was written by a failed command")
		}
	})

	t.Run("UnknownTaskIsNotFound", func(t *testing.T) {
		t.Parallel()
		e, _ := deploy(t, model)
		if err := e.CompleteUserTask(ctx, 987654, nil); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})

	t.Run("WrongVariableTypeForConditionFailsAndChangesNothing", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		inst := start(t, e, "p", engine.Vars{"owner": "ann", "region": "eu", "prio": 1})
		tk := openTask(t, s, inst.ID, "review")
		err := e.CompleteUserTask(ctx, tk.ID, engine.Vars{"approved": "yes"})
		var vte *engine.VariableTypeError
		if !errors.As(err, &vte) || !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("got %v, want a VariableTypeError", err)
		}
		if vte.ElementID != "g" {
			t.Fatalf("error names element %q, want g", vte.ElementID)
		}
		if got := openTask(t, s, inst.ID, "review"); got.ID != tk.ID {
			t.Fatal("task changed")
		}
		if _, ok := vars(t, s, inst.ID)["approved"]; ok {
			t.Fatal("variable approved was written by a failed command")
		}
	})

	t.Run("UnsupportedVariableTypeIsInvalid", func(t *testing.T) {
		t.Parallel()
		e, _ := deploy(t, model)
		_, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"ch": make(chan int)}})
		if !errors.Is(err, engine.ErrInvalid) || !strings.Contains(err.Error(), "variable ch") {
			t.Fatalf("got %v, want ErrInvalid naming variable ch", err)
		}
	})
}

func TestExclusiveGatewayIncidentRetry(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Node("g", "exclusiveGateway").End("big").End("small").
		Chain("s", "g").FlowIf("g", "big", "${amount > 1000}").FlowIf("g", "small", "${amount <= 100}"))
	inst := start(t, e, "p", engine.Vars{"amount": 500})

	incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].ElementID != "g" || incs[0].Type != engine.IncidentConditionNoMatch {
		t.Fatalf("incidents %+v, want one conditionNoMatch at g", incs)
	}
	wantState(t, s, inst.ID, engine.InstanceActive)

	// Retrying without a change raises the same incident again.
	if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	again, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
	if len(again) != 1 || again[0].ID == incs[0].ID {
		t.Fatalf("after a plain retry: %+v, want one new incident", again)
	}
	if err := e.RetryIncident(ctx, incs[0].ID, 0); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("retrying a resolved incident: %v, want ErrConflict", err)
	}

	if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, Vars: engine.Vars{"amount": 5000}}); err != nil {
		t.Fatal(err)
	}
	if err := e.RetryIncident(ctx, again[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, engine.EventCompleted, engine.EventIncidentCreated, engine.EventIncidentResolved),
		[]string{"s:completed", "g:incidentCreated", "g:incidentResolved", "g:incidentCreated", "g:incidentResolved", "g:completed", "big:completed", "p:completed"})
}

func TestUnknownVariableInConditionIsAnIncident(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Node("g", "exclusiveGateway", bpmntest.Attr("default", "g-b")).End("a").End("b").
		Chain("s", "g").FlowIf("g", "a", "${missing > 1}").Flow("g", "b"))
	inst := start(t, e, "p", nil)
	incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID})
	if len(incs) != 1 || incs[0].Type != engine.IncidentExpression || !strings.Contains(incs[0].Message, "missing") {
		t.Fatalf("incidents %+v, want one naming the unknown variable", incs)
	}
}

func TestServiceTasks(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("p").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e").Chain("s", "charge", "e")

	t.Run("GoHandlerRunsInTheCommand", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		var seen engine.Vars
		e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			seen = j.Variables()
			return engine.Vars{"receipt": "r-1"}, nil
		})
		inst := start(t, e, "p", engine.Vars{"amount": 10})
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		if seen["amount"] != int64(10) {
			t.Fatalf("handler saw %v", seen)
		}
		hist, _ := s.HistoryList(ctx, inst.ID)
		var receipt any
		for _, ev := range hist {
			if ev.Type == engine.EventVariableSet && ev.Var.Name == "receipt" {
				receipt = ev.Var.NewValue
			}
		}
		if receipt != "r-1" {
			t.Fatalf("receipt in history: %v", receipt)
		}
		// The job lived and ended inside the command: history has it, the
		// store has no row of it.
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, engine.EventJobCreated, engine.EventJobCompleted),
			[]string{"charge:jobCreated", "charge:jobCompleted"})
		if jobs, _ := s.JobList(ctx, &engine.JobListParams{InstanceID: inst.ID}); len(jobs) != 0 {
			t.Fatalf("jobs %+v, want no row for a job completed in its own command", jobs)
		}
	})

	t.Run("ExternalJobCompleted", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		inst := start(t, e, "p", nil)
		jobs, _ := s.JobList(ctx, &engine.JobListParams{InstanceID: inst.ID, State: engine.JobActive})
		if len(jobs) != 1 || jobs[0].Topic != "charge" || jobs[0].Retries != engine.JobRetriesDefault {
			t.Fatalf("jobs %+v", jobs)
		}
		if err := e.CompleteJob(ctx, jobs[0].ID, engine.Vars{"ok": true}); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		if err := e.CompleteJob(ctx, jobs[0].ID, nil); !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("second completion: %v, want ErrConflict", err)
		}
	})

	t.Run("FailJobToZeroRetriesIsAnIncident", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		inst := start(t, e, "p", nil)
		jobs, _ := s.JobList(ctx, &engine.JobListParams{InstanceID: inst.ID})
		if err := e.FailJob(ctx, jobs[0].ID, &engine.FailJobParams{Message: "timeout", Retries: 1}); err != nil {
			t.Fatal(err)
		}
		if incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID}); len(incs) != 0 {
			t.Fatalf("incident with a retry left: %+v", incs)
		}
		if err := e.FailJob(ctx, jobs[0].ID, &engine.FailJobParams{Message: "timeout", Retries: 0}); err != nil {
			t.Fatal(err)
		}
		incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID})
		if len(incs) != 1 || incs[0].JobID != jobs[0].ID {
			t.Fatalf("incidents %+v", incs)
		}
		if err := e.RetryIncident(ctx, incs[0].ID, 3); err != nil {
			t.Fatal(err)
		}
		j, _ := s.JobGet(ctx, jobs[0].ID)
		if j.State != engine.JobActive || j.Retries != 3 {
			t.Fatalf("job after retry %+v", j)
		}
		if err := e.CompleteJob(ctx, j.ID, nil); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})

	t.Run("UncaughtBPMNErrorIsAnIncident", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			return nil, &engine.BPMNError{Code: "DECLINED"}
		})
		inst := start(t, e, "p", nil)
		incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID})
		if len(incs) != 1 || incs[0].Type != engine.IncidentUnhandledError || !strings.Contains(incs[0].Message, "DECLINED") {
			t.Fatalf("incidents %+v", incs)
		}
	})
}

func TestReceiveTaskTrigger(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Node("wait", "receiveTask").End("e").Chain("s", "wait", "e"))
	inst := start(t, e, "p", nil)
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"wait"}) {
		t.Fatalf("active %v", got)
	}
	if err := e.Trigger(ctx, &engine.TriggerParams{InstanceID: inst.ID, ElementID: "nope"}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("trigger of unknown element: %v", err)
	}
	if err := e.Trigger(ctx, &engine.TriggerParams{InstanceID: inst.ID, ElementID: "wait", Vars: engine.Vars{"paid": true}}); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	if err := e.Trigger(ctx, &engine.TriggerParams{InstanceID: inst.ID, ElementID: "wait"}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("trigger on a completed instance: %v, want ErrConflict", err)
	}
}

func TestSubProcessVariableScope(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Sub("sub", func(b *bpmntest.Builder) {
		b.Start("ss").Node("inner", "userTask").End("se").Chain("ss", "inner", "se")
	}, bpmntest.Input("local", "${x + 1}"), bpmntest.Output("result", "${local * 10}")).
		Node("after", "userTask").End("e").Chain("s", "sub", "after", "e"))
	inst := start(t, e, "p", engine.Vars{"x": 1})
	st := state(t, s, inst.ID)
	var local *engine.Variable
	for _, v := range st.Variables {
		if v.Name == "local" {
			local = v
		}
	}
	if local == nil || local.ScopeID == inst.ID || local.Value != int64(2) {
		t.Fatalf("local variable %+v, want 2 in the sub-process scope", local)
	}
	// A variable set inside the sub-process where it exists stays local.
	complete(t, e, s, inst.ID, "inner", engine.Vars{"local": 5, "fresh": "yes"})
	got := vars(t, s, inst.ID)
	if _, leaked := got["local"]; leaked {
		t.Fatalf("sub-process local leaked to the process: %v", got)
	}
	if got["result"] != int64(50) || got["fresh"] != "yes" {
		t.Fatalf("process variables %v, want result 50 and fresh", got)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").Node("a", "userTask").Node("b", "serviceTask", bpmntest.Topic("x")).
		Chain("s", "fork", "a").Chain("fork", "b"))
	inst := start(t, e, "p", nil)
	if err := e.Cancel(ctx, inst.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, inst.ID, engine.InstanceCanceled)
	if got := active(t, s, inst.ID); len(got) != 0 {
		t.Fatalf("active after cancel: %v", got)
	}
	jobs, _ := s.JobList(ctx, &engine.JobListParams{InstanceID: inst.ID})
	if len(jobs) != 1 || jobs[0].State != engine.JobCanceled {
		t.Fatalf("jobs %+v", jobs)
	}
	if err := e.Cancel(ctx, inst.ID); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("second cancel: %v, want ErrConflict", err)
	}
	if err := e.Cancel(ctx, 424242); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("cancel unknown: %v, want ErrNotFound", err)
	}
}

func TestDeploy(t *testing.T) {
	t.Parallel()
	s := enginetest.NewMemStore()
	e := engine.New(s, engine.Config{})
	v1 := bpmntest.New("p").Start("s").End("e").Chain("s", "e").XML()
	v2 := bpmntest.New("p").Start("s").Node("a", "manualTask").End("e").Chain("s", "a", "e").XML()
	dep := func(xml []byte) *engine.Deployment {
		t.Helper()
		d, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "p.bpmn", Data: xml}}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d1 := dep(v1)
	if d1.Definitions[0].Version != 1 {
		t.Fatalf("first version %d", d1.Definitions[0].Version)
	}
	if again := dep(v1); again.Definitions[0].ID != d1.Definitions[0].ID || again.ID != d1.ID {
		t.Fatalf("identical content made a new version: %+v", again.Definitions[0])
	}
	d2 := dep(v2)
	if d2.Definitions[0].Version != 2 {
		t.Fatalf("changed content: version %d, want 2", d2.Definitions[0].Version)
	}
	inst, err := e.Start(ctx, &engine.StartParams{Key: "p", Version: 1})
	if err != nil || inst.Version != 1 {
		t.Fatalf("start version 1: %+v %v", inst, err)
	}
	if inst := start(t, e, "p", nil); inst.Version != 2 {
		t.Fatalf("start latest: version %d", inst.Version)
	}
	if _, err := e.Start(ctx, &engine.StartParams{Key: "nope"}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}

	bad := bpmntest.New("q").Start("s").Node("g", "exclusiveGateway").End("a").End("b").Chain("s", "g").Flow("g", "a").FlowIf("g", "b", "${x}").XML()
	_, err = e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "q.bpmn", Data: bad}}})
	var de *engine.DeployError
	if !errors.As(err, &de) || !errors.Is(err, engine.ErrInvalid) || len(de.Problems) == 0 || de.Problems[0].ElementID != "g" {
		t.Fatalf("invalid model: %v", err)
	}
	if _, err := e.Start(ctx, &engine.StartParams{Key: "q"}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("an invalid model was deployed: %v", err)
	}

	// What the engine does not execute yet deploys, with a warning naming it.
	timer := bpmntest.New("t").Start("s").Node("wait", "complexGateway").End("e").Chain("s", "wait", "e").XML()
	dt, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "t.bpmn", Data: timer}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dt.Warnings) != 1 || dt.Warnings[0].ElementID != "wait" || !strings.Contains(dt.Warnings[0].Message, "not executed yet") {
		t.Fatalf("warnings %+v", dt.Warnings)
	}
}

func TestLongChainRunsIteratively(t *testing.T) {
	t.Parallel()
	const n = 10000
	b := bpmntest.New("p").Start("s")
	ids := []string{"s"}
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		b.Node(id, "manualTask")
		ids = append(ids, id)
	}
	b.End("e")
	b.Chain(append(ids, "e")...)
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	if got := len(enginetest.Trace(t, s, inst.ID, engine.EventCompleted)); got != n+3 {
		t.Fatalf("%d completions, want %d", got, n+3)
	}
}

func TestServiceLikeKindsCreateJobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind  string
		opts  []bpmntest.Opt
		topic string
	}{
		{"serviceTask", []bpmntest.Opt{bpmntest.Topic("pay")}, "pay"},
		{"sendTask", []bpmntest.Opt{bpmntest.Topic("mail")}, "mail"},
		{"businessRuleTask", []bpmntest.Opt{bpmntest.Topic("score")}, "score"},
		{"serviceTask", []bpmntest.Opt{bpmntest.Inner(`<bpmn:extensionElements><zeebe:taskDefinition type="z-${x}" retries="5"/></bpmn:extensionElements>`)}, "z-1"},
		{"serviceTask", []bpmntest.Opt{bpmntest.Attr("camunda:class", "org.example.Pay")}, "work"},
		{"scriptTask", []bpmntest.Opt{bpmntest.Attr("scriptFormat", "groovy"), bpmntest.Inner("<bpmn:script>println 1</bpmn:script>")}, "work"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.topic, func(t *testing.T) {
			t.Parallel()
			e, s := deploy(t, bpmntest.New("p").Start("s").Node("work", tt.kind, tt.opts...).End("e").Chain("s", "work", "e"))
			inst := start(t, e, "p", engine.Vars{"x": 1})
			jobs, _ := s.JobList(ctx, &engine.JobListParams{InstanceID: inst.ID})
			if len(jobs) != 1 || jobs[0].Topic != tt.topic {
				t.Fatalf("jobs %+v, want one of topic %q", jobs, tt.topic)
			}
			if err := e.CompleteJob(ctx, jobs[0].ID, nil); err != nil {
				t.Fatal(err)
			}
			enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, engine.EventJobCreated, engine.EventJobCompleted, engine.EventCompleted),
				[]string{"s:completed", "work:jobCreated", "work:jobCompleted", "work:completed", "e:completed", "p:completed"})
		})
	}
}

func TestZeebeIOMapping(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Node("calc", "serviceTask", bpmntest.Inner(`<bpmn:extensionElements>
		<zeebe:taskDefinition type="calc"/>
		<zeebe:ioMapping><zeebe:input source="=order.amount * 2" target="doubled"/><zeebe:output source="=doubled + result" target="total"/><zeebe:output source="=now()" target="at"/></zeebe:ioMapping>
	</bpmn:extensionElements>`)).End("e").Chain("s", "calc", "e"))
	var seen any
	e.RegisterHandler("calc", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
		seen = j.Variables()["doubled"]
		return engine.Vars{"result": 1}, nil
	})
	inst := start(t, e, "p", engine.Vars{"order": map[string]any{"amount": 21}})
	if seen != int64(42) {
		t.Fatalf("handler saw doubled=%v, want 42", seen)
	}
	if live := vars(t, s, inst.ID); len(live) != 0 {
		t.Fatalf("completed instance keeps live variables %v", live)
	}
	got := finalVars(t, s, inst.ID)
	if at, ok := got["at"].(time.Time); !ok || !at.Equal(t0) {
		t.Fatalf("now() gave %v, want the command time %v", got["at"], t0)
	}
	if got["total"] != int64(43) {
		t.Fatalf("total %v, want 43", got["total"])
	}
	if _, leaked := got["doubled"]; leaked {
		t.Fatal("input variable leaked to the process scope")
	}
}

func TestUnsupportedElementRaisesIncident(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Node("wait", "complexGateway").End("e").Chain("s", "wait", "e"))
	inst := start(t, e, "p", nil)
	incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID})
	if len(incs) != 1 || incs[0].ElementID != "wait" || !strings.Contains(incs[0].Message, "not executed yet") {
		t.Fatalf("incidents %+v", incs)
	}
}

// TestConcurrentCommands runs commands from many goroutines at once: the
// engine's pooled commands and id blocks must not mix instances (run with -race).
func TestConcurrentCommands(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").
		Node("a", "serviceTask", bpmntest.Topic("work")).Node("b", "userTask").Node("join", "parallelGateway").End("e").
		Chain("s", "fork", "a", "join", "e").Chain("fork", "b", "join"))
	e.RegisterHandler("work", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
		return engine.Vars{"seen": j.Variables()["n"]}, nil
	})
	const workers, each = 8, 25
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				n := int64(w*each + i)
				inst, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: engine.Vars{"n": n}})
				if err != nil {
					errs <- err
					return
				}
				tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
				if err != nil || len(tasks) != 1 {
					errs <- fmt.Errorf("instance %d: tasks %v, %v", inst.ID, tasks, err)
					return
				}
				if err := e.CompleteUserTask(ctx, tasks[0].ID, nil); err != nil {
					errs <- err
					return
				}
				if got := finalVars(t, s, inst.ID)["seen"]; got != n {
					errs <- fmt.Errorf("instance %d: handler saw n=%v, want %d", inst.ID, got, n)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	done, _ := s.InstanceList(ctx, &engine.InstanceListParams{State: engine.InstanceCompleted, Page: engine.Page{Limit: 1000}})
	if len(done) != workers*each {
		t.Fatalf("%d instances completed, want %d", len(done), workers*each)
	}
}

func TestInclusiveJoinWaitsForTokensThatCanStillArrive(t *testing.T) {
	t.Parallel()
	// fork → a (user task) → join; fork → b (manual) → join; fork → c (user
	// task) → x (exclusive) → join or → away (end). The join fires once a and
	// c's token have arrived or can no longer arrive.
	model := bpmntest.New("p").Start("s").Node("fork", "inclusiveGateway").
		Node("a", "userTask").Node("b", "manualTask").Node("c", "userTask").
		Node("x", "exclusiveGateway", bpmntest.Attr("default", "x-join")).End("away").
		Node("join", "inclusiveGateway").Node("after", "userTask").
		Chain("s", "fork").FlowIf("fork", "a", "${true}").FlowIf("fork", "b", "${true}").FlowIf("fork", "c", "${true}").
		Chain("a", "join").Chain("b", "join").Chain("c", "x").FlowIf("x", "away", "${leave}").Flow("x", "join").Chain("join", "after")

	t.Run("AllArrive", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		inst := start(t, e, "p", nil)
		if got := active(t, s, inst.ID); !slices.Equal(got, []string{"a", "c"}) {
			t.Fatalf("active %v, want [a c] (b's token waits at the join)", got)
		}
		complete(t, e, s, inst.ID, "a", nil)
		if got := active(t, s, inst.ID); !slices.Equal(got, []string{"c"}) {
			t.Fatalf("join fired early: active %v", got)
		}
		complete(t, e, s, inst.ID, "c", engine.Vars{"leave": false})
		if got := active(t, s, inst.ID); !slices.Equal(got, []string{"after"}) {
			t.Fatalf("active %v, want [after]", got)
		}
		joins := 0
		for _, ev := range enginetest.Trace(t, s, inst.ID, engine.EventCompleted) {
			if ev == "join:completed" {
				joins++
			}
		}
		if joins != 1 {
			t.Fatalf("join completed %d times, want once", joins)
		}
	})
	t.Run("ATokenThatLeavesReleasesTheJoin", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model)
		inst := start(t, e, "p", nil)
		complete(t, e, s, inst.ID, "a", nil)
		complete(t, e, s, inst.ID, "c", engine.Vars{"leave": true})
		if got := active(t, s, inst.ID); !slices.Equal(got, []string{"after"}) {
			t.Fatalf("active %v, want [after]: c's token went away, so the join must fire", got)
		}
	})
}
