package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/batonbpm/baton/bpmn"
)

// Messages and signals reach instances through subscriptions. An element
// that waits for one opens a subscription (see subscribe); a message is
// correlated by name and correlation key to the oldest matching
// subscription, else starts an instance at a message start event, else is
// buffered for its time to live. A signal reaches every subscription of its
// name and starts an instance at every signal start event.

// eventName returns the message or signal name of event definition ed.
func eventName(n *bpmn.FlowNode, ed *bpmn.EventDefinition) (SubscriptionKind, string, *bpmn.Expression) {
	switch {
	case ed != nil && ed.Kind == bpmn.EventMessage && ed.Message != nil:
		return SubscribeMessage, ed.Message.Name, ed.CorrelationKey
	case ed != nil && ed.Kind == bpmn.EventSignal && ed.Signal != nil:
		return SubscribeSignal, ed.Signal.Name, nil
	case n.Kind == bpmn.KindReceiveTask && n.Task != nil && n.Task.Message != nil:
		return SubscribeMessage, n.Task.Message.Name, n.Task.CorrelationKey
	}
	return "", "", nil
}

// waitsForMessageOrSignal tells whether n opens a subscription when it
// waits: a message or signal catch event, or a receive task with a message.
func waitsForMessageOrSignal(n *bpmn.FlowNode) bool {
	k, name, _ := eventName(n, n.Event())
	return k != "" && name != ""
}

