package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonbpm/baton/bpmn"
)

// StartParams are the arguments of Start.
type StartParams struct {
	// Key starts the latest version of the process with this id, or
	// Version when it is above 0. DefinitionID, when set, wins over both.
	Key          string
	Version      int
	DefinitionID int64
	// Vars are the instance's initial variables.
	Vars        Vars
	BusinessKey string
	// StartKey makes the start idempotent: when an instance of the same
	// process key was started with this StartKey before, Start returns it
	// (with Replayed set) and starts nothing. The store enforces it, so it
	// holds across nodes and restarts.
	StartKey string
}

// StartKeyMaxLen is the longest StartParams.StartKey accepted.
const StartKeyMaxLen = 255

// Start creates a process instance and runs it until every token waits. It
// returns the instance as committed. An unknown key is ErrNotFound; bad
// variables are ErrInvalid.
func (e *Engine) Start(ctx context.Context, p *StartParams) (*Instance, error) {
	if len(p.StartKey) > StartKeyMaxLen {
		return nil, &InvalidError{Field: "startKey", Reason: fmt.Sprintf("is %d bytes long, at most %d are allowed", len(p.StartKey), StartKeyMaxLen)}
	}
	m, err := e.modelFor(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Key, err)
	}
	def := m.def
	if p.StartKey != "" {
		if inst, err := e.startedBefore(ctx, def.Key, p.StartKey); inst != nil || err != nil {
			return inst, err
		}
	}
	start := m.proc.NoneStart()
	if start == nil {
		return nil, &InvalidError{Field: "process " + def.Key, Reason: "it has no none start event; it can only be started by an event"}
	}
	var inst *Instance
	err = e.command(ctx, "start", m, func(c *cmd) error {
		if err := c.begin(start, p.Vars, p.BusinessKey, p.StartKey); err != nil {
			return err
		}
		inst = c.inst
		return nil
	})
	if err != nil && p.StartKey != "" && errors.Is(err, ErrConflict) {
		// A concurrent start with the same key committed first.
		if before, err2 := e.startedBefore(ctx, def.Key, p.StartKey); before != nil || err2 != nil {
			return before, err2
		}
	}
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// begin creates the instance of the command's model with variables vs and
// runs it from start event start until every token waits, then saves it.
func (c *cmd) begin(start *bpmn.FlowNode, vs Vars, businessKey, startKey string) error {
	def := c.m.def
	id, err := c.newID()
	if err != nil {
		return err
	}
	c.inst = &Instance{ID: id, DefinitionID: def.ID, Key: def.Key, Version: def.Version, BusinessKey: businessKey,
		StartKey: startKey, State: InstanceActive, StartedAt: c.now,
		ParentInstanceID: c.caller.instanceID, ParentElementInstanceID: c.caller.elementInstanceID}
	c.created = true
	proc := c.newEI()
	*proc = ElementInstance{ID: id, InstanceID: id, ElementID: def.Key, Kind: kindProcess, State: ElementActivating, CreatedAt: c.now, dirty: true, fresh: true}
	c.eis = append(c.eis, proc)
	if err := c.transition(proc, ElementActivated); err != nil {
		return err
	}
	if err := c.setVars(id, vs, false); err != nil {
		return err
	}
	if h := start.Human; h != nil && h.Initiator != "" && c.info.Actor != "" {
		c.setLocal(id, h.Initiator, c.info.Actor)
	}
	if err := c.subscribeEventSubProcesses(proc, &c.m.proc.Container); err != nil {
		var inc *IncidentError
		if !errors.As(err, &inc) {
			return err
		}
		if err := c.raise(proc, phaseActivate, inc, 0); err != nil {
			return err
		}
	}
	if _, err := c.activate(start, proc); err != nil {
		return err
	}
	if err := c.drain(); err != nil {
		return err
	}
	return c.save()
}

// startedBefore returns the instance of process key started with startKey,
// marked Replayed, or nil when there is none.
func (e *Engine) startedBefore(ctx context.Context, key, startKey string) (*Instance, error) {
	list, err := e.store.InstanceList(ctx, &InstanceListParams{Key: key, StartKey: startKey, Page: Page{Limit: 1}})
	if err != nil || len(list) == 0 {
		return nil, err
	}
	list[0].Replayed = true
	return list[0], nil
}

