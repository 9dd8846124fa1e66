package engine_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// compensable adds activity id of the given kind, a compensation boundary
// event "cb_<id>" on it and its handler "undo_<id>" (a task unless
// handlerOpts say more).
func compensable(b *bpmntest.Builder, id, kind string, handlerKind string, handlerOpts ...bpmntest.Opt) *bpmntest.Builder {
	b.Node(id, kind)
	b.Node("undo_"+id, handlerKind, append([]bpmntest.Opt{bpmntest.ForCompensation()}, handlerOpts...)...)
	return b.CompensationBoundary("cb_"+id, id, "undo_"+id)
}

// trace is the lifecycle trace of an instance.
func trace(t *testing.T, s engine.Store, id int64) []string {
	t.Helper()
	return enginetest.Trace(t, s, id)
}

// after returns the part of a trace that follows the first occurrence of from.
func after(t *testing.T, tr []string, from string) []string {
	t.Helper()
	i := slices.Index(tr, from)
	if i < 0 {
		t.Fatalf("trace has no %q: %q", from, tr)
	}
	return tr[i+1:]
}

// without fails t when the trace has an event of element.
func without(t *testing.T, tr []string, elements ...string) {
	t.Helper()
	for _, ev := range tr {
		for _, el := range elements {
			if strings.HasPrefix(ev, el+":") {
				t.Fatalf("trace has %q, want no event of %s: %q", ev, el, tr)
			}
		}
	}
}

// TestCompensationSaga is the payment saga: the hotel and the flight are
// booked, charging the card fails with a BPMN error caught by a boundary
// event, and the compensation throw cancels the flight, then the hotel, in
// reverse order of completion. The charge itself never completed, so its
// refund never runs.
func TestCompensationSaga(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Error("D", "DECLINED").Start("s")
	compensable(b, "bookHotel", "task", "task")
	compensable(b, "bookFlight", "task", "task")
	b.Node("charge", "serviceTask", bpmntest.Topic("charge"))
	b.Node("refund", "task", bpmntest.ForCompensation()).CompensationBoundary("cb_charge", "charge", "refund")
	b.End("booked").Chain("s", "bookHotel", "bookFlight", "charge", "booked")
	b.Node("declined", "boundaryEvent", bpmntest.Boundary("charge", true), bpmntest.ErrorRef("D")).
		Node("undo", "intermediateThrowEvent", bpmntest.Compensate("")).End("failed").Chain("declined", "undo", "failed")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	jobs := jobsOf(t, s, inst.ID, engine.JobActive)
	if len(jobs) != 1 {
		t.Fatalf("jobs %+v, want the charge", jobs)
	}
	if err := e.ThrowJobError(ctx, jobs[0].ID, &engine.BPMNError{Code: "DECLINED"}); err != nil {
		t.Fatal(err)
	}
	enginetest.AssertTrace(t, trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
		"bookHotel:activated", "bookHotel:completed", "bookFlight:activated", "bookFlight:completed", "charge:activated",
		"charge:terminated", "declined:activated", "declined:completed", "undo:activated",
		"undo_bookFlight:activated", "undo_bookHotel:activated", "undo_bookFlight:completed", "undo_bookHotel:completed",
		"undo:completed", "failed:activated", "failed:completed", "p:completed"})
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

// TestCompensationActivityRef compensates one activity by activityRef; a
// later throw without it compensates the rest, and never an activity twice.
func TestCompensationActivityRef(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "a", "task", "task")
	compensable(b, "b", "task", "task")
	b.Node("onlyA", "intermediateThrowEvent", bpmntest.Compensate("a")).
		Node("all", "intermediateThrowEvent", bpmntest.Compensate("")).
		Node("again", "intermediateThrowEvent", bpmntest.Compensate("")).End("e").Chain("s", "a", "b", "onlyA", "all", "again", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "b:completed"), []string{
		"onlyA:activated", "undo_a:activated", "undo_a:completed", "onlyA:completed",
		"all:activated", "undo_b:activated", "undo_b:completed", "all:completed",
		"again:activated", "again:completed", "e:activated", "e:completed", "p:completed"})
}

