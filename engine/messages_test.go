package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// paidModel waits at a message catch event for "paid" with the order id as
// correlation key.
func paidModel() *bpmntest.Builder {
	return bpmntest.New("p").Message("m", "paid", "=orderId").Start("s").
		Node("wait", "intermediateCatchEvent", bpmntest.MessageRef("m")).Node("ship", "userTask").End("e").Chain("s", "wait", "ship", "e")
}

func correlate(t *testing.T, e *engine.Engine, p *engine.MessageParams) *engine.MessageResult {
	t.Helper()
	res, err := e.CorrelateMessage(ctx, p)
	if err != nil {
		t.Fatalf("correlate %+v: %v", p, err)
	}
	return res
}

func TestMessageCatchEvent(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, paidModel())
	a := start(t, e, "p", engine.Vars{"orderId": "o-1"})
	b := start(t, e, "p", engine.Vars{"orderId": int64(2)})

	if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "paid", CorrelationKey: "o-9"}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("unknown key: %v, want ErrNotFound", err)
	}
	if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "", CorrelationKey: "o-1"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("no name: %v, want ErrInvalid", err)
	}
	res := correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1", Vars: engine.Vars{"amount": 12.5}})
	if res.InstanceID != a.ID || res.ElementID != "wait" || res.Started || res.Buffered {
		t.Fatalf("result %+v, want instance %d at wait", res, a.ID)
	}
	if got := finalVars(t, s, a.ID)["amount"]; got != 12.5 {
		t.Fatalf("amount %v, want the message's 12.5", got)
	}
	tasks := openTasks(t, s, a.ID)
	if len(tasks) != 1 || tasks[0].ElementID != "ship" {
		t.Fatalf("tasks %+v, want ship", tasks)
	}
	enginetest.AssertTrace(t, enginetest.Trace(t, s, a.ID, append(enginetest.LifecycleEvents, engine.EventMessageCorrelated)...), []string{
		"p:activated", "s:activated", "s:completed", "wait:activated", "wait:messageCorrelated", "wait:completed", "ship:activated"})
	// The subscription is gone: the same message again finds nothing.
	if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1"}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("second message: %v, want ErrNotFound", err)
	}
	// A number as correlation key matches its decimal text.
	if res := correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "2"}); res.InstanceID != b.ID {
		t.Fatalf("result %+v, want instance %d", res, b.ID)
	}
}

func TestMessageCorrelationKeyThatIsNullIsAnIncident(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, paidModel())
	inst := start(t, e, "p", engine.Vars{"orderId": nil})
	incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
	if len(incs) != 1 || incs[0].ElementID != "wait" || !strings.Contains(incs[0].Message, "null") {
		t.Fatalf("incidents %+v", incs)
	}
}

func TestReceiveTaskWithMessage(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "approved", "").Start("s").
		Node("rt", "receiveTask", bpmntest.Attr("messageRef", "m")).End("e").Chain("s", "rt", "e"))
	inst := start(t, e, "p", nil)
	res := correlate(t, e, &engine.MessageParams{Name: "approved", Vars: engine.Vars{"ok": true}})
	if res.InstanceID != inst.ID || res.ElementID != "rt" {
		t.Fatalf("result %+v", res)
	}
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

func TestMessageStartEvent(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "order placed", "").Start("s", bpmntest.MessageRef("m")).
		Node("check", "userTask").End("e").Chain("s", "check", "e"))
	if _, err := e.Start(ctx, &engine.StartParams{Key: "p"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("plain start of a message-started process: %v, want ErrInvalid", err)
	}
	res := correlate(t, e, &engine.MessageParams{Name: "order placed", BusinessKey: "order-7", Vars: engine.Vars{"item": "book"}})
	if !res.Started || res.InstanceID == 0 || res.ElementID != "s" {
		t.Fatalf("result %+v, want a started instance", res)
	}
	inst, _ := s.InstanceGet(ctx, res.InstanceID)
	if inst.BusinessKey != "order-7" || finalVars(t, s, inst.ID)["item"] != "book" {
		t.Fatalf("instance %+v vars %v", inst, finalVars(t, s, inst.ID))
	}
}

