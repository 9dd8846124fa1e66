package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/batonbpm/baton/bpmn"
)

// kindProcess is the Kind of a process instance's own element instance.
const kindProcess bpmn.Kind = "process"

// Phases an incident can stop an element in; a retry runs the phase again.
const (
	phaseActivate = "activate"
	phaseComplete = "complete"
)

type stepKind uint8

const (
	stepActivate stepKind = iota + 1
	stepComplete
	// stepTrigger delivers a buffered message to a subscription opened in
	// the command.
	stepTrigger
)

// step is one unit of work of a command's queue.
type step struct {
	kind stepKind
	ei   *ElementInstance
	sub  *Subscription
	vars Vars
}

// cmd is one command in progress: the instance state it loaded, the changes
// it made and its work queue. Behaviours record their effects on it; only
// save touches the Store.
type cmd struct {
	e    *Engine
	ctx  context.Context
	tx   Store
	info *CommandInfo
	now  time.Time
	m    *model

	inst    *Instance
	created bool
	prevRev int64
	// prevState is the instance's state as loaded ("" for a new instance).
	prevState InstanceState

	// eis are the live element instances; ended those that completed or
	// terminated in this command, kept until save.
	eis       []*ElementInstance
	ended     []*ElementInstance
	vars      []*Variable
	tasks     []*UserTask
	jobs      []*Job
	incidents []*Incident
	joins     []*JoinToken
	subs      []*Subscription
	history   []HistoryEvent

	queue []step
	// lookup resolves variables for expressions; its scope is set per evaluation.
	lookup scopeVars
	// changes is the buffer save fills.
	changes InstanceChanges
	// eiRows and jobRows hand out rows; rows a command ended without
	// handing them to the store for keeping (see InstanceSave) go back.
	eiRows  rows[ElementInstance]
	jobRows rows[Job]
	// handed is the copy of a job given to a Go handler; handedVars
	// computes its variables (visible from handedScope) on demand, made once
	// per pooled command so that handing a job allocates nothing.
	handed      Job
	handedScope int64
	handedVars  func() Vars
	// firstDue is the earliest due time of the jobs the command scheduled.
	firstDue time.Time
	// continuing is the element instance an async job continues: its
	// asynchronous continuation is passed, not taken again.
	continuing int64
	// caller is the call activity instance that starts the instance begin
	// creates, if any (see callactivity.go).
	caller callerLink
	// idNext and idEnd are the ids the command reserved and has not used.
	idNext, idEnd int64
	// varGen counts variable writes; visible caches the variables of
	// visScope as they were at visGen.
	varGen   uint64
	visScope int64
	visGen   uint64
	visVars  Vars
	// joinsToTry collects joins that received tokens while a node takes
	// its outgoing flows; they are tried after all flows are taken, so that
	// tokens in transit from the same split count.
	joinsToTry []*bpmn.FlowNode
	// cond is what the command knows of waiting conditional events.
	cond condState
}

type ctxKey struct{}

// WithCommandInfo returns a context whose commands are recorded in history as
// done by actor, for the request requestID.
func WithCommandInfo(ctx context.Context, actor, requestID string) context.Context {
	return context.WithValue(ctx, ctxKey{}, CommandInfo{Actor: actor, RequestID: requestID})
}

// cmdPool recycles commands and the buffers they grow (queue, element
// instances, history, changes), which would otherwise be allocated anew by
// every command.
var cmdPool = sync.Pool{New: func() any { return new(cmd) }}

func (e *Engine) newCmd(ctx context.Context, tx Store, name string, m *model) *cmd {
	info, _ := ctx.Value(ctxKey{}).(CommandInfo)
	info.Name = name
	info.Time = e.cfg.NowFunc().UTC()
	info.TraceID = TraceID(ctx)
	c := cmdPool.Get().(*cmd)
	if c.handedVars == nil {
		c.handedVars = func() Vars { return c.visibleShared(c.handedScope) }
	}
	c.e, c.ctx, c.tx, c.info, c.now, c.m = e, ctx, tx, &info, info.Time, m
	c.lookup.c = c
	return c
}