// TestCompensationOnlyOfCompletedActivities: an activity still running when
// the throw comes, and one that was terminated, are not compensated; one
// that completes after the throw is compensated by a later throw.
func TestCompensationOnlyOfCompletedActivities(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s").Node("fork", "parallelGateway")
	compensable(b, "running", "userTask", "task")
	compensable(b, "done", "task", "task")
	compensable(b, "stopped", "userTask", "task")
	b.Node("late", "boundaryEvent", bpmntest.Boundary("stopped", true), bpmntest.Timer("timeDuration", "PT1H")).End("e3").Chain("late", "e3").
		Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT2H")).
		Node("throw1", "intermediateThrowEvent", bpmntest.Compensate("")).End("e2").
		Node("throw2", "intermediateThrowEvent", bpmntest.Compensate("")).End("e1").
		Chain("s", "fork").Chain("fork", "running", "throw2", "e1").Chain("fork", "done", "wait", "throw1", "e2").Chain("fork", "stopped", "e4").End("e4")
	e, s, clk, x := timed(t, b)
	inst := start(t, e, "p", nil)
	clk.Advance(90 * 60e9) // the boundary timer terminates "stopped"
	runDue(t, x, 1)
	clk.Advance(60 * 60e9) // the throw comes while "running" still runs
	runDue(t, x, 1)
	tr := after(t, trace(t, s, inst.ID), "throw1:activated")
	enginetest.AssertTrace(t, tr, []string{"undo_done:activated", "undo_done:completed", "throw1:completed", "e2:activated", "e2:completed"})
	complete(t, e, s, inst.ID, "running", nil)
	tr = after(t, trace(t, s, inst.ID), "throw2:activated")
	enginetest.AssertTrace(t, tr, []string{"undo_running:activated", "undo_running:completed", "throw2:completed", "e1:activated", "e1:completed", "p:completed"})
	without(t, trace(t, s, inst.ID), "undo_stopped")
}

// TestCompensationOfCompletedSubProcess: a throw compensates the contents
// of a completed sub-process without a handler of its own, in reverse order,
// at the place the sub-process completed among the other activities; the
// handlers see the sub-process's variables as they were when it completed.
// A sub-process with a handler of its own is compensated by that handler
// alone.
func TestCompensationOfCompletedSubProcess(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "before", "task", "task")
	b.Sub("sub", func(b *bpmntest.Builder) {
		b.Start("ss")
		compensable(b, "a", "task", "task", bpmntest.Output("seenA", "${where}"))
		compensable(b, "b", "task", "task", bpmntest.Output("seenB", "${where}"))
		b.End("se").Chain("ss", "a", "b", "se")
	}, bpmntest.Input("where", "inside"))
	b.Sub("whole", func(b *bpmntest.Builder) {
		b.Start("ws")
		compensable(b, "c", "task", "task")
		b.End("we").Chain("ws", "c", "we")
	})
	b.Node("undo_whole", "task", bpmntest.ForCompensation()).CompensationBoundary("cb_whole", "whole", "undo_whole")
	b.Node("throw", "intermediateThrowEvent", bpmntest.Compensate("")).End("e").Chain("s", "before", "sub", "whole", "throw", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "throw:activated"), []string{
		"undo_whole:activated", "undo_b:activated", "undo_a:activated", "undo_before:activated",
		"undo_whole:completed", "undo_b:completed", "undo_a:completed", "undo_before:completed",
		"throw:completed", "e:activated", "e:completed", "p:completed"})
	got := finalVars(t, s, inst.ID)
	if got["seenA"] != "inside" || got["seenB"] != "inside" {
		t.Fatalf("handlers saw where = %v, %v; want the sub-process's snapshot \"inside\"", got["seenA"], got["seenB"])
	}
	without(t, trace(t, s, inst.ID), "undo_c")
}

// TestCompensationActivityRefToSubProcess compensates the contents of one
// completed sub-process by activityRef.
func TestCompensationActivityRefToSubProcess(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "before", "task", "task")
	b.Sub("sub", func(b *bpmntest.Builder) {
		b.Start("ss")
		compensable(b, "a", "task", "task")
		b.End("se").Chain("ss", "a", "se")
	})
	b.Node("throw", "intermediateThrowEvent", bpmntest.Compensate("sub")).End("e").Chain("s", "before", "sub", "throw", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "throw:activated"), []string{
		"undo_a:activated", "undo_a:completed", "throw:completed", "e:activated", "e:completed", "p:completed"})
}