// onInstance runs fn as a command on a locked, active instance.
func (e *Engine) onInstance(ctx context.Context, name string, instanceID int64, fn func(c *cmd) error) error {
	var c *cmd
	began := time.Now()
	ctx, span := e.startCommand(ctx, name)
	err := e.store.Tx(ctx, func(tx Store) error {
		st, err := tx.InstanceLock(ctx, instanceID)
		if err != nil {
			return err
		}
		m, err := e.modelByID(ctx, tx, st.Instance.DefinitionID)
		if err != nil {
			return err
		}
		if c != nil {
			c.release()
		}
		c = e.newCmd(ctx, tx, name, m)
		if err := c.load(st); err != nil {
			return err
		}
		if c.inst.State != InstanceActive {
			return &ConflictError{Reason: fmt.Sprintf("process instance %d is %s", instanceID, c.inst.State)}
		}
		if err := fn(c); err != nil {
			return err
		}
		if err := c.drain(); err != nil {
			return err
		}
		return c.save()
	})
	e.observe(name, c, began, err)
	endCommand(span, c, err)
	if c != nil {
		c.release()
	}
	return err
}

func (e *Engine) modelByID(ctx context.Context, tx Store, defID int64) (*model, error) {
	if m, ok := e.models.Load(defID); ok {
		return m.(*model), nil
	}
	def, err := tx.DefinitionGet(ctx, defID)
	if err != nil {
		return nil, fmt.Errorf("definition %d: %w", defID, err)
	}
	return e.model(def)
}

