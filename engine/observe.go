package engine

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Outcome is what one command did, as observers see it after the command's
// transaction has committed or failed.
type Outcome struct {
	// Command is the command's name as history records it ("start",
	// "completeUserTask", …).
	Command string
	// Key and InstanceID name the process and instance the command ran on;
	// both are empty when it failed before it loaded an instance.
	Key        string
	InstanceID int64
	// Started tells that the command created the instance.
	Started bool
	// Ended is the state the command ended the instance in
	// (InstanceCompleted or InstanceCanceled), or "" when it left it active.
	Ended InstanceState
	// Incidents is how many incidents the command created.
	Incidents int
	// Duration is the command's wall time, retries of its transaction
	// included.
	Duration time.Duration
	// Err is the command's error; when it is not nil nothing was committed
	// and the fields above other than Command and Duration may be empty.
	Err error
}

// Observer receives the outcome of every command, synchronously, after the
// command's transaction ended. It must be quick and must not keep o.
type Observer func(o *Outcome)

// Observe adds an observer of every command this engine runs: metrics,
// logs, notifications.
func (e *Engine) Observe(fn Observer) {
	e.handlersMu.Lock()
	defer e.handlersMu.Unlock()
	next := slices.Clone(*e.observers.Load())
	next = append(next, fn)
	e.observers.Store(&next)
}

// observe tells the observers what the command c named name did, in the
// time since began, and wakes the job executor for the jobs it scheduled;
// c may be nil when the command failed before it began.
func (e *Engine) observe(name string, c *cmd, began time.Time, err error) {
	if err == nil && c != nil && !c.firstDue.IsZero() {
		e.nudge(c.firstDue)
		if n, ok := e.store.(JobNotifier); ok && c.firstDue.Before(c.now.Add(ExecutorPollDefault)) {
			// Other nodes' executors sleep up to a poll interval: wake them.
			if err := n.NotifyJobs(context.WithoutCancel(c.ctx)); err != nil {
				slog.Default().Warn("notify other nodes of due jobs", "err", err)
			}
		}
	}
	if err == nil && c != nil {
		e.workReady(c)
	}
	obs := *e.observers.Load()
	if len(obs) == 0 {
		return
	}
	o := Outcome{Command: name, Duration: time.Since(began), Err: err}
	if c != nil && c.inst != nil && err == nil {
		o.Key, o.InstanceID, o.Started = c.inst.Key, c.inst.ID, c.created
		if c.inst.State != c.prevState && c.inst.State != InstanceActive {
			o.Ended = c.inst.State
		}
		for i := range c.history {
			if c.history[i].Type == EventIncidentCreated {
				o.Incidents++
			}
		}
	}
	for _, fn := range obs {
		fn(&o)
	}
}