// TestCompensationWaitsForUserTaskHandlers: with waitForCompletion (the
// default) the throw waits until every handler completed; the handlers,
// user tasks here, are open side by side (Camunda 7 starts them all, in
// reverse order of completion) and see the variables as they are now.
func TestCompensationWaitsForUserTaskHandlers(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "a", "task", "userTask", bpmntest.Attr("camunda:assignee", "${clerk}"))
	compensable(b, "b", "task", "userTask", bpmntest.Attr("camunda:assignee", "${clerk}"))
	b.Node("review", "userTask").Node("throw", "intermediateThrowEvent", bpmntest.Compensate("")).
		Node("next", "userTask").End("e").Chain("s", "a", "b", "review", "throw", "next", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", engine.Vars{"clerk": "ann"})
	complete(t, e, s, inst.ID, "review", engine.Vars{"clerk": "bob"})
	tasks := openTasks(t, s, inst.ID)
	if len(tasks) != 2 || tasks[0].ElementID != "undo_b" || tasks[1].ElementID != "undo_a" {
		t.Fatalf("open tasks %+v, want undo_b then undo_a", tasks)
	}
	for _, tk := range tasks {
		if tk.Assignee != "bob" {
			t.Fatalf("handler %s assigned to %q, want bob: handlers see the variables as they are now", tk.ElementID, tk.Assignee)
		}
	}
	complete(t, e, s, inst.ID, "undo_a", nil)
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"throw", "undo_b"}) {
		t.Fatalf("active %v, want the throw waiting for undo_b", got)
	}
	complete(t, e, s, inst.ID, "undo_b", nil)
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"next"}) {
		t.Fatalf("active %v, want next after the compensation", got)
	}
}

// TestCompensationWithoutWaiting: waitForCompletion="false" starts the
// handlers in the throw's scope and goes on at once (BPMN 2.0.2 §10.5.6;
// Camunda 7 ignores the attribute and always waits).
func TestCompensationWithoutWaiting(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "a", "task", "userTask")
	b.Node("throw", "intermediateThrowEvent", bpmntest.Compensate("", `waitForCompletion="false"`)).
		Node("next", "userTask").End("e").Chain("s", "a", "throw", "next", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"next", "undo_a"}) {
		t.Fatalf("active %v, want the handler beside next", got)
	}
	complete(t, e, s, inst.ID, "next", nil)
	wantState(t, s, inst.ID, engine.InstanceActive) // the handler still runs in the process
	complete(t, e, s, inst.ID, "undo_a", nil)
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

// TestCompensationEndEvent: a compensation end event compensates its
// scope, waits for the handlers, then ends its path; inside a sub-process
// it compensates only the sub-process's activities.
func TestCompensationEndEvent(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "outer", "task", "task")
	b.Sub("sub", func(b *bpmntest.Builder) {
		b.Start("ss")
		compensable(b, "a", "task", "userTask")
		b.End("undoAll", bpmntest.Compensate("")).Chain("ss", "a", "undoAll")
	})
	b.End("e").Chain("s", "outer", "sub", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"sub", "undoAll", "undo_a"}) {
		t.Fatalf("active %v, want the end event waiting for undo_a", got)
	}
	complete(t, e, s, inst.ID, "undo_a", nil)
	enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "undoAll:activated"), []string{
		"undo_a:activated", "undo_a:completed", "undoAll:completed", "sub:completed", "e:activated", "e:completed", "p:completed"})
	without(t, trace(t, s, inst.ID), "undo_outer")
}

