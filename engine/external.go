package engine

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// External tasks: the Camunda 7 pull protocol over work jobs. A work job
// whose topic has no Go handler waits for external workers, which fetch
// and lock it by topic, then complete it, report a failure or a BPMN
// error, extend their lock or give it up. A worker's lock is the job's
// lease (LeaseOwner = the worker id, LeaseUntil = the lock's expiry), the
// same columns the job executor leases jobs with, so a job is never the
// executor's and a worker's at once; a lock that expires makes the task
// fetchable again.

// FetchParams are the arguments of FetchAndLock: what a worker asks for.
type FetchParams struct {
	// WorkerID names the worker; its locks carry it. Required.
	WorkerID string
	// MaxTasks is how many tasks to lock at most. Required (> 0).
	MaxTasks int
	// UsePriority orders tasks by priority (highest first), then by
	// creation; without it they come in order of creation.
	UsePriority bool
	// NewestFirst orders by creation newest first (Camunda's sorting
	// createTime desc); default oldest first.
	NewestFirst bool
	// Topics are the topics to fetch, each with its lock duration. At least one.
	Topics []FetchTopic
	// Wait is how long to wait for work when none is there at once (long
	// polling); 0 answers at once.
	Wait time.Duration
}

// FetchTopic is one topic a worker fetches.
type FetchTopic struct {
	// Name is the topic. Required.
	Name string
	// LockDuration is how long the worker holds the tasks it gets. Required (> 0).
	LockDuration time.Duration
	// Variables names the variables to return: nil returns every variable
	// the task sees, an empty non-nil slice none.
	Variables []string
	// LocalVariables returns only the task's local variables.
	LocalVariables bool
	// BusinessKey, when set, fetches only tasks of instances with this business key.
	BusinessKey string
	// ProcessDefinitionKeys, when not empty, fetches only tasks of instances of these process keys.
	ProcessDefinitionKeys []string
}

// LockedTask is a fetched (or listed) external task with the variables asked for.
type LockedTask struct {
	// Job is the task's job: Job.LeaseOwner is the worker id and
	// Job.LeaseUntil the lock's expiry (zero when not locked).
	Job        *Job
	Vars       Vars
	ProcessKey string
	Priority   int
}

// ExternalFailure is what FailExternalTask reports.
type ExternalFailure struct {
	ErrorMessage, ErrorDetails string
	// Retries is how many attempts are left; at 0 the task becomes an incident.
	Retries int
	// RetryTimeout is how long the task stays unfetchable; 0 makes it fetchable at once.
	RetryTimeout time.Duration
	// Vars are written where they exist in the task's scope chain (else on
	// the instance); LocalVars on the task itself.
	Vars, LocalVars Vars
}

// ExternalTaskListParams filter ExternalTaskList. Zero fields do not filter.
// Lists are ordered by creation, then id, and paged like the other lists.
type ExternalTaskListParams struct {
	Page
	// ID selects one task.
	ID         int64
	Topic      string
	WorkerID   string
	InstanceID int64
	// Locked lists only tasks with a live lock, NotLocked only those without.
	Locked, NotLocked bool
	// WithRetriesLeft lists only tasks that have not become incidents.
	WithRetriesLeft bool
	// Now decides which locks are live; the engine sets it.
	Now time.Time
}

// WorkLockParams are the arguments of ExternalTaskStore.WorkLock.
type WorkLockParams struct {
	Owner string
	Now   time.Time
	Limit int
	// ByPriority orders by priority (highest first), then by creation;
	// else by creation, oldest first unless NewestFirst.
	ByPriority  bool
	NewestFirst bool
	// Topics are distinct by Name.
	Topics []WorkLockTopic
}

// WorkLockTopic is one topic of WorkLockParams.
type WorkLockTopic struct {
	Name string
	// LeaseUntil is the lock expiry of this topic's jobs.
	LeaseUntil  time.Time
	BusinessKey string
	ProcessKeys []string
}

