package bpmn

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/batonbpm/baton/bpmn/expression"
)

// Defaults of Options.
const (
	// MaxBytesDefault is the largest document Parse reads: 10 MiB.
	MaxBytesDefault = 10 << 20
	// MaxDepthDefault is the deepest XML nesting Parse reads.
	MaxDepthDefault = 200
)

// Options configure Parse. Zero values mean defaults.
type Options struct {
	// MaxBytes is the largest document accepted. Zero or less means
	// MaxBytesDefault (10 MiB).
	MaxBytes int64
	// MaxDepth is the deepest XML element nesting accepted (the root is at
	// depth 1). Zero or less means MaxDepthDefault (200).
	MaxDepth int
}

// ParseError is returned by Parse when a document cannot be read at all.
// Line is 0 when unknown.
type ParseError struct {
	Line int
	Msg  string
}

// Error returns e.g. "bpmn: line 3: DOCTYPE declarations are not allowed".
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("bpmn: line %d: %s", e.Line, e.Msg)
	}
	return "bpmn: " + e.Msg
}

// Parse reads a BPMN 2.0 document with default options. See Options.Parse.
func Parse(data []byte) (*Definitions, error) { return Options{}.Parse(data) }

// Parse reads a BPMN 2.0 document. It returns an error, a *ParseError naming
// the line where known, only when the document cannot be read at all:
// malformed XML, a DOCTYPE or entity declaration, too large, too deeply
// nested, an unsupported encoding, or a root that is not BPMN <definitions>.
// Otherwise it returns the model with every problem found in d.Problems
// (unresolved references, expressions that do not compile, validation
// rules), sorted by line; d.Err tells whether the model can be deployed.
func (o Options) Parse(data []byte) (*Definitions, error) {
	maxBytes, maxDepth := o.MaxBytes, o.MaxDepth
	if maxBytes <= 0 {
		maxBytes = MaxBytesDefault
	}
	if maxDepth <= 0 {
		maxDepth = MaxDepthDefault
	}
	if len(data) == 0 {
		return nil, &ParseError{Msg: "empty document"}
	}
	if int64(len(data)) > maxBytes {
		return nil, &ParseError{Msg: fmt.Sprintf("document is %d bytes, larger than the limit of %d", len(data), maxBytes)}
	}
	utf8Data, err := toUTF8(data)
	if err != nil {
		return nil, err
	}
	x, err := readXML(utf8Data, maxDepth)
	if err != nil {
		return nil, err
	}
	root := &x.elems[0]
	if root.ns != nsBPMN || root.local != "definitions" {
		return nil, &ParseError{Line: int(root.line), Msg: fmt.Sprintf("root element is <%s>, expected <definitions> in namespace %s", qname(root.prefix, root.local), NamespaceBPMN)}
	}
	d := &Definitions{Raw: data}
	p := &parser{x: x, d: d}
	p.definitions(0)
	p.finish()
	resolve(d)
	validate(d)
	slices.SortStableFunc(d.Problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return d, nil
}

// toUTF8 converts data to UTF-8 according to its byte order mark or the
// encoding its XML declaration names. UTF-8 (and its subset US-ASCII) is
// returned as is.
func toUTF8(data []byte) ([]byte, error) {
	if len(data) >= 2 && (data[0] == 0xFE && data[1] == 0xFF || data[0] == 0xFF && data[1] == 0xFE) {
		out, err := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return nil, &ParseError{Msg: "cannot decode UTF-16: " + err.Error()}
		}
		return out, nil
	}
	if !bytes.HasPrefix(data, []byte("<?xml")) {
		return data, nil
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 {
		return data, nil // readXML reports it
	}
	decl := string(data[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return data, nil
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return data, nil
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return data, nil
	}
	j := strings.IndexByte(rest[1:], rest[0])
	if j < 0 {
		return data, nil
	}
	label := strings.TrimSpace(rest[1 : 1+j])
	switch strings.ToLower(label) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return data, nil
	}
	enc, err := ianaindex.IANA.Encoding(label)
	if err != nil || enc == nil {
		enc, err = htmlindex.Get(label)
	}
	if err != nil || enc == nil || enc == encoding.Nop {
		return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("unsupported encoding %q", label)}
	}
	out, err := enc.NewDecoder().Bytes(data)
	if err != nil {
		return nil, &ParseError{Line: 1, Msg: fmt.Sprintf("cannot decode %s: %v", label, err)}
	}
	return out, nil
}