// TestTransactionCancel: a transaction runs as an embedded sub-process; its
// cancel end event terminates what else runs inside, compensates the
// transaction's completed activities, then the cancel boundary event
// interrupts the transaction and the process goes on from it.
func TestTransactionCancel(t *testing.T) {
	t.Parallel()
	model := func(cancel bool) *bpmntest.Builder {
		b := bpmntest.New("p").Start("s")
		b.Transaction("tx", func(b *bpmntest.Builder) {
			b.Start("ts").Node("fork", "parallelGateway")
			compensable(b, "book", "task", "task")
			compensable(b, "pay", "task", "task")
			b.Node("wait", "userTask").End("te")
			if cancel {
				b.End("abort", bpmntest.Cancel()).Chain("ts", "fork", "book", "pay", "abort")
			} else {
				b.End("ok").Chain("ts", "fork", "book", "pay", "ok")
			}
			b.Chain("fork", "wait", "te")
		})
		b.Node("cancelled", "boundaryEvent", bpmntest.Boundary("tx", true), bpmntest.Cancel()).
			Node("after", "task").End("ce").Chain("cancelled", "after", "ce").
			End("e").Chain("s", "tx", "e")
		return b
	}
	t.Run("CancelEndEvent", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model(true))
		inst := start(t, e, "p", nil)
		enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "pay:completed"), []string{
			"abort:activated", "wait:terminated", "undo_pay:activated", "undo_book:activated", "undo_pay:completed", "undo_book:completed",
			"abort:completed", "tx:terminated", "cancelled:activated", "cancelled:completed", "after:activated", "after:completed",
			"ce:activated", "ce:completed", "p:completed"})
		without(t, trace(t, s, inst.ID), "e")
	})
	t.Run("CompletesLikeASubProcess", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, model(false))
		inst := start(t, e, "p", nil)
		complete(t, e, s, inst.ID, "wait", nil)
		enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "te:completed"), []string{"tx:completed", "e:activated", "e:completed", "p:completed"})
		without(t, trace(t, s, inst.ID), "undo_book", "undo_pay", "cancelled")
	})
	t.Run("HazardIsNotCompensated", func(t *testing.T) {
		t.Parallel()
		b := bpmntest.New("p").Error("E", "E1").Start("s")
		b.Transaction("tx", func(b *bpmntest.Builder) {
			b.Start("ts")
			compensable(b, "book", "task", "task")
			b.End("fail", bpmntest.ErrorRef("E")).Chain("ts", "book", "fail")
		})
		b.Node("hazard", "boundaryEvent", bpmntest.Boundary("tx", true), bpmntest.ErrorRef("E")).End("he").Chain("hazard", "he").
			Node("throw", "intermediateThrowEvent", bpmntest.Compensate("")).End("e").Chain("s", "tx", "throw", "e")
		e, s := deploy(t, b)
		inst := start(t, e, "p", nil)
		enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "fail:activated"), []string{
			"fail:terminated", "tx:terminated", "hazard:activated", "hazard:completed", "he:activated", "he:completed", "p:completed"})
		without(t, trace(t, s, inst.ID), "undo_book")
	})
}

