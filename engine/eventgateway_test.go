package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// eventTypes are the history events the event-based gateway tests trace.
var eventTypes = append(enginetest.LifecycleEvents, engine.EventTimerFired, engine.EventMessageCorrelated, engine.EventSignalReceived)

// paidOrLate waits at an event-based gateway for the message "paid" (keyed
// by orderId) or a one-hour timer, whichever comes first.
func paidOrLate() *bpmntest.Builder {
	return bpmntest.New("p").Message("m", "paid", "=orderId").Start("s").Node("gw", "eventBasedGateway").
		Node("paid", "intermediateCatchEvent", bpmntest.MessageRef("m")).Node("ship", "userTask").
		Node("late", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1H")).Node("remind", "userTask").
		Chain("s", "gw", "paid", "ship").Chain("gw", "late", "remind")
}

// wantNoSubscription fails t unless message name with key finds nothing.
func wantNoSubscription(t *testing.T, e *engine.Engine, name, key string) {
	t.Helper()
	if _, err := e.CorrelateMessage(ctx, &engine.MessageParams{Name: name, CorrelationKey: key}); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("message %q (%s) after the gateway chose: %v, want ErrNotFound", name, key, err)
	}
}

func TestEventBasedGateway(t *testing.T) {
	t.Parallel()

	t.Run("MessageFirst", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, paidOrLate())
		inst := start(t, e, "p", engine.Vars{"orderId": "o-1"})
		if got := active(t, s, inst.ID); len(got) != 1 || got[0] != "gw" {
			t.Fatalf("active %v, want the gateway waiting", got)
		}
		timers := jobsOf(t, s, inst.ID, engine.JobActive)
		if len(timers) != 1 || timers[0].ElementID != "late" || timers[0].Kind != engine.JobTimer {
			t.Fatalf("jobs %+v, want the timer of late", timers)
		}
		res := correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "o-1", Vars: engine.Vars{"amount": int64(40)}})
		if res.InstanceID != inst.ID || res.ElementID != "paid" {
			t.Fatalf("result %+v, want instance %d at paid", res, inst.ID)
		}
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, eventTypes...), []string{"p:activated", "s:activated", "s:completed",
			"gw:activated", "gw:completed", "paid:activated", "paid:messageCorrelated", "paid:completed", "ship:activated"})
		if got := vars(t, s, inst.ID)["amount"]; got != int64(40) {
			t.Fatalf("amount %v, want the message's 40", got)
		}
		if jobs := jobsOf(t, s, inst.ID, engine.JobCanceled); len(jobs) != 1 || jobs[0].ID != timers[0].ID {
			t.Fatalf("cancelled jobs %+v, want the losing timer", jobs)
		}
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 0 {
			t.Fatalf("active jobs %+v, want none", jobs)
		}
		clk.Advance(2 * time.Hour)
		runDue(t, x, 0)
		wantOpenTasks(t, s, inst.ID, "ship")
		wantNoSubscription(t, e, "paid", "o-1")
	})

	t.Run("TimerFirst", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, paidOrLate())
		inst := start(t, e, "p", engine.Vars{"orderId": "o-2"})
		clk.Advance(59 * time.Minute)
		runDue(t, x, 0)
		clk.Advance(time.Minute)
		runDue(t, x, 1)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, eventTypes...), []string{"p:activated", "s:activated", "s:completed",
			"gw:activated", "gw:completed", "late:activated", "late:timerFired", "late:completed", "remind:activated"})
		if jobs := jobsOf(t, s, inst.ID, engine.JobCompleted); len(jobs) != 1 || jobs[0].ElementID != "late" {
			t.Fatalf("completed jobs %+v, want the timer", jobs)
		}
		wantNoSubscription(t, e, "paid", "o-2")
		wantOpenTasks(t, s, inst.ID, "remind")
	})

	signalOrReceive := func() *bpmntest.Builder {
		return bpmntest.New("p").Signal("sig", "recall").Message("m", "approved", "=orderId").Start("s").Node("gw", "eventBasedGateway").
			Node("recalled", "intermediateCatchEvent", bpmntest.SignalRef("sig")).End("stopped").
			Node("approval", "receiveTask", bpmntest.Attr("messageRef", "m")).End("done").
			Chain("s", "gw", "recalled", "stopped").Chain("gw", "approval", "done")
	}

	t.Run("SignalBeatsReceiveTask", func(t *testing.T) {
		t.Parallel()
		e, s, _, _ := timed(t, signalOrReceive())
		inst := start(t, e, "p", engine.Vars{"orderId": "o-3"})
		res, err := e.BroadcastSignal(ctx, "recall", engine.Vars{"why": "stock"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Triggered != 1 {
			t.Fatalf("signal result %+v, want one triggered", res)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, eventTypes...), []string{"p:activated", "s:activated", "s:completed",
			"gw:activated", "gw:completed", "recalled:activated", "recalled:signalReceived", "recalled:completed",
			"stopped:activated", "stopped:completed", "p:completed"})
		if finalVars(t, s, inst.ID)["why"] != "stock" {
			t.Fatal("the signal's variables were not set")
		}
		wantNoSubscription(t, e, "approved", "o-3")
	})

	t.Run("ReceiveTaskBeatsSignal", func(t *testing.T) {
		t.Parallel()
		e, s, _, _ := timed(t, signalOrReceive())
		inst := start(t, e, "p", engine.Vars{"orderId": "o-4"})
		res := correlate(t, e, &engine.MessageParams{Name: "approved", CorrelationKey: "o-4"})
		if res.InstanceID != inst.ID || res.ElementID != "approval" {
			t.Fatalf("result %+v", res)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, eventTypes...), []string{"p:activated", "s:activated", "s:completed",
			"gw:activated", "gw:completed", "approval:activated", "approval:messageCorrelated", "approval:completed",
			"done:activated", "done:completed", "p:completed"})
		if res, err := e.BroadcastSignal(ctx, "recall", nil); err != nil || res.Triggered != 0 {
			t.Fatalf("signal after the gateway chose: %+v, %v, want nothing triggered", res, err)
		}
	})

	t.Run("BufferedMessageIsTaken", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, paidOrLate())
		if res := correlate(t, e, &engine.MessageParams{Name: "paid", CorrelationKey: "o-5", TTL: time.Hour, Vars: engine.Vars{"amount": 2.5}}); !res.Buffered {
			t.Fatalf("result %+v, want buffered", res)
		}
		inst := start(t, e, "p", engine.Vars{"orderId": "o-5"})
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, eventTypes...), []string{"p:activated", "s:activated", "s:completed",
			"gw:activated", "gw:completed", "paid:activated", "paid:messageCorrelated", "paid:completed", "ship:activated"})
		if got := vars(t, s, inst.ID)["amount"]; got != 2.5 {
			t.Fatalf("amount %v, want the buffered message's 2.5", got)
		}
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 0 {
			t.Fatalf("active jobs %+v, want none", jobs)
		}
		clk.Advance(time.Hour)
		runDue(t, x, 0)
		// The buffered message was taken once.
		other := start(t, e, "p", engine.Vars{"orderId": "o-5"})
		if got := active(t, s, other.ID); len(got) != 1 || got[0] != "gw" {
			t.Fatalf("active %v, want the second instance waiting at the gateway", got)
		}
	})

	t.Run("InterruptedSubProcessCleansUp", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Message("m", "paid", "=orderId").Start("s").
			Sub("sub", func(b *bpmntest.Builder) {
				b.Start("ss").Node("gw", "eventBasedGateway").
					Node("paid", "intermediateCatchEvent", bpmntest.MessageRef("m")).End("se1").
					Node("late", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1H")).End("se2").
					Chain("ss", "gw", "paid", "se1").Chain("gw", "late", "se2")
			}).End("e").
			Node("abort", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.Timer("timeDuration", "PT10M")).End("aborted").
			Chain("s", "sub", "e").Chain("abort", "aborted"))
		inst := start(t, e, "p", engine.Vars{"orderId": "o-6"})
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 2 {
			t.Fatalf("active jobs %+v, want the gateway's timer and the boundary timer", jobs)
		}
		clk.Advance(10 * time.Minute)
		runDue(t, x, 1)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, eventTypes...), []string{"p:activated", "s:activated", "s:completed",
			"sub:activated", "ss:activated", "ss:completed", "gw:activated", "abort:timerFired", "gw:terminated", "sub:terminated",
			"abort:activated", "abort:completed", "aborted:activated", "aborted:completed", "p:completed"})
		cancelled := jobsOf(t, s, inst.ID, engine.JobCanceled)
		if len(cancelled) != 1 || cancelled[0].ElementID != "late" {
			t.Fatalf("cancelled jobs %+v, want the gateway's timer", cancelled)
		}
		clk.Advance(time.Hour)
		runDue(t, x, 0)
		wantNoSubscription(t, e, "paid", "o-6")
	})

	t.Run("ConditionWins", func(t *testing.T) {
		t.Parallel()
		model := bpmntest.New("p").Message("m", "paid", "").Start("s").Node("gw", "eventBasedGateway").
			Node("paid", "intermediateCatchEvent", bpmntest.MessageRef("m")).End("e1").
			Node("free", "intermediateCatchEvent", bpmntest.Conditional("${price == 0}")).End("e2").
			Chain("s", "gw", "paid", "e1").Chain("gw", "free", "e2")
		e, s, _, _ := timed(t, model)
		inst := start(t, e, "p", engine.Vars{"price": int64(10)})
		if got := active(t, s, inst.ID); len(got) != 1 || got[0] != "gw" {
			t.Fatalf("active %v, want the gateway waiting", got)
		}
		setVars(t, e, inst.ID, engine.Vars{"price": int64(0)})
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, eventTypes...), []string{"p:activated", "s:activated", "s:completed",
			"gw:activated", "gw:completed", "free:activated", "free:completed", "e2:activated", "e2:completed", "p:completed"})
		wantNoSubscription(t, e, "paid", "")

		// A condition that holds when the gateway is entered wins at once:
		// no subscription opens.
		now := start(t, e, "p", engine.Vars{"price": int64(0)})
		wantState(t, s, now.ID, engine.InstanceCompleted)
		wantNoSubscription(t, e, "paid", "")
	})

	t.Run("Unsupported", func(t *testing.T) {
		t.Parallel()
		// A process may start at an instantiating gateway (BPMN 2.0.2 §10.6.6).
		d, err := bpmn.Parse(bpmntest.New("p").Message("m", "go", "").Node("gw", "eventBasedGateway", bpmntest.Attr("instantiate", "true")).
			Node("a", "intermediateCatchEvent", bpmntest.MessageRef("m")).End("e1").
			Node("b", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1H")).End("e2").
			Chain("gw", "a", "e1").Chain("gw", "b", "e2").XML())
		if err != nil {
			t.Fatal(err)
		}
		if why := engine.Unsupported(d.Node("gw")); !strings.Contains(why, "instantiat") {
			t.Fatalf("instantiating gateway: %q, want it reported as not executed", why)
		}
		plain := paidOrLate().Definitions(t)
		if ps := engine.Check(plain); len(ps) != 0 {
			t.Fatalf("warnings %v, want none for an event-based gateway", ps)
		}
	})
}

func setVars(t *testing.T, e *engine.Engine, inst int64, vs engine.Vars) {
	t.Helper()
	if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst, Vars: vs}); err != nil {
		t.Fatalf("set variables %v: %v", vs, err)
	}
}
