package engine

import (
	"time"

	"github.com/batonbpm/baton/bpmn"
)

// ElementState is the lifecycle state of an element instance.
type ElementState string

// Element instance states. The legal transitions are
// activating → activated → completing → completed, and
// terminating → terminated from any live state.
const (
	ElementActivating  ElementState = "activating"
	ElementActivated   ElementState = "activated"
	ElementCompleting  ElementState = "completing"
	ElementCompleted   ElementState = "completed"
	ElementTerminating ElementState = "terminating"
	ElementTerminated  ElementState = "terminated"
)

// Live reports whether s is not an end state.
func (s ElementState) Live() bool { return s != ElementCompleted && s != ElementTerminated }

// InstanceState is the state of a process instance.
type InstanceState string

// Process instance states.
const (
	InstanceActive    InstanceState = "active"
	InstanceCompleted InstanceState = "completed"
	InstanceCanceled  InstanceState = "cancelled"
)

// Deployment is a set of resources deployed together.
type Deployment struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	// Definitions are the process definitions of the deployment, one per
	// executable process; a process whose content did not change since its
	// latest version is the existing definition, not a new version.
	Definitions []*Definition
	// Forms are the forms (.form resources) of the deployment; like
	// definitions, a form whose content did not change is the existing
	// version. Deploy returns them; DeploymentList does not.
	Forms []*Form
	// Warnings are the problems that did not stop the deployment: model
	// warnings and elements the engine does not execute yet (engine.Check).
	// Deploy returns them; stores do not keep them.
	Warnings []bpmn.Problem
}

// Form is one deployed version of a Camunda Form (form-js JSON), identified
// by its id (FormID) and version.
type Form struct {
	ID           int64
	FormID       string
	Version      int
	DeploymentID int64
	Checksum     string
	JSON         []byte
	CreatedAt    time.Time
}

// Definition is one deployed version of a process, identified by its key
// (the process id) and version.
type Definition struct {
	ID           int64
	DeploymentID int64
	Key          string
	Version      int
	Name         string
	// Checksum is the SHA-256 of the resource bytes, hex; with Key it
	// identifies identical content.
	Checksum     string
	ResourceName string
	// XML is the resource exactly as deployed.
	XML       []byte
	CreatedAt time.Time
}

// Instance is a process instance.
type Instance struct {
	ID           int64
	DefinitionID int64
	Key          string
	Version      int
	BusinessKey  string
	// StartKey is the idempotency key the instance was started with, if any.
	StartKey string
	State    InstanceState
	// Replayed is set on the instance Start returns when an earlier start
	// with the same StartKey created it. It is not stored.
	Replayed bool
	// Revision counts the commands that changed the instance; stores use it
	// to detect lost updates.
	Revision  int64
	StartedAt time.Time
	EndedAt   time.Time
	// ParentInstanceID is the instance whose call activity started this
	// one, and ParentElementInstanceID that call activity's element
	// instance (see callactivity.go); both are 0 for an instance started
	// otherwise.
	ParentInstanceID        int64
	ParentElementInstanceID int64
}

// ElementInstance is one execution of a flow node, or the process itself
// (whose element instance has the instance's ID and ScopeID 0). It is live
// state: when it ends it leaves the store's live rows, and history keeps
// when it ended and which flows led to and from it.
type ElementInstance struct {
	ID         int64
	InstanceID int64
	// ScopeID is the element instance of the process or sub-process that
	// contains this one.
	ScopeID   int64
	ElementID string
	Kind      bpmn.Kind
	State     ElementState
	CreatedAt time.Time
	// Phase is what the instance was doing when an incident stopped it:
	// "activate" or "complete"; a retry runs that phase again.
	Phase string

	node *bpmn.FlowNode
	// trigger is the start event that triggered an event sub-process
	// instance, for its activation in the same command.
	trigger *bpmn.FlowNode
	dirty   bool
	// fresh marks an element instance created by the running command.
	fresh bool
}

