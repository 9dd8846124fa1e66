package engine_test

import (
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// waitUntil waits at conditional catch event "wait" (with opts) before user task "next".
func waitUntil(condition string, attrs ...string) *bpmntest.Builder {
	return bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Conditional(condition, attrs...)).
		Node("next", "userTask").End("e").Chain("s", "wait", "next", "e")
}

// wantWaiting checks that the only live element is elementID.
func wantWaiting(t *testing.T, s engine.Store, id int64, elementID string) {
	t.Helper()
	if got := active(t, s, id); len(got) != 1 || got[0] != elementID {
		t.Fatalf("active %v, want %s waiting", got, elementID)
	}
}

func TestConditionalCatchEvent(t *testing.T) {
	t.Parallel()

	t.Run("TrueWhenReachedPassesAtOnce", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, waitUntil("${x > 1}"))
		inst := start(t, e, "p", engine.Vars{"x": int64(5)})
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"wait:activated", "wait:completed", "next:activated"})
	})

	t.Run("WaitsThenFiresOnSetVariables", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, waitUntil("${x > 1}"))
		inst := start(t, e, "p", engine.Vars{"x": int64(0)})
		wantWaiting(t, s, inst.ID, "wait")
		setVars(t, e, inst.ID, engine.Vars{"x": int64(1)})
		wantWaiting(t, s, inst.ID, "wait")
		setVars(t, e, inst.ID, engine.Vars{"x": int64(2)})
		wantOpenTasks(t, s, inst.ID, "next")
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"wait:activated", "wait:completed", "next:activated"})
	})

	t.Run("FiresOnTaskAndJobVariables", func(t *testing.T) {
		t.Parallel()
		// A parallel branch completes a task and a job with variables; the
		// catch event on the other branch sees them.
		e, s := deploy(t, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").
			Node("wait", "intermediateCatchEvent", bpmntest.Conditional("${approved && charged}")).End("e1").
			Node("review", "userTask").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e2").
			Chain("s", "fork", "wait", "e1").Chain("fork", "review", "charge", "e2"))
		inst := start(t, e, "p", engine.Vars{"approved": false, "charged": false})
		complete(t, e, s, inst.ID, "review", engine.Vars{"approved": true})
		if got := active(t, s, inst.ID); len(got) != 2 {
			t.Fatalf("active %v, want wait and charge", got)
		}
		jobs := jobsOf(t, s, inst.ID, engine.JobActive)
		if len(jobs) != 1 {
			t.Fatalf("jobs %+v", jobs)
		}
		if err := e.CompleteJob(ctx, jobs[0].ID, engine.Vars{"charged": true}); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})

	t.Run("FiresOnMessageVariables", func(t *testing.T) {
		t.Parallel()
		e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "stock", "").Start("s").Node("fork", "parallelGateway").
			Node("wait", "intermediateCatchEvent", bpmntest.Conditional("${stock > 0}")).End("e1").
			Node("restock", "intermediateCatchEvent", bpmntest.MessageRef("m")).End("e2").
			Chain("s", "fork", "wait", "e1").Chain("fork", "restock", "e2"))
		inst := start(t, e, "p", engine.Vars{"stock": int64(0)})
		correlate(t, e, &engine.MessageParams{Name: "stock", Vars: engine.Vars{"stock": int64(3)}})
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})

	t.Run("VariableNameFilter", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, waitUntil("${x > 1}", `camunda:variableName="go"`))
		inst := start(t, e, "p", engine.Vars{"x": int64(0)})
		setVars(t, e, inst.ID, engine.Vars{"x": int64(5)})
		wantWaiting(t, s, inst.ID, "wait") // x is not the variable it listens to
		setVars(t, e, inst.ID, engine.Vars{"go": "now"})
		wantOpenTasks(t, s, inst.ID, "next")
	})

	t.Run("VariableEventsFilter", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, waitUntil("${x > 1}", `camunda:variableEvents="create"`))
		inst := start(t, e, "p", engine.Vars{"x": int64(0)})
		setVars(t, e, inst.ID, engine.Vars{"x": int64(5)})
		wantWaiting(t, s, inst.ID, "wait") // an update, not a create
		setVars(t, e, inst.ID, engine.Vars{"y": true})
		wantOpenTasks(t, s, inst.ID, "next")

		e, s = deploy(t, waitUntil("${x > 1}", `camunda:variableEvents="update, delete"`))
		inst = start(t, e, "p", nil)
		if incs := incidentsOf(t, s, inst.ID); len(incs) != 1 {
			t.Fatalf("incidents %+v, want x unknown", incs)
		}
		// An incident stops the event until it is retried.
		setVars(t, e, inst.ID, engine.Vars{"x": int64(0)})
		if err := e.RetryIncident(ctx, incidentsOf(t, s, inst.ID)[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		wantWaiting(t, s, inst.ID, "wait")
		setVars(t, e, inst.ID, engine.Vars{"z": int64(9)})
		wantWaiting(t, s, inst.ID, "wait") // a create, not an update
		setVars(t, e, inst.ID, engine.Vars{"x": int64(2)})
		wantOpenTasks(t, s, inst.ID, "next")
	})

	t.Run("FailingConditionIsAnIncident", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, waitUntil("${x}"))
		inst := start(t, e, "p", engine.Vars{"x": int64(3)})
		incs := incidentsOf(t, s, inst.ID)
		if len(incs) != 1 || incs[0].ElementID != "wait" || incs[0].Type != engine.IncidentExpression || !strings.Contains(incs[0].Message, `"${x}"`) {
			t.Fatalf("incidents %+v, want one on wait naming ${x}", incs)
		}
		setVars(t, e, inst.ID, engine.Vars{"x": true})
		wantWaiting(t, s, inst.ID, "wait") // not evaluated while the incident is open
		if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		wantOpenTasks(t, s, inst.ID, "next")
	})
}

