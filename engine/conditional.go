package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/batonbpm/baton/bpmn"
)

// Conditional events (BPMN 2.0.2 §10.5.4), as Camunda 7 runs them: an
// intermediate conditional catch event, a conditional boundary event
// (interrupting or not), the conditional start event of an event
// sub-process (interrupting or not), and a conditional catch event after an
// event-based gateway. Conditions are evaluated over process variables:
//
//   - when the element that waits is entered: a catch event whose condition
//     already holds passes at once; an activity's conditional boundary
//     events and a scope's conditional event sub-processes are evaluated
//     once the activity or scope is active (Camunda 7's evaluation on scope
//     instantiation), and fire if their condition holds;
//   - after variables change: once a command's queue ran dry (every token
//     waits), the conditions of the events that wait in the instance are
//     evaluated if a variable they see changed since they were last
//     evaluated, and what fires is run in the same command. A change seen
//     is a write in the waiting element's own scope or in an enclosing one,
//     never in a sibling or nested scope (Camunda 7 propagates a variable
//     event to the scope it happened in and the scopes inside it).
//     camunda:variableName (a name, or names separated by commas) and
//     camunda:variableEvents (create, update, delete) restrict which
//     changes count.
//
// No row records a waiting condition: who waits is derived from the live
// element instances (see model.condWaits), and which changes are news from
// the command's history of variable writes.
//
// A catch event, a gateway's conditional event and an interrupting boundary
// or event sub-process fire when their condition holds after a change they
// see: they end their wait, so they fire at most once. A non-interrupting
// boundary event or event sub-process fires once per change that makes its
// condition true: when it holds after the changes and did not hold, over the
// same variables, before them (the spec's "must become false and then true
// before the event can be triggered again"). Camunda 7 instead fires it on
// every variable event after which the condition holds, even when it held
// before. Several writes of one command count as one change.
//
// The conditions see the variables as they are when the queue ran dry, not
// after each write: a task completed with variables has left before its own
// boundary events' conditions are evaluated (other waiting conditions do see
// the variables). A variable is only deleted with its scope, which ends
// every event waiting inside it, so "delete" never fires an event yet.
//
// A condition that fails (an unknown variable, a result that is not a
// boolean) is an incident naming the event and the expression: on the
// catch event or gateway, whose retry enters it again; on the activity or
// scope of a boundary event or event sub-process, with the event's id as
// the incident's element, whose retry evaluates the condition again. While
// the incident is open the event is not evaluated.

// condFiredMax bounds the conditional events one command fires, so that
// conditions that keep firing each other fail the command instead of
// looping.
const condFiredMax = 10_000

// condState is what a command knows of the conditional events waiting in
// its instance.
type condState struct {
	// from maps an element instance that waits for conditions to the index
	// of the command's history from which variable writes are news to it.
	// One that is missing has seen none of the command's writes; created
	// by the command, it was not evaluated yet.
	from map[int64]int
	// fired counts the conditional events the command fired.
	fired int
	// waiting is the buffer of checkConditions.
	waiting []*ElementInstance
}

func (s *condState) reset() {
	clear(s.from)
	s.fired = 0
	s.waiting = clearSlice(s.waiting)
}

// conditionalWaits tells, by node Index, which nodes of process pr wait for
// conditions while they are active: conditional catch events, event-based
// gateways with a conditional event, activities with conditional boundary
// events, sub-processes with conditional event sub-processes; and whether
// the process's own event sub-processes do. nil when pr has no conditional
// event.
func conditionalWaits(pr *bpmn.Process, size int) (waits []bool, process bool) {
	mark := func(n *bpmn.FlowNode) {
		if waits == nil {
			waits = make([]bool, size)
		}
		waits[n.Index] = true
	}
	var walk func(c *bpmn.Container, owner *bpmn.FlowNode)
	walk = func(c *bpmn.Container, owner *bpmn.FlowNode) {
		for _, n := range c.Nodes {
			switch {
			case n.Kind == bpmn.KindIntermediateCatchEvent && n.EventKind() == bpmn.EventConditional:
				mark(n)
			case n.Kind == bpmn.KindEventBasedGateway:
				for _, f := range n.Outgoing {
					if t := f.Target; t != nil && t.EventKind() == bpmn.EventConditional {
						mark(n)
					}
				}
			case n.Kind == bpmn.KindBoundaryEvent && n.EventKind() == bpmn.EventConditional && n.AttachedTo != nil:
				mark(n.AttachedTo)
			case n.Kind == bpmn.KindEventSubProcess && n.Children != nil:
				for _, s := range n.Children.Nodes {
					if s.Kind != bpmn.KindStartEvent || s.EventKind() != bpmn.EventConditional {
						continue
					}
					switch {
					case owner == nil:
						process = true
						if waits == nil {
							waits = make([]bool, size)
						}
					case owner.Kind == bpmn.KindSubProcess:
						mark(owner)
					}
				}
			}
			if n.Children != nil && n.Kind != bpmn.KindEventSubProcess {
				walk(n.Children, n)
			}
		}
	}
	walk(&pr.Container, nil)
	return waits, process
}