// release clears the command and returns it to the pool, keeping the
// capacity of its buffers. Rows it pointed to belong to the store now.
func (c *cmd) release() {
	c.e, c.ctx, c.tx, c.info, c.m, c.inst = nil, nil, nil, nil, nil, nil
	c.created, c.prevRev, c.prevState = false, 0, ""
	c.idNext, c.idEnd = 0, 0
	c.firstDue = time.Time{}
	c.continuing = 0
	c.caller = callerLink{}
	c.lookup = scopeVars{}
	c.handed = Job{}
	c.varGen, c.visScope, c.visGen, c.visVars = 0, 0, 0, nil
	c.eis = clearSlice(c.eis)
	for _, ei := range c.ended {
		c.eiRows.put(ei)
	}
	c.ended = clearSlice(c.ended)
	for _, j := range c.jobs {
		if j.fresh && j.State == JobCompleted {
			c.jobRows.put(j)
		}
	}
	c.vars = clearSlice(c.vars)
	c.tasks = clearSlice(c.tasks)
	c.jobs = clearSlice(c.jobs)
	c.incidents = clearSlice(c.incidents)
	c.joins = clearSlice(c.joins)
	c.subs = clearSlice(c.subs)
	c.history = clearSlice(c.history)
	c.queue = clearSlice(c.queue)
	c.joinsToTry = clearSlice(c.joinsToTry)
	c.cond.reset()
	ch := &c.changes
	ch.Instance, ch.Created, ch.PrevRevision = nil, false, 0
	ch.ElementInstances = clearSlice(ch.ElementInstances)
	ch.Variables = clearSlice(ch.Variables)
	ch.UserTasks = clearSlice(ch.UserTasks)
	ch.Jobs = clearSlice(ch.Jobs)
	ch.Incidents = clearSlice(ch.Incidents)
	ch.JoinTokens = clearSlice(ch.JoinTokens)
	ch.Subscriptions = clearSlice(ch.Subscriptions)
	ch.History = nil
	cmdPool.Put(c)
}