// Variable is a named value in a scope (the process instance or an element
// instance). Value holds one of: nil, string, int64, float64, bool,
// time.Time, map[string]any (JSON object) or []any (list).
type Variable struct {
	InstanceID int64
	ScopeID    int64
	Name       string
	Value      any
	// Deleted tells a variable that left the live state (its scope ended).
	Deleted bool

	dirty bool
}

// UserTaskState is the state of a user task.
type UserTaskState string

// User task states.
const (
	TaskCreated   UserTaskState = "created"
	TaskCompleted UserTaskState = "completed"
	TaskCanceled  UserTaskState = "cancelled"
)

// UserTask is a task waiting for a person.
type UserTask struct {
	ID                int64
	InstanceID        int64
	ElementInstanceID int64
	ElementID         string
	Name              string
	State             UserTaskState
	Assignee          string
	// Owner is who delegated the task (Delegate) and gets it back when it
	// is resolved; empty for a task never delegated.
	Owner string
	// Delegation is DelegationPending between Delegate and Resolve.
	Delegation      DelegationState
	CandidateUsers  []string
	CandidateGroups []string
	DueDate         *time.Time
	FollowUpDate    *time.Time
	Priority        int
	FormKey         string
	CreatedAt       time.Time
	EndedAt         time.Time

	dirty bool
}

// JobState is the state of a job.
type JobState string

// Job states.
const (
	JobActive    JobState = "active"
	JobFailed    JobState = "failed" // no retries left: an incident holds it
	JobCompleted JobState = "completed"
	JobCanceled  JobState = "cancelled"
)

// JobKind tells what a job does when it is due.
type JobKind string

// Job kinds.
const (
	// JobWork is the work of a service-like task, done by a Go handler, a
	// webhook or an external worker by its topic.
	JobWork JobKind = "work"
	// JobTimer fires a timer event: an intermediate catch event, a boundary
	// event, the start event of an event sub-process or of a process.
	JobTimer JobKind = "timer"
	// JobSignal broadcasts a signal thrown by an instance, after the
	// command that threw it committed. Topic is the signal's name.
	JobSignal JobKind = "signal"
	// JobAsync continues an element after an asynchronous continuation
	// (camunda:asyncBefore or asyncAfter); Topic is AsyncBefore or AsyncAfter.
	JobAsync JobKind = "async"
	// JobCall carries a call activity's work between the calling and the
	// called instance, one command each (see callactivity.go); Topic tells
	// which: CallStart, CallReturn, CallError, CallEscalation or CallCancel.
	JobCall JobKind = "call"
)

// Job is everything that must happen later: work for a service-like task
// (taken by a Go handler, a webhook or an external worker by its topic) or
// a timer. The job executor claims due jobs with a lease.
type Job struct {
	ID         int64
	Kind       JobKind
	InstanceID int64
	// ElementInstanceID is the element instance that waits for the job: the
	// task, the catch event, the activity a boundary event is attached to,
	// or the scope of an event sub-process. 0 for the timer of a process's
	// timer start event, which belongs to DefinitionID instead.
	ElementInstanceID int64
	// ElementID is the task or the event the job serves.
	ElementID    string
	DefinitionID int64
	Topic        string
	State        JobState
	Retries      int
	// DueAt is when the job may run: when a timer fires, when a failed
	// attempt is retried.
	DueAt        time.Time
	ErrorMessage string
	ErrorDetails string
	CreatedAt    time.Time
	// Headers are the task's zeebe:taskHeaders.
	Headers map[string]string
	// BusinessKey is the instance's business key (for handlers and workers).
	BusinessKey string
	// Traceparent is the W3C traceparent of the command that created the
	// job, or "": the executor's span of the job continues its trace, and
	// workers and webhooks receive it. A store that cannot keep it returns
	// it empty.
	Traceparent string
	// ProcessKey is the process key of the job's instance, and Priority the
	// task's camunda:taskPriority (0 when not given): external workers
	// fetch by both (see FetchAndLock).
	ProcessKey string
	Priority   int
	// Timer is the schedule of a timer job as "timeCycle R3/PT10M" (type,
	// space, the evaluated value); Fired counts how often it fired.
	Timer string
	Fired int
	// LeaseOwner is the job executor (node) that claimed the job, until
	// LeaseUntil; an expired lease makes the job claimable again.
	LeaseOwner string
	LeaseUntil time.Time

	// varsFunc computes the variables visible to the task when a Go handler
	// asks for them; vars caches them.
	varsFunc func() Vars
	vars     Vars
	dirty    bool
	// fresh marks a job created by the running command.
	fresh bool
}