// parser builds the model from the flat XML tree.
type parser struct {
	x *xdoc
	d *Definitions

	proc *Process // the process being read
	// rootEvents are event definitions at the root, for eventDefinitionRef.
	rootEvents map[string]*EventDefinition
	eventRefs  []eventRef
	flows      int // sequence flows read so far
	// programs caches compiled expressions by source: models repeat the same
	// conditions and assignees, and a Program is safe to share.
	programs map[string]compiled
}

// compiled is the outcome of compiling one expression source.
type compiled struct {
	prog *expression.Program
	err  error
}

type eventRef struct {
	node *FlowNode
	ref  string
	line int
}

// owner names the element an expression or problem belongs to.
type owner struct {
	id, kind string
	line     int
}

func (p *parser) problem(sev Severity, o owner, format string, args ...any) {
	p.d.Problems = append(p.d.Problems, Problem{Severity: sev, Line: o.line, ElementID: o.id, Kind: o.kind, Message: fmt.Sprintf(format, args...)})
}

// expr makes an Expression of src, compiling it. On failure it records an
// error problem naming the owner and what (e.g. "camunda:assignee"), unless
// quiet. An empty (or blank) src gives nil.
func (p *parser) expr(src string, line int, o owner, what string) *Expression {
	return p.exprLang(src, "", line, o, what, true)
}

func (p *parser) exprLang(src, lang string, line int, o owner, what string, report bool) *Expression {
	src = strings.TrimSpace(src)
	if src == "" {
		return nil
	}
	e := &Expression{Source: src, Language: lang, Line: line}
	if !compilable(lang) {
		return e // kept as source; validation warns about the language
	}
	c, ok := p.programs[src]
	if !ok {
		c.prog, c.err = expression.Compile(src)
		if p.programs == nil {
			p.programs = map[string]compiled{}
		}
		p.programs[src] = c
	}
	prog, err := c.prog, c.err
	if err != nil {
		if report {
			p.problem(SeverityError, owner{o.id, o.kind, line}, "%s: %v", what, err)
		}
		return e
	}
	e.Program = prog
	return e
}

// compilable reports whether expressions in language lang are Baton's:
// no language, JUEL or FEEL (by name or URI).
func compilable(lang string) bool {
	if lang == "" {
		return true
	}
	l := strings.ToLower(lang)
	return strings.Contains(l, "juel") || strings.Contains(l, "feel") || l == "el" || l == "uel" || l == "expression"
}

func (p *parser) line(e int32) int { return int(p.x.elems[e].line) }

// id returns the trimmed id attribute of e.
func (p *parser) id(e int32) string { return strings.TrimSpace(p.x.get(e, "id")) }

// ref returns the trimmed attribute local of e.
func (p *parser) ref(e int32, local string) string { return strings.TrimSpace(p.x.get(e, local)) }

// text returns the trimmed text content of e.
func (p *parser) text(e int32) string { return strings.TrimSpace(p.x.elems[e].text) }

// boolAttr returns the boolean attribute value, or dflt when absent or not a boolean.
func boolAttr(v string, ok bool, dflt bool) bool {
	if !ok {
		return dflt
	}
	switch strings.TrimSpace(strings.ToLower(v)) {
	case "true", "1":
		return true
	case "false", "0":
		return false
	}
	return dflt
}

func (p *parser) boolAttr(e int32, ns nsID, local string, dflt bool) bool {
	v, ok := p.x.attr(e, ns, local)
	return boolAttr(v, ok, dflt)
}

// children iterates over the child elements of e.
func (p *parser) children(e int32, f func(c int32, el *xelem)) {
	for c := p.x.elems[e].first; c >= 0; c = p.x.elems[c].next {
		f(c, &p.x.elems[c])
	}
}

