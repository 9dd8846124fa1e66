package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/timer"
)

// Timers are jobs of kind JobTimer. A timer job waits for the element
// instance it belongs to: an intermediate catch event waits for its own
// timer; an activity carries the timers of its boundary events; a scope
// (the process or a sub-process) carries the timers of its event
// sub-processes' start events. When that element instance ends, its timers
// are cancelled (see unsubscribe). A process's timer start events have jobs
// of their definition, scheduled on deploy (see scheduleStartTimers).

// timerSchedule evaluates the timer of event n in the scope of ei and
// returns its schedule. A value that is not a timer is an incident naming
// the element and the value.
func (c *cmd) timerSchedule(ei *ElementInstance, n *bpmn.FlowNode) (*timer.Schedule, error) {
	def := n.Event()
	if def == nil || def.Timer == nil || def.Timer.Value == nil {
		return nil, &IncidentError{ElementID: n.ID, Type: IncidentTimer, Reason: "the timer event has no timeDate, timeDuration or timeCycle"}
	}
	v, err := c.evalIn(ei, ei.ID, def.Timer.Value)
	if err != nil {
		return nil, err
	}
	return parseTimerValue(n, def.Timer.Type, v)
}

// parseTimerValue parses an evaluated timer value: a string, or a date-time
// for timeDate.
func parseTimerValue(n *bpmn.FlowNode, typ bpmn.TimerType, v any) (*timer.Schedule, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case time.Time:
		s = x.UTC().Format(time.RFC3339Nano)
	default:
		return nil, &IncidentError{ElementID: n.ID, Type: IncidentTimer,
			Reason: fmt.Sprintf("%s evaluated to %s %v, expected an ISO 8601 or cron string", typ, TypeOf(v), v)}
	}
	sched, err := timer.Parse(string(typ), s)
	if err != nil {
		return nil, &IncidentError{ElementID: n.ID, Type: IncidentTimer, Reason: err.Error()}
	}
	return sched, nil
}

// timerSpec is how a job keeps its schedule: "timeCycle R3/PT10M".
func timerSpec(s *timer.Schedule) string { return s.Kind().String() + " " + s.String() }

// parseTimerSpec parses what timerSpec wrote.
func parseTimerSpec(spec string) (*timer.Schedule, error) {
	kind, value, ok := strings.Cut(spec, " ")
	if !ok {
		return nil, fmt.Errorf("timer %q: expected a kind and a value", spec)
	}
	return timer.Parse(kind, value)
}