// Variables returns the variables visible to the job's task, for a Go
// handler. They are computed on the first call, so a handler that needs
// none costs nothing; the map is read-only and valid during the call. A job
// read from a Store has none.
func (j *Job) Variables() Vars {
	if j.vars == nil && j.varsFunc != nil {
		j.vars = j.varsFunc()
	}
	return j.vars
}

// SubscriptionKind is what a subscription waits for.
type SubscriptionKind string

// Subscription kinds.
const (
	SubscribeMessage SubscriptionKind = "message"
	SubscribeSignal  SubscriptionKind = "signal"
	// SubscribeCompensation is not a wait but a compensation record: an
	// activity that completed and can be compensated (see compensation.go).
	// Messages and signals never reach it.
	SubscribeCompensation SubscriptionKind = "compensation"
)

// Subscription is an element waiting for a message or a signal: a catch
// event, a receive task, a boundary event (ElementInstanceID is then the
// activity it is attached to), an event sub-process's start event
// (ElementInstanceID is the scope). A message or signal start event of a
// definition has a subscription of the definition, with InstanceID 0. A
// subscription of kind SubscribeCompensation is a compensation record
// instead, whose fields compensation.go describes.
type Subscription struct {
	ID                int64
	InstanceID        int64
	ElementInstanceID int64
	// ElementID is the catching event or receive task.
	ElementID    string
	DefinitionID int64
	Kind         SubscriptionKind
	// Name is the message's or signal's name.
	Name string
	// CorrelationKey is the message correlation key, evaluated when the
	// subscription opened; "" matches messages without a key.
	CorrelationKey string
	// BusinessKey is the instance's business key.
	BusinessKey string
	CreatedAt   time.Time
	// Closed marks a subscription that ended: it leaves the store.
	Closed bool

	dirty bool
}

// IncidentState is the state of an incident.
type IncidentState string

// Incident states.
const (
	IncidentOpen     IncidentState = "open"
	IncidentResolved IncidentState = "resolved"
)

// Incident types.
const (
	IncidentConditionNoMatch = "conditionNoMatch"
	IncidentExpression       = "expressionFailed"
	IncidentJobNoRetries     = "jobNoRetries"
	IncidentUnhandledError   = "unhandledError"
	IncidentMapping          = "ioMappingFailed"
	// IncidentTimer: a timer's value is not a timer (it does not parse, or
	// an expression gave something else).
	IncidentTimer = "timerFailed"
)

// Incident is a business failure stopping one element instance.
type Incident struct {
	ID                int64
	InstanceID        int64
	ElementInstanceID int64
	ElementID         string
	Type              string
	Message           string
	JobID             int64
	State             IncidentState
	CreatedAt         time.Time
	ResolvedAt        time.Time

	dirty bool
}

// JoinToken records tokens that arrived on a flow into a joining gateway
// (parallel or inclusive) and wait there for the others.
type JoinToken struct {
	InstanceID int64
	ScopeID    int64
	ElementID  string
	FlowID     string
	Count      int

	dirty bool
}

// EventType is what a history event records.
type EventType uint8