func (p *parser) definitions(e int32) {
	d, x := p.d, p.x
	d.ID = p.id(e)
	d.Name = x.get(e, "name")
	d.TargetNamespace = x.get(e, "targetNamespace")
	d.Exporter = x.get(e, "exporter")
	d.ExporterVersion = x.get(e, "exporterVersion")
	p.children(e, func(c int32, el *xelem) {
		if el.ns == nsDI {
			d.HasDiagram = true
			return
		}
		if el.ns != nsBPMN {
			return
		}
		switch el.local {
		case "process":
			p.process(c)
		case "collaboration":
			p.collaboration(c)
		case "message":
			m := &Message{ID: p.id(c), Name: x.get(c, "name"), Line: p.line(c), ItemRef: p.ref(c, "itemRef")}
			p.children(c, func(cc int32, cel *xelem) {
				if cel.ns == nsBPMN && cel.local == "extensionElements" {
					p.children(cc, func(z int32, zel *xelem) {
						if zel.ns == nsZeebe && zel.local == "subscription" {
							m.CorrelationKey = p.expr(x.get(z, "correlationKey"), p.line(z), owner{m.ID, "message", m.Line}, "zeebe:subscription correlationKey")
						}
					})
				}
			})
			d.Messages = append(d.Messages, m)
		case "signal":
			d.Signals = append(d.Signals, &Signal{ID: p.id(c), Name: x.get(c, "name"), Line: p.line(c)})
		case "error":
			d.Errors = append(d.Errors, &Error{ID: p.id(c), Name: x.get(c, "name"), Code: strings.TrimSpace(x.get(c, "errorCode")), Line: p.line(c), StructureRef: p.ref(c, "structureRef")})
		case "escalation":
			d.Escalations = append(d.Escalations, &Escalation{ID: p.id(c), Name: x.get(c, "name"), Code: strings.TrimSpace(x.get(c, "escalationCode")), Line: p.line(c)})
		case "itemDefinition":
			d.ItemDefinitions = append(d.ItemDefinitions, &ItemDefinition{ID: p.id(c), Line: p.line(c), StructureRef: p.ref(c, "structureRef"), ItemKind: x.get(c, "itemKind"), IsCollection: p.boolAttr(c, nsNone, "isCollection", false)})
		case "dataStore":
			d.DataStores = append(d.DataStores, &DataStore{ID: p.id(c), Name: x.get(c, "name"), Line: p.line(c)})
		default:
			if kind, ok := eventDefinitionKinds[el.local]; ok {
				// A root-level event definition, used through eventDefinitionRef.
				ed := p.eventDefinition(c, kind, nil, owner{p.id(c), el.local, p.line(c)})
				if ed.ID != "" {
					if p.rootEvents == nil {
						p.rootEvents = map[string]*EventDefinition{}
					}
					p.rootEvents[ed.ID] = ed
				}
			}
		}
	})
}

func (p *parser) process(e int32) {
	x := p.x
	exec, ok := x.attr(e, nsNone, "isExecutable")
	pr := &Process{
		ID:           p.id(e),
		Name:         x.get(e, "name"),
		IsExecutable: boolAttr(exec, ok, true),
		Line:         p.line(e),
		Definitions:  p.d,
	}
	pr.VersionTag, _ = x.attr(e, nsCamunda, "versionTag")
	pr.CandidateStarterGroups, _ = x.attr(e, nsCamunda, "candidateStarterGroups")
	pr.CandidateStarterUsers, _ = x.attr(e, nsCamunda, "candidateStarterUsers")
	p.d.Processes = append(p.d.Processes, pr)
	p.proc = pr
	p.children(e, func(c int32, el *xelem) {
		if el.ns == nsBPMN {
			p.containerChild(&pr.Container, nil, c, el)
		}
	})
	p.proc = nil
}

// flowNodeKinds maps BPMN element names to node kinds (subProcess is decided by triggeredByEvent).
var flowNodeKinds = map[string]Kind{
	"startEvent":             KindStartEvent,
	"endEvent":               KindEndEvent,
	"intermediateCatchEvent": KindIntermediateCatchEvent,
	"intermediateThrowEvent": KindIntermediateThrowEvent,
	"boundaryEvent":          KindBoundaryEvent,
	"task":                   KindTask,
	"userTask":               KindUserTask,
	"serviceTask":            KindServiceTask,
	"scriptTask":             KindScriptTask,
	"sendTask":               KindSendTask,
	"receiveTask":            KindReceiveTask,
	"businessRuleTask":       KindBusinessRuleTask,
	"manualTask":             KindManualTask,
	"exclusiveGateway":       KindExclusiveGateway,
	"parallelGateway":        KindParallelGateway,
	"inclusiveGateway":       KindInclusiveGateway,
	"eventBasedGateway":      KindEventBasedGateway,
	"complexGateway":         KindComplexGateway,
	"subProcess":             KindSubProcess,
	"transaction":            KindTransaction,
	"adHocSubProcess":        KindAdHocSubProcess,
	"callActivity":           KindCallActivity,
}

