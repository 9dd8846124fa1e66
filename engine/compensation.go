package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/batonbpm/baton/bpmn"
)

// Compensation (BPMN 2.0.2 §10.7, §13.5.5 and §13.5.6, as Camunda 7 runs it).
//
// An activity with a compensation handler (the activity marked
// isForCompensation that an association connects to the activity's
// compensation boundary event, or for a sub-process its compensation event
// sub-process) becomes compensable when it completes: a compensation record
// is kept for it. Activities that were terminated, or are still running,
// have none, so they are never compensated.
//
// A record is a Subscription of kind SubscribeCompensation, saved with the
// instance like the others but never correlated with messages or signals:
//
//   - ID is the id of the element instance that completed;
//   - ElementInstanceID, the holder, is the scope it completed in: the
//     process, a sub-process or a multi-instance body;
//   - ElementID is the activity, Name its handler; Name is empty for the
//     record of a completed scope without a handler of its own (below);
//   - CorrelationKey is the order of completion, a decimal number that grows
//     within the instance; a link (below) adds "/" and the id that holds
//     its contents.
//
// A scope that completes (a sub-process without a handler of its own, a
// multi-instance body) and holds records gets a record itself, with no
// handler, in its own scope: its records stay held by its id, and its local
// variables are kept, as a snapshot, under that id too (Camunda's event
// scope execution). Compensating such a record compensates what it holds,
// latest first (default compensation, §10.7.1). Each inner instance of a
// multi-instance activity with a handler is compensable on its own; its
// locals (loopCounter, the input element) are kept as a snapshot too. A
// sub-process whose handler is an activity drops the records it holds: the
// handler compensates it as a whole. One whose handler is a compensation
// event sub-process keeps them, with its snapshot: when it is compensated,
// the event sub-process runs with the snapshot as its local variables and
// holds a link, a record without handler whose contents are the
// sub-process's records, so that the compensation throws inside it reach
// them (the MIWG C.6.0 pattern). Records held by an element instance that
// ends without such a record (terminated, a handler, the process) are
// dropped with their snapshots.
//
// A compensation throw (intermediate throw or end event) compensates the
// records held by its scope, latest completion first, and, with activityRef,
// only those of that activity (for a multi-instance activity, all its
// completed inner instances; for a sub-process without a handler, its
// contents). Compensation never goes up to enclosing scopes, except from an
// event sub-process (other than a compensation one), which does not consume
// compensation in Camunda 7: a throw there also reaches the records of the
// scope the event sub-process runs in. Every record is compensated at most
// once: it is closed when its handler starts. A handler runs as an element
// instance inside the throw event, so that its variables resolve through the
// throw's scope as they are now, and with the snapshots of the scopes its
// record was kept in as local variables. As in Camunda 7, every handler of
// one throw starts in the same step, in reverse order of completion:
// handlers that complete at once are activated and complete in that order,
// handlers that wait (a user task, a job) run side by side. With
// waitForCompletion (the default), the throw completes when its last
// handler has completed, as its scope completes when its last child has;
// waitForCompletion="false" (which Camunda 7 ignores) starts the handlers in
// the throw's scope and continues at once. A throw with nothing to
// compensate passes.

// compensationHandler returns the handler that compensates activity n: the
// activity marked isForCompensation that is associated with its
// compensation boundary event, else, for a sub-process, its compensation
// event sub-process; nil when n has none.
func compensationHandler(n *bpmn.FlowNode) *bpmn.FlowNode {
	for _, b := range n.Boundaries {
		if b.EventKind() == bpmn.EventCompensation && b.CompensationHandler != nil && b.CompensationHandler.IsForCompensation {
			return b.CompensationHandler
		}
	}
	if n.Children != nil && n.Kind != bpmn.KindEventSubProcess {
		for _, esp := range n.Children.Nodes {
			if isCompensationESP(esp) {
				return esp
			}
		}
	}
	return nil
}