// eventCondition evaluates the condition of conditional event n in scope.
// Any failure is an incident naming n and the expression.
func (c *cmd) eventCondition(n *bpmn.FlowNode, scope int64) (bool, error) {
	def := n.Event()
	if def == nil || def.Condition == nil {
		return false, &IncidentError{ElementID: n.ID, Type: IncidentExpression, Reason: "the conditional event has no condition"}
	}
	x := def.Condition
	if x.Program == nil {
		return false, &IncidentError{ElementID: n.ID, Type: IncidentExpression, Reason: fmt.Sprintf("condition %q did not compile", x.Source)}
	}
	c.lookup.scope = scope
	ok, err := x.Program.EvalBool(&c.lookup)
	if err != nil {
		return false, &IncidentError{ElementID: n.ID, Type: IncidentExpression, Reason: fmt.Sprintf("condition of %s: %v", n.ID, err)}
	}
	return ok, nil
}

// pastCondition evaluates the condition of n in scope over the variables as
// they were before the writes from history index since on. A condition
// that cannot be evaluated then did not hold.
func (c *cmd) pastCondition(n *bpmn.FlowNode, scope int64, since int) bool {
	def := n.Event()
	if def == nil || def.Condition == nil || def.Condition.Program == nil {
		return false
	}
	ok, err := def.Condition.Program.EvalBool(&pastVars{c: c, scope: scope, since: since})
	return err == nil && ok
}

// pastVars resolves variables as they were before the command's writes
// from history index since on.
type pastVars struct {
	c     *cmd
	scope int64
	since int
}

// Lookup implements expression.Lookup.
func (p *pastVars) Lookup(name string) (any, bool) {
	for s := p.scope; s != 0; s = p.c.parentScope(s) {
		if old, existed, changed := p.c.varBefore(s, name, p.since); changed {
			if existed {
				return old, true
			}
			continue
		}
		if v := p.c.localVar(s, name); v != nil {
			return v.Value, true
		}
	}
	return nil, false
}

// Now implements expression.Clock.
func (p *pastVars) Now() time.Time { return p.c.now }

// varBefore tells whether variable name of scope was written from history
// index since on, and if so its value before (existed is false when the
// first such write created it).
func (c *cmd) varBefore(scope int64, name string, since int) (old any, existed, changed bool) {
	for _, h := range c.history[since:] {
		if h.Type == EventVariableSet && h.Var != nil && h.Var.ScopeID == scope && h.Var.Name == name {
			return h.Var.OldValue, !h.Var.Created, true
		}
	}
	return nil, false, false
}

// conditionalCatchActivate enters an intermediate conditional catch event:
// it passes at once when its condition holds, else waits.
func (c *cmd) conditionalCatchActivate(ei *ElementInstance) error {
	ok, err := c.eventCondition(ei.node, ei.ID)
	if err != nil {
		return err
	}
	if ok {
		c.completeLater(ei)
		return nil
	}
	c.watchConditions(ei)
	return nil
}

// watchConditions notes that ei was evaluated: only variable writes from
// now on are news to it.
func (c *cmd) watchConditions(ei *ElementInstance) {
	if c.m.condWaits == nil {
		return
	}
	if c.cond.from == nil {
		c.cond.from = map[int64]int{}
	}
	c.cond.from[ei.ID] = len(c.history)
}

// checkConditions runs when the command's queue ran dry: it evaluates the
// conditions of the events waiting in the instance that are new, or that
// see a variable written since they were last evaluated, and fires those
// that hold. What they trigger is queued.
func (c *cmd) checkConditions() error {
	if c.m.condWaits == nil || c.inst == nil {
		return nil
	}
	c.resolveStaleConditionIncidents()
	ws := c.cond.waiting[:0]
	for _, ei := range c.eis {
		if ei.State == ElementActivated && c.waitsForCondition(ei) {
			ws = append(ws, ei)
		}
	}
	c.cond.waiting = ws
	for _, w := range ws {
		if w.State != ElementActivated {
			continue // ended by an event fired before it
		}
		if err := c.checkWaiting(w); err != nil {
			return err
		}
	}
	clear(ws)
	return nil
}