// TestCompensationOfMultiInstance: every completed inner instance of a
// multi-instance activity is compensated, latest first, each handler
// seeing its instance's loopCounter and input element; a multi-instance
// activity interrupted before it completed is not compensated.
func TestCompensationOfMultiInstance(t *testing.T) {
	t.Parallel()
	miOpt := mi(`camunda:collection="${rooms}" camunda:elementVariable="room"`, "")
	t.Run("EveryCompletedInstance", func(t *testing.T) {
		t.Parallel()
		b := bpmntest.New("p").Start("s").Node("book", "task", miOpt).
			Node("unbook", "userTask", bpmntest.ForCompensation(), bpmntest.Attr("camunda:assignee", "${room}-${loopCounter}")).
			CompensationBoundary("cb", "book", "unbook").
			Node("throw", "intermediateThrowEvent", bpmntest.Compensate("book")).End("e").Chain("s", "book", "throw", "e")
		e, s := deploy(t, b)
		inst := start(t, e, "p", engine.Vars{"rooms": []any{"a", "b", "c"}})
		var got []string
		for _, tk := range openTasks(t, s, inst.ID) {
			got = append(got, tk.Assignee)
		}
		if !slices.Equal(got, []string{"c-3", "b-2", "a-1"}) {
			t.Fatalf("handler tasks assigned to %v, want one per instance, latest first", got)
		}
		completeAll(t, e, s, inst.ID)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})
	t.Run("InterruptedIsNotCompensated", func(t *testing.T) {
		t.Parallel()
		b := bpmntest.New("p").Start("s").Node("book", "userTask", miOpt).
			Node("unbook", "task", bpmntest.ForCompensation()).CompensationBoundary("cb", "book", "unbook").
			Node("late", "boundaryEvent", bpmntest.Boundary("book", true), bpmntest.Timer("timeDuration", "PT1H")).
			Node("throw", "intermediateThrowEvent", bpmntest.Compensate("")).End("e").Chain("s", "book", "e").Chain("late", "throw", "ee").End("ee")
		e, s, clk, x := timed(t, b)
		inst := start(t, e, "p", engine.Vars{"rooms": []any{"a", "b"}})
		tasks := openTasks(t, s, inst.ID)
		if err := e.CompleteUserTask(ctx, tasks[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * 60 * 60e9)
		runDue(t, x, 1)
		without(t, trace(t, s, inst.ID), "unbook")
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})
}

// TestCompensationEventSubProcess: a sub-process whose compensation handler
// is a compensation event sub-process runs it when compensated, with the
// sub-process's variables as they were when it completed.
func TestCompensationEventSubProcess(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	b.Sub("sub", func(b *bpmntest.Builder) {
		b.Start("ss").Node("a", "task").End("se").Chain("ss", "a", "se")
		b.Sub("onCompensate", func(b *bpmntest.Builder) {
			b.Start("cs", bpmntest.Compensate("")).Node("undo", "task", bpmntest.Output("undone", "${where}")).End("ce").Chain("cs", "undo", "ce")
		}, bpmntest.Attr("triggeredByEvent", "true"))
	}, bpmntest.Input("where", "sub"))
	b.Node("throw", "intermediateThrowEvent", bpmntest.Compensate("")).End("e").Chain("s", "sub", "throw", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "throw:activated"), []string{
		"onCompensate:activated", "cs:activated", "cs:completed", "undo:activated", "undo:completed", "ce:activated", "ce:completed",
		"onCompensate:completed", "throw:completed", "e:activated", "e:completed", "p:completed"})
	if got := finalVars(t, s, inst.ID)["undone"]; got != "sub" {
		t.Fatalf("undone = %v, want the sub-process's snapshot", got)
	}
}

// TestCompensationRecordsAreNotCorrelated: a compensation record is a
// subscription named after its handler, yet no message or signal of that
// name reaches it.
func TestCompensationRecordsAreNotCorrelated(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "a", "task", "task")
	b.Node("wait", "userTask").End("e").Chain("s", "a", "wait", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	var records []*engine.Subscription
	for _, sub := range state(t, s, inst.ID).Subscriptions {
		if sub.Kind == engine.SubscribeCompensation {
			records = append(records, sub)
		}
	}
	if len(records) != 1 || records[0].ElementID != "a" || records[0].Name != "undo_a" {
		t.Fatalf("compensation records %+v, want one of a", records)
	}
	if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "undo_a"}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("message to a compensation record: %v, want not found", err)
	}
	res, err := e.BroadcastSignal(ctx, "undo_a", nil)
	if err != nil || res.Triggered != 0 {
		t.Fatalf("signal to a compensation record: %+v %v, want none triggered", res, err)
	}
	without(t, trace(t, s, inst.ID), "undo_a")
}