// isCompensationESP tells an event sub-process started by compensation.
func isCompensationESP(n *bpmn.FlowNode) bool {
	if n.Kind != bpmn.KindEventSubProcess || n.Children == nil {
		return false
	}
	for _, s := range n.Children.Nodes {
		if s.Kind == bpmn.KindStartEvent && s.EventKind() == bpmn.EventCompensation {
			return true
		}
	}
	return false
}

// isHandlerRun tells an element instance that runs a compensation handler.
func isHandlerRun(ei *ElementInstance) bool {
	return ei.node != nil && (ei.node.IsForCompensation || isCompensationESP(ei.node))
}

// compensationUnsupported tells why the engine cannot execute compensation
// or cancel event n, or "".
func compensationUnsupported(n *bpmn.FlowNode) string {
	switch n.EventKind() {
	case bpmn.EventCompensation:
		if n.Kind == bpmn.KindStartEvent {
			if n.Parent == nil || n.Parent.Kind != bpmn.KindEventSubProcess || n.Parent.Parent == nil {
				return "a compensation start event is executed only in an event sub-process of a sub-process, which compensates that sub-process; at process level nothing would start it"
			}
			return ""
		}
	case bpmn.EventCancel:
		if n.Kind == bpmn.KindEndEvent && (n.Parent == nil || n.Parent.Kind != bpmn.KindTransaction) {
			return "a cancel end event must be directly inside a transaction"
		}
		if n.Kind == bpmn.KindEndEvent && cancelBoundary(n.Parent) == nil {
			return fmt.Sprintf("transaction %s has no cancel boundary event to continue at after the cancellation", n.Parent.ID)
		}
	}
	return ""
}

// compensationWarning returns a warning about compensation throw n that
// executes but cannot do what the model seems to say, or "".
func compensationWarning(n *bpmn.FlowNode) string {
	if n.EventKind() != bpmn.EventCompensation || n.Kind == bpmn.KindStartEvent || n.Kind == bpmn.KindBoundaryEvent {
		return ""
	}
	a := n.Event().Activity
	if a == nil {
		return ""
	}
	// The throw reaches the activities of its own scope, and from an event
	// sub-process those of the scope it runs in, or, for a compensation
	// event sub-process, those of the sub-process it compensates (see
	// throwCompensation).
	for p := n.Parent; ; p = p.Parent {
		if a.Parent == p {
			return ""
		}
		if p == nil || p.Kind != bpmn.KindEventSubProcess {
			break
		}
	}
	return fmt.Sprintf("activityRef names %s, which is not in the scope of the throw event, so the throw compensates nothing; compensation reaches only the activities of the throw's own scope", a.ID)
}

// compensable runs when ei is about to complete (from leave): it keeps the
// compensation record of ei, if any, and tells whether ei's local variables
// are kept as the record's snapshot instead of being dropped. Nothing in it
// fails on the model, so an incident cannot stop it half done.
func (c *cmd) compensable(ei *ElementInstance) (keepLocals bool, err error) {
	if ei.node == nil || ei.Kind == kindProcess {
		return false, nil
	}
	held := c.holdsRecords(ei.ID)
	switch {
	case isHandlerRun(ei):
		// What a handler did is not compensated again.
		return false, nil
	case ei.Kind == KindMultiInstanceBody:
		if !held {
			return false, nil
		}
		return true, c.keepRecord(ei, "")
	}
	if h := compensationHandler(ei.node); h != nil {
		esp := h.Kind == bpmn.KindEventSubProcess
		if !esp {
			// The handler compensates the activity as a whole (BPMN 2.0.2
			// §10.7.1): what happened inside is not compensated on its own.
			c.dropRecords(ei.ID)
		}
		return isLoopInner(ei) || esp, c.keepRecord(ei, h.ID)
	}
	if !held {
		return false, nil
	}
	return true, c.keepRecord(ei, "")
}

