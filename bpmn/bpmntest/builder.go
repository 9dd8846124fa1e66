// Package bpmntest builds BPMN models for tests. The builder writes real
// BPMN 2.0 XML (as a modeler would, without diagram) that tests parse with
// bpmn.Parse, so every test also exercises the parser.
package bpmntest

import (
	"fmt"
	"html"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn"
)

// Builder accumulates the contents of one process or sub-process.
type Builder struct {
	id     string
	nodes  []*node
	flows  []*flow
	byID   map[string]*node
	parent *Builder
	// roots are raw root elements (errors, escalations, messages) written
	// before the process; only the top builder keeps them.
	roots []string
}

type node struct {
	id, kind string
	attrs    []string
	inner    []string
	sub      *Builder
}

type flow struct {
	id, from, to string
	cond         string
}

// Opt adds an attribute or child element to a node.
type Opt func(n *node)

// Attr sets an attribute on the node, e.g. Attr("camunda:assignee", "demo").
func Attr(name, value string) Opt {
	return func(n *node) { n.attrs = append(n.attrs, fmt.Sprintf(`%s="%s"`, name, html.EscapeString(value))) }
}

// Inner adds raw XML inside the node, e.g. `<bpmn:terminateEventDefinition/>`.
func Inner(xml string) Opt {
	return func(n *node) { n.inner = append(n.inner, xml) }
}

// Link makes an intermediate event a link event with the given name.
func Link(name string) Opt {
	return Inner(fmt.Sprintf(`<bpmn:linkEventDefinition name="%s"/>`, html.EscapeString(name)))
}

// ErrorRef gives an event an error definition naming errorRef (an <error>
// id, or the code itself); "" catches every error. attrs are extra
// attributes of the definition, e.g. `camunda:errorCodeVariable="code"`.
func ErrorRef(errorRef string, attrs ...string) Opt {
	return Inner(eventDef("errorEventDefinition", "errorRef", errorRef, attrs))
}

// EscalationRef gives an event an escalation definition naming
// escalationRef; "" catches every escalation. attrs are extra attributes of
// the definition, e.g. `camunda:escalationCodeVariable="code"`.
func EscalationRef(escalationRef string, attrs ...string) Opt {
	return Inner(eventDef("escalationEventDefinition", "escalationRef", escalationRef, attrs))
}

func eventDef(kind, refAttr, ref string, attrs []string) string {
	s := "<bpmn:" + kind
	if ref != "" {
		s += fmt.Sprintf(` %s="%s"`, refAttr, html.EscapeString(ref))
	}
	for _, a := range attrs {
		s += " " + a
	}
	return s + "/>"
}

// Terminate makes an end event a terminate end event.
func Terminate() Opt { return Inner(`<bpmn:terminateEventDefinition/>`) }

// Timer gives an event a timer definition of kind timeDate, timeDuration
// or timeCycle, e.g. Timer("timeDuration", "PT1H").
func Timer(kind, value string) Opt {
	return Inner(fmt.Sprintf(`<bpmn:timerEventDefinition><bpmn:%s>%s</bpmn:%s></bpmn:timerEventDefinition>`, kind, html.EscapeString(value), kind))
}

// Boundary makes a boundary event attached to activity; interrupting false
// sets cancelActivity="false".
func Boundary(activity string, interrupting bool) Opt {
	return func(n *node) {
		Attr("attachedToRef", activity)(n)
		if !interrupting {
			Attr("cancelActivity", "false")(n)
		}
	}
}

// Topic sets camunda:type="external" and camunda:topic on a service task.
func Topic(topic string) Opt {
	return func(n *node) {
		Attr("camunda:type", "external")(n)
		Attr("camunda:topic", topic)(n)
	}
}

// Input adds a camunda:inputParameter; Output a camunda:outputParameter.
func Input(name, value string) Opt {
	return Inner(fmt.Sprintf(`<bpmn:extensionElements><camunda:inputOutput><camunda:inputParameter name="%s">%s</camunda:inputParameter></camunda:inputOutput></bpmn:extensionElements>`, name, html.EscapeString(value)))
}

// Output adds a camunda:outputParameter.
func Output(name, value string) Opt {
	return Inner(fmt.Sprintf(`<bpmn:extensionElements><camunda:inputOutput><camunda:outputParameter name="%s">%s</camunda:outputParameter></camunda:inputOutput></bpmn:extensionElements>`, name, html.EscapeString(value)))
}

// New starts a process with the given id.
func New(id string) *Builder { return &Builder{id: id, byID: map[string]*node{}} }

// Node adds a flow node of the given kind ("userTask", "parallelGateway", ...).
func (b *Builder) Node(id, kind string, opts ...Opt) *Builder {
	n := &node{id: id, kind: kind}
	for _, o := range opts {
		o(n)
	}
	b.nodes = append(b.nodes, n)
	b.byID[id] = n
	return b
}

