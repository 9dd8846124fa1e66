package engine

import (
	"fmt"

	"github.com/batonbpm/baton/bpmn"
)

// Transactions (BPMN 2.0.2 §10.2.2, §13.5.6). A transaction sub-process runs
// as an embedded sub-process (behaviour subProcess); what makes it a
// transaction is its cancel end event. Reaching it cancels the transaction:
// everything else running inside is terminated, the transaction's completed
// activities are compensated (compensation.go) and the cancel end event waits
// for their handlers; then the transaction's cancel boundary event
// interrupts the transaction, and the process goes on from it. As in
// Camunda 7, on a multi-instance transaction the cancel of one instance
// cancels them all. A hazard (an error caught by a boundary event of the
// transaction) interrupts it without compensation, like any sub-process.

// cancelBoundary returns the cancel boundary event of transaction n, or nil.
func cancelBoundary(n *bpmn.FlowNode) *bpmn.FlowNode {
	for _, b := range n.Boundaries {
		if b.EventKind() == bpmn.EventCancel {
			return b
		}
	}
	return nil
}

// throwCancel runs cancel end event ei inside a transaction (BPMN 2.0.2
// §10.2.2): everything else running in the transaction is terminated, the
// transaction's completed activities are compensated (handlers run inside
// ei, latest completion first), and when the last handler has completed, ei
// completes and the transaction's cancel boundary event interrupts it (see
// completeCancel).
func (c *cmd) throwCancel(ei *ElementInstance) error {
	tx := c.eiByID(ei.ScopeID)
	if tx == nil {
		return fmt.Errorf("element %q (instance %d): expected a live transaction, but it is missing", ei.ElementID, ei.ID)
	}
	var others []*ElementInstance
	for _, x := range c.eis {
		if x.ScopeID == tx.ID && x != ei {
			others = append(others, x)
		}
	}
	for _, x := range others {
		if err := c.terminate(x); err != nil {
			return err
		}
	}
	for _, jt := range c.joins {
		if jt.ScopeID == tx.ID && jt.Count > 0 {
			jt.Count, jt.dirty = 0, true
		}
	}
	started, err := c.compensate([]int64{tx.ID}, "", ei)
	if err != nil {
		return err
	}
	if started == 0 {
		c.completeLater(ei)
	}
	return nil
}

// completeCancel completes cancel end event ei once its compensation is
// done, and triggers the cancel boundary event of its transaction, which
// always interrupts the transaction (for a multi-instance transaction, its
// body).
func (c *cmd) completeCancel(ei *ElementInstance) error {
	tx := c.eiByID(ei.ScopeID)
	if tx == nil || tx.node == nil || cancelBoundary(tx.node) == nil {
		return &IncidentError{ElementID: ei.ElementID, Type: "unsupported", Reason: "the cancel end event has no transaction with a cancel boundary event"}
	}
	b := cancelBoundary(tx.node)
	act := tx
	if isLoopInner(tx) {
		act = c.eiByID(tx.ScopeID)
	}
	if err := c.applyOutputs(ei); err != nil {
		return err
	}
	if err := c.transition(ei, ElementCompleted); err != nil {
		return err
	}
	c.dropLocals(ei.ID)
	if !b.Interrupting {
		// A cancel boundary event always interrupts (BPMN 2.0.2 §10.5.4).
		if err := c.terminate(act); err != nil {
			return err
		}
	}
	return c.triggerBoundary(act, b)
}
