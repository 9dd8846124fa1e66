package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/expression"
	"github.com/batonbpm/baton/bpmn/timer"
)

// passTask: manual and undefined tasks have no behaviour of their own; the
// token passes through.
type passTask struct{ passThrough }

// PriorityDefault is a user task's priority when the model gives none (as in Camunda).
const PriorityDefault = 50

// userTask creates a task for people and waits until it is completed.
type userTask struct{ passThrough }

func (userTask) activate(c *cmd, ei *ElementInstance) error {
	n := ei.node
	id, err := c.newID()
	if err != nil {
		return err
	}
	t := &UserTask{ID: id, InstanceID: c.inst.ID, ElementInstanceID: ei.ID, ElementID: n.ID, Name: n.Name,
		State: TaskCreated, Priority: PriorityDefault, CreatedAt: c.now, dirty: true}
	if h := n.Human; h != nil {
		if t.Assignee, err = c.evalString(ei, h.Assignee, "assignee"); err != nil {
			return err
		}
		if t.CandidateUsers, err = c.evalList(ei, h.CandidateUsers, "candidate users"); err != nil {
			return err
		}
		if t.CandidateGroups, err = c.evalList(ei, h.CandidateGroups, "candidate groups"); err != nil {
			return err
		}
		if t.DueDate, err = c.evalTime(ei, h.DueDate, "due date"); err != nil {
			return err
		}
		if t.FollowUpDate, err = c.evalTime(ei, h.FollowUpDate, "follow-up date"); err != nil {
			return err
		}
		if t.Priority, err = c.evalInt(ei, h.Priority, "priority", PriorityDefault); err != nil {
			return err
		}
		t.FormKey = formKey(h)
	}
	c.tasks = append(c.tasks, t)
	c.record(ei, EventUserTaskCreated, "")
	return nil
}

func formKey(h *bpmn.HumanTask) string {
	switch {
	case h.FormKey != "":
		return h.FormKey
	case h.FormRef != "":
		return "camunda-forms:" + h.FormRef
	case h.FormID != "":
		return "camunda-forms:" + h.FormID
	}
	return ""
}

func (userTask) terminate(c *cmd, ei *ElementInstance) error {
	for _, t := range c.tasks {
		if t.ElementInstanceID == ei.ID && t.State == TaskCreated {
			t.State, t.EndedAt, t.dirty = TaskCanceled, c.now, true
		}
	}
	return nil
}

// receiveTask waits for its message (CorrelateMessage), or, without a
// message, until it is triggered (Engine.Trigger).
type receiveTask struct{ passThrough }

func (receiveTask) activate(c *cmd, ei *ElementInstance) error {
	if waitsForMessageOrSignal(ei.node) {
		return c.subscribe(ei, ei.node, ei)
	}
	return nil
}

// serviceTask covers service, send and business rule tasks: it creates a
// job for the task's topic and waits for its result; a Go handler registered
// for the topic works the job in the same command.
type serviceTask struct{ passThrough }

func (serviceTask) activate(c *cmd, ei *ElementInstance) error { return c.createJob(ei) }

func (serviceTask) terminate(c *cmd, ei *ElementInstance) error {
	for _, j := range c.jobs {
		if j.ElementInstanceID == ei.ID && (j.State == JobActive || j.State == JobFailed) {
			j.State, j.dirty = JobCanceled, true
		}
	}
	return nil
}

// scriptTask evaluates an inline expression script (JUEL or FEEL) and stores
// the result in its result variable; a script in another language becomes a
// job, like a service task, for a worker to run.
type scriptTask struct{ serviceTask }

func (s scriptTask) activate(c *cmd, ei *ElementInstance) error {
	t := ei.node.Task
	if t == nil || t.Script == nil || t.Script.Program == nil {
		return c.createJob(ei)
	}
	v, err := c.eval(ei, t.Script)
	if err != nil {
		return err
	}
	if t.ResultVariable != "" {
		c.setVar(ei.ID, t.ResultVariable, v)
	}
	c.completeLater(ei)
	return nil
}

// topic returns the job topic of a service-like task: its camunda:topic or
// zeebe:taskDefinition type, else its id.
func (c *cmd) topic(ei *ElementInstance) (string, error) {
	t := ei.node.Task
	if t == nil || t.Topic == nil {
		return ei.node.ID, nil
	}
	if p := t.Topic.Program; p != nil && p.Dialect() == expression.Literal {
		return cmp.Or(t.Topic.Source, ei.node.ID), nil
	}
	s, err := c.evalString(ei, t.Topic, "topic")
	if err != nil {
		return "", err
	}
	if s == "" {
		return ei.node.ID, nil
	}
	return s, nil
}

