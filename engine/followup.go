package engine

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// JobFollowUp is a job of no instance that a TaskListenerFunc enqueued in
// the command of a user-task change: a notification to deliver after the
// commit. The job executor of any node runs it with the Go handler of its
// topic, outside any transaction.
const JobFollowUp JobKind = "followUp"

// TaskEvent is a change of a user task, as a TaskListenerFunc sees it
// inside the command that made it.
type TaskEvent struct {
	// Type is EventUserTaskCreated, EventUserTaskClaimed,
	// EventUserTaskUnclaimed, EventUserTaskAssigned, EventUserTaskDelegated,
	// EventUserTaskResolved or EventUserTaskCompleted.
	Type EventType
	// Task is the task after the change (a copy).
	Task UserTask
	// Key and BusinessKey are the process key and business key of the
	// task's instance.
	Key         string
	BusinessKey string
	// Actor is who made the change; empty for the engine itself.
	Actor string
	// Time is the command's time.
	Time time.Time
}

// FollowUp is a job a TaskListenerFunc asks for: it is created in the same
// transaction as the task change, so it exists exactly when the change
// committed, and is run by the handler registered for Topic.
type FollowUp struct {
	// Topic names the Go handler that runs the job.
	Topic string
	// Data is what the handler needs; it reads it as Job.Headers.
	Data map[string]string
	// DueAt is when the job may run. Default: at once.
	DueAt time.Time
	// Retries is how many attempts the job has. Default Config.JobRetries.
	Retries int
}

// TaskListenerFunc is called inside every command that changes user tasks,
// once per change, before the command's changes are saved; the follow-up
// jobs it returns are saved with them. It must be quick, must not call the
// engine and must not keep ev.
type TaskListenerFunc func(ev *TaskEvent) []FollowUp

// ListenTasks adds a listener of user-task changes: notifications, mail,
// chat, without code in the model. A follow-up job runs with the handler
// registered for its topic (RegisterHandler), outside any transaction;
// the handler's error costs a retry, with exponential backoff from
// Config.RetryBackoff; at zero retries the job ends in state JobFailed
// with the error as its message (it belongs to no element, so no incident
// holds it).
func (e *Engine) ListenTasks(fn TaskListenerFunc) {
	e.handlersMu.Lock()
	defer e.handlersMu.Unlock()
	var next []TaskListenerFunc
	if cur := e.taskListeners.Load(); cur != nil {
		next = slices.Clone(*cur)
	}
	next = append(next, fn)
	e.taskListeners.Store(&next)
}

// taskEventTypes are the history events that TaskListenerFuncs hear about.
var taskEventTypes = map[EventType]bool{
	EventUserTaskCreated: true, EventUserTaskClaimed: true, EventUserTaskUnclaimed: true, EventUserTaskAssigned: true,
	EventUserTaskDelegated: true, EventUserTaskResolved: true, EventUserTaskCompleted: true,
}

// enqueueFollowUps asks the task listeners about the user-task changes the
// command recorded and saves the follow-up jobs they return.
func (c *cmd) enqueueFollowUps() error {
	ls := c.e.taskListeners.Load()
	if ls == nil || len(*ls) == 0 {
		return nil
	}
	var jobs []*Job
	for i := range c.history {
		h := &c.history[i]
		if !taskEventTypes[h.Type] {
			continue
		}
		var task *UserTask
		for _, t := range c.tasks {
			if t.ElementInstanceID == h.ElementInstanceID {
				task = t
			}
		}
		if task == nil {
			continue
		}
		ev := TaskEvent{Type: h.Type, Task: *task, Key: c.inst.Key, BusinessKey: c.inst.BusinessKey, Time: c.now}
		if c.info != nil {
			ev.Actor = c.info.Actor
		}
		for _, fn := range *ls {
			for _, f := range fn(&ev) {
				id, err := c.newID()
				if err != nil {
					return err
				}
				due := f.DueAt
				if due.IsZero() {
					due = c.now
				}
				c.noteDue(due)
				jobs = append(jobs, &Job{ID: id, Kind: JobFollowUp, ElementID: task.ElementID, Topic: f.Topic, State: JobActive,
					Retries: cmp.Or(f.Retries, c.e.cfg.JobRetries), DueAt: due, CreatedAt: c.now, Headers: f.Data, Traceparent: Traceparent(c.ctx)})
			}
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	if err := c.tx.JobsSave(c.ctx, jobs); err != nil {
		return fmt.Errorf("save follow-up jobs: %w", err)
	}
	return nil
}

// runFollowUp runs follow-up job j, claimed by owner, with the handler of
// its topic, then completes it or records the failure.
func (e *Engine) runFollowUp(ctx context.Context, j *Job, owner string) error {
	if j.State != JobActive || j.LeaseOwner != owner {
		return nil
	}
	var herr error
	if h := e.handler(j.Topic); h == nil {
		herr = fmt.Errorf("no handler for follow-up topic %q on node %s", j.Topic, owner)
	} else {
		handed := *j
		handed.Fired++
		_, herr = e.callOutside(ctx, h, &handed)
	}
	err := e.store.Tx(ctx, func(tx Store) error {
		job, err := tx.JobLock(ctx, j.ID)
		if err != nil {
			return err
		}
		if job.State != JobActive || job.LeaseOwner != owner {
			return nil
		}
		job.Fired++
		job.LeaseOwner, job.LeaseUntil = "", time.Time{}
		if herr == nil {
			job.State = JobCompleted
			return tx.JobsSave(ctx, []*Job{job})
		}
		job.Retries = max(job.Retries-1, 0)
		job.ErrorMessage = herr.Error()
		if job.Retries == 0 {
			job.State = JobFailed
		} else {
			job.DueAt = e.cfg.NowFunc().Add(e.followUpDelay(job.Fired))
		}
		return tx.JobsSave(ctx, []*Job{job})
	})
	if err != nil {
		return fmt.Errorf("run follow-up job %d: %w", j.ID, err)
	}
	if herr != nil {
		return fmt.Errorf("run follow-up job %d: %w", j.ID, herr)
	}
	return nil
}

// followUpDelay is the wait after failed attempt number fired of a
// follow-up job: Config.RetryBackoff doubled per attempt, up to
// RetryBackoffMax, with ±20% jitter.
func (e *Engine) followUpDelay(fired int) time.Duration {
	d := cmp.Or(e.cfg.RetryBackoff, RetryBackoffDefault)
	for i := 1; i < fired && d < RetryBackoffMax; i++ {
		d *= 2
	}
	d = min(d, RetryBackoffMax)
	return d + time.Duration(float64(d)*0.2*(2*rand.Float64()-1))
}