// ExternalTaskStore is the part of Store that external tasks need.
type ExternalTaskStore interface {
	// WorkLock leases up to p.Limit fetchable work jobs to p.Owner and
	// returns them in p's order: active work jobs of p.Topics (matching
	// each topic's business key and process keys), due at p.Now, whose
	// lease is free or expired, each leased until its topic's LeaseUntil.
	// Jobs another worker is locking at the same moment are skipped,
	// never waited for, and never handed out twice.
	WorkLock(ctx context.Context, p *WorkLockParams) ([]*Job, error)
	// WorkList lists work jobs that are active or failed (incidents), as
	// ExternalTaskListParams select them.
	WorkList(ctx context.Context, p *ExternalTaskListParams) ([]*Job, error)
}

// WorkNotifier is implemented by stores that can wake the long-polling
// workers of other nodes (sqlstore on PostgreSQL, with LISTEN/NOTIFY)
// when work becomes fetchable.
type WorkNotifier interface {
	// NotifyWork tells every listening node that work became fetchable;
	// from names the notifying engine.
	NotifyWork(ctx context.Context, from string) error
	// ListenWork calls wake with the notifier's name for every
	// notification until ctx ends or the connection fails, which it returns.
	ListenWork(ctx context.Context, wake func(from string)) error
}

// LockError: a worker acted on an external task without holding a live
// lock on it. errors.Is(err, ErrConflict) holds.
type LockError struct {
	TaskID int64
	// Worker is who asked; Owner holds the lock until Until (Owner "" when
	// nobody does).
	Worker, Owner string
	Until         time.Time
	// Expired tells that Worker's own lock expired at Until.
	Expired bool
}

// Error implements error.
func (e *LockError) Error() string {
	switch {
	case e.Expired:
		return fmt.Sprintf("external task %d: the lock of worker %q expired at %s", e.TaskID, e.Worker, e.Until.UTC().Format(time.RFC3339Nano))
	case e.Owner == "":
		return fmt.Sprintf("external task %d is not locked; worker %q must fetch and lock it first", e.TaskID, e.Worker)
	}
	return fmt.Sprintf("external task %d is locked by worker %q until %s, not by %q", e.TaskID, e.Owner, e.Until.UTC().Format(time.RFC3339Nano), e.Worker)
}

// Unwrap returns ErrConflict.
func (e *LockError) Unwrap() error { return ErrConflict }

// FetchWaitMax is the longest Wait FetchAndLock accepts (Camunda's 30 minutes).
const FetchWaitMax = 30 * time.Minute

// FetchRecheckDefault is Config.FetchRecheck's default.
const FetchRecheckDefault = time.Second

func (e *Engine) externalStore() (ExternalTaskStore, error) {
	s, ok := e.store.(ExternalTaskStore)
	if !ok {
		return nil, fmt.Errorf("external tasks: expected a store that implements engine.ExternalTaskStore, but %T does not", e.store)
	}
	return s, nil
}

// FetchAndLock locks up to p.MaxTasks external tasks of p.Topics for
// p.WorkerID and returns them with the variables each topic asks for.
// Topics that have a Go handler are the job executor's and give nothing.
// With none fetchable at once and p.Wait > 0 it waits until work arrives
// (a command of any node that creates or unlocks work wakes it; it looks
// again every second for expired locks and retry timeouts), and returns an
// empty list when p.Wait passes or ctx ends. Bad parameters are an
// *InvalidError naming the field.
func (e *Engine) FetchAndLock(ctx context.Context, p *FetchParams) ([]*LockedTask, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	s, err := e.externalStore()
	if err != nil {
		return nil, err
	}
	var deadline time.Time
	if p.Wait > 0 {
		deadline = time.Now().Add(p.Wait)
	}
	for {
		// Register before looking, so that work that arrives between the
		// look and the wait still wakes this poll.
		var woken <-chan struct{}
		if p.Wait > 0 {
			woken = e.workWaiters.add(e)
		}
		tasks, err := e.fetchOnce(ctx, s, p)
		if err != nil || len(tasks) > 0 || p.Wait <= 0 {
			if p.Wait > 0 {
				e.workWaiters.remove()
			}
			return tasks, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			e.workWaiters.remove()
			return []*LockedTask{}, nil
		}
		t := time.NewTimer(min(left, e.cfg.FetchRecheck))
		select {
		case <-ctx.Done():
		case <-woken:
		case <-t.C:
		}
		t.Stop()
		e.workWaiters.remove()
		if ctx.Err() != nil {
			return []*LockedTask{}, nil
		}
	}
}