func TestMessageBoundaryEvents(t *testing.T) {
	t.Parallel()
	t.Run("InterruptingCancelsTheTask", func(t *testing.T) {
		t.Parallel()
		e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "cancel order", "=orderId").Start("s").Node("task", "userTask").End("done").
			Node("cancelled", "boundaryEvent", bpmntest.Boundary("task", true), bpmntest.MessageRef("m")).End("stopped").
			Chain("s", "task", "done").Chain("cancelled", "stopped"))
		inst := start(t, e, "p", engine.Vars{"orderId": "o-3"})
		correlate(t, e, &engine.MessageParams{Name: "cancel order", CorrelationKey: "o-3", Vars: engine.Vars{"reason": "customer"}})
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed", "task:activated",
			"task:terminated", "cancelled:activated", "cancelled:completed", "stopped:activated", "stopped:completed", "p:completed"})
		if finalVars(t, s, inst.ID)["reason"] != "customer" {
			t.Fatal("the message's variables were not set")
		}
	})
	t.Run("NonInterruptingStaysOpen", func(t *testing.T) {
		t.Parallel()
		e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "note", "").Start("s").Node("task", "userTask").End("done").
			Node("noted", "boundaryEvent", bpmntest.Boundary("task", false), bpmntest.MessageRef("m")).End("logged").
			Chain("s", "task", "done").Chain("noted", "logged"))
		inst := start(t, e, "p", nil)
		correlate(t, e, &engine.MessageParams{Name: "note"})
		correlate(t, e, &engine.MessageParams{Name: "note"})
		if got := enginetest.Trace(t, s, inst.ID, engine.EventMessageCorrelated); len(got) != 2 {
			t.Fatalf("correlated %v, want twice", got)
		}
		if err := e.CompleteUserTask(ctx, openTasks(t, s, inst.ID)[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "note"}); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("message after the task ended: %v, want ErrNotFound", err)
		}
	})
}

func TestMessageEventSubProcess(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "abort", "=orderId").Start("s").Node("task", "userTask").End("e").Chain("s", "task", "e").
		Sub("esp", func(b *bpmntest.Builder) {
			b.Start("es", bpmntest.MessageRef("m")).End("ee").Chain("es", "ee")
		}, bpmntest.Attr("triggeredByEvent", "true")))
	inst := start(t, e, "p", engine.Vars{"orderId": "o-5"})
	correlate(t, e, &engine.MessageParams{Name: "abort", CorrelationKey: "o-5"})
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed", "task:activated",
		"task:terminated", "esp:activated", "es:activated", "es:completed", "ee:activated", "ee:completed", "esp:completed", "p:completed"})
}

func TestBufferedMessages(t *testing.T) {
	t.Parallel()
	e, s, clk, _ := timed(t, paidModel())
	res := correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1", TTL: time.Hour, Vars: engine.Vars{"amount": int64(3)}})
	if !res.Buffered {
		t.Fatalf("result %+v, want buffered", res)
	}
	correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "o-2", TTL: time.Minute})
	inst := start(t, e, "p", engine.Vars{"orderId": "o-1"})
	if tasks := openTasks(t, s, inst.ID); len(tasks) != 1 || tasks[0].ElementID != "ship" {
		t.Fatalf("tasks %+v: the buffered message was not taken", tasks)
	}
	if finalVars(t, s, inst.ID)["amount"] != int64(3) {
		t.Fatal("the buffered message's variables were not set")
	}
	// A buffered message is taken once; an expired one not at all.
	again := start(t, e, "p", engine.Vars{"orderId": "o-1"})
	if tasks := openTasks(t, s, again.ID); len(tasks) != 0 {
		t.Fatalf("a buffered message was taken twice: %+v", tasks)
	}
	clk.Advance(2 * time.Minute)
	late := start(t, e, "p", engine.Vars{"orderId": "o-2"})
	if tasks := openTasks(t, s, late.ID); len(tasks) != 0 {
		t.Fatalf("an expired message was taken: %+v", tasks)
	}
}

