package bpmn

import (
	"fmt"
	"strings"
)

// resolve indexes every element by id and links references: flows to their
// nodes, defaults, boundary events to activities, event definitions to
// messages, signals, errors and escalations, participants to processes,
// compensation to activities, lanes to nodes. It sets the back-pointers
// Process, Parent and Index. Every reference that names nothing becomes a
// Problem naming the element, the attribute and the missing id: an error in
// executable processes, a warning elsewhere. It never panics on a model
// Parse produced, however broken.
func resolve(d *Definitions) {
	r := &resolver{d: d}
	d.ids = make(map[string]any, 64)
	r.index()
	r.link()
}

type resolver struct {
	d         *Definitions
	nodeIndex int
}

func (r *resolver) problem(sev Severity, line int, id, kind, format string, args ...any) {
	r.d.Problems = append(r.d.Problems, Problem{Severity: sev, Line: line, ElementID: id, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// register indexes v under id; a duplicate id is an error naming both lines.
func (r *resolver) register(id string, v any, line int, kind string) {
	if id == "" {
		return
	}
	if prev, ok := r.d.ids[id]; ok {
		r.problem(SeverityError, line, id, kind, "duplicate id %q: also used by a %s at line %d", id, kindOf(prev), lineOf(prev))
		return
	}
	r.d.ids[id] = v
}

// lookup finds the element a reference names. References are QNames in the
// schema; a prefixed one ("tns:Message_1") that names nothing as written is
// tried without its prefix.
func (r *resolver) lookup(ref string) any {
	if ref == "" {
		return nil
	}
	if v, ok := r.d.ids[ref]; ok {
		return v
	}
	if i := strings.IndexByte(ref, ':'); i >= 0 {
		return r.d.ids[ref[i+1:]]
	}
	return nil
}

func lineOf(v any) int {
	switch v := v.(type) {
	case *FlowNode:
		return v.Line
	case *SequenceFlow:
		return v.Line
	case *Process:
		return v.Line
	case *Lane:
		return v.Line
	case *EventDefinition:
		return v.Line
	case *DataObject:
		return v.Line
	case *Association:
		return v.Line
	case *Collaboration:
		return v.Line
	case *Participant:
		return v.Line
	case *MessageFlow:
		return v.Line
	case *Message:
		return v.Line
	case *Signal:
		return v.Line
	case *Error:
		return v.Line
	case *Escalation:
		return v.Line
	case *ItemDefinition:
		return v.Line
	case *DataStore:
		return v.Line
	}
	return 0
}

func kindOf(v any) string {
	switch v := v.(type) {
	case *FlowNode:
		return string(v.Kind)
	case *SequenceFlow:
		return "sequenceFlow"
	case *Process:
		return "process"
	case *Lane:
		return "lane"
	case *EventDefinition:
		return string(v.Kind) + "EventDefinition"
	case *DataObject:
		if v.Reference {
			return "dataObjectReference"
		}
		return "dataObject"
	case *Association:
		return v.Kind
	case *Collaboration:
		return "collaboration"
	case *Participant:
		return "participant"
	case *MessageFlow:
		return "messageFlow"
	case *Message:
		return "message"
	case *Signal:
		return "signal"
	case *Error:
		return "error"
	case *Escalation:
		return "escalation"
	case *ItemDefinition:
		return "itemDefinition"
	case *DataStore:
		return "dataStore"
	}
	return fmt.Sprintf("%T", v)
}

// index registers every id in document order (processes first, then the
// rest) and sets Process, Parent and the nodes' Index. The flows' Index is
// set by the parser, which sees them in document order across scopes.
func (r *resolver) index() {
	d := r.d
	for _, p := range d.Processes {
		if p == nil {
			continue
		}
		p.Definitions = d
		r.register(p.ID, p, p.Line, "process")
		for _, l := range p.Lanes {
			r.register(l.ID, l, l.Line, "lane")
		}
		r.container(&p.Container, p, nil)
	}
	for _, c := range d.Collaborations {
		r.register(c.ID, c, c.Line, "collaboration")
		for _, pt := range c.Participants {
			r.register(pt.ID, pt, pt.Line, "participant")
		}
		for _, mf := range c.MessageFlows {
			r.register(mf.ID, mf, mf.Line, "messageFlow")
		}
	}
	for _, m := range d.Messages {
		r.register(m.ID, m, m.Line, "message")
	}
	for _, s := range d.Signals {
		r.register(s.ID, s, s.Line, "signal")
	}
	for _, e := range d.Errors {
		r.register(e.ID, e, e.Line, "error")
	}
	for _, e := range d.Escalations {
		r.register(e.ID, e, e.Line, "escalation")
	}
	for _, it := range d.ItemDefinitions {
		r.register(it.ID, it, it.Line, "itemDefinition")
	}
	for _, ds := range d.DataStores {
		r.register(ds.ID, ds, ds.Line, "dataStore")
	}
}

func (r *resolver) container(c *Container, p *Process, parent *FlowNode) {
	for _, f := range c.Flows {
		r.register(f.ID, f, f.Line, "sequenceFlow")
	}
	for _, o := range c.DataObjects {
		r.register(o.ID, o, o.Line, kindOf(o))
	}
	for _, a := range c.Associations {
		r.register(a.ID, a, a.Line, a.Kind)
	}
	for _, n := range c.Nodes {
		n.Process, n.Parent = p, parent
		n.Index = r.nodeIndex
		r.nodeIndex++
		n.Incoming, n.Outgoing, n.Boundaries = nil, nil, nil
		r.register(n.ID, n, n.Line, string(n.Kind))
		for _, ed := range n.EventDefinitions {
			r.register(ed.ID, ed, ed.Line, kindOf(ed))
		}
		if n.Children != nil {
			r.container(n.Children, p, n)
		}
	}
}

// link resolves every reference.
func (r *resolver) link() {
	d := r.d
	for _, p := range d.Processes {
		if p == nil {
			continue
		}
		sev := refSeverity(p)
		r.linkContainer(&p.Container, sev)
		r.linkCompensation(&p.Container)
		for _, l := range p.Lanes {
			l.Nodes = l.Nodes[:0]
			for _, ref := range l.NodeRefs {
				if n, ok := r.lookup(ref).(*FlowNode); ok {
					l.Nodes = append(l.Nodes, n)
				} else {
					r.problem(SeverityWarning, l.Line, l.ID, "lane", "flowNodeRef names no flow node: %s", ref)
				}
			}
		}
	}
	for _, c := range d.Collaborations {
		for _, pt := range c.Participants {
			if pt.ProcessRef == "" {
				continue // a black-box pool
			}
			if p, ok := r.lookup(pt.ProcessRef).(*Process); ok {
				pt.Process = p
			} else {
				r.problem(SeverityWarning, pt.Line, pt.ID, "participant", "processRef names no process: %s", pt.ProcessRef)
			}
		}
		for _, mf := range c.MessageFlows {
			if mf.SourceRef == "" || r.lookup(mf.SourceRef) == nil {
				r.problem(SeverityWarning, mf.Line, mf.ID, "messageFlow", "sourceRef names no element: %q", mf.SourceRef)
			}
			if mf.TargetRef == "" || r.lookup(mf.TargetRef) == nil {
				r.problem(SeverityWarning, mf.Line, mf.ID, "messageFlow", "targetRef names no element: %q", mf.TargetRef)
			}
			if mf.MessageRef != "" {
				if _, ok := r.lookup(mf.MessageRef).(*Message); !ok {
					r.problem(SeverityWarning, mf.Line, mf.ID, "messageFlow", "messageRef names no message: %s", mf.MessageRef)
				}
			}
		}
	}
}

func (r *resolver) linkContainer(c *Container, sev Severity) {
	for _, f := range c.Flows {
		f.Source, f.Target = nil, nil
		if f.SourceRef == "" {
			r.problem(sev, f.Line, f.ID, "sequenceFlow", "sourceRef is missing")
		} else if n, ok := r.lookup(f.SourceRef).(*FlowNode); ok {
			f.Source = n
			n.Outgoing = append(n.Outgoing, f)
		} else {
			r.problem(sev, f.Line, f.ID, "sequenceFlow", "sourceRef names no flow node: %s", f.SourceRef)
		}
		if f.TargetRef == "" {
			r.problem(sev, f.Line, f.ID, "sequenceFlow", "targetRef is missing")
		} else if n, ok := r.lookup(f.TargetRef).(*FlowNode); ok {
			f.Target = n
			n.Incoming = append(n.Incoming, f)
		} else {
			r.problem(sev, f.Line, f.ID, "sequenceFlow", "targetRef names no flow node: %s", f.TargetRef)
		}
	}
	for _, o := range c.DataObjects {
		if o.Reference && o.Ref != "" && r.lookup(o.Ref) == nil {
			r.problem(SeverityWarning, o.Line, o.ID, kindOf(o), "reference names no element: %s", o.Ref)
		}
	}
	for _, n := range c.Nodes {
		r.linkNode(n, sev)
		if n.Children != nil {
			r.linkContainer(n.Children, sev)
		}
	}
}

func (r *resolver) linkNode(n *FlowNode, sev Severity) {
	kind := string(n.Kind)
	n.Default = nil
	n.CompensationHandler = nil
	if n.DefaultRef != "" {
		if f, ok := r.lookup(n.DefaultRef).(*SequenceFlow); ok {
			n.Default = f
		} else {
			r.problem(sev, n.Line, n.ID, kind, "default names no sequence flow: %s", n.DefaultRef)
		}
	}
	if n.Kind == KindBoundaryEvent {
		n.AttachedTo = nil
		if n.AttachedToRef == "" {
			r.problem(sev, n.Line, n.ID, kind, "attachedToRef is missing")
		} else if a, ok := r.lookup(n.AttachedToRef).(*FlowNode); ok {
			n.AttachedTo = a
			a.Boundaries = append(a.Boundaries, n)
		} else {
			r.problem(sev, n.Line, n.ID, kind, "attachedToRef names no activity: %s", n.AttachedToRef)
		}
	}
	for _, ed := range n.EventDefinitions {
		if ed == nil {
			continue
		}
		line := ed.Line
		if line == 0 {
			line = n.Line
		}
		switch ed.Kind {
		case EventMessage:
			ed.Message = r.message(ed.MessageRef, sev, line, n)
			if ed.Message != nil && ed.CorrelationKey == nil {
				ed.CorrelationKey = ed.Message.CorrelationKey
			}
		case EventSignal:
			ed.Signal = nil
			if ed.SignalRef != "" {
				if s, ok := r.lookup(ed.SignalRef).(*Signal); ok {
					ed.Signal = s
				} else {
					r.problem(sev, line, n.ID, kind, "signalRef names no signal: %s", ed.SignalRef)
				}
			}
		case EventError:
			// An errorRef that names no <error> is the error code itself.
			ed.Error, _ = r.lookup(ed.ErrorRef).(*Error)
		case EventEscalation:
			ed.Escalation = nil
			if ed.EscalationRef != "" {
				if e, ok := r.lookup(ed.EscalationRef).(*Escalation); ok {
					ed.Escalation = e
				} else {
					r.problem(sev, line, n.ID, kind, "escalationRef names no escalation: %s", ed.EscalationRef)
				}
			}
		case EventCompensation:
			ed.Activity = nil
			if ed.ActivityRef != "" {
				if a, ok := r.lookup(ed.ActivityRef).(*FlowNode); ok {
					ed.Activity = a
				} else {
					r.problem(sev, line, n.ID, kind, "activityRef names no activity: %s", ed.ActivityRef)
				}
			}
		}
	}
	if t := n.Task; t != nil && t.MessageRef != "" {
		t.Message = r.message(t.MessageRef, sev, n.Line, n)
		if t.Message != nil && t.CorrelationKey == nil {
			t.CorrelationKey = t.Message.CorrelationKey
		}
	}
}

func (r *resolver) message(ref string, sev Severity, line int, n *FlowNode) *Message {
	if ref == "" {
		return nil
	}
	if m, ok := r.lookup(ref).(*Message); ok {
		return m
	}
	r.problem(sev, line, n.ID, string(n.Kind), "messageRef names no message: %s", ref)
	return nil
}

// linkCompensation sets the CompensationHandler of every compensation
// boundary event in c and its sub-processes: the activity an association
// connects the event to, in either direction (BPMN 2.0.2 §10.5.4).
// Modelers put the association next to the event or in an enclosing
// container, so every association of the process counts. When several
// activities qualify, the first marked isForCompensation wins, else the
// first.
func (r *resolver) linkCompensation(c *Container) {
	for _, a := range c.Associations {
		if a == nil || a.Kind != "association" {
			continue
		}
		src, _ := r.lookup(a.SourceRef).(*FlowNode)
		tgt, _ := r.lookup(a.TargetRef).(*FlowNode)
		setCompensationHandler(src, tgt)
		setCompensationHandler(tgt, src)
	}
	for _, n := range c.Nodes {
		if n != nil && n.Children != nil {
			r.linkCompensation(n.Children)
		}
	}
}

// setCompensationHandler makes h the compensation handler of b when b is a
// compensation boundary event and h an activity that fits better than what
// b has.
func setCompensationHandler(b, h *FlowNode) {
	if b == nil || h == nil || b.Kind != KindBoundaryEvent || b.EventKind() != EventCompensation || !h.Kind.IsActivity() || h == b.AttachedTo {
		return
	}
	if b.CompensationHandler == nil || (!b.CompensationHandler.IsForCompensation && h.IsForCompensation) {
		b.CompensationHandler = h
	}
}