// waitsForCondition tells whether ei is of a kind that waits for conditions.
func (c *cmd) waitsForCondition(ei *ElementInstance) bool {
	if ei.Kind == kindProcess {
		return c.m.condProcess
	}
	return ei.node != nil && ei.node.Index < len(c.m.condWaits) && c.m.condWaits[ei.node.Index]
}

// checkWaiting evaluates the conditional events element instance w waits for.
func (c *cmd) checkWaiting(w *ElementInstance) error {
	from, seen := c.cond.from[w.ID]
	initial := !seen && w.fresh
	end := len(c.history)
	var changes []HistoryEvent
	if !initial {
		changes = c.history[from:end]
		if !slices.ContainsFunc(changes, func(h HistoryEvent) bool { return h.Type == EventVariableSet }) {
			return nil
		}
	}
	c.watchConditions(w)
	var chain []int64
	for s := w.ID; s != 0; s = c.parentScope(s) {
		chain = append(chain, s)
	}
	check := func(n *bpmn.FlowNode, interrupting bool, blocked bool, fire func() error) (bool, error) {
		if blocked || w.State != ElementActivated {
			return false, nil
		}
		if !initial && !seesChange(changes, chain, n.Event()) {
			return false, nil
		}
		ok, err := c.eventCondition(n, w.ID)
		if err != nil {
			return false, c.conditionIncident(w, n, err)
		}
		if !ok || (!initial && !interrupting && c.pastCondition(n, w.ID, from)) {
			return false, nil
		}
		c.cond.fired++
		if c.cond.fired > condFiredMax {
			return false, fmt.Errorf("instance %d: expected conditional events to settle, but they fired %d times in one command", c.inst.ID, c.cond.fired)
		}
		if err := fire(); err != nil {
			var inc *IncidentError
			if !errors.As(err, &inc) || !w.State.Live() {
				return false, err
			}
			return false, c.raise(w, phaseActivate, inc, 0)
		}
		return true, nil
	}
	switch {
	case w.Kind == bpmn.KindIntermediateCatchEvent:
		_, err := check(w.node, true, c.hasIncident(w.ID), func() error {
			c.completeLater(w)
			return nil
		})
		return err
	case isEventGateway(w):
		for _, f := range w.node.Outgoing {
			t := f.Target
			if t == nil || t.Kind != bpmn.KindIntermediateCatchEvent || t.EventKind() != bpmn.EventConditional {
				continue
			}
			fired, err := check(t, true, c.hasIncident(w.ID), func() error { return c.eventGatewayOccurred(w, t, 0, "", nil) })
			if fired || err != nil {
				return err
			}
		}
		return nil
	}
	if body := c.conditionalBody(w); body != nil {
		for _, n := range body.Nodes {
			if n.Kind != bpmn.KindEventSubProcess || n.Children == nil {
				continue
			}
			for _, s := range n.Children.Nodes {
				if s.Kind != bpmn.KindStartEvent || s.EventKind() != bpmn.EventConditional || !c.espListening(w) {
					continue
				}
				if _, err := check(s, s.Interrupting, c.conditionBlocked(w, s), func() error { return c.triggerEventSubProcess(w, s) }); err != nil {
					return err
				}
			}
		}
	}
	if w.node != nil && !c.isInner(w) {
		for _, b := range w.node.Boundaries {
			if b.EventKind() != bpmn.EventConditional {
				continue
			}
			if _, err := check(b, b.Interrupting, c.conditionBlocked(w, b), func() error { return c.triggerBoundary(w, b) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// conditionalBody returns the container whose event sub-processes start in
// scope instance w: the process's, or an embedded sub-process's; nil for
// other element instances.
func (c *cmd) conditionalBody(w *ElementInstance) *bpmn.Container {
	switch {
	case w.Kind == kindProcess:
		return &c.m.proc.Container
	case w.Kind == bpmn.KindSubProcess && w.node != nil:
		return w.node.Children
	}
	return nil
}

// espListening tells whether the event sub-processes of scope may still
// start: not once an interrupting one runs in it.
func (c *cmd) espListening(scope *ElementInstance) bool {
	for _, ei := range c.eis {
		if ei.ScopeID == scope.ID && ei.Kind == bpmn.KindEventSubProcess && ei.State.Live() && espInterrupting(ei.node) {
			return false
		}
	}
	return true
}

// seesChange tells whether one of the variable writes changes, in a scope
// of chain, passes the camunda:variableName and variableEvents filters of
// def.
func seesChange(changes []HistoryEvent, chain []int64, def *bpmn.EventDefinition) bool {
	for _, h := range changes {
		if h.Type != EventVariableSet || h.Var == nil || !slices.Contains(chain, h.Var.ScopeID) {
			continue
		}
		if def != nil && def.VariableName != "" && !listHas(def.VariableName, h.Var.Name) {
			continue
		}
		ev := "update"
		if h.Var.Created {
			ev = "create"
		}
		if def != nil && strings.TrimSpace(def.VariableEvents) != "" && !listHas(def.VariableEvents, ev) {
			continue
		}
		return true
	}
	return false
}

// listHas tells whether the comma-separated list holds s.
func listHas(list, s string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		if strings.TrimSpace(item) == s {
			return true
		}
	}
	return false
}

// conditionBlocked tells whether the condition of boundary or event
// sub-process start n, waited for by w, has an open incident.
func (c *cmd) conditionBlocked(w *ElementInstance, n *bpmn.FlowNode) bool {
	for _, in := range c.incidents {
		if in.ElementInstanceID == w.ID && in.ElementID == n.ID && in.State == IncidentOpen {
			return true
		}
	}
	return false
}

// conditionIncident stores the failure of the condition of event n, waited
// for by w. A catch event or gateway stops as in any failed activation; a
// boundary event or event sub-process start gets an incident on w with its
// own id as the element, and w goes on.
func (c *cmd) conditionIncident(w *ElementInstance, n *bpmn.FlowNode, err error) error {
	var inc *IncidentError
	if !errors.As(err, &inc) {
		return err
	}
	if w.node == n || isEventGateway(w) {
		return c.raise(w, phaseActivate, inc, 0)
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	c.incidents = append(c.incidents, &Incident{ID: id, InstanceID: c.inst.ID, ElementInstanceID: w.ID, ElementID: n.ID,
		Type: inc.Type, Message: inc.Reason, State: IncidentOpen, CreatedAt: c.now, dirty: true})
	c.history = append(c.history, HistoryEvent{ElementInstanceID: w.ID, ElementID: n.ID, Type: EventIncidentCreated, Detail: inc.Reason, Command: c.info})
	return nil
}

// isConditionIncident tells whether incident in holds the condition of a
// boundary event or event sub-process start waited for by w.
func (c *cmd) isConditionIncident(w *ElementInstance, in *Incident) (*bpmn.FlowNode, bool) {
	if in.ElementID == w.ElementID {
		return nil, false
	}
	n := c.m.defs.Node(in.ElementID)
	if n == nil || n.EventKind() != bpmn.EventConditional || (n.Kind != bpmn.KindBoundaryEvent && n.Kind != bpmn.KindStartEvent) {
		return nil, false
	}
	return n, true
}

// retryCondition runs the retry of incident in, already resolved, when it
// holds the condition of a boundary event or event sub-process start
// waited for by w: the condition is evaluated again, and the event fires
// if it holds. It tells whether in was such an incident.
func (c *cmd) retryCondition(w *ElementInstance, in *Incident) (bool, error) {
	n, ok := c.isConditionIncident(w, in)
	if !ok {
		return false, nil
	}
	if w.State != ElementActivated {
		return true, nil
	}
	holds, err := c.eventCondition(n, w.ID)
	if err != nil {
		return true, c.conditionIncident(w, n, err)
	}
	if !holds {
		return true, nil
	}
	if n.Kind == bpmn.KindBoundaryEvent {
		return true, c.triggerBoundary(w, n)
	}
	if !c.espListening(w) {
		return true, nil
	}
	return true, c.triggerEventSubProcess(w, n)
}

// resolveStaleConditionIncidents resolves the open condition incidents of
// boundary events and event sub-processes whose activity or scope has
// completed: their event can no longer fire. (A terminated one resolves its
// incidents itself.)
func (c *cmd) resolveStaleConditionIncidents() {
	for _, in := range c.incidents {
		if in.State != IncidentOpen || c.eiByID(in.ElementInstanceID) != nil {
			continue
		}
		n := c.m.defs.Node(in.ElementID)
		if n == nil || n.EventKind() != bpmn.EventConditional || (n.Kind != bpmn.KindBoundaryEvent && n.Kind != bpmn.KindStartEvent) {
			continue
		}
		in.State, in.ResolvedAt, in.dirty = IncidentResolved, c.now, true
		c.history = append(c.history, HistoryEvent{ElementInstanceID: in.ElementInstanceID, ElementID: in.ElementID, Type: EventIncidentResolved,
			Detail: "its element ended", Command: c.info})
	}
}