func TestMessageIDDeduplicates(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, paidModel())
	a := start(t, e, "p", engine.Vars{"orderId": "o-1"})
	b := start(t, e, "p", engine.Vars{"orderId": "o-1"})
	correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1", MessageID: "pay-1"})
	if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1", MessageID: "pay-1"}); !errors.Is(err, engine.ErrConflict) {
		t.Fatalf("same message id again: %v, want ErrConflict", err)
	}
	if len(openTasks(t, s, a.ID)) != 1 || len(openTasks(t, s, b.ID)) != 0 {
		t.Fatal("want only the first instance to have received the message")
	}
	correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1", MessageID: "pay-2"})
	if len(openTasks(t, s, b.ID)) != 1 {
		t.Fatal("a new message id did not reach the second instance")
	}
}

func TestSignals(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("p").Signal("sig", "closing time").Start("s").
		Node("wait", "intermediateCatchEvent", bpmntest.SignalRef("sig")).End("e").Chain("s", "wait", "e")
	e, s, _, x := timed(t, model)
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "starter.bpmn", Data: bpmntest.New("q").Signal("sig", "closing time").
		Start("qs", bpmntest.SignalRef("sig")).Node("report", "userTask").End("qe").Chain("qs", "report", "qe").XML()}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "thrower.bpmn", Data: bpmntest.New("r").Signal("sig", "closing time").
		Start("rs").Node("shout", "intermediateThrowEvent", bpmntest.SignalRef("sig")).End("re").Chain("rs", "shout", "re").XML()}}}); err != nil {
		t.Fatal(err)
	}
	a := start(t, e, "p", nil)
	b := start(t, e, "p", nil)
	res, err := e.BroadcastSignal(ctx, "closing time", engine.Vars{"at": "18:00"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Triggered != 2 || res.Started != 1 {
		t.Fatalf("result %+v, want 2 triggered, 1 started", res)
	}
	wantState(t, s, a.ID, engine.InstanceCompleted)
	wantState(t, s, b.ID, engine.InstanceCompleted)
	if finalVars(t, s, a.ID)["at"] != "18:00" {
		t.Fatal("signal variables not set")
	}
	// A signal thrown by an instance reaches the others after its command.
	c := start(t, e, "p", nil)
	r := start(t, e, "r", nil)
	wantState(t, s, r.ID, engine.InstanceCompleted)
	wantState(t, s, c.ID, engine.InstanceActive)
	runDue(t, x, 1)
	wantState(t, s, c.ID, engine.InstanceCompleted)
	if list, _ := s.InstanceList(ctx, &engine.InstanceListParams{Key: "q"}); len(list) != 2 {
		t.Fatalf("%d instances of q, want 2 (one per signal)", len(list))
	}
}

func TestMessageThrowEventIsAJob(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "invoice", "").Start("s").
		Node("send", "intermediateThrowEvent", bpmntest.MessageRef("m")).End("e", bpmntest.MessageRef("m")).Chain("s", "send", "e"))
	inst := start(t, e, "p", nil)
	jobs := jobsOf(t, s, inst.ID, engine.JobActive)
	if len(jobs) != 1 || jobs[0].ElementID != "send" || jobs[0].Kind != engine.JobWork {
		t.Fatalf("jobs %+v, want one for send", jobs)
	}
	if err := e.CompleteJob(ctx, jobs[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	jobs = jobsOf(t, s, inst.ID, engine.JobActive)
	if len(jobs) != 1 || jobs[0].ElementID != "e" {
		t.Fatalf("jobs %+v, want one for the end event", jobs)
	}
	if err := e.CompleteJob(ctx, jobs[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

func TestMessageCorrelationByVariables(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "approved", "").Start("s").
		Node("wait", "intermediateCatchEvent", bpmntest.MessageRef("m")).End("e").Chain("s", "wait", "e"))
	a := start(t, e, "p", engine.Vars{"orderId": "o-1", "amount": int64(5)})
	b := start(t, e, "p", engine.Vars{"orderId": "o-2", "amount": int64(5)})
	if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: "approved", CorrelationVariables: engine.Vars{"orderId": "o-9"}}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("no instance with orderId o-9: %v, want ErrNotFound", err)
	}
	res := correlate(t, e, &engine.MessageParams{Name: "approved", CorrelationVariables: engine.Vars{"orderId": "o-2", "amount": 5.0}})
	if res.InstanceID != b.ID {
		t.Fatalf("result %+v, want instance %d", res, b.ID)
	}
	wantState(t, s, b.ID, engine.InstanceCompleted)
	wantState(t, s, a.ID, engine.InstanceActive)
}