// History event types.
//
// Element instances record activated, completed and terminated: the
// passing states activating, completing and terminating last no longer than
// the step that enters them, so history leaves them out (an incident that
// stops an element in one of them is recorded as incidentCreated).
const (
	EventActivated EventType = iota + 1
	EventCompleted
	EventTerminated
	EventFlowTaken
	EventVariableSet
	EventIncidentCreated
	EventIncidentResolved
	EventUserTaskCreated
	EventUserTaskCompleted
	EventJobCreated
	EventJobCompleted
	EventJobFailed
	EventInstanceCanceled
	EventTimerFired
	EventMessageCorrelated
	EventSignalReceived
	// EventEscalationUncaught: an escalation that no boundary event or
	// event sub-process catches; Detail names its code, and the instance
	// goes on.
	EventEscalationUncaught
	// User task lifecycle: Detail names the user the task went to (or the
	// comment's id for EventUserTaskCommented); the actor is the command's.
	EventUserTaskClaimed
	EventUserTaskUnclaimed
	EventUserTaskAssigned
	EventUserTaskDelegated
	EventUserTaskResolved
	EventUserTaskCommented
)

var eventTypeNames = [...]string{
	EventActivated:          "activated",
	EventCompleted:          "completed",
	EventTerminated:         "terminated",
	EventFlowTaken:          "taken",
	EventVariableSet:        "variableSet",
	EventIncidentCreated:    "incidentCreated",
	EventIncidentResolved:   "incidentResolved",
	EventUserTaskCreated:    "userTaskCreated",
	EventUserTaskCompleted:  "userTaskCompleted",
	EventJobCreated:         "jobCreated",
	EventJobCompleted:       "jobCompleted",
	EventJobFailed:          "jobFailed",
	EventInstanceCanceled:   "instanceCanceled",
	EventTimerFired:         "timerFired",
	EventMessageCorrelated:  "messageCorrelated",
	EventSignalReceived:     "signalReceived",
	EventEscalationUncaught: "escalationUncaught",
	EventUserTaskClaimed:    "userTaskClaimed",
	EventUserTaskUnclaimed:  "userTaskUnclaimed",
	EventUserTaskAssigned:   "userTaskAssigned",
	EventUserTaskDelegated:  "userTaskDelegated",
	EventUserTaskResolved:   "userTaskResolved",
	EventUserTaskCommented:  "userTaskCommented",
}

// String returns the event type's name, e.g. "activated".
func (t EventType) String() string {
	if int(t) < len(eventTypeNames) && eventTypeNames[t] != "" {
		return eventTypeNames[t]
	}
	return "unknown"
}

// HistoryEvent is one append-only record of what happened in an instance.
// ElementID is the flow node, sequence flow or (for process events) the
// process id. The event is kept small: a command writes dozens, and every
// instance keeps them all.
type HistoryEvent struct {
	ElementInstanceID int64
	ElementID         string
	Type              EventType
	// Command tells who caused the event, when and in which request; one
	// value is shared by every event of a command.
	Command *CommandInfo
	// Var is set for EventVariableSet.
	Var *VarChange
	// Detail carries an incident message or a similar note.
	Detail string
}

// Time returns when the event happened: the time of its command.
func (e *HistoryEvent) Time() time.Time { return e.Command.Time }

// VarChange is a variable write in history: the data lineage.
type VarChange struct {
	ScopeID  int64
	Name     string
	OldValue any
	NewValue any
	Created  bool
}

// CommandInfo describes the command that caused history events. One value is
// shared by every event of a command.
type CommandInfo struct {
	// Name is the command, e.g. "start" or "completeUserTask".
	Name string
	// Actor is who ran it (a user or service account); empty for the engine itself.
	Actor string
	// RequestID correlates the command with the request that caused it.
	RequestID string
	// TraceID is the W3C trace id of the command's span (32 hex digits),
	// or "" when the command ran outside a trace (see trace.go).
	TraceID string
	// Time is when the command ran; every event of it has this time.
	Time time.Time
}