// clearSlice zeroes s, so the pool holds no pointers, and empties it.
func clearSlice[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// command runs fn as one command in a transaction of the store: a fresh
// cmd per attempt, released when the transaction is over.
func (e *Engine) command(ctx context.Context, name string, m *model, fn func(c *cmd) error) error {
	var c *cmd
	began := time.Now()
	ctx, span := e.startCommand(ctx, name)
	err := e.store.Tx(ctx, func(tx Store) error {
		if c != nil {
			c.release()
		}
		c = e.newCmd(ctx, tx, name, m)
		return fn(c)
	})
	e.observe(name, c, began, err)
	endCommand(span, c, err)
	if c != nil {
		c.release()
	}
	return err
}

// load takes the state an InstanceLock returned.
func (c *cmd) load(st *LiveState) error {
	c.inst = st.Instance
	c.prevRev, c.prevState = st.Instance.Revision, st.Instance.State
	c.eis = st.ElementInstances
	for _, ei := range c.eis {
		ei.dirty, ei.fresh = false, false
		if ei.Kind == kindProcess {
			continue
		}
		ei.node = c.m.defs.Node(ei.ElementID)
		if ei.node == nil {
			return fmt.Errorf("instance %d: expected element %q in definition %s v%d, but it is missing", c.inst.ID, ei.ElementID, c.m.def.Key, c.m.def.Version)
		}
	}
	c.vars, c.tasks, c.jobs, c.incidents, c.joins = st.Variables, st.UserTasks, st.Jobs, st.Incidents, st.JoinTokens
	c.subs = st.Subscriptions
	for _, sub := range c.subs {
		sub.dirty = false
	}
	// Rows read are clean: only what this command changes is saved.
	for _, v := range c.vars {
		v.dirty = false
	}
	for _, t := range c.tasks {
		t.dirty = false
	}
	for _, j := range c.jobs {
		j.dirty, j.fresh = false, false
	}
	for _, in := range c.incidents {
		in.dirty = false
	}
	for _, jt := range c.joins {
		jt.dirty = false
	}
	return nil
}

// save writes every changed row and the history of the command.
func (c *cmd) save() error {
	if err := c.enqueueFollowUps(); err != nil {
		return err
	}
	c.inst.Revision = c.prevRev + 1
	ch := &c.changes
	ch.Instance, ch.Created, ch.PrevRevision, ch.History = c.inst, c.created, c.prevRev, c.history
	for _, ei := range c.eis {
		if ei.dirty {
			ch.ElementInstances = append(ch.ElementInstances, ei)
		}
	}
	// An element instance created and ended by this command was never
	// visible outside it: history records it, and no row is written.
	for _, ei := range c.ended {
		if !ei.fresh {
			ch.ElementInstances = append(ch.ElementInstances, ei)
		}
	}
	for _, v := range c.vars {
		if v.dirty {
			ch.Variables = append(ch.Variables, v)
		}
	}
	for _, t := range c.tasks {
		if t.dirty {
			ch.UserTasks = append(ch.UserTasks, t)
		}
	}
	for _, j := range c.jobs {
		// A job a Go handler completed in the command that created it was
		// never visible outside the command: history records it, and its
		// row is not written.
		if j.dirty && !(j.fresh && j.State == JobCompleted) {
			ch.Jobs = append(ch.Jobs, j)
		}
	}
	for _, in := range c.incidents {
		if in.dirty {
			ch.Incidents = append(ch.Incidents, in)
		}
	}
	for _, jt := range c.joins {
		if jt.dirty {
			ch.JoinTokens = append(ch.JoinTokens, jt)
		}
	}
	for _, sub := range c.subs {
		if sub.dirty {
			ch.Subscriptions = append(ch.Subscriptions, sub)
		}
	}
	if err := c.tx.InstanceSave(c.ctx, ch); err != nil {
		return fmt.Errorf("save instance %d: %w", c.inst.ID, err)
	}
	return nil
}

// cmdIDs is how many ids a command takes from the engine at once, so that
// creating rows does not take the engine's lock for each.
const cmdIDs = 16

// newID returns a fresh id. Ids a command leaves unused are skipped; the
// id space is large enough not to care.
func (c *cmd) newID() (int64, error) {
	if c.idNext == c.idEnd {
		first, n, err := c.e.newIDs(c.ctx, cmdIDs)
		if err != nil {
			return 0, err
		}
		c.idNext, c.idEnd = first, first+n
	}
	id := c.idNext
	c.idNext++
	return id, nil
}

// record appends a history event about an element instance.
func (c *cmd) record(ei *ElementInstance, t EventType, detail string) {
	c.history = append(c.history, HistoryEvent{ElementInstanceID: ei.ID, ElementID: ei.ElementID, Type: t, Detail: detail, Command: c.info})
}

// legal tells whether an element instance may move from one state to another:
// activating → activated → completing → completed, and terminating →
// terminated from any live state.
func legal(from, to ElementState) bool {
	switch to {
	case ElementActivated:
		return from == ElementActivating
	case ElementCompleting:
		return from == ElementActivated
	case ElementCompleted:
		return from == ElementCompleting
	case ElementTerminating:
		return from == ElementActivating || from == ElementActivated || from == ElementCompleting
	case ElementTerminated:
		return from == ElementTerminating
	}
	return false
}

// stateEvent returns the history event of entering a state; passing states
// have none.
func stateEvent(s ElementState) (EventType, bool) {
	switch s {
	case ElementActivated:
		return EventActivated, true
	case ElementCompleted:
		return EventCompleted, true
	case ElementTerminated:
		return EventTerminated, true
	}
	return 0, false
}

// transition moves ei to state to and records it; an illegal move is a bug
// and fails the command.
func (c *cmd) transition(ei *ElementInstance, to ElementState) error {
	if !legal(ei.State, to) {
		return fmt.Errorf("element %q (instance %d): expected a legal lifecycle transition, but got %s → %s", ei.ElementID, ei.ID, ei.State, to)
	}
	ei.State = to
	ei.dirty = true
	if !to.Live() {
		// Only live instances stay in c.eis, so that scans of a scope
		// cost what is live, not everything the command has run.
		if i := slices.Index(c.eis, ei); i >= 0 {
			c.eis = slices.Delete(c.eis, i, i+1)
		}
		c.ended = append(c.ended, ei)
		if len(c.jobs) > 0 || len(c.subs) > 0 {
			c.unsubscribe(ei)
		}
	}
	if t, ok := stateEvent(to); ok {
		c.record(ei, t, "")
	}
	return nil
}

// eiByID returns the live element instance with the given id, or nil.
func (c *cmd) eiByID(id int64) *ElementInstance {
	for _, ei := range c.eis {
		if ei.ID == id {
			return ei
		}
	}
	return nil
}

// activate creates an element instance of n in scope and queues its activation.
func (c *cmd) activate(n *bpmn.FlowNode, scope *ElementInstance) (*ElementInstance, error) {
	id, err := c.newID()
	if err != nil {
		return nil, err
	}
	ei := c.newEI()
	*ei = ElementInstance{ID: id, InstanceID: c.inst.ID, ScopeID: scope.ID, ElementID: n.ID, Kind: instanceKind(n),
		State: ElementActivating, CreatedAt: c.now, node: n, dirty: true, fresh: true}
	c.eis = append(c.eis, ei)
	c.queue = append(c.queue, step{kind: stepActivate, ei: ei})
	return ei, nil
}

// slabChunk is how many rows a slab allocates at once.
const slabChunk = 8

// rows hands out zeroed rows of one type: reused ones first, else from a
// slab, which costs one allocation per chunk instead of one per row. Unused
// rows stay with the pooled command; used ones belong to the store unless
// given back with put.
type rows[T any] struct {
	free []*T
	slab []T
}

func (r *rows[T]) get() *T {
	if n := len(r.free); n > 0 {
		x := r.free[n-1]
		r.free = r.free[:n-1]
		return x
	}
	if len(r.slab) == 0 {
		r.slab = make([]T, slabChunk)
	}
	x := &r.slab[0]
	r.slab = r.slab[1:]
	return x
}

// put zeroes x and keeps it for reuse; x must not be referenced elsewhere.
func (r *rows[T]) put(x *T) {
	var zero T
	*x = zero
	r.free = append(r.free, x)
}

// newEI returns a zero element instance.
func (c *cmd) newEI() *ElementInstance { return c.eiRows.get() }

// newJob returns a zero job.
func (c *cmd) newJob() *Job { return c.jobRows.get() }

// completeLater queues the completion of ei.
func (c *cmd) completeLater(ei *ElementInstance) {
	c.queue = append(c.queue, step{kind: stepComplete, ei: ei})
}

// drain runs queued steps until every token waits. Business failures become
// incidents; any other error fails the command.
func (c *cmd) drain() error {
	for i := 0; ; i++ {
		if i == len(c.queue) {
			// Every token waits: conditional events see the variables
			// written meanwhile; what they fire is queued.
			if err := c.checkConditions(); err != nil {
				return err
			}
			if i == len(c.queue) {
				break
			}
		}
		st := c.queue[i]
		var err error
		phase := phaseActivate
		switch st.kind {
		case stepActivate:
			err = c.runActivate(st.ei)
		case stepComplete:
			phase = phaseComplete
			err = c.runComplete(st.ei)
		case stepTrigger:
			err = c.triggerSubscription(st.sub, st.vars)
		}
		if err != nil {
			var inc *IncidentError
			if !errors.As(err, &inc) {
				return err
			}
			if err := c.raise(st.ei, phase, inc, 0); err != nil {
				return err
			}
		}
	}
	c.queue = c.queue[:0]
	return nil
}

func (c *cmd) runActivate(ei *ElementInstance) error {
	if ei.State != ElementActivating && ei.State != ElementActivated {
		return nil // terminated while queued
	}
	if ei.State == ElementActivating {
		if c.asyncBefore(ei) {
			return c.continueLater(ei, AsyncBefore)
		}
		if err := c.applyInputs(ei); err != nil {
			return err
		}
		if err := c.transition(ei, ElementActivated); err != nil {
			return err
		}
		if ei.node != nil && len(ei.node.Boundaries) > 0 && !c.isInner(ei) {
			if err := c.subscribeBoundaries(ei); err != nil {
				return err
			}
		}
	}
	return c.behaviorFor(ei).activate(c, ei)
}

func (c *cmd) runComplete(ei *ElementInstance) error {
	switch ei.State {
	case ElementActivated:
		if err := c.transition(ei, ElementCompleting); err != nil {
			return err
		}
		if c.asyncAfter(ei) {
			return c.continueLater(ei, AsyncAfter)
		}
	case ElementCompleting: // a retry, or an asynchronous continuation
	default:
		return nil // terminated while queued
	}
	if ei.Kind == kindProcess {
		if c.inst.ParentInstanceID != 0 {
			return c.returnToCaller(ei) // a called instance: callactivity.go
		}
		return c.finishProcess(ei)
	}
	return c.behaviorFor(ei).complete(c, ei)
}

// raise stores an incident on ei: the element stops in its phase until the
// incident is retried; the rest of the instance goes on.
func (c *cmd) raise(ei *ElementInstance, phase string, inc *IncidentError, jobID int64) error {
	id, err := c.newID()
	if err != nil {
		return err
	}
	ei.Phase = phase
	ei.dirty = true
	c.incidents = append(c.incidents, &Incident{ID: id, InstanceID: c.inst.ID, ElementInstanceID: ei.ID, ElementID: ei.ElementID,
		Type: inc.Type, Message: inc.Reason, JobID: jobID, State: IncidentOpen, CreatedAt: c.now, dirty: true})
	c.record(ei, EventIncidentCreated, inc.Reason)
	return nil
}

// leave completes ei and takes flows: the end of every behaviour's complete.
// Output mappings run first; then joins that received tokens are tried, and
// the scope completes if nothing in it is left.
func (c *cmd) leave(ei *ElementInstance, flows []*bpmn.SequenceFlow) error {
	if err := c.applyOutputs(ei); err != nil {
		return err
	}
	if isLoopInner(ei) {
		// An inner instance of a loop goes back to its body, on no flow.
		if err := c.innerDone(ei); err != nil {
			return err
		}
		flows = nil
	}
	// A compensable activity keeps a compensation record, and some keep
	// their local variables as its snapshot (compensation.go).
	keep, err := c.compensable(ei)
	if err != nil {
		return err
	}
	if err := c.transition(ei, ElementCompleted); err != nil {
		return err
	}
	if !keep {
		c.dropLocals(ei.ID)
	}
	scope := c.eiByID(ei.ScopeID)
	for _, f := range flows {
		if err := c.takeFlow(f, scope); err != nil {
			return err
		}
	}
	return c.settle(scope)
}

// settle runs after a token left scope: it tries the joins that got tokens,
// re-checks waiting inclusive joins (a token that can no longer reach one may
// release it), and completes the scope when nothing in it is left.
func (c *cmd) settle(scope *ElementInstance) error {
	joins := c.joinsToTry
	c.joinsToTry = c.joinsToTry[:0]
	for _, g := range joins {
		if err := c.tryJoin(scope, g); err != nil {
			return err
		}
	}
	for _, jt := range c.joins {
		if jt.Count > 0 && jt.ScopeID == scope.ID {
			if g := c.m.defs.Node(jt.ElementID); g != nil && g.Kind == bpmn.KindInclusiveGateway {
				if err := c.tryJoin(scope, g); err != nil {
					return err
				}
			}
		}
	}
	return c.checkScope(scope)
}

// checkScope completes scope when no element instance lives in it and no
// token waits at a join in it (BPMN 2.0.2 §13.2: a sub-process whose tokens
// have all ended completes, end event or not).
func (c *cmd) checkScope(scope *ElementInstance) error {
	if scope.State != ElementActivated {
		return nil
	}
	for _, ei := range c.eis {
		if ei.ScopeID == scope.ID && ei.State.Live() {
			return nil
		}
	}
	for _, jt := range c.joins {
		if jt.ScopeID == scope.ID && jt.Count > 0 {
			return nil
		}
	}
	c.completeLater(scope)
	return nil
}

// takeFlow moves a token along f inside scope.
func (c *cmd) takeFlow(f *bpmn.SequenceFlow, scope *ElementInstance) error {
	c.history = append(c.history, HistoryEvent{ElementInstanceID: scope.ID, ElementID: f.ID, Type: EventFlowTaken, Command: c.info})
	t := f.Target
	if isJoin(t) {
		c.addJoinToken(scope, t, f)
		c.joinsToTry = append(c.joinsToTry, t)
		return nil
	}
	_, err := c.activate(t, scope)
	return err
}

// isJoin tells a gateway that waits for tokens on several incoming flows.
func isJoin(n *bpmn.FlowNode) bool {
	return (n.Kind == bpmn.KindParallelGateway || n.Kind == bpmn.KindInclusiveGateway) && len(n.Incoming) > 1
}

func (c *cmd) joinToken(scope *ElementInstance, g *bpmn.FlowNode, f *bpmn.SequenceFlow) *JoinToken {
	for _, jt := range c.joins {
		if jt.ScopeID == scope.ID && jt.ElementID == g.ID && jt.FlowID == f.ID {
			return jt
		}
	}
	return nil
}

func (c *cmd) addJoinToken(scope *ElementInstance, g *bpmn.FlowNode, f *bpmn.SequenceFlow) {
	jt := c.joinToken(scope, g, f)
	if jt == nil {
		jt = &JoinToken{InstanceID: c.inst.ID, ScopeID: scope.ID, ElementID: g.ID, FlowID: f.ID}
		c.joins = append(c.joins, jt)
	}
	jt.Count++
	jt.dirty = true
}

// tryJoin fires join g in scope when its condition holds: a parallel join
// when every incoming flow has a token; an inclusive join when at least one
// has and no token in the scope can still reach it.
func (c *cmd) tryJoin(scope *ElementInstance, g *bpmn.FlowNode) error {
	if scope.State != ElementActivated {
		return nil
	}
	arrived := 0
	for _, f := range g.Incoming {
		if jt := c.joinToken(scope, g, f); jt != nil && jt.Count > 0 {
			arrived++
		}
	}
	switch g.Kind {
	case bpmn.KindParallelGateway:
		if arrived < len(g.Incoming) {
			return nil
		}
	case bpmn.KindInclusiveGateway:
		if arrived == 0 || c.canStillReach(scope, g) {
			return nil
		}
	}
	for _, f := range g.Incoming {
		if jt := c.joinToken(scope, g, f); jt != nil && jt.Count > 0 {
			jt.Count--
			jt.dirty = true
		}
	}
	_, err := c.activate(g, scope)
	return err
}

// canStillReach tells whether a token in scope, other than those waiting at
// g, can still arrive at g: a live element instance, or tokens waiting at
// another join, from which a path leads to g.
func (c *cmd) canStillReach(scope *ElementInstance, g *bpmn.FlowNode) bool {
	reach := c.m.reach[g]
	for _, ei := range c.eis {
		if ei.ScopeID == scope.ID && ei.State.Live() && ei.node != nil && ei.node != g && reach[ei.node.Index] {
			return true
		}
	}
	for _, jt := range c.joins {
		if jt.ScopeID == scope.ID && jt.Count > 0 && jt.ElementID != g.ID {
			if n := c.m.defs.Node(jt.ElementID); n != nil && reach[n.Index] {
				return true
			}
		}
	}
	return false
}

// terminate ends ei and, first, everything inside it.
func (c *cmd) terminate(ei *ElementInstance) error {
	if !ei.State.Live() || ei.State == ElementTerminating {
		return nil
	}
	if err := c.transition(ei, ElementTerminating); err != nil {
		return err
	}
	if err := c.terminateChildren(ei); err != nil {
		return err
	}
	if ei.node != nil {
		if err := c.behaviorFor(ei).terminate(c, ei); err != nil {
			return err
		}
	}
	for _, in := range c.incidents {
		if in.ElementInstanceID == ei.ID && in.State == IncidentOpen {
			in.State, in.ResolvedAt, in.dirty = IncidentResolved, c.now, true
			c.record(ei, EventIncidentResolved, "element terminated")
		}
	}
	c.dropLocals(ei.ID)
	return c.transition(ei, ElementTerminated)
}

// terminateChildren terminates every live element instance in scope and
// drops the tokens waiting at its joins.
func (c *cmd) terminateChildren(scope *ElementInstance) error {
	var children []*ElementInstance
	for _, ch := range c.eis {
		if ch.ScopeID == scope.ID {
			children = append(children, ch)
		}
	}
	for _, ch := range children {
		if err := c.terminate(ch); err != nil {
			return err
		}
	}
	for _, jt := range c.joins {
		if jt.ScopeID == scope.ID && jt.Count > 0 {
			jt.Count, jt.dirty = 0, true
		}
	}
	return nil
}

// finishProcess completes the process instance.
func (c *cmd) finishProcess(ei *ElementInstance) error {
	if err := c.transition(ei, ElementCompleted); err != nil {
		return err
	}
	c.inst.State = InstanceCompleted
	c.inst.EndedAt = c.now
	// An ended instance keeps no live variables; history has every value.
	c.dropLocals(ei.ID)
	return nil
}