// TestCompensationIsExecuted: models with compensation, transactions and
// cancel events deploy without warnings; what is not executed is named.
func TestCompensationIsExecuted(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s")
	compensable(b, "a", "task", "task")
	b.Transaction("tx", func(b *bpmntest.Builder) {
		b.Start("ts")
		compensable(b, "book", "task", "task")
		b.End("abort", bpmntest.Cancel()).Chain("ts", "book", "abort")
	})
	b.Node("cancelled", "boundaryEvent", bpmntest.Boundary("tx", true), bpmntest.Cancel()).End("ce").Chain("cancelled", "ce")
	b.Node("throw", "intermediateThrowEvent", bpmntest.Compensate("a")).End("e", bpmntest.Compensate("")).Chain("s", "a", "tx", "throw", "e")
	if ws := engine.Check(b.Definitions(t)); len(ws) != 0 {
		t.Fatalf("warnings %v", ws)
	}

	// A compensation event sub-process at process level never starts.
	b = bpmntest.New("q").Start("s").End("e").Chain("s", "e").
		Sub("esp", func(b *bpmntest.Builder) {
			b.Start("cs", bpmntest.Compensate("")).End("ce").Chain("cs", "ce")
		}, bpmntest.Attr("triggeredByEvent", "true")).
		Sub("sub", func(b *bpmntest.Builder) {
			b.Start("ss").End("se").Chain("ss", "se")
			b.Sub("inner", func(b *bpmntest.Builder) {
				b.Start("is", bpmntest.Compensate("")).Node("again", "intermediateThrowEvent", bpmntest.Compensate("")).End("ie").Chain("is", "again", "ie")
			}, bpmntest.Attr("triggeredByEvent", "true"))
		})
	ws := engine.Check(b.Definitions(t))
	var got []string
	for _, w := range ws {
		got = append(got, w.ElementID+": "+w.Message)
	}
	if len(ws) != 1 || ws[0].ElementID != "cs" || !strings.Contains(ws[0].Message, "at process level") {
		t.Fatalf("warnings %q, want one on the process-level compensation start", got)
	}

	// An activityRef outside the throw's scope compensates nothing.
	b = bpmntest.New("r").Start("s")
	compensable(b, "a", "task", "task")
	b.Sub("sub", func(b *bpmntest.Builder) {
		b.Start("ss").Node("far", "intermediateThrowEvent", bpmntest.Compensate("a")).End("se").Chain("ss", "far", "se")
	}).End("e").Chain("s", "a", "sub", "e")
	ws = engine.Check(b.Definitions(t))
	if len(ws) != 1 || ws[0].ElementID != "far" || !strings.Contains(ws[0].Message, "compensates nothing") {
		t.Fatalf("warnings %v, want one on far", ws)
	}
}

// TestCompensationFromEventSubProcess: a compensation throw inside an error
// event sub-process compensates the activities of the scope the event
// sub-process runs in (Camunda 7: an event sub-process does not consume
// compensation).
func TestCompensationFromEventSubProcess(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Error("E", "E1").Start("s")
	compensable(b, "outside", "task", "task")
	b.Sub("sub", func(b *bpmntest.Builder) {
		b.Start("ss")
		compensable(b, "a", "task", "task")
		b.End("fail", bpmntest.ErrorRef("E")).Chain("ss", "a", "fail")
		b.Sub("onError", func(b *bpmntest.Builder) {
			b.Start("es", bpmntest.ErrorRef("E")).Node("undo", "intermediateThrowEvent", bpmntest.Compensate("")).End("ee").Chain("es", "undo", "ee")
		}, bpmntest.Attr("triggeredByEvent", "true"))
	})
	b.End("e").Chain("s", "outside", "sub", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "undo:activated"), []string{
		"undo_a:activated", "undo_a:completed", "undo:completed", "ee:activated", "ee:completed", "onError:completed",
		"sub:completed", "e:activated", "e:completed", "p:completed"})
	without(t, trace(t, s, inst.ID), "undo_outside")
}