func (p *FetchParams) validate() error {
	switch {
	case p.WorkerID == "":
		return &InvalidError{Field: "workerId", Reason: "must not be empty"}
	case p.MaxTasks <= 0:
		return &InvalidError{Field: "maxTasks", Reason: fmt.Sprintf("must be at least 1, but is %d", p.MaxTasks)}
	case p.Wait < 0 || p.Wait > FetchWaitMax:
		return &InvalidError{Field: "asyncResponseTimeout", Reason: fmt.Sprintf("must be between 0 and %s, but is %s", FetchWaitMax, p.Wait)}
	case len(p.Topics) == 0:
		return &InvalidError{Field: "topics", Reason: "must name at least one topic"}
	}
	for i, t := range p.Topics {
		if t.Name == "" {
			return &InvalidError{Field: fmt.Sprintf("topics[%d].topicName", i), Reason: "must not be empty"}
		}
		if t.LockDuration <= 0 {
			return &InvalidError{Field: fmt.Sprintf("topics[%d].lockDuration", i), Reason: fmt.Sprintf("must be positive, but is %s", t.LockDuration)}
		}
	}
	return nil
}

// fetchOnce locks what is fetchable now and reads the tasks' variables.
func (e *Engine) fetchOnce(ctx context.Context, s ExternalTaskStore, p *FetchParams) ([]*LockedTask, error) {
	now := e.cfg.NowFunc()
	lp := &WorkLockParams{Owner: p.WorkerID, Now: now, Limit: p.MaxTasks, ByPriority: p.UsePriority, NewestFirst: p.NewestFirst}
	byName := map[string]*FetchTopic{}
	for i := range p.Topics {
		t := &p.Topics[i]
		if _, dup := byName[t.Name]; dup || e.handler(t.Name) != nil {
			continue
		}
		byName[t.Name] = t
		lp.Topics = append(lp.Topics, WorkLockTopic{Name: t.Name, LeaseUntil: now.Add(t.LockDuration),
			BusinessKey: t.BusinessKey, ProcessKeys: t.ProcessDefinitionKeys})
	}
	if len(lp.Topics) == 0 {
		return []*LockedTask{}, nil
	}
	jobs, err := s.WorkLock(ctx, lp)
	if err != nil {
		return nil, fmt.Errorf("fetch and lock for worker %q: %w", p.WorkerID, err)
	}
	out := make([]*LockedTask, 0, len(jobs))
	lives := map[int64]*LiveState{}
	for _, j := range jobs {
		t := byName[j.Topic]
		lt := &LockedTask{Job: j, ProcessKey: j.ProcessKey, Priority: j.Priority, Vars: Vars{}}
		if t == nil || t.Variables == nil || len(t.Variables) > 0 {
			st, ok := lives[j.InstanceID]
			if !ok {
				if st, err = e.store.InstanceLive(ctx, j.InstanceID); err != nil {
					// The instance ended since: the task is gone, and its
					// command let go of it; skip it.
					slog.Default().DebugContext(ctx, "fetch and lock: read variables", "job", j.ID, "err", err)
					continue
				}
				lives[j.InstanceID] = st
			}
			local := t != nil && t.LocalVariables
			var names []string
			if t != nil {
				names = t.Variables
			}
			lt.Vars = jobVars(st, j, local, names)
		}
		out = append(out, lt)
	}
	return out, nil
}

