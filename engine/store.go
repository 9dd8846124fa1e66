package engine

import (
	"context"
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
	// UserTaskList lists user tasks, oldest first.
	UserTaskList(ctx context.Context, p *UserTaskListParams) ([]*UserTask, error)
	// JobGet returns a job.
	JobGet(ctx context.Context, id int64) (*Job, error)
	// JobList lists jobs, oldest first.
	JobList(ctx context.Context, p *JobListParams) ([]*Job, error)
	// IncidentGet returns an incident.
	IncidentGet(ctx context.Context, id int64) (*Incident, error)
	// IncidentList lists incidents, oldest first.
	IncidentList(ctx context.Context, p *IncidentListParams) ([]*Incident, error)
	// HistoryList returns the history of an instance in the order it was written.
	HistoryList(ctx context.Context, instanceID int64) ([]HistoryEvent, error)
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
}

// UserTaskListParams filter UserTaskList. Zero fields do not filter.
type UserTaskListParams struct {
	Page
	InstanceID     int64
	Assignee       string
	CandidateGroup string
	// OpenOnly lists only created (not completed or canceled) tasks.
	OpenOnly bool
}

// JobListParams filter JobList.
type JobListParams struct {
	Page
	InstanceID int64
	Topic      string
	State      JobState
}

// IncidentListParams filter IncidentList.
type IncidentListParams struct {
	Page
	InstanceID int64
	State      IncidentState
}