var eventDefinitionKinds = map[string]EventKind{
	"messageEventDefinition":     EventMessage,
	"timerEventDefinition":       EventTimer,
	"signalEventDefinition":      EventSignal,
	"errorEventDefinition":       EventError,
	"escalationEventDefinition":  EventEscalation,
	"conditionalEventDefinition": EventConditional,
	"linkEventDefinition":        EventLink,
	"compensateEventDefinition":  EventCompensation,
	"terminateEventDefinition":   EventTerminate,
	"cancelEventDefinition":      EventCancel,
}

// containerChild reads one BPMN child element of a process or sub-process.
func (p *parser) containerChild(c *Container, parent *FlowNode, e int32, el *xelem) {
	x := p.x
	if kind, ok := flowNodeKinds[el.local]; ok {
		if kind == KindSubProcess && p.boolAttr(e, nsNone, "triggeredByEvent", false) {
			kind = KindEventSubProcess
		}
		n := p.node(e, kind, c)
		n.Process, n.Parent = p.proc, parent
		c.Nodes = append(c.Nodes, n)
		return
	}
	switch el.local {
	case "sequenceFlow":
		f := &SequenceFlow{
			ID:        p.id(e),
			Name:      x.get(e, "name"),
			Line:      p.line(e),
			SourceRef: p.ref(e, "sourceRef"),
			TargetRef: p.ref(e, "targetRef"),
			Index:     p.flows,
		}
		p.flows++
		p.children(e, func(cc int32, cel *xelem) {
			if cel.ns == nsBPMN && cel.local == "conditionExpression" {
				report := p.proc == nil || p.proc.IsExecutable
				f.Condition = p.exprLang(cel.text, x.get(cc, "language"), p.line(cc), owner{f.ID, "sequenceFlow", f.Line}, "condition", report)
			}
		})
		c.Flows = append(c.Flows, f)
	case "dataObject":
		c.DataObjects = append(c.DataObjects, &DataObject{ID: p.id(e), Name: x.get(e, "name"), Line: p.line(e), IsCollection: p.boolAttr(e, nsNone, "isCollection", false)})
	case "dataObjectReference":
		c.DataObjects = append(c.DataObjects, &DataObject{ID: p.id(e), Name: x.get(e, "name"), Line: p.line(e), Reference: true, Ref: p.ref(e, "dataObjectRef")})
	case "dataStoreReference":
		c.DataObjects = append(c.DataObjects, &DataObject{ID: p.id(e), Name: x.get(e, "name"), Line: p.line(e), Reference: true, Ref: p.ref(e, "dataStoreRef")})
	case "association", "dataInputAssociation", "dataOutputAssociation":
		p.association(c, e, el)
	case "laneSet":
		if p.proc != nil {
			p.laneSet(e, nil)
		}
	}
}

func (p *parser) association(c *Container, e int32, el *xelem) {
	a := &Association{ID: p.id(e), Line: p.line(e), Kind: el.local, SourceRef: p.ref(e, "sourceRef"), TargetRef: p.ref(e, "targetRef")}
	if el.local != "association" {
		// Data associations name their ends in child elements.
		p.children(e, func(cc int32, cel *xelem) {
			if cel.ns != nsBPMN {
				return
			}
			switch cel.local {
			case "sourceRef":
				if a.SourceRef == "" {
					a.SourceRef = p.text(cc)
				}
			case "targetRef":
				a.TargetRef = p.text(cc)
			}
		})
	}
	c.Associations = append(c.Associations, a)
}