// guarded is a user task "task" with a conditional boundary event "guard".
func guarded(condition string, interrupting bool) *bpmntest.Builder {
	return bpmntest.New("p").Start("s").Node("task", "userTask").End("done").
		Node("guard", "boundaryEvent", bpmntest.Boundary("task", interrupting), bpmntest.Conditional(condition)).Node("handle", "userTask").End("handled").
		Chain("s", "task", "done").Chain("guard", "handle", "handled")
}

func TestConditionalBoundaryEvent(t *testing.T) {
	t.Parallel()

	t.Run("Interrupting", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, guarded("${cancel}", true))
		inst := start(t, e, "p", engine.Vars{"cancel": false})
		wantOpenTasks(t, s, inst.ID, "task")
		setVars(t, e, inst.ID, engine.Vars{"cancel": true})
		wantOpenTasks(t, s, inst.ID, "handle")
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed", "task:activated",
			"task:terminated", "guard:activated", "guard:completed", "handle:activated"})
	})

	t.Run("InterruptingTrueOnEntry", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, guarded("${cancel}", true))
		inst := start(t, e, "p", engine.Vars{"cancel": true})
		wantOpenTasks(t, s, inst.ID, "handle")
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed", "task:activated",
			"task:terminated", "guard:activated", "guard:completed", "handle:activated"})
	})

	t.Run("NonInterruptingFiresOnEachRise", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, guarded("${n > 0}", false))
		inst := start(t, e, "p", engine.Vars{"n": int64(0)})
		setVars(t, e, inst.ID, engine.Vars{"n": int64(1)})
		wantOpenTasks(t, s, inst.ID, "handle", "task")
		setVars(t, e, inst.ID, engine.Vars{"n": int64(2)}) // still true: no new rise
		setVars(t, e, inst.ID, engine.Vars{"n": int64(0)})
		setVars(t, e, inst.ID, engine.Vars{"n": int64(3)}) // false → true again
		wantOpenTasks(t, s, inst.ID, "handle", "handle", "task")
		complete(t, e, s, inst.ID, "task", nil)
		setVars(t, e, inst.ID, engine.Vars{"n": int64(0)})
		setVars(t, e, inst.ID, engine.Vars{"n": int64(4)}) // the task is gone, and its boundary event with it
		wantOpenTasks(t, s, inst.ID, "handle", "handle")
		completeAll(t, e, s, inst.ID)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})

	t.Run("TaskCompletedWithVariablesLeavesFirst", func(t *testing.T) {
		t.Parallel()
		// Conditions are evaluated once every token waits: the task has
		// completed by then, and its boundary event no longer waits.
		e, s := deploy(t, guarded("${cancel}", true))
		inst := start(t, e, "p", engine.Vars{"cancel": false})
		complete(t, e, s, inst.ID, "task", engine.Vars{"cancel": true})
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed", "task:activated",
			"task:completed", "done:activated", "done:completed", "p:completed"})
	})

	t.Run("FailingConditionIsAnIncidentOnTheActivity", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, guarded("${limit < amount}", true))
		inst := start(t, e, "p", engine.Vars{"amount": int64(5)})
		incs := incidentsOf(t, s, inst.ID)
		if len(incs) != 1 || incs[0].ElementID != "guard" || !strings.Contains(incs[0].Message, "limit") || !strings.Contains(incs[0].Message, "${limit < amount}") {
			t.Fatalf("incidents %+v, want one on guard naming the expression", incs)
		}
		wantOpenTasks(t, s, inst.ID, "task") // the task waits on
		setVars(t, e, inst.ID, engine.Vars{"limit": int64(1)})
		wantOpenTasks(t, s, inst.ID, "task") // not evaluated while the incident is open
		if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		wantOpenTasks(t, s, inst.ID, "handle")
		if incs := incidentsOf(t, s, inst.ID); len(incs) != 0 {
			t.Fatalf("incidents %+v, want none", incs)
		}

		// One whose task completes is resolved.
		other := start(t, e, "p", engine.Vars{"amount": int64(5)})
		complete(t, e, s, other.ID, "task", nil)
		wantState(t, s, other.ID, engine.InstanceCompleted)
		if incs := incidentsOf(t, s, other.ID); len(incs) != 0 {
			t.Fatalf("incidents %+v, want the stale one resolved", incs)
		}
	})
}

