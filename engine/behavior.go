package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/batonbpm/baton/bpmn"
)

// behavior is the logic of one element kind. It records effects on the
// command and never touches the Store.
type behavior interface {
	// activate runs when the element instance is activated: wait, or
	// c.completeLater(ei).
	activate(c *cmd, ei *ElementInstance) error
	// complete runs when the element instance completes: map outputs and
	// take outgoing flows with c.leave.
	complete(c *cmd, ei *ElementInstance) error
	// terminate cleans up what the element created (a user task, a job);
	// children of a scope are terminated before it.
	terminate(c *cmd, ei *ElementInstance) error
}

var behaviors = map[bpmn.Kind]behavior{
	bpmn.KindStartEvent:             startEvent{},
	bpmn.KindEndEvent:               endEvent{},
	bpmn.KindIntermediateThrowEvent: throwEvent{},
	bpmn.KindIntermediateCatchEvent: catchEvent{},
	bpmn.KindTask:                   passTask{},
	bpmn.KindManualTask:             passTask{},
	bpmn.KindUserTask:               userTask{},
	bpmn.KindReceiveTask:            receiveTask{},
	bpmn.KindServiceTask:            serviceTask{},
	bpmn.KindSendTask:               serviceTask{},
	bpmn.KindBusinessRuleTask:       serviceTask{},
	bpmn.KindScriptTask:             scriptTask{},
	bpmn.KindExclusiveGateway:       exclusiveGateway{},
	bpmn.KindParallelGateway:        parallelGateway{},
	bpmn.KindInclusiveGateway:       inclusiveGateway{},
	bpmn.KindEventBasedGateway:      eventBasedGateway{},
	bpmn.KindSubProcess:             subProcess{},
	bpmn.KindTransaction:            subProcess{}, // its cancel end event: transaction.go
	bpmn.KindEventSubProcess:        eventSubProcess{},
	bpmn.KindBoundaryEvent:          boundaryEvent{},
	bpmn.KindCallActivity:           callActivity{},
}

// behaviorOf returns the behaviour of n, or one that raises an incident when
// n uses something the engine does not execute yet.
func behaviorOf(n *bpmn.FlowNode) behavior {
	if why := Unsupported(n); why != "" {
		return unsupported{why}
	}
	return behaviors[n.Kind]
}

// executedEvents are the event definitions the engine executes, by event kind.
var executedEvents = map[bpmn.Kind][]bpmn.EventKind{
	bpmn.KindStartEvent:             {bpmn.EventNone, bpmn.EventTimer, bpmn.EventMessage, bpmn.EventSignal, bpmn.EventError, bpmn.EventEscalation, bpmn.EventConditional, bpmn.EventCompensation},
	bpmn.KindBoundaryEvent:          {bpmn.EventTimer, bpmn.EventMessage, bpmn.EventSignal, bpmn.EventError, bpmn.EventEscalation, bpmn.EventConditional, bpmn.EventCompensation, bpmn.EventCancel},
	bpmn.KindEndEvent:               {bpmn.EventNone, bpmn.EventTerminate, bpmn.EventMessage, bpmn.EventSignal, bpmn.EventError, bpmn.EventEscalation, bpmn.EventCompensation, bpmn.EventCancel},
	bpmn.KindIntermediateThrowEvent: {bpmn.EventNone, bpmn.EventLink, bpmn.EventMessage, bpmn.EventSignal, bpmn.EventEscalation, bpmn.EventCompensation},
	bpmn.KindIntermediateCatchEvent: {bpmn.EventLink, bpmn.EventTimer, bpmn.EventMessage, bpmn.EventSignal, bpmn.EventConditional},
}

// Unsupported tells why the engine cannot execute n yet, or "" when it can.
// Deploying such a model gives a warning; reaching the element at run time
// raises an incident naming the reason, never a silent wrong path.
func Unsupported(n *bpmn.FlowNode) string {
	if _, ok := behaviors[n.Kind]; !ok {
		return fmt.Sprintf("%s elements are not executed yet", n.Kind)
	}
	if n.Loop != nil {
		if why := loopUnsupported(n.Loop); why != "" {
			return why
		}
	}
	ek := n.EventKind()
	switch n.Kind {
	case bpmn.KindStartEvent:
		if !slices.Contains(executedEvents[n.Kind], ek) {
			return fmt.Sprintf("%s start events are not executed yet", ek)
		}
		if ek == bpmn.EventConditional && (n.Parent == nil || n.Parent.Kind != bpmn.KindEventSubProcess) {
			// Camunda 7 evaluates them only when asked (POST /condition).
			return "conditional start events of a process are not executed yet: only those of event sub-processes are; start the process at a none, message, signal or timer start event"
		}
	case bpmn.KindEventBasedGateway:
		if n.Instantiate || strings.EqualFold(n.EventGatewayType, "Parallel") {
			return `instantiating event-based gateways (instantiate="true") are not executed yet; start the process at a message, signal or timer start event instead`
		}
	case bpmn.KindBoundaryEvent:
		if !slices.Contains(executedEvents[n.Kind], ek) {
			return fmt.Sprintf("%s boundary events are not executed yet", ek)
		}
	case bpmn.KindEndEvent:
		if !slices.Contains(executedEvents[n.Kind], ek) {
			return fmt.Sprintf("%s end events are not executed yet", ek)
		}
	case bpmn.KindIntermediateThrowEvent, bpmn.KindIntermediateCatchEvent:
		if n.Kind == bpmn.KindIntermediateCatchEvent && ek == bpmn.EventNone {
			return "an intermediate catch event needs an event definition"
		}
		if !slices.Contains(executedEvents[n.Kind], ek) {
			return fmt.Sprintf("%s intermediate events are not executed yet", ek)
		}
	case bpmn.KindCallActivity:
		if why := callUnsupported(n); why != "" {
			return why
		}
	case bpmn.KindBusinessRuleTask:
		if n.Task != nil && n.Task.Topic == nil && n.Task.DecisionRef != "" {
			return "DMN decisions are not evaluated yet; give the task a job topic (camunda:topic or zeebe:taskDefinition)"
		}
	}
	if why := compensationUnsupported(n); why != "" {
		return why
	}
	for _, m := range append(n.Inputs[:len(n.Inputs):len(n.Inputs)], n.Outputs...) {
		if m.Unsupported != "" {
			return fmt.Sprintf("mapping of %q: %s", m.Target, m.Unsupported)
		}
	}
	return ""
}

