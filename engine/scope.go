package engine

import (
	"reflect"
	"time"
)

// scopeVars resolves variables for expressions evaluated in an element
// instance: its own local variables first, then those of each enclosing
// scope up to the process instance.
type scopeVars struct {
	c     *cmd
	scope int64
}

// Lookup implements expression.Lookup.
func (s *scopeVars) Lookup(name string) (any, bool) {
	if v := s.c.findVar(s.scope, name); v != nil {
		return v.Value, true
	}
	return nil, false
}

// Now implements expression.Clock: expressions see the time of the command,
// so a retry of the same command evaluates now() alike.
func (s *scopeVars) Now() time.Time { return s.c.now }

// parentScope returns the id of the scope enclosing the element instance id, or 0.
func (c *cmd) parentScope(id int64) int64 {
	if id == c.inst.ID {
		return 0
	}
	if ei := c.eiByID(id); ei != nil {
		return ei.ScopeID
	}
	return 0
}

// localVar returns the live variable name of scope, or nil.
func (c *cmd) localVar(scope int64, name string) *Variable {
	for _, v := range c.vars {
		if v.ScopeID == scope && !v.Deleted && v.Name == name {
			return v
		}
	}
	return nil
}

// findVar walks from scope outwards and returns the first variable named name.
func (c *cmd) findVar(scope int64, name string) *Variable {
	for s := scope; s != 0; s = c.parentScope(s) {
		if v := c.localVar(s, name); v != nil {
			return v
		}
	}
	return nil
}

// setLocal writes a variable into scope and records the write.
func (c *cmd) setLocal(scope int64, name string, value any) {
	v := c.localVar(scope, name)
	ch := &VarChange{ScopeID: scope, Name: name, NewValue: value}
	if v == nil {
		v = &Variable{InstanceID: c.inst.ID, ScopeID: scope, Name: name}
		c.vars = append(c.vars, v)
		ch.Created = true
	} else {
		if reflect.DeepEqual(v.Value, value) {
			return
		}
		ch.OldValue = v.Value
	}
	v.Value, v.dirty = value, true
	c.varGen++
	c.history = append(c.history, HistoryEvent{ElementInstanceID: scope, ElementID: c.scopeElementID(scope), Type: EventVariableSet, Var: ch, Command: c.info})
}

// setVar writes a variable the way Camunda's setVariable does: where it
// already exists in the scope chain from scope outwards, else in the process
// instance scope.
func (c *cmd) setVar(scope int64, name string, value any) {
	if v := c.findVar(scope, name); v != nil {
		c.setLocal(v.ScopeID, name, value)
		return
	}
	c.setLocal(c.inst.ID, name, value)
}

// setVars checks and normalises every variable of vs (see NormalizeValue)
// and writes it with setVar, or locally into scope when local is set, in
// name order so history is deterministic. A bad value is an *InvalidError
// naming the variable; the command then fails and nothing is kept.
func (c *cmd) setVars(scope int64, vs Vars, local bool) error {
	if len(vs) == 0 {
		return nil
	}
	set := func(name string, raw any) error {
		if name == "" {
			return &InvalidError{Field: "variable name", Reason: "must not be empty"}
		}
		v, err := NormalizeValue(raw)
		if err != nil {
			return &InvalidError{Field: "variable " + name, Reason: err.Error()}
		}
		if local {
			c.setLocal(scope, name, v)
		} else {
			c.setVar(scope, name, v)
		}
		return nil
	}
	if len(vs) == 1 {
		for name, raw := range vs {
			return set(name, raw)
		}
	}
	for _, name := range vs.Names() {
		if err := set(name, vs[name]); err != nil {
			return err
		}
	}
	return nil
}

// dropLocals removes the local variables of an element instance that ended.
func (c *cmd) dropLocals(scope int64) {
	for _, v := range c.vars {
		if v.ScopeID == scope && !v.Deleted {
			v.Deleted, v.dirty = true, true
			c.varGen++
		}
	}
}

// visible returns every variable visible from scope, inner scopes shadowing outer ones.
func (c *cmd) visible(scope int64) Vars {
	var out Vars
	for s := scope; s != 0; s = c.parentScope(s) {
		for _, v := range c.vars {
			if v.ScopeID == s && !v.Deleted {
				if _, shadowed := out[v.Name]; !shadowed {
					if out == nil {
						out = Vars{}
					}
					out[v.Name] = v.Value
				}
			}
		}
	}
	return out
}

// visibleShared is visible(scope), computed again only after a variable
// write: consecutive jobs of one scope share the map, which is read-only.
func (c *cmd) visibleShared(scope int64) Vars {
	if c.visVars == nil || c.visScope != scope || c.visGen != c.varGen {
		c.visVars, c.visScope, c.visGen = c.visible(scope), scope, c.varGen
		if c.visVars == nil {
			c.visVars = Vars{}
		}
	}
	return c.visVars
}

func (c *cmd) scopeElementID(scope int64) string {
	if scope == c.inst.ID {
		return c.inst.Key
	}
	if ei := c.eiByID(scope); ei != nil {
		return ei.ElementID
	}
	return ""
}
