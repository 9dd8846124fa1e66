package engine

import (
	"fmt"

	"github.com/batonbpm/baton/bpmn"
)

// Errors and escalations (BPMN 2.0.2 §10.5.6, §13.5). An error end event,
// a BPMN error from a job, and an escalation throw or end event throw a code
// that walks up the flow-scope chain from the element that threw it, and
// the first matching catcher on the way catches it:
//
//  1. the boundary events attached to the throwing activity itself (a task
//     whose job threw);
//  2. the start events of the event sub-processes in the enclosing scope;
//  3. the boundary events attached to that scope (a sub-process, or the
//     multi-instance body of the activity);
//  4. then 2 and 3 again for the next scope out, up to the process.
//
// At each of these steps a catch with the thrown code wins over a catch-all
// (an event without errorRef or escalationRef); an event sub-process of a
// scope wins over the boundary events of the same scope (as Camunda 7 gives
// it precedence). Catches need no subscription: the walk reads the model.
//
// An error catch always interrupts: everything between the thrower and the
// catcher is terminated (an error boundary event's cancelActivity="false"
// is ignored, and the parser warns of it). An escalation catch interrupts as
// its event says; a non-interrupting one starts a parallel path and the
// thrower goes on. What no catcher takes is, for an error, an incident of
// type IncidentUnhandledError on the thrower naming the code (as in
// Camunda 8; Camunda 7 would end the path silently), and for an escalation,
// an EventEscalationUncaught in history, after which the thrower goes on.
//
// A throw from inside an event sub-process is never caught by that event
// sub-process, and, if it interrupted its scope, by no other event
// sub-process of that scope: it goes on to the scope's boundary events and
// upwards (the catch-and-rethrow pattern).

// catcher is the event that catches a throw: a boundary event attached to
// the activity instance at, or the start event of an event sub-process
// directly inside the scope instance at.
type catcher struct {
	event *bpmn.FlowNode
	at    *ElementInstance
}

// findCatcher returns the nearest catcher of kind (EventError or
// EventEscalation) for code thrown by element instance from, or nil.
func (c *cmd) findCatcher(from *ElementInstance, kind bpmn.EventKind, code string) *catcher {
	var via *ElementInstance // the child instance the walk came up through
	for cur := from; cur != nil; via, cur = cur, c.eiByID(cur.ScopeID) {
		if body := c.bodyOf(cur); body != nil {
			if s := espCatcher(body, via, kind, code); s != nil {
				return &catcher{event: s, at: cur}
			}
		}
		// The boundary events of a multi-instance activity are attached to
		// its body, not to the inner instances.
		if cur.Kind != kindProcess && cur.node != nil && !isLoopInner(cur) {
			m := matcher{kind: kind, code: code}
			for _, b := range cur.node.Boundaries {
				m.try(b)
			}
			if b := m.found(); b != nil {
				return &catcher{event: b, at: cur}
			}
		}
		if cur.Kind == kindProcess {
			break
		}
	}
	return nil
}

// bodyOf returns the container of the flow nodes directly inside ei: the
// process or a sub-process; nil for other element instances.
func (c *cmd) bodyOf(ei *ElementInstance) *bpmn.Container {
	switch {
	case ei.Kind == kindProcess:
		return &c.m.proc.Container
	case ei.Kind == KindMultiInstanceBody || ei.node == nil:
		return nil
	}
	return ei.node.Children
}

// espCatcher returns the start event of the event sub-process of body that
// catches code, or nil. via is the child instance the throw came from: an
// event sub-process never catches what is thrown inside itself, and when via
// is an interrupting event sub-process, the scope is already interrupted
// and none of its event sub-processes catches.
func espCatcher(body *bpmn.Container, via *ElementInstance, kind bpmn.EventKind, code string) *bpmn.FlowNode {
	if via != nil && via.Kind == bpmn.KindEventSubProcess && espInterrupting(via.node) {
		return nil
	}
	m := matcher{kind: kind, code: code}
	for _, n := range body.Nodes {
		if n.Kind != bpmn.KindEventSubProcess || n.Children == nil || (via != nil && via.node == n) {
			continue
		}
		for _, s := range n.Children.Nodes {
			if s.Kind == bpmn.KindStartEvent {
				m.try(s)
			}
		}
	}
	return m.found()
}

// espInterrupting tells whether event sub-process n interrupts its scope:
// whether its start event does.
func espInterrupting(n *bpmn.FlowNode) bool {
	if n == nil || n.Children == nil {
		return false
	}
	for _, s := range n.Children.Nodes {
		if s.Kind == bpmn.KindStartEvent {
			return s.Interrupting
		}
	}
	return false
}

// matcher picks the catch event among candidates of one step of the walk:
// the first whose code equals the thrown one, else the first catch-all.
type matcher struct {
	kind       bpmn.EventKind
	code       string
	exact, all *bpmn.FlowNode
}

