package bpmn

import (
	"fmt"

	"github.com/batonbpm/baton/bpmn/expression"
)

// Kind is the kind of a flow node: the local name of its BPMN element, except
// for event sub-processes, which are sub-processes with triggeredByEvent="true".
type Kind string

// Flow node kinds.
const (
	KindStartEvent             Kind = "startEvent"
	KindEndEvent               Kind = "endEvent"
	KindIntermediateCatchEvent Kind = "intermediateCatchEvent"
	KindIntermediateThrowEvent Kind = "intermediateThrowEvent"
	KindBoundaryEvent          Kind = "boundaryEvent"

	KindTask             Kind = "task" // the undefined (abstract) task
	KindUserTask         Kind = "userTask"
	KindServiceTask      Kind = "serviceTask"
	KindScriptTask       Kind = "scriptTask"
	KindSendTask         Kind = "sendTask"
	KindReceiveTask      Kind = "receiveTask"
	KindBusinessRuleTask Kind = "businessRuleTask"
	KindManualTask       Kind = "manualTask"

	KindExclusiveGateway  Kind = "exclusiveGateway"
	KindParallelGateway   Kind = "parallelGateway"
	KindInclusiveGateway  Kind = "inclusiveGateway"
	KindEventBasedGateway Kind = "eventBasedGateway"
	KindComplexGateway    Kind = "complexGateway"

	KindSubProcess      Kind = "subProcess"
	KindEventSubProcess Kind = "eventSubProcess" // <subProcess triggeredByEvent="true">
	KindTransaction     Kind = "transaction"
	KindAdHocSubProcess Kind = "adHocSubProcess"
	KindCallActivity    Kind = "callActivity"
)

// IsEvent reports whether k is an event kind.
func (k Kind) IsEvent() bool {
	switch k {
	case KindStartEvent, KindEndEvent, KindIntermediateCatchEvent, KindIntermediateThrowEvent, KindBoundaryEvent:
		return true
	}
	return false
}

// IsGateway reports whether k is a gateway kind.
func (k Kind) IsGateway() bool {
	switch k {
	case KindExclusiveGateway, KindParallelGateway, KindInclusiveGateway, KindEventBasedGateway, KindComplexGateway:
		return true
	}
	return false
}

// IsSubProcess reports whether nodes of kind k contain other flow nodes.
func (k Kind) IsSubProcess() bool {
	switch k {
	case KindSubProcess, KindEventSubProcess, KindTransaction, KindAdHocSubProcess:
		return true
	}
	return false
}

// IsActivity reports whether k is an activity: a task, a sub-process or a
// call activity. Only activities carry boundary events, loops and io mappings.
func (k Kind) IsActivity() bool {
	return !k.IsEvent() && !k.IsGateway()
}

// IsServiceLike reports whether k is worked by a job with a topic: service,
// send and business rule tasks, and script tasks with an external implementation.
func (k Kind) IsServiceLike() bool {
	switch k {
	case KindServiceTask, KindSendTask, KindBusinessRuleTask, KindScriptTask:
		return true
	}
	return false
}

// EventKind is the trigger of an event: the kind of its event definition.
type EventKind string

// Event definition kinds. EventNone means no definition, EventMultiple more than one.
const (
	EventNone         EventKind = "none"
	EventMessage      EventKind = "message"
	EventTimer        EventKind = "timer"
	EventSignal       EventKind = "signal"
	EventError        EventKind = "error"
	EventEscalation   EventKind = "escalation"
	EventConditional  EventKind = "conditional"
	EventLink         EventKind = "link"
	EventCompensation EventKind = "compensate"
	EventTerminate    EventKind = "terminate"
	EventCancel       EventKind = "cancel"
	EventMultiple     EventKind = "multiple"
)

// Severity tells whether a Problem stops a deployment.
type Severity string

// Problem severities.
const (
	SeverityError   Severity = "error"   // the model cannot be deployed
	SeverityWarning Severity = "warning" // the model deploys; something will not execute as drawn
)

