package bpmn

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/batonbpm/baton/bpmn/expression"
	"github.com/batonbpm/baton/bpmn/timer"
)

// validate appends to d.Problems what makes the model wrong or not
// executable as drawn. It runs after resolve, so references are linked where
// they resolve; dangling references, duplicate ids and expression compile
// errors are reported by resolve, and validate skips what they leave nil.
//
// Structural rules (BPMN 2.0.2 chapter 10) apply to every process; execution
// rules (conditions, start events, timers, call and multi-instance data,
// message names) only to executable ones. validate never panics, whatever
// the model holds.
func validate(d *Definitions) {
	if d == nil {
		return
	}
	v := &validator{
		d:        d,
		owner:    map[*FlowNode]*Container{},
		parentOf: map[*Container]*FlowNode{},
		procOf:   map[*Container]*Process{},
		assocs:   map[string][]*Association{},
	}
	for _, p := range d.Processes {
		if p != nil {
			v.index(p, &p.Container, nil)
		}
	}
	for _, p := range d.Processes {
		if p != nil {
			v.process(p)
		}
	}
	// Problems in document order; those without a line keep their place
	// relative to each other.
	slices.SortStableFunc(v.out, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	d.Problems = append(d.Problems, v.out...)
}

type validator struct {
	d   *Definitions
	out []Problem

	owner    map[*FlowNode]*Container  // the container a node is directly in
	parentOf map[*Container]*FlowNode  // the sub-process owning a container; nil for a process
	procOf   map[*Container]*Process   // the process a container belongs to
	assocs   map[string][]*Association // associations by source and target id
}

// index records the containers of p, recursively.
func (v *validator) index(p *Process, c *Container, parent *FlowNode) {
	if c == nil {
		return
	}
	if _, seen := v.procOf[c]; seen {
		return
	}
	v.procOf[c] = p
	v.parentOf[c] = parent
	for _, a := range c.Associations {
		if a == nil {
			continue
		}
		v.assocs[a.SourceRef] = append(v.assocs[a.SourceRef], a)
		if a.TargetRef != a.SourceRef {
			v.assocs[a.TargetRef] = append(v.assocs[a.TargetRef], a)
		}
	}
	for _, n := range c.Nodes {
		if n == nil {
			continue
		}
		if _, dup := v.owner[n]; !dup {
			v.owner[n] = c
		}
		if n.Children != nil {
			v.index(p, n.Children, n)
		}
	}
}

// Reporting.

func (v *validator) add(sev Severity, line int, id, kind, format string, args ...any) {
	v.out = append(v.out, Problem{Severity: sev, Line: line, ElementID: id, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) nodeErr(n *FlowNode, format string, args ...any) {
	v.add(SeverityError, n.Line, n.ID, nodeKind(n), format, args...)
}

func (v *validator) nodeWarn(n *FlowNode, format string, args ...any) {
	v.add(SeverityWarning, n.Line, n.ID, nodeKind(n), format, args...)
}

func (v *validator) flowErr(f *SequenceFlow, format string, args ...any) {
	v.add(SeverityError, f.Line, f.ID, "sequenceFlow", format, args...)
}

func nodeKind(n *FlowNode) string {
	if n.Kind == "" {
		return "flowNode"
	}
	return string(n.Kind)
}

// label names an element for a reader: its id, and its name when it has one.
func label(id, name string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" || name == id {
		return id
	}
	return fmt.Sprintf("%s %q", id, name)
}

func nodeLabel(n *FlowNode) string {
	if n == nil {
		return "?"
	}
	return label(n.ID, n.Name)
}

func flowLabel(f *SequenceFlow) string { return label(f.ID, f.Name) }

// evKind is n.EventKind, safe with nil definitions.
func evKind(n *FlowNode) EventKind {
	var defs []*EventDefinition
	for _, ed := range n.EventDefinitions {
		if ed != nil {
			defs = append(defs, ed)
		}
	}
	switch len(defs) {
	case 0:
		return EventNone
	case 1:
		return defs[0].Kind
	}
	return EventMultiple
}

// startsOf is c.StartEvents, skipping nil nodes.
func startsOf(c *Container) []*FlowNode {
	var s []*FlowNode
	for _, n := range c.Nodes {
		if n != nil && n.Kind == KindStartEvent {
			s = append(s, n)
		}
	}
	return s
}

// blank reports whether e is absent or empty.
func blank(e *Expression) bool { return e == nil || strings.TrimSpace(e.Source) == "" }

// Processes and containers.

func (v *validator) process(p *Process) {
	exec := p.IsExecutable
	if exec {
		v.startEvents(p)
	}
	v.container(p, &p.Container, nil, exec, map[*Container]bool{})
}

// startEvents checks the process-level start events of an executable process.
func (v *validator) startEvents(p *Process) {
	starts := startsOf(&p.Container)
	if len(starts) == 0 {
		v.add(SeverityError, p.Line, p.ID, "process",
			"process %s has no start event, so no instance can ever start; add a start event", label(p.ID, p.Name))
		return
	}
	var none []*FlowNode
	messages := map[string]*FlowNode{}
	for _, s := range starts {
		if evKind(s) == EventNone {
			none = append(none, s)
		}
		for _, ed := range s.EventDefinitions {
			if ed == nil || ed.Kind != EventMessage || ed.Message == nil || ed.Message.Name == "" {
				continue
			}
			if first, dup := messages[ed.Message.Name]; dup {
				v.nodeErr(s, "start event %s waits for message %q like start event %s; a message can start a process through one start event only, so use different messages",
					nodeLabel(s), ed.Message.Name, nodeLabel(first))
				continue
			}
			messages[ed.Message.Name] = s
		}
	}
	if len(none) > 1 {
		ids := make([]string, len(none))
		for i, s := range none {
			ids[i] = s.ID
		}
		for _, s := range none[1:] {
			v.nodeErr(s, "process %s has %d start events without a trigger (%s); a plain start could not tell which to use, so keep one and give the others a trigger (message, timer, signal)",
				label(p.ID, p.Name), len(none), strings.Join(ids, ", "))
		}
	}
}

// container checks the flows and nodes directly inside c and recurses into
// sub-processes. parent is the sub-process owning c, nil for a process.
func (v *validator) container(p *Process, c *Container, parent *FlowNode, exec bool, seen map[*Container]bool) {
	if c == nil || seen[c] {
		return
	}
	seen[c] = true
	if parent != nil {
		v.subProcessStarts(parent, c)
	}
	v.links(c)
	for _, f := range c.Flows {
		if f != nil {
			v.flow(f)
		}
	}
	for _, n := range c.Nodes {
		if n == nil {
			continue
		}
		v.node(n, exec)
		if n.Children != nil {
			v.container(p, n.Children, n, exec, seen)
		}
	}
}

// subProcessStarts checks the start events of a sub-process (section 10.3.5).
func (v *validator) subProcessStarts(sp *FlowNode, c *Container) {
	starts := startsOf(c)
	switch sp.Kind {
	case KindEventSubProcess:
		if len(starts) == 0 {
			v.nodeErr(sp, "event sub-process has no start event; add one start event with a trigger (message, timer, signal, error, escalation, conditional or compensation)")
			return
		}
		if len(starts) > 1 {
			for _, s := range starts[1:] {
				v.nodeErr(s, "event sub-process %s has more than one start event; it must have exactly one, so remove this one or move it into its own event sub-process", nodeLabel(sp))
			}
		}
		s := starts[0]
		if evKind(s) == EventNone {
			v.nodeErr(s, "the start event of event sub-process %s has no trigger; give it a message, timer, signal, error, escalation, conditional or compensation definition", nodeLabel(sp))
		}
		if evKind(s) == EventError && !s.Interrupting {
			v.nodeErr(s, "an error start event always interrupts; set it to interrupting")
		}
	case KindAdHocSubProcess:
		for _, n := range c.Nodes {
			if n != nil && (n.Kind == KindStartEvent || n.Kind == KindEndEvent) {
				v.nodeErr(n, "an ad-hoc sub-process cannot contain start or end events; remove %s", nodeLabel(n))
			}
		}
	default: // embedded sub-process, transaction
		if len(starts) > 1 {
			for _, s := range starts[1:] {
				v.nodeErr(s, "sub-process %s has more than one start event; an embedded sub-process has exactly one start event without a trigger, so remove this one", nodeLabel(sp))
			}
		}
		for _, s := range starts {
			if evKind(s) != EventNone {
				v.nodeErr(s, "the start event of embedded sub-process %s has %s trigger, but an embedded sub-process starts when it is reached; remove the trigger, or make the sub-process an event sub-process", nodeLabel(sp), article(eventWord(evKind(s))))
			}
		}
	}
}

// links checks that link events in c pair up by name (section 10.5.4).
func (v *validator) links(c *Container) {
	catches := map[string]*FlowNode{}
	var throws []*FlowNode
	for _, n := range c.Nodes {
		if n == nil {
			continue
		}
		for _, ed := range n.EventDefinitions {
			if ed == nil || ed.Kind != EventLink {
				continue
			}
			switch n.Kind {
			case KindIntermediateCatchEvent:
				if ed.LinkName == "" {
					v.nodeErr(n, "link event has no link name; give it the name of the throw link event that jumps here")
					continue
				}
				if first, dup := catches[ed.LinkName]; dup {
					v.nodeErr(n, "catch link events %s and %s have the same link name %q, so a throw link event could not tell where to jump; rename one", nodeLabel(first), nodeLabel(n), ed.LinkName)
					continue
				}
				catches[ed.LinkName] = n
			case KindIntermediateThrowEvent:
				if ed.LinkName == "" {
					v.nodeErr(n, "link event has no link name; give it the name of the catch link event to jump to")
					continue
				}
				throws = append(throws, n)
			}
		}
	}
	for _, n := range throws {
		for _, ed := range n.EventDefinitions {
			if ed == nil || ed.Kind != EventLink || ed.LinkName == "" {
				continue
			}
			if catches[ed.LinkName] != nil {
				continue
			}
			if near := nearLink(catches, ed.LinkName); near != nil {
				v.nodeErr(n, "throw link event jumps to link %q, but catch link event %s is named %q, which differs in spaces or line breaks; make the names identical",
					ed.LinkName, nodeLabel(near), linkName(near))
				continue
			}
			v.nodeErr(n, "throw link event jumps to link %q, but there is no catch link event with that name in the same process or sub-process; add one or fix the name", ed.LinkName)
		}
	}
}

// nearLink returns the catch link event whose name equals name up to
// white space, or nil.
func nearLink(catches map[string]*FlowNode, name string) *FlowNode {
	want := strings.Join(strings.Fields(name), " ")
	var found *FlowNode
	for n, c := range catches {
		if strings.Join(strings.Fields(n), " ") == want && (found == nil || c.Line < found.Line) {
			found = c
		}
	}
	return found
}

// linkName returns the name of n's first link event definition.
func linkName(n *FlowNode) string {
	for _, ed := range n.EventDefinitions {
		if ed != nil && ed.Kind == EventLink {
			return ed.LinkName
		}
	}
	return ""
}

// Sequence flows.

func (v *validator) flow(f *SequenceFlow) {
	src, tgt := f.Source, f.Target
	if src != nil && tgt != nil {
		v.crossing(f, src, tgt)
	}
	if tgt != nil {
		switch {
		case tgt.Kind == KindStartEvent:
			v.nodeErr(tgt, "incoming sequence flow %s is not allowed: a start event begins the flow and has no incoming flows; remove the flow or use an intermediate event", flowLabel(f))
		case tgt.Kind == KindBoundaryEvent:
			v.nodeErr(tgt, "incoming sequence flow %s is not allowed: a boundary event is triggered on its activity, not by a flow; remove the flow", flowLabel(f))
		case tgt.Kind == KindEventSubProcess:
			v.nodeErr(tgt, "incoming sequence flow %s is not allowed: an event sub-process is started by its start event's trigger; remove the flow", flowLabel(f))
		case tgt.IsForCompensation:
			v.nodeErr(tgt, "incoming sequence flow %s is not allowed: a compensation handler runs only through compensation; remove the flow", flowLabel(f))
		}
	}
	if src != nil {
		switch {
		case src.Kind == KindEndEvent:
			v.nodeErr(src, "outgoing sequence flow %s is not allowed: an end event ends its path; remove the flow or use an intermediate event", flowLabel(f))
		case src.Kind == KindEventSubProcess:
			v.nodeErr(src, "outgoing sequence flow %s is not allowed: an event sub-process ends where its end events are; remove the flow", flowLabel(f))
		case src.IsForCompensation:
			v.nodeErr(src, "outgoing sequence flow %s is not allowed: a compensation handler returns to the compensation throw when it completes; remove the flow", flowLabel(f))
		case src.Kind == KindBoundaryEvent && evKind(src) == EventCompensation:
			v.nodeErr(src, "outgoing sequence flow %s is not allowed: a compensation boundary event is connected to its handler by an association, not a sequence flow", flowLabel(f))
		}
		if !blank(f.Condition) {
			switch src.Kind {
			case KindParallelGateway:
				v.add(SeverityWarning, f.Line, f.ID, "sequenceFlow",
					"condition on sequence flow %s is ignored: parallel gateway %s takes every outgoing flow; use an exclusive or inclusive gateway to choose", flowLabel(f), nodeLabel(src))
			case KindEventBasedGateway:
				v.flowErr(f, "sequence flow %s out of event-based gateway %s has a condition, but the first event to occur chooses the path; remove the condition", flowLabel(f), nodeLabel(src))
			}
		}
	}
}

// crossing reports a flow whose ends are in different scopes.
func (v *validator) crossing(f *SequenceFlow, src, tgt *FlowNode) {
	cs, ct := v.owner[src], v.owner[tgt]
	if cs == nil || ct == nil || cs == ct {
		return
	}
	ps, pt := v.procOf[cs], v.procOf[ct]
	if ps != pt && ps != nil && pt != nil {
		v.flowErr(f, "sequence flow %s connects %s in process %s with %s in process %s; sequence flows stay inside one process, so use a message flow between pools",
			flowLabel(f), nodeLabel(src), label(ps.ID, ps.Name), nodeLabel(tgt), label(pt.ID, pt.Name))
		return
	}
	v.flowErr(f, "sequence flow %s connects %s (%s) with %s (%s), crossing a sub-process boundary; connect the sub-process itself, or end the path inside it and use a boundary event to leave it",
		flowLabel(f), nodeLabel(src), v.where(cs), nodeLabel(tgt), v.where(ct))
}

func (v *validator) where(c *Container) string {
	if sp := v.parentOf[c]; sp != nil {
		return "inside sub-process " + nodeLabel(sp)
	}
	return "at process level"
}

// Flow nodes.

func (v *validator) node(n *FlowNode, exec bool) {
	v.defaultFlow(n)
	v.eventKinds(n)
	switch {
	case n.Kind == KindExclusiveGateway || n.Kind == KindInclusiveGateway:
		if exec {
			v.unconditioned(n)
		}
	case n.Kind == KindEventBasedGateway:
		v.eventGateway(n)
	case n.Kind == KindBoundaryEvent:
		v.boundary(n)
	case n.Kind == KindIntermediateCatchEvent:
		if evKind(n) == EventNone {
			v.nodeErr(n, "intermediate catch event has nothing to wait for; give it a message, timer, signal, conditional or link definition, or use an intermediate throw event to mark a milestone")
		}
	case n.Kind == KindEndEvent:
		v.endEvent(n)
	case n.Kind == KindEventSubProcess:
		if len(n.Boundaries) > 0 {
			for _, b := range n.Boundaries {
				if b != nil {
					v.nodeErr(b, "a boundary event cannot be attached to event sub-process %s; move the event into the event sub-process's trigger or attach it elsewhere", nodeLabel(n))
				}
			}
		}
	}
	if n.Kind == KindParallelGateway || n.Kind == KindEventBasedGateway || n.Kind.IsEvent() {
		if n.DefaultRef != "" {
			v.nodeWarn(n, "the default flow %s is ignored: only exclusive, inclusive and complex gateways and activities have a default flow", n.DefaultRef)
		}
	}
	v.events(n, exec)
	if n.Kind.IsActivity() {
		v.activity(n, exec)
	} else if exec {
		v.implementation(n) // message throw events carry camunda:class too
	}
}

// defaultFlow checks the default attribute of a gateway or activity.
func (v *validator) defaultFlow(n *FlowNode) {
	if n.DefaultRef == "" {
		return
	}
	df := n.Default
	if df == nil {
		df = v.d.Flow(n.DefaultRef)
	}
	if df == nil {
		return // resolve reports a default that names no sequence flow
	}
	if df.Source != n {
		v.nodeErr(n, "the default flow %s is not one of its outgoing flows; choose one of its outgoing flows as the default", flowLabel(df))
		return
	}
	if !blank(df.Condition) {
		v.add(SeverityWarning, df.Line, df.ID, "sequenceFlow",
			"default flow %s has a condition, which is ignored: the default flow is taken when no other flow's condition holds; remove the condition", flowLabel(df))
	}
}

// unconditioned checks a diverging exclusive or inclusive gateway: every
// outgoing flow needs a condition, except the default.
func (v *validator) unconditioned(n *FlowNode) {
	if len(n.Outgoing) < 2 {
		return
	}
	for _, f := range n.Outgoing {
		if f == nil || !blank(f.Condition) || f == n.Default || (n.DefaultRef != "" && f.ID == n.DefaultRef) {
			continue
		}
		v.nodeErr(n, "outgoing flow %s has no condition and is not the default; add a condition or make it the gateway's default flow", flowLabel(f))
	}
}

// eventGateway checks an event-based gateway (section 10.6.6).
func (v *validator) eventGateway(n *FlowNode) {
	if len(n.Outgoing) < 2 {
		v.nodeErr(n, "event-based gateway has %d outgoing flow(s); it chooses between events, so it needs at least two, each to an intermediate catch event or a receive task", len(n.Outgoing))
	}
	for _, f := range n.Outgoing {
		if f == nil || f.Target == nil {
			continue
		}
		t := f.Target
		ok := t.Kind == KindReceiveTask
		if t.Kind == KindIntermediateCatchEvent {
			switch evKind(t) {
			case EventMessage, EventTimer, EventSignal, EventConditional:
				ok = true
			}
		}
		if ok && t.Kind == KindReceiveTask && len(t.Boundaries) > 0 {
			v.nodeErr(n, "outgoing flow %s leads to receive task %s, which has boundary events; a receive task after an event-based gateway cannot have boundary events, so remove them or use an intermediate catch event",
				flowLabel(f), nodeLabel(t))
		}
		if !ok {
			v.nodeErr(n, "outgoing flow %s leads to %s (%s), but an event-based gateway can only lead to intermediate catch events (message, timer, signal, conditional) or receive tasks; insert the event to wait for",
				flowLabel(f), nodeLabel(t), t.Kind)
		}
	}
}

// boundary checks a boundary event (section 10.5.2).
func (v *validator) boundary(n *FlowNode) {
	// resolve reports a missing attachedToRef and one naming no flow node.
	att := n.AttachedTo
	if att != nil {
		switch {
		case !att.Kind.IsActivity():
			v.nodeErr(n, "boundary event is attached to %s (%s), which is not an activity; attach it to a task, sub-process or call activity", nodeLabel(att), att.Kind)
		case v.owner[n] != nil && v.owner[att] != nil && v.owner[n] != v.owner[att]:
			v.nodeErr(n, "boundary event is not in the same process or sub-process as %s, the activity it is attached to; move it next to the activity", nodeLabel(att))
		}
	}
	if evKind(n) == EventNone {
		v.nodeErr(n, "boundary event has no trigger; give it a message, timer, signal, error, escalation, conditional, compensation or cancel definition")
		return
	}
	switch evKind(n) {
	case EventCancel:
		if att != nil && att.Kind != KindTransaction {
			v.nodeErr(n, "a cancel boundary event can only be attached to a transaction, and %s is a %s", nodeLabel(att), att.Kind)
		}
		fallthrough
	case EventError:
		if !n.Interrupting {
			v.nodeWarn(n, "%s boundary event always interrupts its activity; cancelActivity=\"false\" is ignored", article(eventWord(evKind(n))))
		}
	case EventCompensation:
		v.compensationHandler(n)
	}
}

// compensationHandler checks that a compensation boundary event is
// associated with an activity marked for compensation.
func (v *validator) compensationHandler(n *FlowNode) {
	for _, a := range v.assocs[n.ID] {
		other := a.TargetRef
		if other == n.ID {
			other = a.SourceRef
		}
		h := v.d.Node(other)
		if h == nil || !h.Kind.IsActivity() {
			continue
		}
		if !h.IsForCompensation {
			v.nodeWarn(n, "the compensation handler %s is not marked for compensation, so it will not run on compensation; set isForCompensation on it", nodeLabel(h))
		}
		return
	}
	v.nodeWarn(n, "compensation boundary event has no compensation handler, so compensating its activity does nothing; draw an association to an activity marked for compensation")
}

// endEvent checks what an end event throws.
func (v *validator) endEvent(n *FlowNode) {
	for _, ed := range n.EventDefinitions {
		if ed == nil {
			continue
		}
		switch ed.Kind {
		case EventError:
			switch {
			case ed.ErrorRef == "":
				v.nodeWarn(n, "error end event throws no particular error, so only catch-all error events catch it; choose an error with a code")
			case ed.Error != nil && ed.Error.Code == "":
				v.nodeWarn(n, "error %s has no error code, so it will be thrown with its id %q as the code; give it an error code",
					label(ed.Error.ID, ed.Error.Name), ed.Error.ID)
			}
		case EventCancel:
			if !v.inTransaction(n) {
				v.nodeErr(n, "a cancel end event can only be used inside a transaction; use an error or terminate end event instead")
			}
		}
	}
}

func (v *validator) inTransaction(n *FlowNode) bool {
	if n.Parent != nil {
		return n.Parent.Kind == KindTransaction
	}
	sp := v.parentOf[v.owner[n]]
	return sp != nil && sp.Kind == KindTransaction
}

// allowed lists the event definitions each event kind can have (BPMN 2.0.2
// tables 10.84 to 10.93). Start events of event sub-processes and embedded
// sub-processes are checked by subProcessStarts and startAllowed.
var allowed = map[Kind][]EventKind{
	KindStartEvent:             {EventMessage, EventTimer, EventSignal, EventConditional},
	KindEndEvent:               {EventMessage, EventError, EventEscalation, EventSignal, EventCompensation, EventCancel, EventTerminate},
	KindIntermediateCatchEvent: {EventMessage, EventTimer, EventSignal, EventConditional, EventLink},
	KindIntermediateThrowEvent: {EventMessage, EventSignal, EventEscalation, EventCompensation, EventLink},
	KindBoundaryEvent:          {EventMessage, EventTimer, EventSignal, EventError, EventEscalation, EventConditional, EventCompensation, EventCancel},
}

var eventSubProcessStarts = []EventKind{EventMessage, EventTimer, EventSignal, EventConditional, EventError, EventEscalation, EventCompensation}

// eventKinds reports event definitions that an event of n's kind cannot have.
func (v *validator) eventKinds(n *FlowNode) {
	ok, known := allowed[n.Kind]
	if !known {
		return
	}
	where := ""
	if n.Kind == KindStartEvent {
		sp := n.Parent
		if sp == nil {
			sp = v.parentOf[v.owner[n]]
		}
		switch {
		case sp == nil:
			where = " of a process"
		case sp.Kind == KindEventSubProcess:
			ok, where = eventSubProcessStarts, " of an event sub-process"
		default:
			return // embedded sub-process starts: subProcessStarts
		}
	}
	if n.Kind == KindBoundaryEvent && evKind(n) == EventNone {
		return // reported by boundary
	}
	for _, ed := range n.EventDefinitions {
		if ed == nil || slices.Contains(ok, ed.Kind) {
			continue
		}
		names := make([]string, len(ok))
		for i, k := range ok {
			names[i] = eventWord(k)
		}
		v.nodeErr(n, "%s%s cannot have %s trigger; it can be %s", article(kindWords(n.Kind)), where, article(eventWord(ed.Kind)), strings.Join(names, ", "))
	}
}

// eventWord names an event kind in a sentence.
func eventWord(k EventKind) string {
	if k == EventCompensation {
		return "compensation"
	}
	return string(k)
}

// article puts "a" or "an" before w.
func article(w string) string {
	if w != "" && strings.ContainsRune("aeiou", rune(w[0])) {
		return "an " + w
	}
	return "a " + w
}

// kindWords spells a node kind for a sentence: "boundary event".
func kindWords(k Kind) string {
	var b strings.Builder
	for i, r := range string(k) {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte(' ')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// events checks the event definitions of n: timers, messages, signals,
// conditions.
func (v *validator) events(n *FlowNode, exec bool) {
	catching := n.Kind == KindStartEvent || n.Kind == KindIntermediateCatchEvent || n.Kind == KindBoundaryEvent
	for _, ed := range n.EventDefinitions {
		if ed == nil {
			continue
		}
		switch ed.Kind {
		case EventTimer:
			if exec && catching {
				v.timer(n, ed.Timer)
			}
		case EventMessage:
			if exec && catching {
				v.message(n, ed.MessageRef, ed.Message)
			}
		case EventSignal:
			switch {
			case ed.Signal != nil && strings.TrimSpace(ed.Signal.Name) == "":
				v.nodeErr(n, "signal %s has no name; signals are sent and received by name, so give it one", ed.Signal.ID)
			case exec && ed.SignalRef == "":
				v.nodeErr(n, "signal event has no signal; choose the signal it %s", map[bool]string{true: "waits for", false: "sends"}[catching])
			}
		case EventConditional:
			if exec && catching && blank(ed.Condition) {
				v.nodeErr(n, "conditional event has no condition; give it the condition to wait for, e.g. ${amount > 1000}")
			}
		}
	}
}

// timer checks a timer event definition of an executable process.
func (v *validator) timer(n *FlowNode, t *Timer) {
	if t == nil || t.Type == "" || blank(t.Value) {
		v.nodeErr(n, "timer has no value; set a date (timeDate), a duration (timeDuration) or a cycle (timeCycle)")
		return
	}
	src := t.Value.Source
	if expression.IsExpression(src) {
		return // evaluated when the timer starts
	}
	if _, err := timer.Parse(string(t.Type), src); err != nil {
		line := t.Value.Line
		if line == 0 {
			line = n.Line
		}
		v.add(SeverityError, line, n.ID, nodeKind(n), "timer cannot be read: %v", err)
	}
}

// message checks a message a catch event or receive task waits for.
func (v *validator) message(n *FlowNode, ref string, m *Message) {
	switch {
	case ref == "" && m == nil && n.Kind == KindReceiveTask:
		// Camunda 7 runs such a task too: it waits until triggered through the API.
		v.nodeWarn(n, "receive task has no message: it waits until it is triggered through the API")
	case ref == "" && m == nil:
		v.nodeErr(n, "%s waits for a message but does not say which; choose a message", article(kindWords(n.Kind)))
	case m != nil && strings.TrimSpace(m.Name) == "":
		v.nodeErr(n, "message %s has no name; messages are correlated by name, so give it one", m.ID)
	}
}

// Activities.

func (v *validator) activity(n *FlowNode, exec bool) {
	if l := n.Loop; l != nil && l.MultiInstance {
		if exec && blank(l.Cardinality) && blank(l.InputCollection) {
			v.nodeErr(n, "multi-instance activity says neither how many instances to start nor which collection to run over; set a loop cardinality or an input collection")
		}
		if l.InputElement != "" && blank(l.InputCollection) {
			v.nodeErr(n, "multi-instance element variable %q has no input collection to take its values from; set the input collection", l.InputElement)
		}
	}
	if !exec {
		return
	}
	switch n.Kind {
	case KindCallActivity:
		if n.Call == nil || blank(n.Call.CalledElement) {
			v.nodeErr(n, "call activity does not say which process to call; set its called element (the process id)")
		}
	case KindReceiveTask:
		ref, m := "", (*Message)(nil)
		if n.Task != nil {
			ref, m = n.Task.MessageRef, n.Task.Message
		}
		v.message(n, ref, m)
	}
	v.implementation(n)
}

// expressionScripts are the script formats Baton evaluates itself.
var expressionScripts = []string{"", "juel", "feel", "el", "expression"}

// implementation warns about task implementations Baton does not run.
func (v *validator) implementation(n *FlowNode) {
	t := n.Task
	if t == nil {
		return
	}
	for _, j := range []struct{ attr, value string }{
		{"camunda:class", t.JavaClass},
		{"camunda:expression", t.JavaExpression},
		{"camunda:delegateExpression", t.DelegateExpression},
	} {
		if j.value != "" {
			what := "task"
			if n.Kind.IsEvent() {
				what = "event"
			}
			v.nodeWarn(n, "%s %q is a Java delegate, which Baton does not execute; the %s waits for an external worker on topic %q (the %s id)", j.attr, j.value, what, n.ID, what)
			return
		}
	}
	if n.Kind == KindScriptTask && t.Topic == nil && t.Type != "external" &&
		!slices.Contains(expressionScripts, strings.ToLower(strings.TrimSpace(t.ScriptFormat))) {
		v.nodeWarn(n, "Baton does not run embedded %s scripts; the task is treated as an external task with topic %q (the task id), so an external worker must do its work", t.ScriptFormat, n.ID)
	}
}
