package engine_test

import (
	"slices"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// Rules of /work/shared/reference/bpmn-semantics.md that involve the
// events of this issue, one test each.

// An inclusive join counts a token inside a sequential multi-instance
// between its rounds: it must not fire when the first round ends.
func TestInclusiveJoinWaitsForSequentialMultiInstance(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Start("s").Node("fork", "inclusiveGateway").
		Node("quick", "manualTask").
		Node("each", "userTask", bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>`)).
		Node("join", "inclusiveGateway").Node("after", "userTask").End("e").
		Chain("s", "fork").FlowIf("fork", "quick", "${true}").FlowIf("fork", "each", "${true}").
		Chain("quick", "join").Chain("each", "join").Chain("join", "after", "e"))
	inst := start(t, e, "p", nil)
	complete(t, e, s, inst.ID, "each", nil) // first round
	if got := active(t, s, inst.ID); slices.Contains(got, "after") {
		t.Fatalf("the join fired between the rounds: active %v", got)
	}
	complete(t, e, s, inst.ID, "each", nil) // second round
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("active %v, want [after]", got)
	}
}

// An inclusive join counts a token parked at an event-based gateway that
// can still reach it.
func TestInclusiveJoinWaitsForEventBasedGateway(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "go on", "").Start("s").Node("fork", "inclusiveGateway").
		Node("quick", "manualTask").Node("eg", "eventBasedGateway").
		Node("msg", "intermediateCatchEvent", bpmntest.MessageRef("m")).
		Node("late", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1H")).End("gaveUp").
		Node("join", "inclusiveGateway").Node("after", "userTask").End("e").
		Chain("s", "fork").FlowIf("fork", "quick", "${true}").FlowIf("fork", "eg", "${true}").
		Chain("quick", "join").Chain("eg", "msg", "join").Chain("eg", "late", "gaveUp").Chain("join", "after", "e"))
	inst := start(t, e, "p", nil)
	if got := active(t, s, inst.ID); slices.Contains(got, "after") {
		t.Fatalf("the join fired while a token waited at the event-based gateway: active %v", got)
	}
	correlate(t, e, &engine.MessageParams{Name: "go on"})
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"after"}) {
		t.Fatalf("active %v, want [after]", got)
	}
}

// A plain start uses the none start event even where a message start
// event exists; the message starts it at its own start event.
func TestPlainStartUsesTheNoneStartEvent(t *testing.T) {
	t.Parallel()
	e, s, _, _ := timed(t, bpmntest.New("p").Message("m", "tns:newInvoice", "").Start("plain").Start("byMessage", bpmntest.MessageRef("m")).
		Node("work", "userTask").Chain("plain", "work").Chain("byMessage", "work"))
	inst := start(t, e, "p", nil)
	enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "plain:activated", "plain:completed", "work:activated"})
	// Names are used as they are, namespace prefix included.
	res := correlate(t, e, &engine.MessageParams{Name: "tns:newInvoice"})
	enginetest.AssertTrace(t, enginetest.Trace(t, s, res.InstanceID), []string{"p:activated", "byMessage:activated", "byMessage:completed", "work:activated"})
}