// Problem is one finding of validation. Line is 0 when unknown.
type Problem struct {
	Severity  Severity `json:"severity"`
	Line      int      `json:"line,omitempty"`
	ElementID string   `json:"elementId,omitempty"`
	Kind      string   `json:"kind,omitempty"` // the element's kind, e.g. "exclusiveGateway"
	Message   string   `json:"message"`
}

// String formats p as "LINE: ID (kind): message", leaving out what is unknown.
func (p Problem) String() string {
	s := ""
	if p.Line > 0 {
		s = fmt.Sprintf("%d: ", p.Line)
	}
	if p.ElementID != "" {
		s += p.ElementID + " "
	}
	if p.Kind != "" {
		s += "(" + p.Kind + ") "
	}
	if p.ElementID != "" || p.Kind != "" {
		s = s[:len(s)-1] + ": "
	}
	if p.Severity == SeverityWarning {
		s += "warning: "
	}
	return s + p.Message
}

// ValidationError holds every error-severity problem of a model.
type ValidationError struct {
	Problems []Problem
}

// Error implements error.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid BPMN: " + e.Problems[0].String()
	}
	return fmt.Sprintf("invalid BPMN: %d problems, first: %s", len(e.Problems), e.Problems[0].String())
}

// Expression is an expression or literal value from the model: a condition,
// an assignee, a timer value, a mapping source. Program is the compiled form,
// set by Parse; it is nil only when compilation failed, which is a validation
// error.
type Expression struct {
	Source   string
	Language string // the language attribute, when the model gave one
	Line     int
	Program  *expression.Program
}

// String returns the source.
func (e *Expression) String() string {
	if e == nil {
		return ""
	}
	return e.Source
}

// Definitions is a parsed BPMN document: the root <definitions> element.
type Definitions struct {
	ID              string
	Name            string
	TargetNamespace string
	Exporter        string
	ExporterVersion string

	Processes       []*Process
	Collaborations  []*Collaboration
	Messages        []*Message
	Signals         []*Signal
	Errors          []*Error
	Escalations     []*Escalation
	ItemDefinitions []*ItemDefinition
	DataStores      []*DataStore

	// HasDiagram tells whether the document carries BPMNDI.
	HasDiagram bool
	// Raw is the document exactly as it was read, kept so the UI can draw it.
	Raw []byte
	// Problems are every error and warning found by Parse, in document order.
	Problems []Problem

	ids map[string]any // every element with an id, by id
}