// jobVars returns the variables job j's task sees in st: those of its
// element instance and the scopes that contain it, the nearest winning
// (only its own with local); names, when not nil, selects some.
func jobVars(st *LiveState, j *Job, local bool, names []string) Vars {
	scopes := map[int64]int64{}
	for _, ei := range st.ElementInstances {
		scopes[ei.ID] = ei.ScopeID
	}
	depth := map[int64]int{}
	d := 0
	for id := j.ElementInstanceID; id != 0 && d < 1000; d++ {
		if _, seen := depth[id]; seen || (local && d > 0) {
			break
		}
		depth[id] = d
		next, ok := scopes[id]
		if !ok || next == id {
			break
		}
		id = next
	}
	if _, ok := depth[j.InstanceID]; !ok && !local {
		depth[j.InstanceID] = d
	}
	out := Vars{}
	best := map[string]int{}
	for _, v := range st.Variables {
		dv, ok := depth[v.ScopeID]
		if !ok || v.Deleted || (names != nil && !slices.Contains(names, v.Name)) {
			continue
		}
		if b, seen := best[v.Name]; seen && b <= dv {
			continue
		}
		best[v.Name], out[v.Name] = dv, v.Value
	}
	return out
}

// ExternalTaskList lists external tasks (work jobs that are active, or
// failed into an incident) with the variables each sees, as p selects.
func (e *Engine) ExternalTaskList(ctx context.Context, p *ExternalTaskListParams) ([]*LockedTask, error) {
	s, err := e.externalStore()
	if err != nil {
		return nil, err
	}
	q := *p
	q.Now = e.cfg.NowFunc()
	jobs, err := s.WorkList(ctx, &q)
	if err != nil {
		return nil, fmt.Errorf("list external tasks: %w", err)
	}
	out := make([]*LockedTask, len(jobs))
	for i, j := range jobs {
		if !j.LeaseUntil.After(q.Now) {
			j.LeaseOwner, j.LeaseUntil = "", time.Time{}
		}
		out[i] = &LockedTask{Job: j, ProcessKey: j.ProcessKey, Priority: j.Priority}
	}
	return out, nil
}

// externalCommand runs fn on external task id, which workerID must hold a
// live lock on (else a *LockError).
func (e *Engine) externalCommand(ctx context.Context, name string, id int64, workerID string, fn func(c *cmd, ei *ElementInstance, j *Job) error) error {
	if workerID == "" {
		return &InvalidError{Field: "workerId", Reason: "must not be empty"}
	}
	return e.jobCommand(ctx, name, id, func(c *cmd, ei *ElementInstance, j *Job) error {
		if err := checkLock(c.now, j, workerID); err != nil {
			return err
		}
		return fn(c, ei, j)
	})
}

// checkLock returns a *LockError unless worker holds a live lock on j at now.
func checkLock(now time.Time, j *Job, worker string) error {
	live := j.LeaseOwner != "" && j.LeaseUntil.After(now)
	switch {
	case j.LeaseOwner == worker && live:
		return nil
	case j.LeaseOwner == worker && !j.LeaseUntil.IsZero():
		return &LockError{TaskID: j.ID, Worker: worker, Owner: worker, Until: j.LeaseUntil, Expired: true}
	case live:
		return &LockError{TaskID: j.ID, Worker: worker, Owner: j.LeaseOwner, Until: j.LeaseUntil}
	}
	return &LockError{TaskID: j.ID, Worker: worker}
}