func (p *parser) laneSet(e int32, parent *Lane) {
	p.children(e, func(c int32, el *xelem) {
		if el.ns != nsBPMN || el.local != "lane" {
			return
		}
		l := &Lane{ID: p.id(c), Name: p.x.get(c, "name"), Line: p.line(c), Parent: parent, PartitionOf: p.ref(c, "partitionElementRef")}
		if parent != nil {
			parent.ChildLanes = append(parent.ChildLanes, l)
		}
		p.proc.Lanes = append(p.proc.Lanes, l)
		p.children(c, func(cc int32, cel *xelem) {
			if cel.ns != nsBPMN {
				return
			}
			switch cel.local {
			case "flowNodeRef":
				if r := p.text(cc); r != "" {
					l.NodeRefs = append(l.NodeRefs, r)
				}
			case "childLaneSet":
				p.laneSet(cc, l)
			}
		})
	})
}

// node reads a flow node of the given kind; c is the container it is in
// (data associations of the node go there).
func (p *parser) node(e int32, kind Kind, c *Container) *FlowNode {
	x := p.x
	n := &FlowNode{ID: p.id(e), Kind: kind, Line: p.line(e), Interrupting: true}
	n.Async.Exclusive = true
	o := owner{n.ID, string(kind), n.Line}
	if kind.IsSubProcess() {
		n.Children = &Container{}
	}
	if kind == KindAdHocSubProcess {
		n.AdHoc = &AdHoc{CancelRemainingInstances: true}
	}
	if kind == KindCallActivity {
		n.Call = &CallActivity{}
	}
	switch kind {
	case KindServiceTask, KindSendTask, KindBusinessRuleTask, KindScriptTask, KindReceiveTask:
		n.Task = &TaskDef{}
	case KindUserTask:
		n.Human = &HumanTask{}
	}

	// Attributes, in one pass.
	el := &x.elems[e]
	for i := el.a0; i < el.a1; i++ {
		a := &x.attrs[i]
		v := a.value
		switch a.ns {
		case nsNone:
			switch a.local {
			case "name":
				n.Name = v
			case "default":
				n.DefaultRef = strings.TrimSpace(v)
			case "isForCompensation":
				n.IsForCompensation = boolAttr(v, true, false)
			case "attachedToRef":
				n.AttachedToRef = strings.TrimSpace(v)
			case "cancelActivity":
				if kind == KindBoundaryEvent {
					n.Interrupting = boolAttr(v, true, true)
				}
			case "isInterrupting":
				if kind == KindStartEvent {
					n.Interrupting = boolAttr(v, true, true)
				}
			case "parallelMultiple":
				n.ParallelMultiple = boolAttr(v, true, false)
			case "gatewayDirection":
				n.GatewayDirection = v
			case "instantiate":
				if kind == KindEventBasedGateway {
					n.Instantiate = boolAttr(v, true, false)
				}
			case "eventGatewayType":
				n.EventGatewayType = v
			case "implementation":
				if n.Task != nil {
					n.Task.Implementation = v
				}
			case "scriptFormat":
				if n.Task != nil {
					n.Task.ScriptFormat = v
				}
			case "messageRef":
				if n.Task != nil {
					n.Task.MessageRef = strings.TrimSpace(v)
				}
			case "calledElement":
				if n.Call != nil {
					n.Call.CalledElement = p.expr(v, n.Line, o, "calledElement")
				}
			case "ordering":
				if n.AdHoc != nil {
					n.AdHoc.Ordering = v
				}
			case "cancelRemainingInstances":
				if n.AdHoc != nil {
					n.AdHoc.CancelRemainingInstances = boolAttr(v, true, true)
				}
			}
		case nsCamunda:
			p.camundaAttr(n, o, a.local, v)
		}
	}

	// Children.
	p.children(e, func(cc int32, cel *xelem) {
		switch cel.ns {
		case nsBPMN:
		default:
			return
		}
		if ek, ok := eventDefinitionKinds[cel.local]; ok {
			if kind.IsEvent() {
				n.EventDefinitions = append(n.EventDefinitions, p.eventDefinition(cc, ek, n, o))
			}
			return
		}
		switch cel.local {
		case "documentation":
			if t := p.text(cc); t != "" {
				if n.Documentation != "" {
					n.Documentation += "\n"
				}
				n.Documentation += t
			}
		case "extensionElements":
			p.extensions(n, o, cc)
		case "eventDefinitionRef":
			if r := p.text(cc); r != "" {
				p.eventRefs = append(p.eventRefs, eventRef{n, r, p.line(cc)})
			}
		case "standardLoopCharacteristics":
			l := &Loop{TestBefore: p.boolAttr(cc, nsNone, "testBefore", false)}
			if m := strings.TrimSpace(x.get(cc, "loopMaximum")); m != "" {
				l.LoopMaximum, _ = strconv.Atoi(m)
			}
			p.children(cc, func(z int32, zel *xelem) {
				if zel.ns == nsBPMN && zel.local == "loopCondition" {
					l.LoopCondition = p.exprLang(zel.text, x.get(z, "language"), p.line(z), o, "loopCondition", true)
				}
			})
			n.Loop = l
		case "multiInstanceLoopCharacteristics":
			n.Loop = p.multiInstance(cc, o)
		case "script":
			if n.Task != nil {
				src := strings.TrimSpace(cel.text)
				if src != "" {
					n.Task.Script = p.exprLang(src, n.Task.ScriptFormat, p.line(cc), o, "script", true)
				}
			}
		case "humanPerformer", "potentialOwner", "performer":
			p.performer(n, o, cc, cel.local)
		case "completionCondition":
			if n.AdHoc != nil {
				n.AdHoc.CompletionCondition = p.exprLang(cel.text, x.get(cc, "language"), p.line(cc), o, "completionCondition", true)
			}
		case "activationCondition":
			n.ActivationCondition = p.exprLang(cel.text, x.get(cc, "language"), p.line(cc), o, "activationCondition", true)
		case "dataInputAssociation", "dataOutputAssociation":
			if c != nil {
				p.association(c, cc, cel)
			}
		default:
			if n.Children != nil {
				p.containerChild(n.Children, n, cc, cel)
			}
		}
	})
	if n.Task != nil && n.Task.Script != nil && n.Task.ScriptFormat != "" {
		n.Task.Script.Language = n.Task.ScriptFormat
	}
	return n
}