func (m *matcher) try(n *bpmn.FlowNode) {
	if n.EventKind() != m.kind {
		return
	}
	switch cc := catchCode(n.Event(), m.kind); {
	case cc == "":
		if m.all == nil {
			m.all = n
		}
	case cc == m.code:
		if m.exact == nil {
			m.exact = n
		}
	}
}

func (m *matcher) found() *bpmn.FlowNode {
	if m.exact != nil {
		return m.exact
	}
	return m.all
}

// catchCode is the code an error or escalation event definition throws or
// catches; "" catches every code.
func catchCode(def *bpmn.EventDefinition, kind bpmn.EventKind) string {
	if kind == bpmn.EventError {
		return def.ErrorCode()
	}
	return def.EscalationCode()
}

// triggerCatch triggers catcher k and returns the scope instance its event
// runs in, where the caught code and variables are written.
func (c *cmd) triggerCatch(k *catcher) (*ElementInstance, error) {
	if k.event.Kind != bpmn.KindBoundaryEvent {
		return k.at, c.triggerEventSubProcess(k.at, k.event)
	}
	scope := c.eiByID(k.at.ScopeID)
	if k.event.EventKind() == bpmn.EventError && !k.event.Interrupting {
		// An error boundary event always interrupts (BPMN 2.0.2 §10.5.4).
		if err := c.terminate(k.at); err != nil {
			return nil, err
		}
	}
	return scope, c.triggerBoundary(k.at, k.event)
}

// throwError throws an error with code (and message, and variables from a
// job) from element instance from. It tells whether a catcher took it; then
// from is terminated with every scope up to the catcher. The catching
// event's camunda:errorCodeVariable and errorMessageVariable, and vars, are
// written like Camunda's setVariable from the scope the catching event runs
// in: where the variable exists, else on the process instance (Camunda 7
// sets the code variables so; Camunda 8 merges a thrown error's variables
// so once the catch event completes).
func (c *cmd) throwError(from *ElementInstance, code, message string, vars Vars) (bool, error) {
	k := c.findCatcher(from, bpmn.EventError, code)
	if k == nil {
		caught, _, err := c.throwToCaller(from, bpmn.EventError, code, message)
		return caught, err
	}
	scope, err := c.triggerCatch(k)
	if err != nil {
		return true, err
	}
	def := k.event.Event()
	if def.ErrorCodeVariable != "" {
		c.setVar(scope.ID, def.ErrorCodeVariable, orNil(code))
	}
	if def.ErrorMessageVariable != "" {
		c.setVar(scope.ID, def.ErrorMessageVariable, orNil(message))
	}
	return true, c.setVars(scope.ID, vars, false)
}

// throwEndError throws the error of error end event ei. Caught, ei is
// terminated with its scopes; uncaught, it is an incident on ei, and a
// retry throws again.
func (c *cmd) throwEndError(ei *ElementInstance) error {
	code := ei.node.Event().ErrorCode()
	caught, err := c.throwError(ei, code, "", nil)
	if err != nil || caught {
		return err
	}
	return uncaughtError(ei.node, code, "")
}

// uncaughtError is the incident of an error that nothing catches.
func uncaughtError(n *bpmn.FlowNode, code, message string) *IncidentError {
	what := fmt.Sprintf("BPMN error %q", code)
	if code == "" {
		what = "a BPMN error without a code"
	}
	if message != "" {
		what += " (" + message + ")"
	}
	return &IncidentError{ElementID: n.ID, Type: IncidentUnhandledError,
		Reason: fmt.Sprintf("%s thrown by %s was not caught: no error boundary event or error event sub-process on the way up matches it", what, n.ID)}
}

// throwEscalation throws the escalation of escalation throw or end event
// ei. It tells whether an interrupting catch terminated ei, or will (a
// catch in a calling instance), which must then not go on. Uncaught, the
// escalation is recorded in history and ei goes on. The catching event's camunda:escalationCodeVariable is written like
// errorCodeVariable (see throwError).
func (c *cmd) throwEscalation(ei *ElementInstance) (interrupted bool, err error) {
	code := ei.node.Event().EscalationCode()
	k := c.findCatcher(ei, bpmn.EventEscalation, code)
	if k == nil {
		caught, wait, err := c.throwToCaller(ei, bpmn.EventEscalation, code, "")
		if err != nil || caught {
			return wait, err
		}
		c.record(ei, EventEscalationUncaught, fmt.Sprintf("escalation %q was not caught; the instance goes on", code))
		return false, nil
	}
	scope, err := c.triggerCatch(k)
	if err != nil {
		return false, err
	}
	if v := k.event.Event().EscalationCodeVariable; v != "" {
		c.setVar(scope.ID, v, orNil(code))
	}
	return !ei.State.Live(), nil
}

// orNil is s, or nil for "" (Camunda writes null for a missing code or message).
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
