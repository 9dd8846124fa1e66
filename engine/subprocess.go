package engine

import "github.com/batonbpm/baton/bpmn"

// subProcess is an embedded sub-process: a scope of its own for tokens and
// variables. It starts at its none start event (or, without start events,
// at every node without incoming flows, BPMN 2.0.2 §13.2.5) and completes
// when no token is left inside.
type subProcess struct{ passThrough }

func (subProcess) activate(c *cmd, ei *ElementInstance) error {
	body := ei.node.Children
	if err := c.subscribeEventSubProcesses(ei, body); err != nil {
		return err
	}
	starts := 0
	if s := body.NoneStart(); s != nil {
		starts++
		if _, err := c.activate(s, ei); err != nil {
			return err
		}
	} else {
		for _, n := range body.Nodes {
			if len(n.Incoming) == 0 && n.Kind != bpmn.KindBoundaryEvent && n.Kind != bpmn.KindEventSubProcess &&
				n.Kind != bpmn.KindStartEvent && !n.IsForCompensation && !(n.Kind == bpmn.KindIntermediateCatchEvent && n.EventKind() == bpmn.EventLink) {
				starts++
				if _, err := c.activate(n, ei); err != nil {
					return err
				}
			}
		}
	}
	if starts == 0 {
		c.completeLater(ei) // an empty sub-process completes at once
	}
	return nil
}