// camundaAttr reads one camunda: attribute of a flow node.
func (p *parser) camundaAttr(n *FlowNode, o owner, local, v string) {
	human := func() *HumanTask {
		if n.Human == nil {
			n.Human = &HumanTask{}
		}
		return n.Human
	}
	task := func() *TaskDef {
		if n.Task == nil {
			n.Task = &TaskDef{}
		}
		return n.Task
	}
	call := func() *CallActivity {
		if n.Call == nil {
			n.Call = &CallActivity{}
		}
		return n.Call
	}
	what := "camunda:" + local
	switch local {
	case "assignee":
		human().Assignee = p.expr(v, n.Line, o, what)
	case "candidateUsers":
		human().CandidateUsers = p.expr(v, n.Line, o, what)
	case "candidateGroups":
		human().CandidateGroups = p.expr(v, n.Line, o, what)
	case "dueDate":
		human().DueDate = p.expr(v, n.Line, o, what)
	case "followUpDate":
		human().FollowUpDate = p.expr(v, n.Line, o, what)
	case "priority":
		human().Priority = p.expr(v, n.Line, o, what)
	case "formKey":
		human().FormKey = v
	case "formRef":
		human().FormRef = v
	case "formRefBinding":
		human().FormRefBinding = v
	case "formRefVersion":
		human().FormRefVersion = v
	case "initiator":
		human().Initiator = v
	case "type":
		task().Type = v
	case "topic":
		task().Topic = p.expr(v, n.Line, o, what)
	case "taskPriority":
		task().Priority = p.expr(v, n.Line, o, what)
	case "class":
		task().JavaClass = v
	case "expression":
		task().JavaExpression = v
	case "delegateExpression":
		task().DelegateExpression = v
	case "resultVariable":
		task().ResultVariable = v
	case "decisionRef":
		task().DecisionRef = v
	case "async", "asyncBefore":
		if boolAttr(v, true, false) {
			n.Async.Before = true
		}
	case "asyncAfter":
		n.Async.After = boolAttr(v, true, false)
	case "exclusive":
		n.Async.Exclusive = boolAttr(v, true, true)
	case "failedJobRetryTimeCycle":
		n.Async.RetryTimeCycle = strings.TrimSpace(v)
	case "calledElementBinding":
		call().Binding = v
	case "calledElementVersion":
		call().Version = v
	case "calledElementVersionTag":
		call().VersionTag = v
	}
}