// Err returns a *ValidationError listing the error-severity problems, or nil.
func (d *Definitions) Err() error {
	var errs []Problem
	for _, p := range d.Problems {
		if p.Severity == SeverityError {
			errs = append(errs, p)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: errs}
}

// Warnings returns the warning-severity problems.
func (d *Definitions) Warnings() []Problem {
	var ws []Problem
	for _, p := range d.Problems {
		if p.Severity == SeverityWarning {
			ws = append(ws, p)
		}
	}
	return ws
}

// Element returns the element with the given id (a *FlowNode, *SequenceFlow,
// *Process, *Message, ...), or nil.
func (d *Definitions) Element(id string) any { return d.ids[id] }

// Node returns the flow node with the given id, or nil.
func (d *Definitions) Node(id string) *FlowNode {
	n, _ := d.ids[id].(*FlowNode)
	return n
}

// Flow returns the sequence flow with the given id, or nil.
func (d *Definitions) Flow(id string) *SequenceFlow {
	f, _ := d.ids[id].(*SequenceFlow)
	return f
}

// Process returns the process with the given id, or nil.
func (d *Definitions) Process(id string) *Process {
	p, _ := d.ids[id].(*Process)
	return p
}

// ExecutableProcesses returns the processes with isExecutable="true".
func (d *Definitions) ExecutableProcesses() []*Process {
	var ps []*Process
	for _, p := range d.Processes {
		if p.IsExecutable {
			ps = append(ps, p)
		}
	}
	return ps
}

// Container holds flow elements: a process or a sub-process.
type Container struct {
	// Nodes are the flow nodes directly inside, in document order
	// (boundary events included; nodes of nested sub-processes are not).
	Nodes []*FlowNode
	// Flows are the sequence flows directly inside, in document order.
	Flows        []*SequenceFlow
	DataObjects  []*DataObject
	Associations []*Association
}

// StartEvents returns the start events directly inside c, in document order
// (not those of event sub-processes).
func (c *Container) StartEvents() []*FlowNode {
	var s []*FlowNode
	for _, n := range c.Nodes {
		if n.Kind == KindStartEvent {
			s = append(s, n)
		}
	}
	return s
}

// NoneStart returns the first start event of c without an event definition, or nil.
func (c *Container) NoneStart() *FlowNode {
	for _, n := range c.Nodes {
		if n.Kind == KindStartEvent && len(n.EventDefinitions) == 0 {
			return n
		}
	}
	return nil
}

// EventSubProcesses returns the event sub-processes directly inside c.
func (c *Container) EventSubProcesses() []*FlowNode {
	var s []*FlowNode
	for _, n := range c.Nodes {
		if n.Kind == KindEventSubProcess {
			s = append(s, n)
		}
	}
	return s
}

// Process is a <process>.
type Process struct {
	Container
	ID           string
	Name         string
	IsExecutable bool
	Line         int
	Definitions  *Definitions
	Lanes        []*Lane // every lane, nested ones included, in document order

	// VersionTag is camunda:versionTag.
	VersionTag string
	// CandidateStarterGroups and CandidateStarterUsers are camunda:candidateStarterGroups/Users.
	CandidateStarterGroups, CandidateStarterUsers string
}

// Lane is a <lane> of a process.
type Lane struct {
	ID, Name    string
	Line        int
	NodeRefs    []string
	Nodes       []*FlowNode
	Parent      *Lane
	ChildLanes  []*Lane
	PartitionOf string
}

// FlowNode is an event, activity or gateway. One struct serves every kind;
// the fields that do not apply to a kind stay zero.
type FlowNode struct {
	ID            string
	Name          string
	Kind          Kind
	Line          int
	Documentation string

	// Process is the process the node belongs to; Parent the sub-process
	// directly containing it, nil at process level.
	Process *Process
	Parent  *FlowNode

	// Incoming and Outgoing flows, in document order of the flows.
	Incoming, Outgoing []*SequenceFlow
	// DefaultRef is the default attribute (gateways and activities); Default the flow it names.
	DefaultRef string
	Default    *SequenceFlow

	// Events.

	EventDefinitions []*EventDefinition
	ParallelMultiple bool
	// Interrupting is cancelActivity on boundary events and isInterrupting on
	// start events (meaningful in event sub-processes). Default true.
	Interrupting bool
	// AttachedToRef is the attachedToRef of a boundary event; AttachedTo the node it names.
	AttachedToRef string
	AttachedTo    *FlowNode
	// Boundaries are the boundary events attached to this activity.
	Boundaries []*FlowNode
	// CompensationHandler is, on a compensation boundary event, the
	// activity its association connects it to: the handler that undoes the
	// activity the event is attached to (BPMN 2.0.2 §10.5.4, §10.7). nil
	// when no association leads to an activity.
	CompensationHandler *FlowNode

	// Activities.

	Async             Async
	IsForCompensation bool
	Loop              *Loop
	// Inputs and Outputs are the activity's (or event's) io mappings,
	// from camunda:inputOutput or zeebe:ioMapping, in document order.
	Inputs, Outputs []*Mapping
	// Task holds what service-like, script, receive and send tasks need.
	Task *TaskDef
	// Human holds the user-task assignment and form; also the start form of start events.
	Human *HumanTask
	// Call holds what a call activity calls.
	Call *CallActivity
	// Children are the contents of a sub-process, event sub-process,
	// transaction or ad-hoc sub-process; nil for other kinds.
	Children *Container
	// AdHoc holds ad-hoc sub-process attributes.
	AdHoc *AdHoc

	// Gateways.

	// GatewayDirection is the gatewayDirection attribute, if given.
	GatewayDirection string
	// Instantiate and EventGatewayType are event-based gateway attributes.
	Instantiate      bool
	EventGatewayType string
	// ActivationCondition is a complex gateway's activation condition.
	ActivationCondition *Expression

	// Index is the node's position in document order among all nodes of the
	// definitions, from 0; the engine uses it for dense per-node tables.
	Index int
}

// EventKind returns the kind of the node's event definition: EventNone
// without one, EventMultiple with more than one.
func (n *FlowNode) EventKind() EventKind {
	switch len(n.EventDefinitions) {
	case 0:
		return EventNone
	case 1:
		return n.EventDefinitions[0].Kind
	}
	return EventMultiple
}

// Event returns the node's first event definition, or nil.
func (n *FlowNode) Event() *EventDefinition {
	if len(n.EventDefinitions) == 0 {
		return nil
	}
	return n.EventDefinitions[0]
}

// Scope returns the container the node is directly in.
func (n *FlowNode) Scope() *Container {
	if n.Parent != nil {
		return n.Parent.Children
	}
	return &n.Process.Container
}

// String returns "ID (kind)".
func (n *FlowNode) String() string { return n.ID + " (" + string(n.Kind) + ")" }

// Async holds the asynchronous continuation flags of camunda:asyncBefore,
// camunda:asyncAfter (camunda:async is asyncBefore) and camunda:exclusive.
type Async struct {
	Before, After bool
	// Exclusive is camunda:exclusive. Default true.
	Exclusive bool
	// RetryTimeCycle is camunda:failedJobRetryTimeCycle, e.g. "R5/PT1M".
	RetryTimeCycle string
}

// SequenceFlow is a <sequenceFlow>.
type SequenceFlow struct {
	ID, Name             string
	Line                 int
	SourceRef, TargetRef string
	Source, Target       *FlowNode
	// Condition is the conditionExpression, nil when unconditioned.
	Condition *Expression
	// Index is the flow's position in document order among all flows of the definitions.
	Index int
}

// IsDefault reports whether f is its source's default flow.
func (f *SequenceFlow) IsDefault() bool { return f.Source != nil && f.Source.Default == f }

// EventDefinition is one event definition of an event. Only the fields of
// its Kind are set.
type EventDefinition struct {
	ID   string
	Kind EventKind
	Line int

	MessageRef string
	Message    *Message
	// CorrelationKey is zeebe:subscription correlationKey on the message.
	CorrelationKey *Expression

	SignalRef string
	Signal    *Signal

	// ErrorRef names an <error>. When it names none, the reference itself is
	// the error code (BPMN engines agree on this). Empty catches every error.
	ErrorRef string
	Error    *Error
	// ErrorCodeVariable and ErrorMessageVariable are the camunda: attributes
	// that store a caught error's code and message.
	ErrorCodeVariable, ErrorMessageVariable string

	EscalationRef string
	Escalation    *Escalation
	// EscalationCodeVariable is camunda:escalationCodeVariable.
	EscalationCodeVariable string

	Timer *Timer

	// Condition is a conditional event's condition; VariableName and
	// VariableEvents are its camunda: filters.
	Condition      *Expression
	VariableName   string
	VariableEvents string

	// LinkName is a link event's name.
	LinkName string

	// ActivityRef is a compensation event's activityRef; Activity the node it names.
	ActivityRef       string
	Activity          *FlowNode
	WaitForCompletion bool
}

// ErrorCode returns the code a thrown or caught error carries: the <error>'s
// errorCode, else the errorRef itself. Empty means catch-all.
func (e *EventDefinition) ErrorCode() string {
	if e.Error != nil && e.Error.Code != "" {
		return e.Error.Code
	}
	if e.Error != nil {
		return e.Error.ID
	}
	return e.ErrorRef
}

// EscalationCode returns the escalation's code, else the escalationRef. Empty means catch-all.
func (e *EventDefinition) EscalationCode() string {
	if e.Escalation != nil && e.Escalation.Code != "" {
		return e.Escalation.Code
	}
	if e.Escalation != nil {
		return e.Escalation.ID
	}
	return e.EscalationRef
}

// TimerType is which of timeDate, timeDuration and timeCycle a timer has.
type TimerType string

// Timer types.
const (
	TimerDate     TimerType = "timeDate"
	TimerDuration TimerType = "timeDuration"
	TimerCycle    TimerType = "timeCycle"
)

// Timer is a timer event definition's value.
type Timer struct {
	Type  TimerType
	Value *Expression
}

// Loop is an activity's loop characteristics: standard or multi-instance.
type Loop struct {
	// MultiInstance is false for standardLoopCharacteristics.
	MultiInstance bool

	// Standard loops.
	TestBefore    bool
	LoopCondition *Expression
	LoopMaximum   int

	// Multi-instance.
	Sequential bool
	// Cardinality is loopCardinality.
	Cardinality *Expression
	// InputCollection is loopDataInputRef, camunda:collection or zeebe inputCollection.
	InputCollection *Expression
	// InputElement is inputDataItem's name, camunda:elementVariable or zeebe inputElement.
	InputElement string
	// OutputCollection is loopDataOutputRef or zeebe outputCollection (a variable name).
	OutputCollection string
	// OutputElement is outputDataItem's name or zeebe outputElement.
	OutputElement       *Expression
	CompletionCondition *Expression
}

// Mapping is one input or output parameter: Target receives Source's value.
// In camunda:inputOutput, Target is the parameter name and Source its value;
// in zeebe:ioMapping, source and target attributes.
type Mapping struct {
	Target string
	Source *Expression
	// Unsupported tells why the mapping cannot be evaluated (a script or
	// nested list/map parameter that Baton does not execute yet); empty if it can.
	Unsupported string
}

// TaskDef holds what service-like, script, send and receive tasks need.
type TaskDef struct {
	// Topic is camunda:topic (with camunda:type="external") or zeebe:taskDefinition type.
	Topic *Expression
	// Type is camunda:type, e.g. "external".
	Type string
	// Retries is zeebe:taskDefinition retries, 0 when not given.
	Retries int
	// Priority is camunda:taskPriority: external workers that fetch by
	// priority get higher ones first. nil when not given (priority 0).
	Priority *Expression
	// Implementation is the BPMN implementation attribute.
	Implementation string
	// JavaClass, JavaExpression and DelegateExpression are camunda:class,
	// camunda:expression and camunda:delegateExpression: Java bindings that
	// Baton does not run; the engine treats the task as external by its id.
	JavaClass, JavaExpression, DelegateExpression string
	// Headers are zeebe:taskHeaders.
	Headers map[string]string

	// Script tasks.
	ScriptFormat   string
	Script         *Expression // the inline script, compiled when it is an expression
	ResultVariable string      // camunda:resultVariable or zeebe:script resultVariable

	// Send and receive tasks.
	MessageRef string
	Message    *Message
	// CorrelationKey is zeebe:subscription correlationKey on receive tasks.
	CorrelationKey *Expression

	// Business rule tasks.
	DecisionRef string
}

// HumanTask holds user-task assignment and forms. Values may be literals or
// expressions; CandidateUsers and CandidateGroups evaluate to comma-separated
// lists or lists.
type HumanTask struct {
	Assignee        *Expression
	CandidateUsers  *Expression
	CandidateGroups *Expression
	DueDate         *Expression
	FollowUpDate    *Expression
	Priority        *Expression

	// FormKey is camunda:formKey; FormRef, FormRefBinding and FormRefVersion
	// are camunda:formRef*; FormID is zeebe:formDefinition formId (or formKey).
	FormKey        string
	FormRef        string
	FormRefBinding string
	FormRefVersion string
	FormID         string
	// FormFields are camunda:formData fields.
	FormFields []*FormField
	// Initiator is camunda:initiator on start events: the variable that receives the starter.
	Initiator string
}

// FormField is a camunda:formField.
type FormField struct {
	ID           string
	Label        string
	Type         string // string, long, boolean, date, enum, or a custom type
	DatePattern  string
	DefaultValue string
	Values       []FormValue      // enum values
	Constraints  []FormConstraint // required, minlength, maxlength, min, max, readonly, ...
	Properties   map[string]string
}

// FormValue is one value of an enum form field.
type FormValue struct{ ID, Name string }

// FormConstraint is one camunda:constraint of a form field.
type FormConstraint struct{ Name, Config string }

// CallActivity holds what a call activity calls and how variables pass.
type CallActivity struct {
	// CalledElement is the process key to call (may be an expression).
	CalledElement *Expression
	// Binding is camunda:calledElementBinding: latest (default), deployment, version or versionTag.
	Binding    string
	Version    string
	VersionTag string
	// In and Out are camunda:in / camunda:out mappings.
	In, Out []*CallMapping
	// BusinessKey is camunda:in businessKey.
	BusinessKey *Expression
	// PropagateAllChildVariables and PropagateAllParentVariables are zeebe:calledElement attributes.
	PropagateAllChildVariables  bool
	PropagateAllParentVariables bool
	// Zeebe tells that zeebe:calledElement named the process: variables
	// pass as in Camunda 8 (the propagate flags and the io mappings), not
	// through camunda:in and camunda:out.
	Zeebe bool
}

// CallMapping is one camunda:in or camunda:out element.
type CallMapping struct {
	Source           string
	SourceExpression *Expression
	Target           string
	// All is variables="all".
	All   bool
	Local bool
}

// AdHoc holds ad-hoc sub-process attributes.
type AdHoc struct {
	Ordering                 string // Parallel or Sequential
	CompletionCondition      *Expression
	CancelRemainingInstances bool
}

// Collaboration is a <collaboration> with its pools and message flows.
type Collaboration struct {
	ID, Name     string
	Line         int
	Participants []*Participant
	MessageFlows []*MessageFlow
}

// Participant is a pool.
type Participant struct {
	ID, Name   string
	Line       int
	ProcessRef string
	Process    *Process
}

// MessageFlow is a <messageFlow> between pools or their nodes.
type MessageFlow struct {
	ID, Name             string
	Line                 int
	SourceRef, TargetRef string
	MessageRef           string
}

// Message is a root <message>. Events address messages by Name.
type Message struct {
	ID, Name string
	Line     int
	ItemRef  string
	// CorrelationKey is the zeebe:subscription correlationKey in the
	// message's extensionElements; Parse copies it to every event definition
	// and task that references the message.
	CorrelationKey *Expression
}

// Signal is a root <signal>. Events address signals by Name.
type Signal struct {
	ID, Name string
	Line     int
}

// Error is a root <error>.
type Error struct {
	ID, Name     string
	Code         string
	Line         int
	StructureRef string
}

// Escalation is a root <escalation>.
type Escalation struct {
	ID, Name string
	Code     string
	Line     int
}

// ItemDefinition is a root <itemDefinition>.
type ItemDefinition struct {
	ID           string
	Line         int
	StructureRef string
	ItemKind     string
	IsCollection bool
}

// DataStore is a root <dataStore>.
type DataStore struct {
	ID, Name string
	Line     int
}

// DataObject is a <dataObject> or <dataObjectReference> in a container.
type DataObject struct {
	ID, Name string
	Line     int
	// Reference tells a dataObjectReference; Ref is its dataObjectRef.
	Reference    bool
	Ref          string
	IsCollection bool
}

// Association is an <association>, <dataInputAssociation> or <dataOutputAssociation>.
type Association struct {
	ID                   string
	Line                 int
	Kind                 string // association, dataInputAssociation, dataOutputAssociation
	SourceRef, TargetRef string
}