// TestCompensationOfEveryCompletion: an activity that completed twice (in a
// loop drawn with a gateway) is compensated twice, latest first.
func TestCompensationOfEveryCompletion(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Start("s").Node("merge", "exclusiveGateway").
		Node("a", "task", bpmntest.Output("round", "${round + 1}")).
		Node("undo_a", "userTask", bpmntest.ForCompensation(), bpmntest.Attr("camunda:assignee", "${round}")).
		CompensationBoundary("cb_a", "a", "undo_a").
		Node("again", "exclusiveGateway").Node("throw", "intermediateThrowEvent", bpmntest.Compensate("")).End("e").
		Chain("s", "merge", "a", "again").FlowIf("again", "merge", "${round < 2}").Default("again", "throw").Chain("throw", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "p", engine.Vars{"round": 0})
	var got []string
	for _, tk := range openTasks(t, s, inst.ID) {
		got = append(got, tk.ElementID+"@"+tk.Assignee)
	}
	if !slices.Equal(got, []string{"undo_a@2", "undo_a@2"}) {
		t.Fatalf("handler tasks %v, want two, one per completion", got)
	}
	completeAll(t, e, s, inst.ID)
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

// TestCompensationEventSubProcessThrows is the MIWG C.6.0 travel booking:
// the booking sub-process books a flight and a hotel in parallel; its
// compensation event sub-process throws compensation for each. When
// charging the card fails, the throw outside compensates the booking: the
// event sub-process runs and its throws reach the bookings inside the
// completed sub-process, each once.
func TestCompensationEventSubProcessThrows(t *testing.T) {
	t.Parallel()
	b := bpmntest.New("p").Error("D", "DECLINED").Start("s")
	b.Sub("booking", func(b *bpmntest.Builder) {
		b.Start("bs").Node("fork", "parallelGateway").Node("join", "parallelGateway").End("booked")
		compensable(b, "flight", "task", "userTask", bpmntest.Attr("camunda:assignee", "${agent}"))
		compensable(b, "hotel", "task", "userTask", bpmntest.Attr("camunda:assignee", "${agent}"))
		b.Chain("bs", "fork", "flight", "join", "booked").Chain("fork", "hotel", "join")
		b.Sub("onCompensate", func(b *bpmntest.Builder) {
			b.Start("cs", bpmntest.Compensate("")).Node("cfork", "parallelGateway").Node("cjoin", "parallelGateway").End("ce").
				Node("undoFlight", "intermediateThrowEvent", bpmntest.Compensate("flight")).
				Node("undoHotel", "intermediateThrowEvent", bpmntest.Compensate("hotel")).
				Node("undoRest", "intermediateThrowEvent", bpmntest.Compensate("")).
				Chain("cs", "cfork", "undoFlight", "cjoin", "undoRest", "ce").Chain("cfork", "undoHotel", "cjoin")
		}, bpmntest.Attr("triggeredByEvent", "true"))
	}, bpmntest.Input("agent", "travel-desk"))
	b.Node("charge", "serviceTask", bpmntest.Topic("charge")).End("confirmed").Chain("s", "booking", "charge", "confirmed").
		Node("declined", "boundaryEvent", bpmntest.Boundary("charge", true), bpmntest.ErrorRef("D")).
		Node("undoBooking", "intermediateThrowEvent", bpmntest.Compensate("")).End("failed").Chain("declined", "undoBooking", "failed")
	if ws := engine.Check(b.Definitions(t)); len(ws) != 0 {
		t.Fatalf("warnings %v", ws)
	}
	e, s := deploy(t, b)
	inst := start(t, e, "p", nil)
	jobs := jobsOf(t, s, inst.ID, engine.JobActive)
	if len(jobs) != 1 {
		t.Fatalf("jobs %+v, want the charge", jobs)
	}
	if err := e.ThrowJobError(ctx, jobs[0].ID, &engine.BPMNError{Code: "DECLINED"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range openTasks(t, s, inst.ID) {
		got = append(got, tk.ElementID+"@"+tk.Assignee)
	}
	if !slices.Equal(got, []string{"undo_flight@travel-desk", "undo_hotel@travel-desk"}) {
		t.Fatalf("open tasks %v, want both cancellations, seeing the booking's variables", got)
	}
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"onCompensate", "undoBooking", "undoFlight", "undoHotel", "undo_flight", "undo_hotel"}) {
		t.Fatalf("active %v", got)
	}
	completeAll(t, e, s, inst.ID)
	enginetest.AssertTrace(t, after(t, trace(t, s, inst.ID), "undo_hotel:completed"), []string{
		"undoHotel:completed", "cjoin:activated", "cjoin:completed", "undoRest:activated", "undoRest:completed", "ce:activated", "ce:completed", "onCompensate:completed",
		"undoBooking:completed", "failed:activated", "failed:completed", "p:completed"})
	if st := state(t, s, inst.ID); len(st.Subscriptions) != 0 || len(st.Variables) != 0 {
		t.Fatalf("left behind: subscriptions %+v variables %+v", st.Subscriptions, st.Variables)
	}
}
