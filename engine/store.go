package engine

import (
	"context"
	"slices"
	"time"
)

// Store keeps deployments, instances and their state. A command runs inside
// Tx: it locks its instance with InstanceLock, changes it in memory and writes
// the changes with InstanceSave, all in one transaction.
//
// Implementations: enginetest.MemStore (in memory) and sqlstore. Every
// implementation must pass enginetest.RunConformance. Methods return
// ErrNotFound for unknown ids and ErrConflict when a revision check fails.
type Store interface {
	// Tx runs fn in one transaction; the Store passed to fn is bound to it.
	// If fn returns an error, nothing fn did is kept.
	Tx(ctx context.Context, fn func(tx Store) error) error

	// IDBlock reserves n consecutive ids, unique across every node sharing
	// the store, and returns the first. The engine calls it on the Store
	// itself while a command's transaction may be open, so it must not wait
	// for that transaction (sqlstore reserves blocks ahead for this).
	IDBlock(ctx context.Context, n int) (int64, error)

	// DeploymentCreate stores d and its definitions, setting their IDs;
	// each definition's Version must be set by the caller from
	// DefinitionLatest inside the same Tx. A (key, version) that exists is ErrConflict.
	DeploymentCreate(ctx context.Context, d *Deployment) error
	// DeploymentList lists deployments, newest first, without their definitions' XML.
	DeploymentList(ctx context.Context, p *DeploymentListParams) ([]*Deployment, error)
	// DefinitionGet returns the definition with the given id.
	DefinitionGet(ctx context.Context, id int64) (*Definition, error)
	// DefinitionLatest returns the highest version of key.
	DefinitionLatest(ctx context.Context, key string) (*Definition, error)
	// DefinitionLatestID returns the id of the highest version of key: what
	// a start needs when the engine has the model cached, without reading
	// the XML.
	DefinitionLatestID(ctx context.Context, key string) (int64, error)
	// DefinitionVersion returns version v of key.
	DefinitionVersion(ctx context.Context, key string, v int) (*Definition, error)
	// DefinitionList lists definitions ordered by key and version.
	DefinitionList(ctx context.Context, p *DefinitionListParams) ([]*Definition, error)

	// FormCreate stores a deployed form, setting its ID; f.DeploymentID
	// must name a stored deployment and f.Version be set by the caller from
	// FormLatest inside the same Tx. A (FormID, Version) that exists is ErrConflict.
	FormCreate(ctx context.Context, f *Form) error
	// FormLatest returns the highest version of the form formID; with
	// deploymentID other than 0, the highest one that deployment stored.
	FormLatest(ctx context.Context, formID string, deploymentID int64) (*Form, error)
	// FormVersion returns version v of the form formID.
	FormVersion(ctx context.Context, formID string, v int) (*Form, error)

	// InstanceLock locks the instance row for the rest of the transaction and
	// returns its live state: the instance, its live element instances,
	// variables, open user tasks, active or failed jobs, open incidents and
	// join tokens.
	InstanceLock(ctx context.Context, id int64) (*LiveState, error)
	// InstanceSave writes the changes of one command. The command reuses c
	// and its slices after the transaction, and element instances in an end
	// state too: a store may keep the live rows c points to, but must copy
	// anything else it keeps. For an existing
	// instance, the stored revision must equal c.PrevRevision, else ErrConflict.
	InstanceSave(ctx context.Context, c *InstanceChanges) error
	// InstanceGet returns an instance.
	InstanceGet(ctx context.Context, id int64) (*Instance, error)
	// InstanceList lists instances, oldest first.
	InstanceList(ctx context.Context, p *InstanceListParams) ([]*Instance, error)
	// InstanceLive returns the live state of an instance without locking it.
	InstanceLive(ctx context.Context, id int64) (*LiveState, error)

	// UserTaskGet returns a user task, open or ended.
	UserTaskGet(ctx context.Context, id int64) (*UserTask, error)
	// UserTaskList lists user tasks, oldest first (or in p.Sort order).
	UserTaskList(ctx context.Context, p *UserTaskListParams) ([]*UserTask, error)
	// UserTaskCount counts the user tasks UserTaskList would list without
	// paging (p.Page, p.Sort and p.Desc are ignored).
	UserTaskCount(ctx context.Context, p *UserTaskListParams) (int64, error)
	// CommentAdd stores a comment on a user task; the caller sets its ID.
	CommentAdd(ctx context.Context, cm *Comment) error
	// CommentList lists the comments of a user task, oldest first.
	CommentList(ctx context.Context, taskID int64) ([]*Comment, error)
	// JobGet returns a job.
	JobGet(ctx context.Context, id int64) (*Job, error)
	// JobList lists jobs, oldest first.
	JobList(ctx context.Context, p *JobListParams) ([]*Job, error)
	// JobsClaim leases up to p.Limit due jobs to p.Owner until
	// p.LeaseUntil and returns them, earliest due first: active jobs due
	// at p.Now whose lease is free or expired: every job that is not work
	// (timers, signals), and work of p.Topics. Jobs another node is claiming at the same moment
	// are skipped, never waited for, and never handed out twice.
	JobsClaim(ctx context.Context, p *JobClaimParams) ([]*Job, error)
	// JobsRelease gives up owner's leases on the jobs ids, so that any node
	// may claim them at once.
	JobsRelease(ctx context.Context, owner string, ids []int64) error
	// JobLock locks a job of a definition (a timer start event's, which
	// belongs to no instance) for the rest of the transaction.
	JobLock(ctx context.Context, id int64) (*Job, error)
	// JobsSave inserts or updates jobs that belong to no instance (timer
	// start events'); instance jobs are saved with InstanceSave.
	JobsSave(ctx context.Context, jobs []*Job) error

	// SubscriptionFind lists open subscriptions, oldest first.
	SubscriptionFind(ctx context.Context, p *SubscriptionFindParams) ([]*Subscription, error)
	// SubscriptionsSave inserts the subscriptions of definitions (message
	// and signal start events) and deletes those Closed; instance
	// subscriptions are saved with InstanceSave.
	SubscriptionsSave(ctx context.Context, subs []*Subscription) error

	// MessagePut stores a message: buffered until it expires, or consumed
	// (kept to recognise its MessageID). A MessageID stored before is
	// ErrConflict.
	MessagePut(ctx context.Context, m *Message) error
	// MessageGet returns the message stored with messageID, or ErrNotFound.
	MessageGet(ctx context.Context, messageID string) (*Message, error)
	// MessageTake consumes the oldest buffered, unexpired message with this
	// name and correlation key, or returns nil; inside a Tx, two takers
	// never get the same message.
	MessageTake(ctx context.Context, name, correlationKey string, now time.Time) (*Message, error)
	// IncidentGet returns an incident.
	IncidentGet(ctx context.Context, id int64) (*Incident, error)
	// IncidentList lists incidents, oldest first.
	IncidentList(ctx context.Context, p *IncidentListParams) ([]*Incident, error)
	// HistoryList returns the history of an instance in the order it was written.
	HistoryList(ctx context.Context, instanceID int64) ([]HistoryEvent, error)
}