// keepRecord adds the compensation record of ei, which completes now, with
// its handler ("" for a scope compensated by what it holds).
func (c *cmd) keepRecord(ei *ElementInstance, handler string) error {
	if c.compensationRecord(ei.ID) != nil {
		return fmt.Errorf("element %q (instance %d): expected one compensation record per completion, but it has one already", ei.ElementID, ei.ID)
	}
	c.subs = append(c.subs, &Subscription{ID: ei.ID, InstanceID: c.inst.ID, ElementInstanceID: ei.ScopeID, ElementID: ei.ElementID,
		Kind: SubscribeCompensation, Name: handler, CorrelationKey: strconv.FormatInt(c.nextRecordOrder(), 10), CreatedAt: c.now, dirty: true})
	return nil
}

// nextRecordOrder returns an order of completion greater than that of
// every compensation record the instance keeps. Ids cannot serve: they come
// from blocks that several engines take in turns.
func (c *cmd) nextRecordOrder() int64 {
	var last int64
	for _, sub := range c.subs {
		if sub.Kind == SubscribeCompensation {
			last = max(last, recordOrder(sub))
		}
	}
	return last + 1
}

// recordOrder returns the order of completion of compensation record sub.
func recordOrder(sub *Subscription) int64 {
	order, _, _ := strings.Cut(sub.CorrelationKey, "/")
	n, _ := strconv.ParseInt(order, 10, 64)
	return n
}

// recordContents returns the id that holds the records compensation record
// sub stands for: its own, or for a link the one it links to.
func recordContents(sub *Subscription) int64 {
	if _, to, ok := strings.Cut(sub.CorrelationKey, "/"); ok {
		if id, err := strconv.ParseInt(to, 10, 64); err == nil {
			return id
		}
	}
	return sub.ID
}

// isLink tells a compensation record that links to records held elsewhere.
func isLink(sub *Subscription) bool { return sub.Name == "" && recordContents(sub) != sub.ID }

// compensationRecord returns the open compensation record of the element instance id, or nil.
func (c *cmd) compensationRecord(id int64) *Subscription {
	for _, sub := range c.subs {
		if sub.Kind == SubscribeCompensation && !sub.Closed && sub.ID == id {
			return sub
		}
	}
	return nil
}

// holdsRecords tells whether open compensation records are held by holder.
func (c *cmd) holdsRecords(holder int64) bool {
	for _, sub := range c.subs {
		if sub.Kind == SubscribeCompensation && !sub.Closed && sub.ElementInstanceID == holder {
			return true
		}
	}
	return false
}

