package engine

import (
	"github.com/batonbpm/baton/bpmn"
)

// exclusiveGateway takes the first outgoing flow, in document order, whose
// condition is true; the default flow when none is; with neither, an
// incident (BPMN 2.0.2 §13.3.2). Converging, it passes each token through.
type exclusiveGateway struct{ passThrough }

func (exclusiveGateway) complete(c *cmd, ei *ElementInstance) error {
	n := ei.node
	if len(n.Outgoing) == 0 {
		return c.leave(ei, nil) // a merge with no outgoing flow ends the path
	}
	if len(n.Outgoing) == 1 && n.Default == nil && n.Outgoing[0].Condition == nil {
		return c.leave(ei, n.Outgoing)
	}
	for _, f := range n.Outgoing {
		if f == n.Default {
			continue
		}
		if f.Condition == nil {
			return c.leave(ei, []*bpmn.SequenceFlow{f})
		}
		ok, err := c.condition(ei, f)
		if err != nil {
			return err
		}
		if ok {
			return c.leave(ei, []*bpmn.SequenceFlow{f})
		}
	}
	if n.Default != nil {
		return c.leave(ei, []*bpmn.SequenceFlow{n.Default})
	}
	return &IncidentError{ElementID: n.ID, Type: IncidentConditionNoMatch,
		Reason: "no outgoing sequence flow condition is true and the gateway has no default flow"}
}

// parallelGateway forks on every outgoing flow, ignoring conditions; joining,
// it waits for a token on every incoming flow (see cmd.tryJoin).
type parallelGateway struct{ passThrough }

func (parallelGateway) complete(c *cmd, ei *ElementInstance) error {
	return c.leave(ei, ei.node.Outgoing)
}

// inclusiveGateway forks on every flow whose condition is true (and every
// unconditioned one), the default flow only when none is; with neither, an
// incident. Joining, it fires once no token in its scope can still reach it
// (see cmd.tryJoin).
type inclusiveGateway struct{ passThrough }
