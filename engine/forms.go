package engine

import (
	"context"
	"fmt"

	"github.com/batonbpm/baton/bpmn"
)

// What forms need from the engine: the model element of a user task or of
// a process's start, and the variables a task sees. Validation itself is
// package tasks' (the engine does not know forms).

// UserTaskNode returns the model element of user task t (its Human holds
// the form).
func (e *Engine) UserTaskNode(ctx context.Context, t *UserTask) (*bpmn.FlowNode, error) {
	inst, err := e.store.InstanceGet(ctx, t.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("user task %d: %w", t.ID, err)
	}
	m, err := e.modelByID(ctx, e.store, inst.DefinitionID)
	if err != nil {
		return nil, fmt.Errorf("user task %d: %w", t.ID, err)
	}
	n := m.defs.Node(t.ElementID)
	if n == nil {
		return nil, fmt.Errorf("user task %d: expected element %q in definition %s v%d, but it is missing", t.ID, t.ElementID, m.def.Key, m.def.Version)
	}
	return n, nil
}

// UserTaskVars returns the variables an open user task sees: those of its
// element instance and the scopes that contain it, the nearest winning. An
// ended task (or instance) sees none.
func (e *Engine) UserTaskVars(ctx context.Context, t *UserTask) (Vars, error) {
	st, err := e.store.InstanceLive(ctx, t.InstanceID)
	if err != nil {
		return nil, fmt.Errorf("variables of user task %d: %w", t.ID, err)
	}
	scopes := map[int64]int64{} // element instance → its scope
	for _, ei := range st.ElementInstances {
		scopes[ei.ID] = ei.ScopeID
	}
	depth := map[int64]int{}
	d := 0
	for id := t.ElementInstanceID; id != 0 && d < 1000; d++ {
		if _, seen := depth[id]; seen {
			break
		}
		depth[id] = d
		next, ok := scopes[id]
		if !ok || next == id {
			break
		}
		id = next
	}
	if _, ok := depth[t.InstanceID]; !ok { // the instance's own variables come last
		depth[t.InstanceID] = d
	}
	out := Vars{}
	best := map[string]int{}
	for _, v := range st.Variables {
		dv, ok := depth[v.ScopeID]
		if !ok || v.Deleted {
			continue
		}
		if b, seen := best[v.Name]; seen && b <= dv {
			continue
		}
		best[v.Name], out[v.Name] = dv, v.Value
	}
	return out, nil
}

// StartNode returns the none start event that Start with p starts from
// (its Human holds the start form), or an InvalidError when the process
// has none. An unknown key is ErrNotFound.
func (e *Engine) StartNode(ctx context.Context, p *StartParams) (*bpmn.FlowNode, error) {
	m, err := e.modelFor(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Key, err)
	}
	start := m.proc.NoneStart()
	if start == nil {
		return nil, &InvalidError{Field: "process " + m.def.Key, Reason: "it has no none start event; it can only be started by an event"}
	}
	return start, nil
}