// records returns the open compensation records held by any of holders,
// latest completion first; a link is replaced by the records it links to.
func (c *cmd) records(holders ...int64) []*Subscription {
	var out []*Subscription
	var add func(holders []int64)
	add = func(holders []int64) {
		for _, sub := range c.subs {
			if sub.Kind == SubscribeCompensation && !sub.Closed && slices.Contains(holders, sub.ElementInstanceID) {
				if isLink(sub) {
					add([]int64{recordContents(sub)})
				} else {
					out = append(out, sub)
				}
			}
		}
	}
	add(holders)
	slices.SortFunc(out, func(a, b *Subscription) int {
		return cmp.Or(cmp.Compare(recordOrder(b), recordOrder(a)), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// closeRecord closes a compensation record and drops its snapshot.
func (c *cmd) closeRecord(sub *Subscription) {
	sub.Closed, sub.dirty = true, true
	c.dropLocals(sub.ID)
}

// dropRecords closes the records held by holder, and those they hold or
// link to.
func (c *cmd) dropRecords(holder int64) {
	for _, sub := range c.subs {
		if sub.Kind == SubscribeCompensation && !sub.Closed && sub.ElementInstanceID == holder {
			c.closeRecord(sub)
			c.dropRecords(recordContents(sub))
		}
	}
}

// endRecords runs when ei ends (see closeSubs): the records it holds stay
// only when ei completed and kept a record of its own, which holds them now.
func (c *cmd) endRecords(ei *ElementInstance) {
	if ei.State == ElementCompleted && ei.Kind != kindProcess && c.compensationRecord(ei.ID) != nil {
		return
	}
	c.dropRecords(ei.ID)
}

// throwCompensation runs compensation throw event ei (intermediate or end).
func (c *cmd) throwCompensation(ei *ElementInstance) error {
	def := ei.node.Event()
	activity := def.ActivityRef
	if def.Activity != nil {
		activity = def.Activity.ID
	}
	scope := c.eiByID(ei.ScopeID)
	if scope == nil {
		return fmt.Errorf("element %q (instance %d): expected a live scope, but it is missing", ei.ElementID, ei.ID)
	}
	// A throw inside an event sub-process compensates the scope the event
	// sub-process runs in as well (Camunda 7: an event sub-process does not
	// consume compensation), so that an error or message event sub-process
	// can undo what its scope did.
	holders := []int64{scope.ID}
	for s := scope; s.Kind == bpmn.KindEventSubProcess && !isCompensationESP(s.node); {
		if s = c.eiByID(s.ScopeID); s == nil {
			break
		}
		holders = append(holders, s.ID)
	}
	runIn := ei
	if !def.WaitForCompletion {
		runIn = scope
	}
	started, err := c.compensate(holders, activity, runIn)
	if err != nil {
		return err
	}
	if started == 0 || !def.WaitForCompletion {
		c.completeLater(ei)
	}
	return nil
}

// compensate starts the handlers of the records held by holders (only
// those of activity, when given), latest completion first, inside runIn.
// It returns how many handlers it started.
func (c *cmd) compensate(holders []int64, activity string, runIn *ElementInstance) (int, error) {
	started := 0
	for _, rec := range c.records(holders...) {
		if activity != "" && rec.ElementID != activity {
			continue
		}
		n, err := c.compensateRecord(rec, nil, runIn)
		if err != nil {
			return started, err
		}
		started += n
	}
	return started, nil
}

// compensateRecord closes record rec and starts its handler inside runIn,
// or, for a scope without one, compensates the records it holds, latest
// first. snaps are the records of the enclosing scopes, outermost first,
// whose snapshots the handler gets as local variables, then rec's own.
func (c *cmd) compensateRecord(rec *Subscription, snaps []int64, runIn *ElementInstance) (int, error) {
	rec.Closed, rec.dirty = true, true
	snaps = append(snaps[:len(snaps):len(snaps)], rec.ID)
	started := 0
	if rec.Name == "" {
		for _, inner := range c.records(rec.ID) {
			n, err := c.compensateRecord(inner, snaps, runIn)
			if err != nil {
				return started, err
			}
			started += n
		}
	} else {
		h := c.m.defs.Node(rec.Name)
		if h == nil {
			return started, fmt.Errorf("compensation record %d: expected handler %q in definition %s v%d, but it is missing", rec.ID, rec.Name, c.m.def.Key, c.m.def.Version)
		}
		run, err := c.activate(h, runIn)
		if err != nil {
			return started, err
		}
		if h.Kind == bpmn.KindEventSubProcess && c.holdsRecords(rec.ID) {
			// The compensation throws of the event sub-process reach the
			// records of the sub-process it compensates through a link.
			id, err := c.newID()
			if err != nil {
				return started, err
			}
			c.subs = append(c.subs, &Subscription{ID: id, InstanceID: c.inst.ID, ElementInstanceID: run.ID, ElementID: rec.ElementID,
				Kind: SubscribeCompensation, CorrelationKey: fmt.Sprintf("%d/%d", c.nextRecordOrder(), rec.ID), CreatedAt: c.now, dirty: true})
		}
		var snap []*Variable
		for _, s := range snaps {
			for _, v := range c.vars {
				if v.ScopeID == s && !v.Deleted {
					snap = append(snap, v)
				}
			}
		}
		for _, v := range snap {
			c.setLocal(run.ID, v.Name, v.Value)
		}
		started++
	}
	c.dropLocals(rec.ID)
	return started, nil
}