// Check returns a warning for every element of d's executable processes that
// the engine does not execute yet, and for modelled features it ignores.
func Check(d *bpmn.Definitions) []bpmn.Problem {
	var ps []bpmn.Problem
	warn := func(n *bpmn.FlowNode, msg string) {
		ps = append(ps, bpmn.Problem{Severity: bpmn.SeverityWarning, Line: n.Line, ElementID: n.ID, Kind: string(n.Kind), Message: msg})
	}
	var walk func(c *bpmn.Container)
	walk = func(c *bpmn.Container) {
		for _, n := range c.Nodes {
			switch {
			case n.Kind == bpmn.KindBoundaryEvent:
				if why := Unsupported(n); why != "" {
					warn(n, why+": the event will never fire")
				}
			case n.Kind == bpmn.KindEventSubProcess:
				for _, s := range n.Children.Nodes {
					if s.Kind == bpmn.KindStartEvent {
						if why := Unsupported(s); why != "" {
							warn(s, why+": the event sub-process will never start")
						}
					}
				}
			default:
				if why := Unsupported(n); why != "" {
					warn(n, why+"; reaching it raises an incident")
				} else if w := compensationWarning(n); w != "" {
					warn(n, w)
				}
			}
			if n.Children != nil && n.Kind != bpmn.KindEventSubProcess {
				walk(n.Children)
			}
		}
	}
	for _, p := range d.ExecutableProcesses() {
		walk(&p.Container)
	}
	return ps
}

// unsupported raises an incident when its element is reached.
type unsupported struct{ why string }

func (u unsupported) activate(c *cmd, ei *ElementInstance) error {
	return &IncidentError{ElementID: ei.ElementID, Type: "unsupported", Reason: u.why}
}
func (u unsupported) complete(c *cmd, ei *ElementInstance) error  { return u.activate(c, ei) }
func (u unsupported) terminate(c *cmd, ei *ElementInstance) error { return nil }

// passThrough is the part of every behaviour that completes at once and
// leaves on the selected outgoing flows.
type passThrough struct{}

func (passThrough) activate(c *cmd, ei *ElementInstance) error {
	c.completeLater(ei)
	return nil
}

func (passThrough) complete(c *cmd, ei *ElementInstance) error {
	flows, err := c.outgoing(ei)
	if err != nil {
		return err
	}
	return c.leave(ei, flows)
}

func (passThrough) terminate(c *cmd, ei *ElementInstance) error { return nil }

// outgoing selects the flows an activity or event leaves on (BPMN 2.0.2
// §13.2.1): every unconditioned flow and every conditioned flow whose
// condition holds; the default flow only when no other is taken. When the
// node has outgoing flows and none is selected, that is an incident.
func (c *cmd) outgoing(ei *ElementInstance) ([]*bpmn.SequenceFlow, error) {
	if isLoopInner(ei) {
		return nil, nil // it goes back to its body, which takes the flows
	}
	n := ei.node
	plain := n.Default == nil
	for _, f := range n.Outgoing {
		if f.Condition != nil {
			plain = false
			break
		}
	}
	if plain {
		return n.Outgoing, nil
	}
	var out []*bpmn.SequenceFlow
	for _, f := range n.Outgoing {
		if f == n.Default {
			continue
		}
		if f.Condition != nil {
			ok, err := c.condition(ei, f)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		out = append(out, f)
	}
	if len(out) == 0 && n.Default != nil {
		out = append(out, n.Default)
	}
	if len(out) == 0 {
		return nil, &IncidentError{ElementID: n.ID, Type: IncidentConditionNoMatch,
			Reason: "no outgoing sequence flow condition is true and there is no default flow"}
	}
	return out, nil
}