// CompleteExternalTask completes external task id, locked by workerID:
// vars are written where they exist in the task's scope chain (else on the
// instance), localVars on the task, and the task goes on. Another worker's
// or an expired lock is a *LockError (ErrConflict); an unknown id ErrNotFound.
func (e *Engine) CompleteExternalTask(ctx context.Context, id int64, workerID string, vars, localVars Vars) error {
	return e.externalCommand(ctx, "completeExternalTask", id, workerID, func(c *cmd, ei *ElementInstance, j *Job) error {
		if err := c.setVars(ei.ID, localVars, true); err != nil {
			return err
		}
		return c.jobDone(ei, j, vars)
	})
}

// FailExternalTask reports a failed attempt of external task id, locked by
// workerID, and unlocks it: with p.Retries > 0 it is fetchable again after
// p.RetryTimeout; at 0 it becomes an incident, which RetryIncident
// resolves. Lock errors as CompleteExternalTask.
func (e *Engine) FailExternalTask(ctx context.Context, id int64, workerID string, p *ExternalFailure) error {
	if p.Retries < 0 {
		return &InvalidError{Field: "retries", Reason: fmt.Sprintf("must not be negative, but is %d", p.Retries)}
	}
	if p.RetryTimeout < 0 {
		return &InvalidError{Field: "retryTimeout", Reason: fmt.Sprintf("must not be negative, but is %s", p.RetryTimeout)}
	}
	return e.externalCommand(ctx, "failExternalTask", id, workerID, func(c *cmd, ei *ElementInstance, j *Job) error {
		if err := c.setVars(ei.ID, p.Vars, false); err != nil {
			return err
		}
		if err := c.setVars(ei.ID, p.LocalVars, true); err != nil {
			return err
		}
		_, err := c.jobFailed(ei, j, p.ErrorMessage, p.ErrorDetails, p.Retries, p.RetryTimeout)
		return err
	})
}

// ExternalTaskBPMNError throws the BPMN error code from external task id,
// locked by workerID, as ThrowJobError does: a matching error boundary event
// or event sub-process catches it (with vars), else it is an incident.
// An empty code is an *InvalidError; lock errors as CompleteExternalTask.
func (e *Engine) ExternalTaskBPMNError(ctx context.Context, id int64, workerID, code, message string, vars Vars) error {
	if code == "" {
		return &InvalidError{Field: "errorCode", Reason: "must not be empty"}
	}
	return e.externalCommand(ctx, "externalTaskBPMNError", id, workerID, func(c *cmd, ei *ElementInstance, j *Job) error {
		return c.jobBPMNError(ei, j, &BPMNError{Code: code, Message: message, Vars: vars})
	})
}

// ExtendExternalTaskLock sets the lock workerID holds on external task id
// to expire d from now. Lock errors as CompleteExternalTask.
func (e *Engine) ExtendExternalTaskLock(ctx context.Context, id int64, workerID string, d time.Duration) error {
	if d <= 0 {
		return &InvalidError{Field: "newDuration", Reason: fmt.Sprintf("must be positive, but is %s", d)}
	}
	return e.externalCommand(ctx, "extendExternalTaskLock", id, workerID, func(c *cmd, ei *ElementInstance, j *Job) error {
		j.LeaseUntil, j.dirty = c.now.Add(d), true
		return nil
	})
}

// LockExternalTask locks external task id for workerID for d, as a fetch
// would, or extends workerID's own lock. A task another worker holds a
// live lock on is a *LockError; one waiting for a retry timeout is
// ErrConflict.
func (e *Engine) LockExternalTask(ctx context.Context, id int64, workerID string, d time.Duration) error {
	if workerID == "" {
		return &InvalidError{Field: "workerId", Reason: "must not be empty"}
	}
	if d <= 0 {
		return &InvalidError{Field: "lockDuration", Reason: fmt.Sprintf("must be positive, but is %s", d)}
	}
	return e.jobCommand(ctx, "lockExternalTask", id, func(c *cmd, ei *ElementInstance, j *Job) error {
		if j.LeaseOwner != "" && j.LeaseOwner != workerID && j.LeaseUntil.After(c.now) {
			return &LockError{TaskID: j.ID, Worker: workerID, Owner: j.LeaseOwner, Until: j.LeaseUntil}
		}
		if j.DueAt.After(c.now) {
			return &ConflictError{Reason: fmt.Sprintf("external task %d waits for its retry until %s", j.ID, j.DueAt.UTC().Format(time.RFC3339Nano))}
		}
		j.LeaseOwner, j.LeaseUntil, j.dirty = workerID, c.now.Add(d), true
		return nil
	})
}