// eventDefinition reads an event definition; n is nil at the root.
func (p *parser) eventDefinition(e int32, kind EventKind, n *FlowNode, o owner) *EventDefinition {
	x := p.x
	ed := &EventDefinition{ID: p.id(e), Kind: kind, Line: p.line(e)}
	switch kind {
	case EventMessage:
		ed.MessageRef = p.ref(e, "messageRef")
		if n != nil {
			// Camunda 7 implements message throw events like service tasks.
			el := &x.elems[e]
			for i := el.a0; i < el.a1; i++ {
				if a := &x.attrs[i]; a.ns == nsCamunda {
					p.camundaAttr(n, o, a.local, a.value)
				}
			}
		}
	case EventSignal:
		ed.SignalRef = p.ref(e, "signalRef")
	case EventError:
		ed.ErrorRef = p.ref(e, "errorRef")
		ed.ErrorCodeVariable, _ = x.attr(e, nsCamunda, "errorCodeVariable")
		ed.ErrorMessageVariable, _ = x.attr(e, nsCamunda, "errorMessageVariable")
	case EventEscalation:
		ed.EscalationRef = p.ref(e, "escalationRef")
		ed.EscalationCodeVariable, _ = x.attr(e, nsCamunda, "escalationCodeVariable")
	case EventConditional:
		ed.VariableName, _ = x.attr(e, nsCamunda, "variableName")
		ed.VariableEvents, _ = x.attr(e, nsCamunda, "variableEvents")
	case EventLink:
		ed.LinkName = x.get(e, "name")
	case EventCompensation:
		ed.ActivityRef = p.ref(e, "activityRef")
		ed.WaitForCompletion = p.boolAttr(e, nsNone, "waitForCompletion", true)
	}
	if kind == EventTimer || kind == EventConditional {
		p.children(e, func(c int32, el *xelem) {
			if el.ns != nsBPMN {
				return
			}
			switch el.local {
			case "timeDate", "timeDuration", "timeCycle":
				if ed.Timer == nil {
					ed.Timer = &Timer{Type: TimerType(el.local), Value: p.exprLang(el.text, x.get(c, "language"), p.line(c), o, el.local, true)}
				}
			case "condition":
				ed.Condition = p.exprLang(el.text, x.get(c, "language"), p.line(c), o, "condition", true)
			}
		})
	}
	return ed
}

func (p *parser) multiInstance(e int32, o owner) *Loop {
	x := p.x
	l := &Loop{MultiInstance: true, Sequential: p.boolAttr(e, nsNone, "isSequential", false)}
	if v, ok := x.attr(e, nsCamunda, "collection"); ok {
		l.InputCollection = p.expr(v, p.line(e), o, "camunda:collection")
	}
	if v, ok := x.attr(e, nsCamunda, "elementVariable"); ok {
		l.InputElement = strings.TrimSpace(v)
	}
	itemName := func(c int32) string {
		if v := strings.TrimSpace(x.get(c, "name")); v != "" {
			return v
		}
		return p.id(c)
	}
	p.children(e, func(c int32, el *xelem) {
		switch el.ns {
		case nsBPMN:
			switch el.local {
			case "loopCardinality":
				l.Cardinality = p.exprLang(el.text, x.get(c, "language"), p.line(c), o, "loopCardinality", true)
			case "loopDataInputRef":
				if l.InputCollection == nil {
					l.InputCollection = p.expr(el.text, p.line(c), o, "loopDataInputRef")
				}
			case "inputDataItem":
				if l.InputElement == "" {
					l.InputElement = itemName(c)
				}
			case "loopDataOutputRef":
				if l.OutputCollection == "" {
					l.OutputCollection = p.text(c)
				}
			case "outputDataItem":
				if l.OutputElement == nil {
					l.OutputElement = p.expr(itemName(c), p.line(c), o, "outputDataItem")
				}
			case "completionCondition":
				l.CompletionCondition = p.exprLang(el.text, x.get(c, "language"), p.line(c), o, "completionCondition", true)
			case "extensionElements":
				p.children(c, func(z int32, zel *xelem) {
					if zel.ns == nsZeebe && zel.local == "loopCharacteristics" {
						line := p.line(z)
						if v := x.get(z, "inputCollection"); v != "" {
							l.InputCollection = p.expr(v, line, o, "zeebe:loopCharacteristics inputCollection")
						}
						if v := strings.TrimSpace(x.get(z, "inputElement")); v != "" {
							l.InputElement = v
						}
						if v := strings.TrimSpace(x.get(z, "outputCollection")); v != "" {
							l.OutputCollection = v
						}
						if v := x.get(z, "outputElement"); v != "" {
							l.OutputElement = p.expr(v, line, o, "zeebe:loopCharacteristics outputElement")
						}
					}
				})
			}
		}
	})
	return l
}