// CompleteUserTask completes an open user task with variables, which are
// written where they exist in the task's scope chain, else on the instance.
// A task that is already completed or canceled is ErrConflict, and so is a
// task delegated and not resolved.
//
// With an actor (WithCommandInfo), only the assignee completes the task:
// a task claimed by someone else is ErrConflict, and an unassigned one is
// claimed by the actor and completed in the same command (as Camunda's
// Tasklist does). Without an actor (the engine embedded, no people), any
// open task completes.
func (e *Engine) CompleteUserTask(ctx context.Context, taskID int64, vars Vars) error {
	t, err := e.store.UserTaskGet(ctx, taskID)
	if err != nil {
		return fmt.Errorf("complete task %d: %w", taskID, err)
	}
	if t.State != TaskCreated {
		return fmt.Errorf("complete task %d: %w", taskID, &ConflictError{Reason: fmt.Sprintf("user task %d is already %s", taskID, t.State)})
	}
	err = e.onInstance(ctx, "completeUserTask", t.InstanceID, func(c *cmd) error {
		var task *UserTask
		for _, x := range c.tasks {
			if x.ID == taskID {
				task = x
			}
		}
		if task == nil || task.State != TaskCreated {
			return &ConflictError{Reason: fmt.Sprintf("user task %d is already %s", taskID, endedState(t))}
		}
		ei := c.eiByID(task.ElementInstanceID)
		if ei == nil || ei.State != ElementActivated {
			return &ConflictError{Reason: fmt.Sprintf("user task %d: its element is not waiting", taskID)}
		}
		if task.Delegation == DelegationPending {
			return &ConflictError{Reason: fmt.Sprintf("user task %d is delegated to %s; it must be resolved before it is completed", taskID, task.Assignee)}
		}
		if actor := c.info.Actor; actor != "" {
			switch task.Assignee {
			case actor:
			case "":
				task.Assignee = actor
				c.record(ei, EventUserTaskClaimed, actor)
			default:
				return &ConflictError{Reason: fmt.Sprintf("user task %d is claimed by %s; only the assignee may complete it", taskID, task.Assignee)}
			}
		}
		if err := c.setVars(ei.ID, vars, false); err != nil {
			return err
		}
		task.State, task.EndedAt, task.dirty = TaskCompleted, c.now, true
		c.record(ei, EventUserTaskCompleted, "")
		c.completeLater(ei)
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete task %d: %w", taskID, err)
	}
	return nil
}

// jobCommand runs fn on an active job of a waiting task.
func (e *Engine) jobCommand(ctx context.Context, name string, jobID int64, fn func(c *cmd, ei *ElementInstance, j *Job) error) error {
	j, err := e.store.JobGet(ctx, jobID)
	if err != nil {
		return fmt.Errorf("%s job %d: %w", name, jobID, err)
	}
	err = e.onInstance(ctx, name, j.InstanceID, func(c *cmd) error {
		var job *Job
		for _, x := range c.jobs {
			if x.ID == jobID {
				job = x
			}
		}
		if job == nil || job.State != JobActive {
			return &ConflictError{Reason: fmt.Sprintf("job %d is %s", jobID, j.State)}
		}
		if job.Kind != JobWork {
			return &ConflictError{Reason: fmt.Sprintf("job %d is a %s, which the engine runs itself; only work is completed, failed or thrown by workers", jobID, job.Kind)}
		}
		ei := c.eiByID(job.ElementInstanceID)
		if ei == nil || ei.State != ElementActivated {
			return &ConflictError{Reason: fmt.Sprintf("job %d: its element is not waiting", jobID)}
		}
		return fn(c, ei, job)
	})
	if err != nil {
		return fmt.Errorf("%s job %d: %w", name, jobID, err)
	}
	return nil
}

// CompleteJob completes a job with variables and its task goes on. A job
// that is not active is ErrConflict.
func (e *Engine) CompleteJob(ctx context.Context, jobID int64, vars Vars) error {
	return e.jobCommand(ctx, "completeJob", jobID, func(c *cmd, ei *ElementInstance, j *Job) error {
		return c.jobDone(ei, j, vars)
	})
}

// FailJobParams are the arguments of FailJob.
type FailJobParams struct {
	Message, Details string
	// Retries is how many attempts are left; at 0 the job becomes an incident.
	Retries int
	// RetryIn is how long the next attempt waits (Camunda's retryTimeout);
	// 0 makes it due at once.
	RetryIn time.Duration
}

// FailJob records a failed attempt of a job. With no retries left the job
// becomes an incident.
func (e *Engine) FailJob(ctx context.Context, jobID int64, p *FailJobParams) error {
	if p.Retries < 0 {
		return &InvalidError{Field: "retries", Reason: "must not be negative"}
	}
	return e.jobCommand(ctx, "failJob", jobID, func(c *cmd, ei *ElementInstance, j *Job) error {
		_, err := c.jobFailed(ei, j, p.Message, p.Details, p.Retries, max(p.RetryIn, 0))
		return err
	})
}

// ThrowJobError throws a BPMN error from the task of a job.
func (e *Engine) ThrowJobError(ctx context.Context, jobID int64, be *BPMNError) error {
	if be.Code == "" {
		return &InvalidError{Field: "error code", Reason: "must not be empty"}
	}
	return e.jobCommand(ctx, "throwJobError", jobID, func(c *cmd, ei *ElementInstance, j *Job) error {
		return c.jobBPMNError(ei, j, be)
	})
}

// TriggerParams are the arguments of Trigger.
type TriggerParams struct {
	InstanceID int64
	// ElementID is the waiting element (a receive task); ElementInstanceID
	// picks one instance of it when several wait.
	ElementID         string
	ElementInstanceID int64
	Vars              Vars
}

// Trigger continues a waiting receive task with variables.
func (e *Engine) Trigger(ctx context.Context, p *TriggerParams) error {
	return e.onInstance(ctx, "trigger", p.InstanceID, func(c *cmd) error {
		var found []*ElementInstance
		for _, ei := range c.eis {
			if ei.State == ElementActivated && ei.Kind == bpmn.KindReceiveTask &&
				(p.ElementInstanceID == 0 || ei.ID == p.ElementInstanceID) && (p.ElementID == "" || ei.ElementID == p.ElementID) {
				found = append(found, ei)
			}
		}
		switch {
		case len(found) == 0:
			return &NotFoundError{What: "waiting receive task", ID: fmt.Sprintf("%s in instance %d", p.ElementID, p.InstanceID)}
		case len(found) > 1:
			return &ConflictError{Reason: fmt.Sprintf("%d instances of %q wait; give the element instance id", len(found), p.ElementID)}
		}
		if c.hasIncident(found[0].ID) {
			return &ConflictError{Reason: fmt.Sprintf("%q has an open incident", found[0].ElementID)}
		}
		if err := c.setVars(found[0].ID, p.Vars, false); err != nil {
			return err
		}
		c.completeLater(found[0])
		return nil
	})
}

func (c *cmd) hasIncident(eiID int64) bool {
	for _, in := range c.incidents {
		if in.ElementInstanceID == eiID && in.State == IncidentOpen {
			return true
		}
	}
	return false
}

// SetVariablesParams are the arguments of SetVariables.
type SetVariablesParams struct {
	InstanceID int64
	// ScopeID is the element instance whose scope receives the variables;
	// 0 means the process instance.
	ScopeID int64
	// Local writes into ScopeID itself instead of where each variable exists.
	Local bool
	Vars  Vars
}

// SetVariables writes variables into a live instance.
func (e *Engine) SetVariables(ctx context.Context, p *SetVariablesParams) error {
	return e.onInstance(ctx, "setVariables", p.InstanceID, func(c *cmd) error {
		scope := p.ScopeID
		if scope == 0 {
			scope = c.inst.ID
		}
		if ei := c.eiByID(scope); ei == nil || !ei.State.Live() {
			return &NotFoundError{What: "live scope", ID: fmt.Sprint(scope)}
		}
		return c.setVars(scope, p.Vars, p.Local)
	})
}

// RetryIncident resolves an open incident and runs the failed element's
// phase again. For a job incident the job gets retries (at least 1) first.
// A resolved incident is ErrConflict.
func (e *Engine) RetryIncident(ctx context.Context, incidentID int64, retries int) error {
	in, err := e.store.IncidentGet(ctx, incidentID)
	if err != nil {
		return fmt.Errorf("retry incident %d: %w", incidentID, err)
	}
	err = e.onInstance(ctx, "retryIncident", in.InstanceID, func(c *cmd) error {
		var inc *Incident
		for _, x := range c.incidents {
			if x.ID == incidentID && x.State == IncidentOpen {
				inc = x
			}
		}
		if inc == nil {
			return &ConflictError{Reason: fmt.Sprintf("incident %d is not open", incidentID)}
		}
		ei := c.eiByID(inc.ElementInstanceID)
		if ei == nil || !ei.State.Live() {
			return &ConflictError{Reason: fmt.Sprintf("incident %d: its element instance is gone", incidentID)}
		}
		inc.State, inc.ResolvedAt, inc.dirty = IncidentResolved, c.now, true
		c.record(ei, EventIncidentResolved, "")
		if inc.JobID != 0 {
			return c.retryJob(ei, inc.JobID, max(retries, 1))
		}
		if ok, err := c.retryCondition(ei, inc); ok {
			return err
		}
		if ei.Phase == phaseComplete {
			c.completeLater(ei)
		} else {
			c.queue = append(c.queue, step{kind: stepActivate, ei: ei})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("retry incident %d: %w", incidentID, err)
	}
	return nil
}

func (c *cmd) retryJob(ei *ElementInstance, jobID int64, retries int) error {
	for _, j := range c.jobs {
		if j.ID == jobID {
			j.State, j.Retries, j.DueAt, j.dirty = JobActive, retries, c.now, true
			if h := c.e.handler(j.Topic); h != nil && j.Kind == JobWork {
				if c.e.isOutbound(j.Topic) {
					c.noteDue(j.DueAt) // for the job executor, after the commit
					return nil
				}
				return c.work(ei, j, h)
			}
			return nil
		}
	}
	// The job is gone (a BPMN error ended it): create a new one.
	return c.createJob(ei)
}

// Cancel terminates every element of a live instance; the instance ends as
// canceled, and so do the instances its call activities started. An
// instance a call activity started and still waits for is ErrConflict:
// cancel the calling instance.
func (e *Engine) Cancel(ctx context.Context, instanceID int64) error {
	err := e.onInstance(ctx, "cancel", instanceID, func(c *cmd) error {
		if err := c.refuseCalledCancel(); err != nil {
			return err
		}
		proc := c.eiByID(c.inst.ID)
		if err := c.terminate(proc); err != nil {
			return err
		}
		c.inst.State, c.inst.EndedAt = InstanceCanceled, c.now
		c.record(proc, EventInstanceCanceled, "")
		return nil
	})
	if err != nil {
		return fmt.Errorf("cancel instance %d: %w", instanceID, err)
	}
	return nil
}
