package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/expression"
	"github.com/batonbpm/baton/bpmn/timer"
)

// eval evaluates x in the scope of ei. An unknown variable is an incident (a
// person sets it and retries); any other failure, such as a variable of the
// wrong type, fails the command with a *VariableTypeError so the caller that
// supplied the value learns of it and nothing changes.
func (c *cmd) eval(ei *ElementInstance, x *bpmn.Expression) (any, error) {
	return c.evalIn(ei, ei.ID, x)
}

func (c *cmd) evalIn(ei *ElementInstance, scope int64, x *bpmn.Expression) (any, error) {
	if x.Program == nil {
		return nil, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression, Reason: fmt.Sprintf("expression %q did not compile", x.Source)}
	}
	c.lookup.scope = scope
	v, err := x.Program.Eval(&c.lookup)
	if err != nil {
		return nil, c.evalError(ei, x, err)
	}
	n, err := NormalizeValue(v)
	if err != nil {
		return nil, &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: err}
	}
	return n, nil
}

func (c *cmd) evalError(ei *ElementInstance, x *bpmn.Expression, err error) error {
	if errors.Is(err, expression.ErrUnknownVariable) {
		return &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression, Reason: err.Error()}
	}
	return &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: err}
}

// condition evaluates the condition of flow f in the scope of ei.
func (c *cmd) condition(ei *ElementInstance, f *bpmn.SequenceFlow) (bool, error) {
	x := f.Condition
	if x.Program == nil {
		return false, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression, Reason: fmt.Sprintf("condition of %s %q did not compile", f.ID, x.Source)}
	}
	c.lookup.scope = ei.ID
	ok, err := x.Program.EvalBool(&c.lookup)
	if err != nil {
		return false, c.evalError(ei, x, fmt.Errorf("condition of flow %s: %w", f.ID, err))
	}
	return ok, nil
}

// evalString evaluates x to a string; nil gives "".
func (c *cmd) evalString(ei *ElementInstance, x *bpmn.Expression, what string) (string, error) {
	if x == nil {
		return "", nil
	}
	v, err := c.eval(ei, x)
	if err != nil {
		return "", err
	}
	switch s := v.(type) {
	case nil:
		return "", nil
	case string:
		return s, nil
	case int64:
		return strconv.FormatInt(s, 10), nil
	}
	return "", &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: fmt.Errorf("%s: expected a string, but got %s", what, TypeOf(v))}
}

// evalList evaluates x to a list of strings: a list, or a comma-separated string.
func (c *cmd) evalList(ei *ElementInstance, x *bpmn.Expression, what string) ([]string, error) {
	if x == nil {
		return nil, nil
	}
	v, err := c.eval(ei, x)
	if err != nil {
		return nil, err
	}
	var out []string
	switch l := v.(type) {
	case nil:
	case string:
		for _, p := range strings.Split(l, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	case []any:
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				return nil, &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: fmt.Errorf("%s: expected a list of strings, but it holds a %s", what, TypeOf(e))}
			}
			out = append(out, s)
		}
	default:
		return nil, &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: fmt.Errorf("%s: expected a list or comma-separated string, but got %s", what, TypeOf(v))}
	}
	return out, nil
}

// evalTime evaluates x to a point in time: a date-time value, an ISO 8601
// date-time string, or an ISO 8601 duration from now.
func (c *cmd) evalTime(ei *ElementInstance, x *bpmn.Expression, what string) (*time.Time, error) {
	if x == nil {
		return nil, nil
	}
	v, err := c.eval(ei, x)
	if err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case nil:
		return nil, nil
	case time.Time:
		return &t, nil
	case string:
		if t == "" {
			return nil, nil
		}
		kind := "timeDate"
		if strings.HasPrefix(strings.ToUpper(t), "P") {
			kind = "timeDuration"
		}
		s, err := timer.Parse(kind, t)
		if err != nil {
			return nil, &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: fmt.Errorf("%s: %w", what, err)}
		}
		at := s.First(c.now)
		return &at, nil
	}
	return nil, &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: fmt.Errorf("%s: expected a date-time or ISO 8601 string, but got %s", what, TypeOf(v))}
}

// evalInt evaluates x to an integer: a number or a numeric string.
func (c *cmd) evalInt(ei *ElementInstance, x *bpmn.Expression, what string, def int) (int, error) {
	if x == nil {
		return def, nil
	}
	v, err := c.eval(ei, x)
	if err != nil {
		return 0, err
	}
	switch n := v.(type) {
	case nil:
		return def, nil
	case int64:
		return int(n), nil
	case float64:
		return int(n), nil
	case string:
		if i, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			return i, nil
		}
	}
	return 0, &VariableTypeError{ElementID: ei.ElementID, Expression: x.Source, Err: fmt.Errorf("%s: expected an integer, but got %s %v", what, TypeOf(v), v)}
}

// applyInputs evaluates the input mappings of ei in its enclosing scope and
// writes them as local variables of ei. The mappings of a loop activity
// apply to each inner instance, not to the body, and see the inner
// instance's loopCounter and input element (as in Camunda 8).
func (c *cmd) applyInputs(ei *ElementInstance) error {
	n := ei.node
	if n == nil || len(n.Inputs) == 0 || ei.Kind == KindMultiInstanceBody {
		return nil
	}
	scope := ei.ScopeID
	if isLoopInner(ei) {
		scope = ei.ID
	}
	for _, m := range n.Inputs {
		var v any
		if m.Source != nil {
			var err error
			if v, err = c.evalIn(ei, scope, m.Source); err != nil {
				return err
			}
		}
		c.setLocal(ei.ID, m.Target, v)
	}
	return nil
}

// applyOutputs evaluates the output mappings of ei in its own scope and
// writes them outwards from the enclosing scope (a loop body's apply to
// each inner instance instead, and write outwards from the inner instance,
// so that a mapping to its output element sets its own, as in Camunda 8).
func (c *cmd) applyOutputs(ei *ElementInstance) error {
	n := ei.node
	if n == nil || len(n.Outputs) == 0 || ei.Kind == KindMultiInstanceBody {
		return nil
	}
	scope := ei.ScopeID
	if isLoopInner(ei) {
		scope = ei.ID
	}
	for _, m := range n.Outputs {
		var v any
		if m.Source != nil {
			var err error
			if v, err = c.eval(ei, m.Source); err != nil {
				return err
			}
		}
		c.setVar(scope, m.Target, v)
	}
	return nil
}
