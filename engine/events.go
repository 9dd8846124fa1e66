package engine

import (
	"fmt"

	"github.com/batonbpm/baton/bpmn"
)

// startEvent: a none start event passes the token on at once.
type startEvent struct{ passThrough }

// endEvent: a none end event consumes the token; a terminate end event
// also terminates everything else in its scope, which then completes
// (BPMN 2.0.2 §10.5.3): a sub-process leaves on its outgoing flows, the
// process instance completes.
type endEvent struct{}

func (endEvent) activate(c *cmd, ei *ElementInstance) error { return throwActivate(c, ei) }

// throwActivate is the activation of a throw or end event: a message is
// sent by a job for its topic (like a send task) and the event waits for
// it; a signal is broadcast after the command commits; an error or
// escalation goes to its catcher (escalate.go), and the event goes on
// unless the catch interrupted it; a compensation or cancel event waits
// for the compensation it starts (compensation.go); other events pass.
func throwActivate(c *cmd, ei *ElementInstance) error {
	switch ei.node.EventKind() {
	case bpmn.EventCompensation:
		return c.throwCompensation(ei)
	case bpmn.EventCancel:
		return c.throwCancel(ei)
	case bpmn.EventMessage:
		return c.createJob(ei)
	case bpmn.EventSignal:
		if err := c.throwSignal(ei); err != nil {
			return err
		}
	case bpmn.EventError:
		return c.throwEndError(ei)
	case bpmn.EventEscalation:
		if interrupted, err := c.throwEscalation(ei); err != nil || interrupted {
			return err
		}
	}
	c.completeLater(ei)
	return nil
}

func (endEvent) complete(c *cmd, ei *ElementInstance) error {
	if ei.node.EventKind() == bpmn.EventCancel {
		return c.completeCancel(ei)
	}
	if ei.node.EventKind() != bpmn.EventTerminate {
		return c.leave(ei, nil)
	}
	if err := c.applyOutputs(ei); err != nil {
		return err
	}
	if err := c.transition(ei, ElementCompleted); err != nil {
		return err
	}
	scope := c.eiByID(ei.ScopeID)
	if err := c.terminateChildren(scope); err != nil {
		return err
	}
	return c.checkScope(scope)
}

func (endEvent) terminate(c *cmd, ei *ElementInstance) error { return serviceTask{}.terminate(c, ei) }

// throwEvent: a none intermediate throw passes through; a link throw
// continues at the link catch event of the same name in its scope.
type throwEvent struct{}

func (throwEvent) activate(c *cmd, ei *ElementInstance) error { return throwActivate(c, ei) }

func (throwEvent) complete(c *cmd, ei *ElementInstance) error {
	n := ei.node
	if n.EventKind() != bpmn.EventLink {
		flows, err := c.outgoing(ei)
		if err != nil {
			return err
		}
		return c.leave(ei, flows)
	}
	name := n.Event().LinkName
	target := c.m.links[linkKey{n.Scope(), name}]
	if target == nil {
		return &IncidentError{ElementID: n.ID, Type: "linkNotFound", Reason: fmt.Sprintf("no link catch event named %q in the same scope", name)}
	}
	// Activate the catch before this event leaves, so the scope never looks empty.
	if _, err := c.activate(target, c.eiByID(ei.ScopeID)); err != nil {
		return err
	}
	return c.leave(ei, nil)
}

func (throwEvent) terminate(c *cmd, ei *ElementInstance) error { return serviceTask{}.terminate(c, ei) }

// catchEvent: a link catch event passes through; a timer catch event waits
// for its timer, a message or signal catch event for its subscription, a
// conditional catch event for its condition (see conditional.go).
type catchEvent struct{ passThrough }

func (catchEvent) activate(c *cmd, ei *ElementInstance) error {
	switch ei.node.EventKind() {
	case bpmn.EventTimer:
		return timerCatchActivate(c, ei)
	case bpmn.EventMessage, bpmn.EventSignal:
		return c.subscribe(ei, ei.node, ei)
	case bpmn.EventConditional:
		return c.conditionalCatchActivate(ei)
	}
	c.completeLater(ei)
	return nil
}