func TestConditionalEventSubProcess(t *testing.T) {
	t.Parallel()
	espModel := func(condition string, interrupting bool) *bpmntest.Builder {
		opts := []bpmntest.Opt{bpmntest.Conditional(condition)}
		if !interrupting {
			opts = append(opts, bpmntest.Attr("isInterrupting", "false"))
		}
		return bpmntest.New("p").Start("s").Node("task", "userTask").End("e").Chain("s", "task", "e").
			Sub("esp", func(b *bpmntest.Builder) {
				b.Start("es", opts...).Node("handle", "userTask").End("ee").Chain("es", "handle", "ee")
			}, bpmntest.Attr("triggeredByEvent", "true"))
	}

	t.Run("Interrupting", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, espModel("${abort}", true))
		inst := start(t, e, "p", engine.Vars{"abort": false})
		setVars(t, e, inst.ID, engine.Vars{"abort": true})
		wantOpenTasks(t, s, inst.ID, "handle")
		// Interrupted, the scope's event sub-processes wait no more.
		setVars(t, e, inst.ID, engine.Vars{"abort": false})
		setVars(t, e, inst.ID, engine.Vars{"abort": true})
		wantOpenTasks(t, s, inst.ID, "handle")
		complete(t, e, s, inst.ID, "handle", nil)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed", "task:activated",
			"task:terminated", "esp:activated", "es:activated", "es:completed", "handle:activated", "handle:completed",
			"ee:activated", "ee:completed", "esp:completed", "p:completed"})
	})

	t.Run("NonInterrupting", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, espModel("${n > 1}", false))
		inst := start(t, e, "p", engine.Vars{"n": int64(2)}) // true when the scope starts
		wantOpenTasks(t, s, inst.ID, "handle", "task")
		setVars(t, e, inst.ID, engine.Vars{"n": int64(3)}) // still true
		wantOpenTasks(t, s, inst.ID, "handle", "task")
		setVars(t, e, inst.ID, engine.Vars{"n": int64(0)})
		setVars(t, e, inst.ID, engine.Vars{"n": int64(5)})
		wantOpenTasks(t, s, inst.ID, "handle", "handle", "task")
		completeAll(t, e, s, inst.ID)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})

	t.Run("InSubProcessSeesOnlyItsScopeChain", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").
			Sub("a", func(b *bpmntest.Builder) {
				b.Start("as").Node("ta", "userTask").End("ae").Chain("as", "ta", "ae").
					Sub("espA", func(b *bpmntest.Builder) {
						b.Start("esA", bpmntest.Conditional("${ready}", `camunda:variableName="go"`)).Node("handle", "userTask").End("eeA").Chain("esA", "handle", "eeA")
					}, bpmntest.Attr("triggeredByEvent", "true"))
			}).
			Sub("b", func(b *bpmntest.Builder) {
				b.Start("bs").Node("tb", "userTask").End("be").Chain("bs", "tb", "be")
			}).
			End("e1").End("e2").Chain("s", "fork", "a", "e1").Chain("fork", "b", "e2"))
		inst := start(t, e, "p", engine.Vars{"ready": false})
		setVars(t, e, inst.ID, engine.Vars{"ready": true}) // not the variable it listens to
		wantOpenTasks(t, s, inst.ID, "ta", "tb")
		var scopeB int64
		for _, ei := range state(t, s, inst.ID).ElementInstances {
			if ei.ElementID == "b" {
				scopeB = ei.ID
			}
		}
		// A write local to sibling b is not seen by a's event sub-process.
		if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, ScopeID: scopeB, Local: true, Vars: engine.Vars{"go": int64(1)}}); err != nil {
			t.Fatal(err)
		}
		wantOpenTasks(t, s, inst.ID, "ta", "tb")
		// One on the process, a's enclosing scope, is.
		setVars(t, e, inst.ID, engine.Vars{"go": int64(2)})
		wantOpenTasks(t, s, inst.ID, "handle", "tb")
	})
}

func TestConditionalEventsAreExecuted(t *testing.T) {
	t.Parallel()
	models := map[string]*bpmntest.Builder{
		"catch":    waitUntil("${x > 1}"),
		"boundary": guarded("${x}", false),
		"esp": bpmntest.New("p").Start("s").Node("task", "userTask").End("e").Chain("s", "task", "e").
			Sub("esp", func(b *bpmntest.Builder) {
				b.Start("es", bpmntest.Conditional("${x}")).End("ee").Chain("es", "ee")
			}, bpmntest.Attr("triggeredByEvent", "true")),
	}
	for name, b := range models {
		if ps := engine.Check(b.Definitions(t)); len(ps) != 0 {
			t.Errorf("%s: warnings %v, want none", name, ps)
		}
	}
	d, err := bpmn.Parse(bpmntest.New("p").Start("s", bpmntest.Conditional("${x}")).End("e").Chain("s", "e").XML())
	if err != nil {
		t.Fatal(err)
	}
	if why := engine.Unsupported(d.Node("s")); !strings.Contains(why, "conditional start events of a process") {
		t.Fatalf("process-level conditional start: %q, want it reported as not executed", why)
	}
}