// Root adds a raw root element of the definitions, written before the
// process, e.g. `<bpmn:error id="E" errorCode="E1"/>`. A sub-process
// builder adds it to its process.
func (b *Builder) Root(xml string) *Builder {
	top := b
	for top.parent != nil {
		top = top.parent
	}
	top.roots = append(top.roots, xml)
	return b
}

// Error adds a root <error> with the given id and errorCode (none when empty).
func (b *Builder) Error(id, code string) *Builder {
	if code == "" {
		return b.Root(fmt.Sprintf(`<bpmn:error id="%s"/>`, html.EscapeString(id)))
	}
	return b.Root(fmt.Sprintf(`<bpmn:error id="%s" errorCode="%s"/>`, html.EscapeString(id), html.EscapeString(code)))
}

// Escalation adds a root <escalation> with the given id and escalationCode
// (none when empty).
func (b *Builder) Escalation(id, code string) *Builder {
	if code == "" {
		return b.Root(fmt.Sprintf(`<bpmn:escalation id="%s"/>`, html.EscapeString(id)))
	}
	return b.Root(fmt.Sprintf(`<bpmn:escalation id="%s" escalationCode="%s"/>`, html.EscapeString(id), html.EscapeString(code)))
}

// Start adds a none start event.
func (b *Builder) Start(id string, opts ...Opt) *Builder { return b.Node(id, "startEvent", opts...) }

// End adds an end event.
func (b *Builder) End(id string, opts ...Opt) *Builder { return b.Node(id, "endEvent", opts...) }

// Sub adds an embedded sub-process whose contents fn builds.
func (b *Builder) Sub(id string, fn func(s *Builder), opts ...Opt) *Builder {
	s := &Builder{id: id, byID: map[string]*node{}, parent: b}
	fn(s)
	b.Node(id, "subProcess", opts...)
	b.byID[id].sub = s
	return b
}

// Flow adds a sequence flow from one node to another with id "from-to".
func (b *Builder) Flow(from, to string) *Builder {
	b.flows = append(b.flows, &flow{id: from + "-" + to, from: from, to: to})
	return b
}

// FlowIf adds a conditioned sequence flow.
func (b *Builder) FlowIf(from, to, condition string) *Builder {
	b.flows = append(b.flows, &flow{id: from + "-" + to, from: from, to: to, cond: condition})
	return b
}

// Default adds a flow and makes it the default flow of its source.
func (b *Builder) Default(from, to string) *Builder {
	b.Flow(from, to)
	n, ok := b.byID[from]
	if !ok {
		panic(fmt.Sprintf("bpmntest: Default from unknown node %q", from))
	}
	Attr("default", from+"-"+to)(n)
	return b
}

// Chain adds flows between consecutive nodes.
func (b *Builder) Chain(ids ...string) *Builder {
	for i := 1; i < len(ids); i++ {
		b.Flow(ids[i-1], ids[i])
	}
	return b
}