// JobNotifier is implemented by stores that can wake the job executors of
// other nodes (sqlstore on PostgreSQL, with LISTEN/NOTIFY): a command that
// scheduled a job due now notifies, and every executor listens.
type JobNotifier interface {
	// NotifyJobs tells every listening node that a job is due.
	NotifyJobs(ctx context.Context) error
	// ListenJobs calls wake for every notification until ctx ends or the
	// connection fails, which it returns.
	ListenJobs(ctx context.Context, wake func()) error
}

// LiveState is the live state of one process instance.
type LiveState struct {
	Instance         *Instance
	ElementInstances []*ElementInstance
	Variables        []*Variable
	UserTasks        []*UserTask
	Jobs             []*Job
	Incidents        []*Incident
	JoinTokens       []*JoinToken
	Subscriptions    []*Subscription
}

// InstanceChanges is what one command changed in one instance. Rows the
// command both created and ended (an element instance that passed through,
// a job a Go handler completed) are not listed: history records them. Rows listed
// are to be inserted or updated (upsert by id, or by (scope, name) for
// variables and (scope, element, flow) for join tokens); rows in an end state
// (completed or terminated element instances, deleted variables, ended tasks
// and jobs, resolved incidents, join tokens with Count 0) leave the live
// state, and stores may delete them from their live tables.
type InstanceChanges struct {
	Instance *Instance
	// Created tells a new instance: there is no stored revision to check.
	Created bool
	// PrevRevision is the revision the command read; Instance.Revision is the new one.
	PrevRevision     int64
	ElementInstances []*ElementInstance
	Variables        []*Variable
	UserTasks        []*UserTask
	Jobs             []*Job
	Incidents        []*Incident
	JoinTokens       []*JoinToken
	Subscriptions    []*Subscription
	History          []HistoryEvent
}

// Page selects a window of a list: at most Limit rows (PageLimitDefault
// when 0) after the row named by the cursor After ("" starts at the
// beginning; see Cursor). Lists are ordered by time of creation, then id
// (instances by start time); deployments newest first; definitions by key
// and version.
type Page struct {
	Limit int
	After string
}

// PageLimitDefault is the number of rows a list returns when no limit is given.
const PageLimitDefault = 100