// performer reads humanPerformer and potentialOwner: the formal expression
// of their resourceAssignmentExpression.
func (p *parser) performer(n *FlowNode, o owner, e int32, what string) {
	var src string
	var line int
	p.children(e, func(c int32, el *xelem) {
		if el.ns == nsBPMN && el.local == "resourceAssignmentExpression" {
			p.children(c, func(z int32, zel *xelem) {
				if zel.ns == nsBPMN && (zel.local == "formalExpression" || zel.local == "expression") && src == "" {
					src, line = p.text(z), p.line(z)
				}
			})
		}
	})
	if src == "" {
		return
	}
	if n.Human == nil {
		n.Human = &HumanTask{}
	}
	h := n.Human
	switch what {
	case "humanPerformer", "performer":
		if h.Assignee == nil {
			h.Assignee = p.expr(src, line, o, what)
		}
	case "potentialOwner":
		// Camunda's rules: user(a) and group(b); a plain name is a group.
		var users, groups []string
		for _, part := range splitTopLevel(src) {
			part = strings.TrimSpace(part)
			switch {
			case part == "":
			case strings.HasPrefix(part, "user(") && strings.HasSuffix(part, ")"):
				users = append(users, strings.TrimSpace(part[5:len(part)-1]))
			case strings.HasPrefix(part, "group(") && strings.HasSuffix(part, ")"):
				groups = append(groups, strings.TrimSpace(part[6:len(part)-1]))
			default:
				groups = append(groups, part)
			}
		}
		if len(users) > 0 && h.CandidateUsers == nil {
			h.CandidateUsers = p.expr(strings.Join(users, ","), line, o, what)
		}
		if len(groups) > 0 && h.CandidateGroups == nil {
			h.CandidateGroups = p.expr(strings.Join(groups, ","), line, o, what)
		}
	}
}

// splitTopLevel splits s at commas outside parentheses and braces.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// finish resolves eventDefinitionRef against root-level event definitions.
func (p *parser) finish() {
	for _, r := range p.eventRefs {
		ed := p.rootEvents[r.ref]
		if ed == nil {
			if i := strings.IndexByte(r.ref, ':'); i >= 0 {
				ed = p.rootEvents[r.ref[i+1:]]
			}
		}
		if ed == nil {
			p.problem(refSeverity(r.node.Process), owner{r.node.ID, string(r.node.Kind), r.line}, "eventDefinitionRef names no event definition: %s", r.ref)
			continue
		}
		cp := *ed
		cp.ID = "" // the id belongs to the root definition
		r.node.EventDefinitions = append(r.node.EventDefinitions, &cp)
	}
}

// refSeverity is the severity of an unresolved reference in process pr:
// an error in executable processes, a warning elsewhere.
func refSeverity(pr *Process) Severity {
	if pr == nil || pr.IsExecutable {
		return SeverityError
	}
	return SeverityWarning
}

func (p *parser) collaboration(e int32) {
	x := p.x
	co := &Collaboration{ID: p.id(e), Name: x.get(e, "name"), Line: p.line(e)}
	p.children(e, func(c int32, el *xelem) {
		if el.ns != nsBPMN {
			return
		}
		switch el.local {
		case "participant":
			co.Participants = append(co.Participants, &Participant{ID: p.id(c), Name: x.get(c, "name"), Line: p.line(c), ProcessRef: p.ref(c, "processRef")})
		case "messageFlow":
			co.MessageFlows = append(co.MessageFlows, &MessageFlow{ID: p.id(c), Name: x.get(c, "name"), Line: p.line(c), SourceRef: p.ref(c, "sourceRef"), TargetRef: p.ref(c, "targetRef"), MessageRef: p.ref(c, "messageRef")})
		}
	})
	p.d.Collaborations = append(p.d.Collaborations, co)
}
