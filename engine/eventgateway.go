package engine

import (
	"errors"
	"fmt"

	"github.com/batonbpm/baton/bpmn"
)

// Event-based gateways (BPMN 2.0.2 §10.6.6, §13.3.5). A token that reaches
// one waits at the gateway, which subscribes, for itself, to every event
// after it: the timers of timer catch events, the subscriptions of message
// and signal catch events and of receive tasks, and the conditions of
// conditional catch events (see conditional.go). The first event to occur
// wins: the gateway completes taking only the flow to that event, the event
// is activated and completes at once (with the message's or signal's
// variables), and every other timer and subscription of the gateway ends
// with it (see unsubscribe).
//
// A conditional event whose condition holds when the gateway is entered
// wins at once, the first in flow order, before any subscription opens (as
// Camunda 7 evaluates them on entry). A message buffered before the gateway
// was reached is taken by its message catch as by a plain catch event;
// once one is taken, no further subscription opens.
//
// Instantiating gateways (instantiate="true") are not executed: see
// Unsupported.

// eventBasedGateway waits for the first of the events after it.
type eventBasedGateway struct{}

// activate subscribes gw to the events after it. It is idempotent, so that
// a retry after an incident (a timer that does not parse, a correlation key
// that fails) keeps the timers and subscriptions already open.
func (eventBasedGateway) activate(c *cmd, gw *ElementInstance) error {
	for _, f := range gw.node.Outgoing {
		if t := f.Target; t != nil && t.Kind == bpmn.KindIntermediateCatchEvent && t.EventKind() == bpmn.EventConditional {
			ok, err := c.eventCondition(t, gw.ID)
			if err != nil {
				return err
			}
			if ok {
				return c.eventGatewayOccurred(gw, t, 0, "", nil)
			}
		}
	}
	for _, f := range gw.node.Outgoing {
		t := f.Target
		if t == nil {
			continue
		}
		switch {
		case t.Kind == bpmn.KindIntermediateCatchEvent && t.EventKind() == bpmn.EventConditional:
			// Evaluated whenever variables change (see checkConditions).
		case t.Kind == bpmn.KindIntermediateCatchEvent && t.EventKind() == bpmn.EventTimer:
			if c.waitsForTimer(gw, t) {
				continue
			}
			if err := c.createTimer(gw, t, gw); err != nil {
				return err
			}
		default:
			if c.waitsForSubscription(gw, t) {
				continue
			}
			queued := len(c.queue)
			if err := c.subscribe(gw, t, gw); err != nil {
				return err
			}
			if len(c.queue) > queued {
				// A buffered message was taken: it wins once its trigger
				// runs, and no other message may be taken for a gateway
				// that has its event.
				return nil
			}
		}
	}
	c.watchConditions(gw)
	return nil
}

// complete is never queued: the event that occurs completes the gateway
// (see eventGatewayOccurred).
func (eventBasedGateway) complete(c *cmd, gw *ElementInstance) error {
	return fmt.Errorf("event-based gateway %q (instance %d): expected to complete when one of its events occurs, but it was completed directly", gw.ElementID, gw.ID)
}

// terminate has nothing to do: the gateway's timers and subscriptions end
// with it (see unsubscribe).
func (eventBasedGateway) terminate(c *cmd, gw *ElementInstance) error { return nil }

// waitsForTimer tells whether gw has an active timer for event n.
func (c *cmd) waitsForTimer(gw *ElementInstance, n *bpmn.FlowNode) bool {
	for _, j := range c.jobs {
		if j.Kind == JobTimer && j.ElementInstanceID == gw.ID && j.ElementID == n.ID && j.State == JobActive {
			return true
		}
	}
	return false
}

// waitsForSubscription tells whether gw has an open subscription for event n.
func (c *cmd) waitsForSubscription(gw *ElementInstance, n *bpmn.FlowNode) bool {
	for _, sub := range c.subs {
		if sub.ElementInstanceID == gw.ID && sub.ElementID == n.ID && !sub.Closed {
			return true
		}
	}
	return false
}

// isEventGateway tells whether ei is a waiting event-based gateway, for
// fireTimer and triggerSubscription.
func isEventGateway(ei *ElementInstance) bool { return ei.Kind == bpmn.KindEventBasedGateway }

// eventGatewayOccurred lets event n (a catch event or receive task after
// gateway gw) win: the gateway completes on the flow to n, which closes its
// other subscriptions and cancels its other timers, and n is activated and
// completes at once. ev is the history event recorded on n
// (EventTimerFired, EventMessageCorrelated, EventSignalReceived; 0 for a
// condition), detail its message or signal name, vs the variables the
// event carries, written from n like a plain catch event's.
//
// n is activated here rather than queued: it has occurred, so an
// asynchronous continuation before it is passed (there is nothing left to
// wait for before it); one after it is honoured.
func (c *cmd) eventGatewayOccurred(gw *ElementInstance, n *bpmn.FlowNode, ev EventType, detail string, vs Vars) error {
	var flow *bpmn.SequenceFlow
	for _, f := range gw.node.Outgoing {
		if f.Target == n {
			flow = f
			break
		}
	}
	if flow == nil {
		return fmt.Errorf("event-based gateway %q: expected a flow to %s, but there is none", gw.ElementID, n)
	}
	scope := c.eiByID(gw.ScopeID)
	if scope == nil {
		return fmt.Errorf("event-based gateway %q (instance %d): expected its scope %d to be live", gw.ElementID, gw.ID, gw.ScopeID)
	}
	// An incident of the gateway (a condition that failed) is moot now
	// that an event occurred.
	for _, in := range c.incidents {
		if in.ElementInstanceID == gw.ID && in.State == IncidentOpen {
			in.State, in.ResolvedAt, in.dirty = IncidentResolved, c.now, true
			c.record(gw, EventIncidentResolved, "event occurred: "+n.ID)
		}
	}
	if err := c.transition(gw, ElementCompleting); err != nil {
		return err
	}
	if err := c.applyOutputs(gw); err != nil {
		return err
	}
	// Completing unsubscribes the gateway: its other timers and
	// subscriptions end here.
	if err := c.transition(gw, ElementCompleted); err != nil {
		return err
	}
	c.dropLocals(gw.ID)
	c.history = append(c.history, HistoryEvent{ElementInstanceID: scope.ID, ElementID: flow.ID, Type: EventFlowTaken, Command: c.info})

	id, err := c.newID()
	if err != nil {
		return err
	}
	won := c.newEI()
	*won = ElementInstance{ID: id, InstanceID: c.inst.ID, ScopeID: scope.ID, ElementID: n.ID, Kind: instanceKind(n),
		State: ElementActivating, CreatedAt: c.now, node: n, dirty: true, fresh: true}
	c.eis = append(c.eis, won)
	if err := c.applyInputs(won); err != nil {
		var inc *IncidentError
		if !errors.As(err, &inc) {
			return err
		}
		// The event stops before it is activated, like any element whose
		// input mapping fails; a retry activates it, and it then waits
		// for its event anew, as the gateway is gone.
		return c.raise(won, phaseActivate, inc, 0)
	}
	if err := c.transition(won, ElementActivated); err != nil {
		return err
	}
	if ev != 0 {
		c.history = append(c.history, HistoryEvent{ElementInstanceID: won.ID, ElementID: n.ID, Type: ev, Detail: detail, Command: c.info})
	}
	if err := c.setVars(won.ID, vs, false); err != nil {
		return err
	}
	c.completeLater(won)
	return nil
}