// DeploymentListParams filter DeploymentList.
type DeploymentListParams struct{ Page }

// DefinitionListParams filter DefinitionList.
type DefinitionListParams struct {
	Page
	Key string
	// LatestOnly returns only the highest version of each key.
	LatestOnly bool
}

// InstanceListParams filter InstanceList.
type InstanceListParams struct {
	Page
	Key         string
	State       InstanceState
	BusinessKey string
	// StartKey selects the instance of Key started with this
	// StartParams.StartKey; stores keep (Key, StartKey) unique and answer
	// ErrConflict to a second instance with the same pair.
	StartKey string
	// ParentInstanceID selects the instances that call activities of this
	// instance started; ParentElementInstanceID, with it, the one a call
	// activity instance started.
	ParentInstanceID        int64
	ParentElementInstanceID int64
	// IDs, when not empty, selects only these instances: one query for the
	// instances of a page of tasks.
	IDs []int64
}

// UserTaskListParams filter UserTaskList. Zero fields do not filter.
type UserTaskListParams struct {
	Page
	InstanceID     int64
	Assignee       string
	CandidateGroup string
	// OpenOnly lists only created (not completed or canceled) tasks.
	OpenOnly bool
	// VisibleTo, when set, lists only the tasks it Sees.
	VisibleTo *TaskVisibility

	// The inbox filters (see inbox.go). Unassigned lists only tasks
	// without an assignee; CandidateGroups those with a candidate group
	// among them.
	Unassigned      bool
	CandidateGroups []string
	// ProcessKey and BusinessKey select the tasks of instances of this
	// process key, or with this business key.
	ProcessKey  string
	BusinessKey string
	// NameContains selects tasks whose name contains it, ignoring ASCII case.
	NameContains string
	// DueBefore and DueAfter select tasks due strictly before or after a
	// time (a task without a due date matches neither); "overdue" is
	// DueBefore now.
	DueBefore, DueAfter time.Time
	// PriorityMin and PriorityMax, when set, bound the priority (inclusive).
	PriorityMin, PriorityMax *int
	// Variables select tasks whose instance has every one of these
	// process variables (scope of the instance) equal to its value.
	Variables []VariableEquals
	// Sort orders the list (default TaskSortCreated), with ties broken by
	// id; Desc reverses the whole order. Page.After must be a cursor of
	// TaskCursor with the same Sort.
	Sort TaskSort
	Desc bool
}

// TaskVisibility is who asks for tasks: a person sees and works a task
// when they are its assignee, one of its candidate users, or in one of its
// candidate groups.
type TaskVisibility struct {
	User   string
	Groups []string
}

// Sees reports whether v may see and work t.
func (v *TaskVisibility) Sees(t *UserTask) bool {
	if v.User != "" && (t.Assignee == v.User || slices.Contains(t.CandidateUsers, v.User)) {
		return true
	}
	for _, g := range v.Groups {
		if slices.Contains(t.CandidateGroups, g) {
			return true
		}
	}
	return false
}

// JobListParams filter JobList.
type JobListParams struct {
	Page
	InstanceID int64
	Topic      string
	State      JobState
	// DefinitionID selects the jobs of a definition's timer start events.
	DefinitionID int64
}

// SubscriptionFindParams select subscriptions: by Kind and Name, or the
// start subscriptions of DefinitionID.
type SubscriptionFindParams struct {
	Kind SubscriptionKind
	Name string
	// DefinitionID selects the start event subscriptions of a definition.
	DefinitionID int64
	// CorrelationKey selects message subscriptions with this key; nil
	// selects every key (signals).
	CorrelationKey *string
	// Starts selects the subscriptions of start events (InstanceID 0)
	// instead of those of instances.
	Starts bool
	Limit  int
}

// MessageState is the state of a stored message.
type MessageState string

// Message states.
const (
	MessageBuffered MessageState = "buffered"
	MessageConsumed MessageState = "consumed"
)

// Message is a published message the store keeps: buffered for a
// subscription to come, or consumed and kept for its MessageID.
type Message struct {
	ID             int64
	Name           string
	CorrelationKey string
	BusinessKey    string
	MessageID      string
	Variables      Vars
	State          MessageState
	ExpiresAt      time.Time
	CreatedAt      time.Time
}

// JobClaimParams are the arguments of JobsClaim.
type JobClaimParams struct {
	Owner      string
	Now        time.Time
	LeaseUntil time.Time
	Limit      int
	// Topics are the work topics the claiming node has Go handlers for.
	Topics []string
}

// IncidentListParams filter IncidentList.
type IncidentListParams struct {
	Page
	InstanceID int64
	State      IncidentState
}