// createJob creates the job of a service-like task, and works it at once
// when a Go handler is registered for its topic.
func (c *cmd) createJob(ei *ElementInstance) error {
	topic, err := c.topic(ei)
	if err != nil {
		return err
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	retries := c.e.cfg.JobRetries
	var headers map[string]string
	if t := ei.node.Task; t != nil {
		if t.Retries > 0 {
			retries = t.Retries
		}
		headers = t.Headers
	}
	if n := ei.node; n.Async.RetryTimeCycle != "" {
		if s, err := timer.Parse("timeCycle", n.Async.RetryTimeCycle); err == nil && s.Repeat() > 0 {
			retries = s.Repeat()
		}
	}
	priority := 0
	if t := ei.node.Task; t != nil && t.Priority != nil {
		if priority, err = c.evalInt(ei, t.Priority, "camunda:taskPriority", 0); err != nil {
			return err
		}
	}
	j := c.newJob()
	*j = Job{ID: id, Kind: JobWork, InstanceID: c.inst.ID, ElementInstanceID: ei.ID, ElementID: ei.ElementID, Topic: topic,
		State: JobActive, Retries: retries, DueAt: c.now, CreatedAt: c.now, Headers: headers, BusinessKey: c.inst.BusinessKey,
		ProcessKey: c.inst.Key, Priority: priority, Traceparent: Traceparent(c.ctx), dirty: true, fresh: true}
	c.jobs = append(c.jobs, j)
	c.record(ei, EventJobCreated, "")
	if h := c.e.handler(topic); h != nil {
		if c.e.isOutbound(topic) {
			// Worked by the job executor once this command committed.
			c.noteDue(j.DueAt)
			return nil
		}
		return c.work(ei, j, h)
	}
	return nil
}

// work runs handler h on job j once: the job completes, throws a BPMN
// error, or fails (see jobFailed: a retry is scheduled for the job executor).
func (c *cmd) work(ei *ElementInstance, j *Job, h HandlerFunc) error {
	j.Fired++
	j.dirty = true
	c.handed = *j
	c.handedScope = ei.ID
	c.handed.varsFunc = c.handedVars
	out, err := c.runHandler(h)
	c.handed = Job{}
	return c.workDone(ei, j, out, err)
}

// workDone records what a handler answered for job j of ei: output
// variables, a *BPMNError to throw, or another error that costs a retry.
func (c *cmd) workDone(ei *ElementInstance, j *Job, out Vars, err error) error {
	if err == nil {
		return c.jobDone(ei, j, out)
	}
	var be *BPMNError
	if errors.As(err, &be) {
		return c.jobBPMNError(ei, j, be)
	}
	_, ferr := c.jobFailed(ei, j, err.Error(), "", j.Retries-1, c.retryDelay(ei.node, j))
	return ferr
}

// txKey carries the Store of the command's transaction to Go handlers.
type txKey struct{}

// TxStore returns the Store of the transaction a Go handler runs in, or
// nil outside a handler. What a handler writes through it (for sqlstore:
// sqlstore.Exec) commits together with the job's completion, or not at all:
// a side effect of a job that a crash made run again is not written twice.
func TxStore(ctx context.Context) Store {
	s, _ := ctx.Value(txKey{}).(Store)
	return s
}

// jobDone completes job j with output variables and completes its task.
func (c *cmd) jobDone(ei *ElementInstance, j *Job, out Vars) error {
	if err := c.setVars(ei.ID, out, false); err != nil {
		return fmt.Errorf("job %d of %q: %w", j.ID, j.ElementID, err)
	}
	j.State, j.dirty = JobCompleted, true
	c.record(ei, EventJobCompleted, "")
	c.completeLater(ei)
	return nil
}

// jobFailed records a failure of job j with the retries left; the next
// attempt is due after delay. At zero the job fails for good and an
// incident holds it (the dead-letter queue); done tells that.
func (c *cmd) jobFailed(ei *ElementInstance, j *Job, msg, details string, retries int, delay time.Duration) (done bool, err error) {
	j.Retries = max(retries, 0)
	j.ErrorMessage, j.ErrorDetails, j.dirty = msg, details, true
	j.LeaseOwner, j.LeaseUntil = "", time.Time{}
	c.record(ei, EventJobFailed, msg)
	if j.Retries > 0 {
		j.DueAt = c.now.Add(delay)
		c.noteDue(j.DueAt)
		return false, nil
	}
	j.State = JobFailed
	return true, c.raise(ei, phaseActivate, &IncidentError{ElementID: ei.ElementID, Type: IncidentJobNoRetries,
		Reason: fmt.Sprintf("job failed with no retries left: %s", msg)}, j.ID)
}

// jobBPMNError throws a BPMN error from job j of ei (see throwError): the
// nearest matching error boundary event or error event sub-process catches
// it, ei and the scopes up to the catcher are terminated (the job with it)
// and the error's variables are written from the catching scope. An error
// nothing catches is an incident on ei, with the variables written from ei.
func (c *cmd) jobBPMNError(ei *ElementInstance, j *Job, be *BPMNError) error {
	j.State, j.ErrorMessage, j.dirty = JobFailed, be.Error(), true
	c.record(ei, EventJobFailed, be.Error())
	caught, err := c.throwError(ei, be.Code, be.Message, be.Vars)
	if err == nil && !caught {
		err = c.setVars(ei.ID, be.Vars, false)
	}
	if err != nil {
		return fmt.Errorf("job %d of %q: %w", j.ID, j.ElementID, err)
	}
	if caught {
		return nil
	}
	return c.raise(ei, phaseActivate, uncaughtError(ei.node, be.Code, be.Message), j.ID)
}