// createTimer schedules the timer of event n for the element instance
// waiting, evaluated in the scope of evalIn. A cycle without a future
// occurrence creates nothing: it will never fire.
func (c *cmd) createTimer(waiting *ElementInstance, n *bpmn.FlowNode, evalIn *ElementInstance) error {
	sched, err := c.timerSchedule(evalIn, n)
	if err != nil {
		return err
	}
	due := sched.First(c.now)
	if due.IsZero() {
		return nil
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	j := c.newJob()
	*j = Job{ID: id, Kind: JobTimer, InstanceID: c.inst.ID, ElementInstanceID: waiting.ID, ElementID: n.ID, State: JobActive,
		Retries: c.e.cfg.JobRetries, DueAt: due, CreatedAt: c.now, Timer: timerSpec(sched), BusinessKey: c.inst.BusinessKey,
		dirty: true, fresh: true}
	c.jobs = append(c.jobs, j)
	c.noteDue(due)
	return nil
}

// noteDue remembers the earliest due time of the jobs the command
// scheduled, so that the job executor can be woken after the commit.
func (c *cmd) noteDue(due time.Time) {
	if c.firstDue.IsZero() || due.Before(c.firstDue) {
		c.firstDue = due
	}
}

// subscribeBoundaries creates the timers of the boundary events of the
// activity instance ei. Boundary events of other kinds are not subscribed
// yet (Check warns of them).
func (c *cmd) subscribeBoundaries(ei *ElementInstance) error {
	for _, b := range ei.node.Boundaries {
		var err error
		switch b.EventKind() {
		case bpmn.EventTimer:
			err = c.createTimer(ei, b, ei)
		case bpmn.EventMessage, bpmn.EventSignal:
			err = c.subscribe(ei, b, ei)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// subscribeEventSubProcesses creates the timers of the start events of the
// event sub-processes of container body, whose scope instance is scope.
func (c *cmd) subscribeEventSubProcesses(scope *ElementInstance, body *bpmn.Container) error {
	for _, n := range body.Nodes {
		if n.Kind != bpmn.KindEventSubProcess || n.Children == nil {
			continue
		}
		for _, s := range n.Children.Nodes {
			if s.Kind != bpmn.KindStartEvent {
				continue
			}
			var err error
			switch s.EventKind() {
			case bpmn.EventTimer:
				err = c.createTimer(scope, s, scope)
			case bpmn.EventMessage, bpmn.EventSignal:
				err = c.subscribe(scope, s, scope)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// unsubscribe cancels the timers and closes the subscriptions that wait
// for ei, which has ended.
func (c *cmd) unsubscribe(ei *ElementInstance) {
	for _, j := range c.jobs {
		if (j.Kind == JobTimer || j.Kind == JobAsync || j.Kind == JobCall) && j.ElementInstanceID == ei.ID && j.State == JobActive {
			j.State, j.dirty = JobCanceled, true
		}
	}
	c.closeSubs(ei)
}

// isInner tells whether ei is an inner instance of a multi-instance or
// loop body: its scope is an instance of the same element.
func (c *cmd) isInner(ei *ElementInstance) bool {
	scope := c.eiByID(ei.ScopeID)
	return scope != nil && scope.Kind != kindProcess && scope.ElementID == ei.ElementID
}

// fireTimer fires timer job j: the waiting catch event completes, a
// boundary event or an event sub-process is triggered. A cycle of a
// non-interrupting event is rescheduled while its schedule lasts.
func (c *cmd) fireTimer(j *Job) error {
	waiting := c.eiByID(j.ElementInstanceID)
	n := c.m.defs.Node(j.ElementID)
	if waiting == nil || !waiting.State.Live() || n == nil {
		j.State, j.dirty = JobCanceled, true
		return nil
	}
	j.Fired++
	j.State, j.LeaseOwner, j.LeaseUntil, j.dirty = JobCompleted, "", time.Time{}, true
	if isEventGateway(waiting) {
		return c.eventGatewayOccurred(waiting, n, EventTimerFired, "", nil)
	}
	c.history = append(c.history, HistoryEvent{ElementInstanceID: waiting.ID, ElementID: n.ID, Type: EventTimerFired, Command: c.info})
	switch {
	case n.Kind == bpmn.KindIntermediateCatchEvent:
		c.completeLater(waiting)
		return nil
	case n.Kind == bpmn.KindBoundaryEvent:
		if !n.Interrupting {
			if err := c.reschedule(j); err != nil {
				return err
			}
		}
		return c.triggerBoundary(waiting, n)
	case n.Kind == bpmn.KindStartEvent && n.Parent != nil && n.Parent.Kind == bpmn.KindEventSubProcess:
		if !n.Interrupting {
			if err := c.reschedule(j); err != nil {
				return err
			}
		}
		return c.triggerEventSubProcess(waiting, n)
	}
	return fmt.Errorf("timer job %d: element %s cannot wait for a timer", j.ID, n)
}

// reschedule makes the cycle of timer job j, which just fired, wait for its
// next occurrence, or leaves it completed when the schedule is exhausted.
func (c *cmd) reschedule(j *Job) error {
	sched, err := parseTimerSpec(j.Timer)
	if err != nil {
		return fmt.Errorf("timer job %d: %w", j.ID, err)
	}
	next, ok := sched.Next(j.DueAt, j.Fired)
	if !ok {
		return nil
	}
	j.State, j.DueAt, j.dirty = JobActive, next, true
	c.noteDue(next)
	return nil
}

// triggerBoundary triggers boundary event b of activity instance act: an
// interrupting event terminates the activity first; either way the event
// continues on its outgoing flows in the activity's scope.
func (c *cmd) triggerBoundary(act *ElementInstance, b *bpmn.FlowNode) error {
	scope := c.eiByID(act.ScopeID)
	if b.Interrupting {
		if err := c.terminate(act); err != nil {
			return err
		}
	}
	_, err := c.activate(b, scope)
	return err
}

// triggerEventSubProcess starts the event sub-process of start event s in
// scope. An interrupting start terminates everything else in the scope and
// cancels the scope's other event sub-process subscriptions first.
func (c *cmd) triggerEventSubProcess(scope *ElementInstance, s *bpmn.FlowNode) error {
	if s.Interrupting {
		if err := c.terminateChildren(scope); err != nil {
			return err
		}
		isESPStart := func(id string) bool {
			n := c.m.defs.Node(id)
			return n != nil && n.Parent != nil && n.Parent.Kind == bpmn.KindEventSubProcess
		}
		for _, j := range c.jobs {
			if j.ElementInstanceID == scope.ID && j.State == JobActive && isESPStart(j.ElementID) {
				j.State, j.dirty = JobCanceled, true
			}
		}
		for _, sub := range c.subs {
			if sub.ElementInstanceID == scope.ID && !sub.Closed && isESPStart(sub.ElementID) {
				sub.Closed, sub.dirty = true, true
			}
		}
	}
	esp, err := c.activate(s.Parent, scope)
	if err != nil {
		return err
	}
	esp.trigger = s
	return nil
}

// eventSubProcess runs an event sub-process: it starts at the start event
// that triggered it and completes when no token is left inside, like an
// embedded sub-process.
type eventSubProcess struct{ passThrough }

func (eventSubProcess) activate(c *cmd, ei *ElementInstance) error {
	s := ei.trigger
	if s == nil {
		for _, n := range ei.node.Children.Nodes {
			if n.Kind == bpmn.KindStartEvent {
				s = n
				break
			}
		}
	}
	if s == nil {
		return &IncidentError{ElementID: ei.ElementID, Type: "noStartEvent", Reason: "the event sub-process has no start event"}
	}
	_, err := c.activate(s, ei)
	return err
}

// boundaryEvent continues on its outgoing flows once triggered.
type boundaryEvent struct{ passThrough }

// timerCatch is an intermediate timer catch event: it waits for its timer.
func timerCatchActivate(c *cmd, ei *ElementInstance) error {
	return c.createTimer(ei, ei.node, ei)
}

// scheduleStartTimers creates the jobs of the timer start events of
// process pr, deployed as definition def, due from now.
func scheduleStartTimers(def *Definition, pr *bpmn.Process, now time.Time, newID func() (int64, error)) ([]*Job, error) {
	var jobs []*Job
	for _, n := range pr.Nodes {
		if n.Kind != bpmn.KindStartEvent || n.EventKind() != bpmn.EventTimer {
			continue
		}
		t := n.Event().Timer
		if t == nil || t.Value == nil || t.Value.Program == nil {
			return nil, &InvalidError{Field: n.ID, Reason: "the timer start event has no timer value"}
		}
		v, err := t.Value.Program.Eval(noVars{now})
		if err != nil {
			return nil, &InvalidError{Field: n.ID, Reason: fmt.Sprintf("timer %q: %v (a timer start event has no variables to read)", t.Value.Source, err)}
		}
		nv, err := NormalizeValue(v)
		if err != nil {
			return nil, &InvalidError{Field: n.ID, Reason: fmt.Sprintf("timer %q: %v", t.Value.Source, err)}
		}
		sched, err := parseTimerValue(n, t.Type, nv)
		if err != nil {
			return nil, &InvalidError{Field: n.ID, Reason: err.Error()}
		}
		due := sched.First(now)
		if due.IsZero() {
			continue
		}
		id, err := newID()
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, &Job{ID: id, Kind: JobTimer, DefinitionID: def.ID, ElementID: n.ID, State: JobActive,
			DueAt: due, CreatedAt: now, Timer: timerSpec(sched)})
	}
	return jobs, nil
}

// noVars is the lookup of a timer start event's expression: no variables,
// and now() at the deploy's time.
type noVars struct{ now time.Time }

func (noVars) Lookup(string) (any, bool) { return nil, false }

// Now implements expression.Clock.
func (v noVars) Now() time.Time { return v.now }