// subscribe opens the subscription of event (or receive task) n for the
// element instance waiting, its correlation key evaluated in the scope of
// evalIn. A message buffered for it is taken at once.
func (c *cmd) subscribe(waiting *ElementInstance, n *bpmn.FlowNode, evalIn *ElementInstance) error {
	kind, name, keyExpr := eventName(n, n.Event())
	if kind == "" || name == "" {
		return &IncidentError{ElementID: n.ID, Type: "noSubscription", Reason: "the event names no message or signal"}
	}
	key := ""
	if keyExpr != nil {
		v, err := c.evalIn(evalIn, evalIn.ID, keyExpr)
		if err != nil {
			return err
		}
		switch x := v.(type) {
		case string:
			key = x
		case int64:
			key = strconv.FormatInt(x, 10)
		case nil:
			return &IncidentError{ElementID: n.ID, Type: IncidentExpression, Reason: fmt.Sprintf("correlation key %q is null", keyExpr.Source)}
		default:
			return &IncidentError{ElementID: n.ID, Type: IncidentExpression,
				Reason: fmt.Sprintf("correlation key %q evaluated to %s %v, expected a string or a number", keyExpr.Source, TypeOf(v), v)}
		}
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	sub := &Subscription{ID: id, InstanceID: c.inst.ID, ElementInstanceID: waiting.ID, ElementID: n.ID, Kind: kind, Name: name,
		CorrelationKey: key, BusinessKey: c.inst.BusinessKey, CreatedAt: c.now, dirty: true}
	c.subs = append(c.subs, sub)
	if kind == SubscribeMessage {
		m, err := c.tx.MessageTake(c.ctx, name, key, c.now)
		if err != nil {
			return err
		}
		if m != nil {
			c.queue = append(c.queue, step{kind: stepTrigger, ei: waiting, sub: sub, vars: m.Variables})
		}
	}
	return nil
}

// closeSubs closes the open subscriptions of element instance ei, which
// has ended. Its compensation records follow their own rule (endRecords).
func (c *cmd) closeSubs(ei *ElementInstance) {
	for _, sub := range c.subs {
		if sub.ElementInstanceID == ei.ID && !sub.Closed && sub.Kind != SubscribeCompensation {
			sub.Closed, sub.dirty = true, true
		}
	}
	c.endRecords(ei)
}

// triggerSubscription delivers a message or signal with variables vs to
// subscription sub: a catch event or receive task completes, a boundary
// event or an event sub-process is triggered. A non-interrupting boundary
// event or event sub-process start keeps its subscription open.
func (c *cmd) triggerSubscription(sub *Subscription, vs Vars) error {
	waiting := c.eiByID(sub.ElementInstanceID)
	n := c.m.defs.Node(sub.ElementID)
	if sub.Closed || waiting == nil || !waiting.State.Live() || n == nil {
		return nil
	}
	ev := EventMessageCorrelated
	if sub.Kind == SubscribeSignal {
		ev = EventSignalReceived
	}
	if isEventGateway(waiting) {
		return c.eventGatewayOccurred(waiting, n, ev, sub.Name, vs)
	}
	c.history = append(c.history, HistoryEvent{ElementInstanceID: waiting.ID, ElementID: n.ID, Type: ev, Detail: sub.Name, Command: c.info})
	switch {
	case n.Kind == bpmn.KindIntermediateCatchEvent || n.Kind == bpmn.KindReceiveTask:
		sub.Closed, sub.dirty = true, true
		if err := c.setVars(waiting.ID, vs, false); err != nil {
			return err
		}
		c.completeLater(waiting)
		return nil
	case n.Kind == bpmn.KindBoundaryEvent:
		if n.Interrupting {
			sub.Closed, sub.dirty = true, true
		}
		if err := c.setVars(waiting.ScopeID, vs, false); err != nil {
			return err
		}
		return c.triggerBoundary(waiting, n)
	case n.Kind == bpmn.KindStartEvent && n.Parent != nil && n.Parent.Kind == bpmn.KindEventSubProcess:
		if n.Interrupting {
			sub.Closed, sub.dirty = true, true
		}
		if err := c.setVars(waiting.ID, vs, false); err != nil {
			return err
		}
		return c.triggerEventSubProcess(waiting, n)
	}
	return fmt.Errorf("subscription %d: element %s cannot wait for a %s", sub.ID, n, sub.Kind)
}

// startSubscriptions opens the subscriptions of the message and signal
// start events of process pr, deployed as definition def.
func startSubscriptions(def *Definition, pr *bpmn.Process, now time.Time, newID func() (int64, error)) ([]*Subscription, error) {
	var subs []*Subscription
	for _, n := range pr.Nodes {
		if n.Kind != bpmn.KindStartEvent {
			continue
		}
		kind, name, _ := eventName(n, n.Event())
		if kind == "" || name == "" {
			continue
		}
		id, err := newID()
		if err != nil {
			return nil, err
		}
		subs = append(subs, &Subscription{ID: id, DefinitionID: def.ID, ElementID: n.ID, Kind: kind, Name: name, CreatedAt: now})
	}
	return subs, nil
}

// MessageParams are the arguments of CorrelateMessage.
type MessageParams struct {
	// Name is the message's name; required.
	Name string
	// CorrelationKey selects the subscriptions opened with this key.
	CorrelationKey string
	// BusinessKey, when set, selects subscriptions of instances with this
	// business key, and is the business key of an instance the message starts.
	BusinessKey string
	// CorrelationVariables, when set, select subscriptions of instances
	// whose variables (seen from the waiting element) have these values:
	// Camunda 7's correlationKeys. With them, CorrelationKey is not compared.
	CorrelationVariables Vars
	Vars                 Vars
	// MessageID, when set, makes the message idempotent: a second message
	// with the same id is ErrConflict and changes nothing.
	MessageID string
	// TTL buffers a message no subscription waits for, for a subscription
	// opened within TTL. 0 makes such a message ErrNotFound.
	TTL time.Duration
}

// MessageResult tells where a message went.
type MessageResult struct {
	// InstanceID is the instance that received the message or was started
	// by it; 0 when the message was buffered.
	InstanceID int64
	// ElementID is the catching element or the start event.
	ElementID string
	Started   bool
	Buffered  bool
}

// MessageIDMaxLen is the longest MessageParams.MessageID accepted.
const MessageIDMaxLen = 255

// CorrelateMessage delivers a message to the oldest subscription waiting for
// its name and correlation key; else it starts an instance at a message
// start event of that name (latest versions); else it buffers the message
// for its TTL; else it is ErrNotFound.
func (e *Engine) CorrelateMessage(ctx context.Context, p *MessageParams) (*MessageResult, error) {
	switch {
	case p.Name == "":
		return nil, &InvalidError{Field: "name", Reason: "a message needs a name"}
	case len(p.MessageID) > MessageIDMaxLen:
		return nil, &InvalidError{Field: "messageId", Reason: fmt.Sprintf("is %d bytes long, at most %d are allowed", len(p.MessageID), MessageIDMaxLen)}
	case p.TTL < 0:
		return nil, &InvalidError{Field: "ttl", Reason: "must not be negative"}
	}
	vs, err := NormalizeVars(p.Vars)
	if err != nil {
		return nil, err
	}
	norm := *p
	norm.Vars = vs
	p = &norm
	if p.MessageID != "" {
		if _, err := e.store.MessageGet(ctx, p.MessageID); err == nil {
			return nil, &ConflictError{Reason: fmt.Sprintf("a message with id %q was published before", p.MessageID)}
		} else if !isNotFound(err) {
			return nil, err
		}
	}
	want, err := NormalizeVars(p.CorrelationVariables)
	if err != nil {
		return nil, err
	}
	find := &SubscriptionFindParams{Kind: SubscribeMessage, Name: p.Name}
	if len(want) == 0 {
		key := p.CorrelationKey
		find.CorrelationKey = &key
	}
	if len(want) == 0 && p.BusinessKey == "" {
		find.Limit = 20 // the first that is still open takes it
	}
	subs, err := e.store.SubscriptionFind(ctx, find)
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if p.BusinessKey != "" && sub.BusinessKey != p.BusinessKey {
			continue
		}
		res := &MessageResult{InstanceID: sub.InstanceID, ElementID: sub.ElementID}
		err := e.onInstance(ctx, "correlateMessage", sub.InstanceID, func(c *cmd) error {
			var open *Subscription
			for _, s := range c.subs {
				if s.ID == sub.ID && !s.Closed {
					open = s
				}
			}
			if open == nil {
				return errSubscriptionGone
			}
			for name, v := range want {
				if have := c.findVar(open.ElementInstanceID, name); have == nil || !sameValue(have.Value, v) {
					return errSubscriptionGone // another instance's
				}
			}
			if err := c.consume(p, MessageConsumed); err != nil {
				return err
			}
			return c.triggerSubscription(open, p.Vars)
		})
		switch {
		case err == nil:
			return res, nil
		case errors.Is(err, errSubscriptionGone), isNotFound(err):
			continue // taken by another message meanwhile: try the next
		case errors.Is(err, ErrConflict) && !isDuplicateMessage(err):
			continue // the instance ended meanwhile
		}
		return nil, fmt.Errorf("correlate message %q: %w", p.Name, err)
	}
	starts, err := e.store.SubscriptionFind(ctx, &SubscriptionFindParams{Kind: SubscribeMessage, Name: p.Name, Starts: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(starts) > 0 {
		inst, err := e.startBySubscription(ctx, starts[0], "correlateMessage", p.Vars, p.BusinessKey, func(c *cmd) error { return c.consume(p, MessageConsumed) })
		if err != nil {
			return nil, fmt.Errorf("correlate message %q: %w", p.Name, err)
		}
		return &MessageResult{InstanceID: inst.ID, ElementID: starts[0].ElementID, Started: true}, nil
	}
	if p.TTL == 0 {
		return nil, &NotFoundError{What: "message subscription", ID: fmt.Sprintf("%s (correlation key %q)", p.Name, p.CorrelationKey)}
	}
	id, _, err := e.newIDs(ctx, 1)
	if err != nil {
		return nil, err
	}
	now := e.cfg.NowFunc()
	m := &Message{ID: id, Name: p.Name, CorrelationKey: p.CorrelationKey, BusinessKey: p.BusinessKey, MessageID: p.MessageID,
		Variables: p.Vars, State: MessageBuffered, ExpiresAt: now.Add(p.TTL), CreatedAt: now}
	if err := e.store.MessagePut(ctx, m); err != nil {
		return nil, fmt.Errorf("buffer message %q: %w", p.Name, err)
	}
	return &MessageResult{Buffered: true}, nil
}

// errSubscriptionGone: the subscription closed since it was found.
var errSubscriptionGone = errors.New("subscription gone")

// duplicateMessage is the conflict of a message id published twice.
type duplicateMessage struct{ ConflictError }

func isDuplicateMessage(err error) bool {
	var d *duplicateMessage
	return errors.As(err, &d)
}

// consume records message p as consumed in the command's transaction when
// it has an id, so that the id cannot be correlated twice.
func (c *cmd) consume(p *MessageParams, state MessageState) error {
	if p.MessageID == "" {
		return nil
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	err = c.tx.MessagePut(c.ctx, &Message{ID: id, Name: p.Name, CorrelationKey: p.CorrelationKey, BusinessKey: p.BusinessKey,
		MessageID: p.MessageID, State: state, ExpiresAt: c.now, CreatedAt: c.now})
	if errors.Is(err, ErrConflict) {
		return &duplicateMessage{ConflictError{Reason: fmt.Sprintf("a message with id %q was published before", p.MessageID)}}
	}
	return err
}

// startBySubscription starts an instance of the definition of start
// subscription sub at its start event, in a command named name that also
// runs extra.
func (e *Engine) startBySubscription(ctx context.Context, sub *Subscription, name string, vs Vars, businessKey string, extra func(c *cmd) error) (*Instance, error) {
	m, err := e.modelByID(ctx, e.store, sub.DefinitionID)
	if err != nil {
		return nil, err
	}
	start := m.defs.Node(sub.ElementID)
	if start == nil {
		return nil, fmt.Errorf("expected start event %q in definition %s v%d, but it is missing", sub.ElementID, m.def.Key, m.def.Version)
	}
	var inst *Instance
	err = e.command(ctx, name, m, func(c *cmd) error {
		if extra != nil {
			if err := extra(c); err != nil {
				return err
			}
		}
		if err := c.begin(start, vs, businessKey, ""); err != nil {
			return err
		}
		inst = c.inst
		return nil
	})
	return inst, err
}

// SignalResult tells what a signal reached.
type SignalResult struct {
	// Triggered counts the subscriptions of instances that received it;
	// Started the instances it started.
	Triggered, Started int
}

// BroadcastSignal delivers a signal to every subscription of its name, one
// command per instance, and starts an instance at every signal start event
// of that name (latest versions).
func (e *Engine) BroadcastSignal(ctx context.Context, name string, vs Vars) (*SignalResult, error) {
	if name == "" {
		return nil, &InvalidError{Field: "name", Reason: "a signal needs a name"}
	}
	vs, err := NormalizeVars(vs)
	if err != nil {
		return nil, err
	}
	subs, err := e.store.SubscriptionFind(ctx, &SubscriptionFindParams{Kind: SubscribeSignal, Name: name})
	if err != nil {
		return nil, err
	}
	res := &SignalResult{}
	done := map[int64]bool{}
	for _, sub := range subs {
		if done[sub.InstanceID] {
			continue
		}
		done[sub.InstanceID] = true
		n := 0
		err := e.onInstance(ctx, "broadcastSignal", sub.InstanceID, func(c *cmd) error {
			n = 0
			// Every subscription open when the signal arrived receives it,
			// even one a first trigger in this command closes.
			var open []*Subscription
			for _, s := range c.subs {
				if s.Kind == SubscribeSignal && s.Name == name && !s.Closed {
					open = append(open, s)
				}
			}
			for _, s := range open {
				if err := c.triggerSubscription(s, vs); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrConflict) && !isNotFound(err) {
			return res, fmt.Errorf("signal %q to instance %d: %w", name, sub.InstanceID, err)
		}
		res.Triggered += n
	}
	starts, err := e.store.SubscriptionFind(ctx, &SubscriptionFindParams{Kind: SubscribeSignal, Name: name, Starts: true})
	if err != nil {
		return res, err
	}
	for _, sub := range starts {
		if _, err := e.startBySubscription(ctx, sub, "broadcastSignal", vs, "", nil); err != nil {
			return res, fmt.Errorf("signal %q: start %s: %w", name, sub.ElementID, err)
		}
		res.Started++
	}
	return res, nil
}

// throwSignal schedules the broadcast of the signal of throw event ei: a
// job of no instance, run by the job executor once the command commits, so
// that the instances it reaches (this one included) see a committed state.
func (c *cmd) throwSignal(ei *ElementInstance) error {
	_, name, _ := eventName(ei.node, ei.node.Event())
	if name == "" {
		return &IncidentError{ElementID: ei.ElementID, Type: "noSignal", Reason: "the signal event names no signal"}
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	c.noteDue(c.now)
	return c.tx.JobsSave(c.ctx, []*Job{{ID: id, Kind: JobSignal, ElementID: ei.ElementID, DefinitionID: c.m.def.ID, Topic: name,
		State: JobActive, DueAt: c.now, CreatedAt: c.now}})
}

// broadcastJob runs signal job j, claimed by owner: it broadcasts the
// signal, then completes the job. A broadcast cut short is repeated when
// the lease expires: a signal is delivered at least once.
func (e *Engine) broadcastJob(ctx context.Context, j *Job, owner string) error {
	if j.State != JobActive || j.LeaseOwner != owner {
		return nil
	}
	if _, err := e.BroadcastSignal(ctx, j.Topic, nil); err != nil {
		return fmt.Errorf("signal job %d: %w", j.ID, err)
	}
	return e.completeFreeJob(ctx, j.ID, owner)
}

// completeFreeJob completes job id, which belongs to no instance, if owner
// still holds its lease.
func (e *Engine) completeFreeJob(ctx context.Context, id int64, owner string) error {
	return e.store.Tx(ctx, func(tx Store) error {
		job, err := tx.JobLock(ctx, id)
		if err != nil {
			return err
		}
		if job.State != JobActive || job.LeaseOwner != owner {
			return nil
		}
		job.State, job.LeaseOwner, job.LeaseUntil = JobCompleted, "", time.Time{}
		return tx.JobsSave(ctx, []*Job{job})
	})
}

// sameValue compares two normalized variable values; numbers compare by
// value, whatever their Go type.
func sameValue(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
