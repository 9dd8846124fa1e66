package engine

import (
	"github.com/batonbpm/baton/bpmn"
)

// model is a deployed process prepared for execution: its behaviours and the
// tables the engine consults on every step, computed once per definition.
type model struct {
	def  *Definition
	defs *bpmn.Definitions
	proc *bpmn.Process
	// links maps a container and link name to its catching link event.
	links map[linkKey]*bpmn.FlowNode
	// reach[j] tells, for an inclusive join j, which nodes (by Index) have a
	// path to j that does not pass through j.
	reach map[*bpmn.FlowNode][]bool
	// behaviors holds the behaviour of every node, by Index.
	behaviors []behavior
	// condWaits tells, by Index, the nodes that wait for conditions while
	// active, and condProcess whether the process's event sub-processes
	// do (see conditionalWaits); nil without conditional events.
	condWaits   []bool
	condProcess bool
}

// behavior returns the behaviour of n, chosen once per model.
func (m *model) behavior(n *bpmn.FlowNode) behavior {
	if n.Index < len(m.behaviors) && m.behaviors[n.Index] != nil {
		return m.behaviors[n.Index]
	}
	return behaviorOf(n)
}

type linkKey struct {
	scope *bpmn.Container
	name  string
}

func newModel(def *Definition, defs *bpmn.Definitions, proc *bpmn.Process) *model {
	m := &model{def: def, defs: defs, proc: proc, links: map[linkKey]*bpmn.FlowNode{}, reach: map[*bpmn.FlowNode][]bool{}}
	size := 0
	var walk func(c *bpmn.Container)
	walk = func(c *bpmn.Container) {
		for _, n := range c.Nodes {
			if n.Index >= size {
				size = n.Index + 1
			}
			if n.Kind == bpmn.KindIntermediateCatchEvent && n.EventKind() == bpmn.EventLink {
				m.links[linkKey{c, n.Event().LinkName}] = n
			}
			if n.Children != nil {
				walk(n.Children)
			}
		}
	}
	walk(&proc.Container)
	m.behaviors = make([]behavior, size)
	m.condWaits, m.condProcess = conditionalWaits(proc, size)
	var choose func(c *bpmn.Container)
	choose = func(c *bpmn.Container) {
		for _, n := range c.Nodes {
			m.behaviors[n.Index] = behaviorOf(n)
			if n.Children != nil {
				choose(n.Children)
			}
		}
	}
	choose(&proc.Container)
	var joins func(c *bpmn.Container)
	joins = func(c *bpmn.Container) {
		for _, n := range c.Nodes {
			if n.Kind == bpmn.KindInclusiveGateway && len(n.Incoming) > 1 {
				m.reach[n] = reachTo(n, size)
			}
			if n.Children != nil {
				joins(n.Children)
			}
		}
	}
	joins(&proc.Container)
	return m
}

// reachTo walks backwards from j: a token at a node can reach j when a path
// of sequence flows leads from the node (or from one of its boundary events)
// to j without passing through j (BPMN 2.0.2 §13.3.4, inclusive join).
func reachTo(j *bpmn.FlowNode, size int) []bool {
	r := make([]bool, size)
	stack := []*bpmn.FlowNode{j}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, f := range n.Incoming {
			src := f.Source
			if src == nil || src == j || r[src.Index] {
				continue
			}
			r[src.Index] = true
			stack = append(stack, src)
			if src.Kind == bpmn.KindBoundaryEvent && src.AttachedTo != nil && !r[src.AttachedTo.Index] {
				r[src.AttachedTo.Index] = true
				stack = append(stack, src.AttachedTo)
			}
		}
		// A link catch is reached from its throws.
		if n.Kind == bpmn.KindIntermediateCatchEvent && n.EventKind() == bpmn.EventLink {
			for _, t := range n.Scope().Nodes {
				if t.Kind == bpmn.KindIntermediateThrowEvent && t.EventKind() == bpmn.EventLink &&
					t.Event().LinkName == n.Event().LinkName && t != j && !r[t.Index] {
					r[t.Index] = true
					stack = append(stack, t)
				}
			}
		}
	}
	return r
}