// UnlockExternalTask gives up the lock on external task id, whoever holds
// it, so that any worker may fetch it at once.
func (e *Engine) UnlockExternalTask(ctx context.Context, id int64) error {
	return e.jobCommand(ctx, "unlockExternalTask", id, func(c *cmd, ei *ElementInstance, j *Job) error {
		j.LeaseOwner, j.LeaseUntil, j.dirty = "", time.Time{}, true
		return nil
	})
}

// workWaiters are the long polls of one engine waiting for work. A
// broadcast closes the channel they wait on; while any waits, the engine
// listens for other nodes' notifications (WorkNotifier).
type workWaiters struct {
	// self names this engine in notifications, so that it ignores its
	// own (it woke its waiters already).
	self    string
	mu      sync.Mutex
	ch      chan struct{}
	n       int
	stop    context.CancelFunc // ends the listener
	linger  *time.Timer        // stops the listener a while after the last waiter left
	started bool
}

// workListenLinger is how long the engine keeps listening for other nodes'
// work after its last long poll ended: workers poll again at once.
const workListenLinger = 10 * time.Second

// add registers a waiter and returns the channel a broadcast closes.
func (w *workWaiters) add(e *Engine) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	w.n++
	if w.linger != nil {
		w.linger.Stop()
		w.linger = nil
	}
	if n, ok := e.store.(WorkNotifier); ok && !w.started {
		ctx, cancel := context.WithCancel(context.Background())
		w.stop, w.started = cancel, true
		self := w.name()
		go func() {
			for ctx.Err() == nil {
				err := n.ListenWork(ctx, func(from string) {
					if from != self {
						w.broadcast()
					}
				})
				if err != nil && ctx.Err() == nil {
					slog.Default().Warn("external tasks: listen for other nodes' work; polling meanwhile", "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(FetchRecheckDefault):
					}
				}
			}
		}()
	}
	return w.ch
}

// name returns w.self, choosing it first; w.mu is held.
func (w *workWaiters) name() string {
	if w.self == "" {
		w.self = fmt.Sprintf("%016x", rand.Uint64())
	}
	return w.self
}

// remove unregisters a waiter.
func (w *workWaiters) remove() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n--
	if w.n == 0 && w.started && w.linger == nil {
		w.linger = time.AfterFunc(workListenLinger, func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.n == 0 && w.started {
				w.stop()
				w.stop, w.started, w.linger = nil, false, nil
			}
		})
	}
}

// broadcast wakes every waiter.
func (w *workWaiters) broadcast() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// workReady wakes long polls, here and on other nodes, after command c
// committed a fetchable work job (created, unlocked, failed with retries
// left, or retried from an incident).
func (e *Engine) workReady(c *cmd) {
	ready := false
	for _, j := range c.changes.Jobs {
		if j.Kind == JobWork && j.State == JobActive && j.LeaseOwner == "" && e.handler(j.Topic) == nil {
			ready = true
			break
		}
	}
	if !ready {
		return
	}
	e.workWaiters.broadcast()
	if n, ok := e.store.(WorkNotifier); ok {
		e.workWaiters.mu.Lock()
		self := e.workWaiters.name()
		e.workWaiters.mu.Unlock()
		if err := n.NotifyWork(context.WithoutCancel(c.ctx), self); err != nil {
			slog.Default().Warn("external tasks: notify other nodes of work", "err", err)
		}
	}
}