// XML returns the model as a BPMN document.
func (b *Builder) XML() []byte {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
`)
	for _, r := range b.roots {
		sb.WriteString(r + "\n")
	}
	fmt.Fprintf(&sb, "<bpmn:process id=%q isExecutable=\"true\">\n", b.id)
	b.write(&sb)
	sb.WriteString("</bpmn:process>\n</bpmn:definitions>\n")
	return []byte(sb.String())
}

func (b *Builder) write(sb *strings.Builder) {
	for _, n := range b.nodes {
		fmt.Fprintf(sb, "<bpmn:%s id=%q", n.kind, n.id)
		for _, a := range n.attrs {
			sb.WriteString(" " + a)
		}
		sb.WriteString(">")
		// Extension elements of several options are merged into one block.
		var ext []string
		for _, in := range n.inner {
			if strings.HasPrefix(in, "<bpmn:extensionElements>") {
				ext = append(ext, strings.TrimSuffix(strings.TrimPrefix(in, "<bpmn:extensionElements>"), "</bpmn:extensionElements>"))
			}
		}
		if len(ext) > 0 {
			sb.WriteString("<bpmn:extensionElements>" + mergeIO(ext) + "</bpmn:extensionElements>")
		}
		for _, in := range n.inner {
			if !strings.HasPrefix(in, "<bpmn:extensionElements>") {
				sb.WriteString(in)
			}
		}
		if n.sub != nil {
			sb.WriteString("\n")
			n.sub.write(sb)
		}
		fmt.Fprintf(sb, "</bpmn:%s>\n", n.kind)
	}
	for _, f := range b.flows {
		if f.cond == "" {
			fmt.Fprintf(sb, "<bpmn:sequenceFlow id=%q sourceRef=%q targetRef=%q/>\n", f.id, f.from, f.to)
			continue
		}
		fmt.Fprintf(sb, "<bpmn:sequenceFlow id=%q sourceRef=%q targetRef=%q><bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\">%s</bpmn:conditionExpression></bpmn:sequenceFlow>\n",
			f.id, f.from, f.to, html.EscapeString(f.cond))
	}
}

// mergeIO joins several camunda:inputOutput blocks into one.
func mergeIO(parts []string) string {
	var io, other []string
	for _, p := range parts {
		if strings.HasPrefix(p, "<camunda:inputOutput>") {
			io = append(io, strings.TrimSuffix(strings.TrimPrefix(p, "<camunda:inputOutput>"), "</camunda:inputOutput>"))
		} else {
			other = append(other, p)
		}
	}
	s := strings.Join(other, "")
	if len(io) > 0 {
		s += "<camunda:inputOutput>" + strings.Join(io, "") + "</camunda:inputOutput>"
	}
	return s
}

// Definitions parses the model and fails t on any parse error or
// error-severity problem.
func (b *Builder) Definitions(t testing.TB) *bpmn.Definitions {
	t.Helper()
	d, err := bpmn.Parse(b.XML())
	if err != nil {
		t.Fatalf("parse built model: %v\n%s", err, b.XML())
	}
	if err := d.Err(); err != nil {
		t.Fatalf("built model does not validate: %v\n%s", err, b.XML())
	}
	return d
}

// Message adds a root <message> with the given id and name; correlationKey,
// when not empty, is its zeebe:subscription correlationKey.
func (b *Builder) Message(id, name, correlationKey string) *Builder {
	ext := ""
	if correlationKey != "" {
		ext = fmt.Sprintf(`<bpmn:extensionElements><zeebe:subscription correlationKey="%s"/></bpmn:extensionElements>`, html.EscapeString(correlationKey))
	}
	return b.Root(fmt.Sprintf(`<bpmn:message id="%s" name="%s">%s</bpmn:message>`, html.EscapeString(id), html.EscapeString(name), ext))
}

// Signal adds a root <signal> with the given id and name.
func (b *Builder) Signal(id, name string) *Builder {
	return b.Root(fmt.Sprintf(`<bpmn:signal id="%s" name="%s"/>`, html.EscapeString(id), html.EscapeString(name)))
}

// MessageRef gives an event a message event definition referencing message id.
func MessageRef(id string) Opt {
	return Inner(fmt.Sprintf(`<bpmn:messageEventDefinition messageRef="%s"/>`, html.EscapeString(id)))
}

// SignalRef gives an event a signal event definition referencing signal id.
func SignalRef(id string) Opt {
	return Inner(fmt.Sprintf(`<bpmn:signalEventDefinition signalRef="%s"/>`, html.EscapeString(id)))
}

// Compensate gives an event a compensation definition. activityRef, when
// not empty, names the one activity a throw compensates; attrs are extra
// attributes of the definition, e.g. `waitForCompletion="false"`.
func Compensate(activityRef string, attrs ...string) Opt {
	return Inner(eventDef("compensateEventDefinition", "activityRef", activityRef, attrs))
}

// Cancel gives an event a cancel definition: a cancel end event inside a
// transaction, or a cancel boundary event on one.
func Cancel() Opt { return Inner(`<bpmn:cancelEventDefinition/>`) }

// ForCompensation marks an activity as a compensation handler
// (isForCompensation="true").
func ForCompensation() Opt { return Attr("isForCompensation", "true") }

// Association adds an association from one element to another, with id
// "from-to-association", as a modeler draws it from a compensation boundary
// event to its handler.
func (b *Builder) Association(from, to string) *Builder {
	b.nodes = append(b.nodes, &node{id: from + "-" + to + "-association", kind: "association",
		attrs: []string{`associationDirection="One"`, fmt.Sprintf(`sourceRef="%s"`, html.EscapeString(from)), fmt.Sprintf(`targetRef="%s"`, html.EscapeString(to))}})
	return b
}

// CompensationBoundary adds compensation boundary event id on activity,
// associated with handler, which the caller adds with ForCompensation.
func (b *Builder) CompensationBoundary(id, activity, handler string) *Builder {
	b.Node(id, "boundaryEvent", Boundary(activity, true), Compensate(""))
	return b.Association(id, handler)
}

// Transaction adds a transaction sub-process whose contents fn builds.
func (b *Builder) Transaction(id string, fn func(s *Builder), opts ...Opt) *Builder {
	s := &Builder{id: id, byID: map[string]*node{}, parent: b}
	fn(s)
	b.Node(id, "transaction", opts...)
	b.byID[id].sub = s
	return b
}

// Conditional gives an event a conditional definition with condition, e.g.
// Conditional("${x > 1}"). attrs are extra attributes of the definition,
// e.g. `camunda:variableName="x"` or `camunda:variableEvents="create"`.
func Conditional(condition string, attrs ...string) Opt {
	s := "<bpmn:conditionalEventDefinition"
	for _, a := range attrs {
		s += " " + a
	}
	return Inner(s + fmt.Sprintf(`><bpmn:condition xsi:type="bpmn:tFormalExpression">%s</bpmn:condition></bpmn:conditionalEventDefinition>`, html.EscapeString(condition)))
}
