package engine

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/expression"
)

// KindMultiInstanceBody is the Kind of the element instance that runs a
// multi-instance activity or a standard loop as a whole (BPMN 2.0.2
// §10.2.8, §13.3.7), as in Camunda 8. It has the activity's ElementID and
// takes the activity's place in its scope: it leaves on the activity's
// outgoing flows, and boundary events attach to it. Its children are the
// inner instances, one per iteration, with the activity's own Kind; they
// take no flows.
const KindMultiInstanceBody bpmn.Kind = "multiInstanceBody"

// Loop variables, named as in Camunda 7 (BPMN 2.0.2 §10.2.8). loopCounter
// is a local variable of each inner instance: its iteration, from 1. The
// nrOf… counters are local variables of a multi-instance body; a standard
// loop's body keeps loopCounter, the iterations done so far.
const (
	varLoopCounter   = "loopCounter"
	varNrOfInstances = "nrOfInstances"
	varNrOfActive    = "nrOfActiveInstances"
	varNrOfCompleted = "nrOfCompletedInstances"
)

// instanceKind is the Kind of the element instance a token creates for n:
// the body for an activity with loop characteristics.
func instanceKind(n *bpmn.FlowNode) bpmn.Kind {
	if n.Loop != nil {
		return KindMultiInstanceBody
	}
	return n.Kind
}

// isLoopInner tells an inner instance of a multi-instance or loop body.
func isLoopInner(ei *ElementInstance) bool {
	return ei.node != nil && ei.node.Loop != nil && ei.Kind != KindMultiInstanceBody
}

// behaviorFor returns the behaviour of ei: the body's for a loop body, else
// its element's. A body whose element the engine cannot execute gets the
// element's unsupported behaviour, so the incident stops the body itself.
func (c *cmd) behaviorFor(ei *ElementInstance) behavior {
	b := c.m.behavior(ei.node)
	if ei.Kind == KindMultiInstanceBody {
		if _, ok := b.(unsupported); !ok {
			return loopBody{}
		}
	}
	return b
}

// loopUnsupported tells why a loop cannot run, or "".
func loopUnsupported(l *bpmn.Loop) string {
	if !l.MultiInstance && l.LoopCondition == nil && l.LoopMaximum <= 0 {
		return "a standard loop with neither a loop condition nor a loop maximum never ends"
	}
	return ""
}

// loopBody runs a multi-instance activity or a standard loop: it creates the
// inner instances, all at once (parallel) or one after the other
// (sequential, standard loop), and completes when none is left.
type loopBody struct{}

func (loopBody) activate(c *cmd, body *ElementInstance) error {
	if body.node.Loop.MultiInstance {
		return c.miStart(body)
	}
	return c.loopStart(body)
}

// complete leaves on the activity's outgoing flows; the output collection
// of a multi-instance body is propagated to the enclosing scope first (as
// Camunda 8 does: where the variable exists, else the process instance).
func (loopBody) complete(c *cmd, body *ElementInstance) error {
	flows, err := c.outgoing(body)
	if err != nil {
		return err
	}
	if l := body.node.Loop; l.MultiInstance && l.OutputCollection != "" {
		if v := c.localVar(body.ID, l.OutputCollection); v != nil {
			c.setVar(body.ScopeID, l.OutputCollection, v.Value)
		}
	}
	return c.leave(body, flows)
}

// terminate needs nothing: the inner instances are children and end
// first; a terminated body propagates no partial output.
func (loopBody) terminate(c *cmd, body *ElementInstance) error { return nil }

// miStart evaluates the input of a multi-instance body, sets its counters
// and output collection, and creates the inner instances. Nothing changes
// until the input is good, so a retry of an incident starts afresh.
func (c *cmd) miStart(body *ElementInstance) error {
	l := body.node.Loop
	items, count, err := c.miInput(body)
	if err != nil {
		return err
	}
	active := count
	if l.Sequential {
		active = min(count, 1)
	}
	c.setLocal(body.ID, varNrOfInstances, int64(count))
	c.setLocal(body.ID, varNrOfActive, int64(active))
	c.setLocal(body.ID, varNrOfCompleted, int64(0))
	if l.OutputCollection != "" {
		c.setLocal(body.ID, l.OutputCollection, make([]any, count))
	}
	if count == 0 {
		// An empty input skips the activity (BPMN 2.0.2 §13.3.7).
		c.completeLater(body)
		return nil
	}
	for i := range active {
		var item any
		if items != nil {
			item = items[i]
		}
		if err := c.startInner(body, i+1, item); err != nil {
			return err
		}
	}
	return nil
}

// miInput returns the items of a multi-instance body's input collection
// (nil with loop cardinality) and how many instances to create. The input
// collection, when given, decides the count; else the loop cardinality.
// Values of the wrong kind are incidents naming the element and the value.
func (c *cmd) miInput(body *ElementInstance) (items []any, count int, err error) {
	l := body.node.Loop
	switch {
	case l.InputCollection != nil:
		items, err := c.miCollection(body)
		return items, len(items), err
	case l.Cardinality != nil:
		v, err := c.evalIn(body, body.ScopeID, l.Cardinality)
		if err != nil {
			return nil, 0, loopIncident(body, "loop cardinality", err)
		}
		n, ok := cardinality(v)
		if !ok {
			return nil, 0, &IncidentError{ElementID: body.ElementID, Type: IncidentExpression,
				Reason: fmt.Sprintf("multi-instance activity %q: loop cardinality %s gave %s %s; expected a non-negative integer", body.ElementID, l.Cardinality.Source, TypeOf(v), showValue(v))}
		}
		return nil, n, nil
	}
	return nil, 0, &IncidentError{ElementID: body.ElementID, Type: IncidentExpression,
		Reason: fmt.Sprintf("multi-instance activity %q has neither a loop cardinality nor an input collection", body.ElementID)}
}

// miCollection evaluates the input collection of a multi-instance body in
// the body's enclosing scope, so that the body's own variables (such as an
// output collection of the same name) never shadow it.
func (c *cmd) miCollection(body *ElementInstance) ([]any, error) {
	x := body.node.Loop.InputCollection
	v, err := c.loopValue(body, body.ScopeID, x)
	if err != nil {
		return nil, loopIncident(body, "input collection", err)
	}
	items, ok := v.([]any)
	if !ok {
		return nil, &IncidentError{ElementID: body.ElementID, Type: IncidentExpression,
			Reason: fmt.Sprintf("multi-instance activity %q: input collection %s gave %s %s; expected a list", body.ElementID, x.Source, TypeOf(v), showValue(v))}
	}
	return items, nil
}

// loopValue evaluates x in scope. A literal (no ${…}, no "=") names a
// variable, as camunda:collection, loopDataInputRef, outputDataItem and the
// early zeebe:loopCharacteristics attributes do.
func (c *cmd) loopValue(ei *ElementInstance, scope int64, x *bpmn.Expression) (any, error) {
	if p := x.Program; p != nil && p.Dialect() == expression.Literal {
		name := strings.TrimSpace(x.Source)
		if v := c.findVar(scope, name); v != nil {
			return v.Value, nil
		}
		return nil, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression, Reason: fmt.Sprintf("unknown variable %q", name)}
	}
	return c.evalIn(ei, scope, x)
}

// loopIncident names the element and what was evaluated in an incident
// raised while evaluating it; other errors pass unchanged.
func loopIncident(ei *ElementInstance, what string, err error) error {
	if inc, ok := err.(*IncidentError); ok {
		return &IncidentError{ElementID: inc.ElementID, Type: inc.Type,
			Reason: fmt.Sprintf("%s %q: %s: %s", loopWord(ei.node.Loop), ei.ElementID, what, inc.Reason)}
	}
	return err
}

func loopWord(l *bpmn.Loop) string {
	if l.MultiInstance {
		return "multi-instance activity"
	}
	return "loop activity"
}

// cardinality converts a loop cardinality value: a non-negative integer, an
// integral float (JUEL and FEEL arithmetic) or a numeric string (a literal
// such as <loopCardinality>3</loopCardinality>).
func cardinality(v any) (int, bool) {
	const limit = 1 << 31
	switch n := v.(type) {
	case int64:
		return int(n), n >= 0 && n < limit
	case float64:
		return int(n), n >= 0 && n < limit && n == float64(int64(n))
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64); err == nil {
			return cardinality(i)
		}
	}
	return 0, false
}

// showValue formats a value for an incident message, shortened.
func showValue(v any) string {
	var s string
	if str, ok := v.(string); ok {
		s = fmt.Sprintf("%q", str)
	} else {
		s = fmt.Sprintf("%v", v)
	}
	const max = 80
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// startInner creates inner instance number counter (from 1) of body with
// its local variables: loopCounter, the input element, and the output
// element set to null (as Camunda 8 does) when it is a plain variable, so
// that what each instance writes to it stays its own.
func (c *cmd) startInner(body *ElementInstance, counter int, item any) error {
	n := body.node
	ei, err := c.activate(n, body)
	if err != nil {
		return err
	}
	ei.Kind = n.Kind
	c.setLocal(ei.ID, varLoopCounter, int64(counter))
	if l := n.Loop; l.MultiInstance {
		if l.InputElement != "" && l.InputCollection != nil {
			c.setLocal(ei.ID, l.InputElement, item)
		}
		if name := refName(l.OutputElement); name != "" && l.OutputCollection != "" && name != l.InputElement && name != varLoopCounter {
			c.setLocal(ei.ID, name, nil)
		}
	}
	return nil
}

// refName returns the variable an expression reads when it is nothing but
// a variable ("result", "=result", "${result}"), else "".
func refName(x *bpmn.Expression) string {
	if x == nil || x.Program == nil {
		return ""
	}
	s := strings.TrimSpace(x.Source)
	switch x.Program.Dialect() {
	case expression.FEEL:
		s = strings.TrimSpace(strings.TrimPrefix(s, "="))
	case expression.JUEL:
		if len(s) < 3 || (s[0] != '$' && s[0] != '#') || s[1] != '{' || s[len(s)-1] != '}' {
			return ""
		}
		s = strings.TrimSpace(s[2 : len(s)-1])
	}
	for i, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || i > 0 && unicode.IsDigit(r)) {
			return ""
		}
	}
	return s
}

// innerDone runs when an inner instance of a loop body leaves (from
// c.leave, after the inner instance's output mappings, while its variables
// still exist): the body collects the output, counts the instance, checks
// the completion or loop condition and starts the next instance of a
// sequential loop. Everything that can fail is evaluated before anything
// changes, so a retry of the incident runs it again from the start.
func (c *cmd) innerDone(ei *ElementInstance) error {
	body := c.eiByID(ei.ScopeID)
	if body == nil || body.Kind != KindMultiInstanceBody {
		return fmt.Errorf("element %q (instance %d): expected a live multi-instance body as its scope, but it is missing", ei.ElementID, ei.ID)
	}
	k, err := c.intLocal(ei, ei.ID, varLoopCounter)
	if err != nil {
		return err
	}
	if ei.node.Loop.MultiInstance {
		return c.miInnerDone(body, ei, k)
	}
	return c.loopInnerDone(body, ei, k)
}

// intLocal reads an integer loop variable of scope; a missing or changed
// one is an incident on ei.
func (c *cmd) intLocal(ei *ElementInstance, scope int64, name string) (int, error) {
	if v := c.localVar(scope, name); v != nil {
		if n, ok := cardinality(v.Value); ok {
			return n, nil
		}
		return 0, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression,
			Reason: fmt.Sprintf("%s %q: %s is %s %s; expected a non-negative integer", loopWord(ei.node.Loop), ei.ElementID, name, TypeOf(v.Value), showValue(v.Value))}
	}
	return 0, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression,
		Reason: fmt.Sprintf("%s %q: its variable %s is missing", loopWord(ei.node.Loop), ei.ElementID, name)}
}

// miInnerDone is innerDone for inner instance k of a multi-instance body.
func (c *cmd) miInnerDone(body, ei *ElementInstance, k int) error {
	l := ei.node.Loop
	n, err := c.intLocal(body, body.ID, varNrOfInstances)
	if err != nil {
		return err
	}
	completed, err := c.intLocal(body, body.ID, varNrOfCompleted)
	if err != nil {
		return err
	}
	completed++
	live := 0
	for _, x := range c.eis {
		if x.ScopeID == body.ID && x != ei && x.State.Live() {
			live++
		}
	}
	var out any
	if l.OutputCollection != "" && l.OutputElement != nil {
		if out, err = c.loopValue(ei, ei.ID, l.OutputElement); err != nil {
			return loopIncident(ei, "output element", err)
		}
	}
	active := live // parallel: the others still running
	if l.Sequential && completed < n {
		active = 1 // Camunda 7: always 1 while a sequential body runs
	}
	done := completed >= n
	if !done && l.CompletionCondition != nil {
		// The condition sees the inner instance's variables and the
		// counters as they are once this instance is counted, under the
		// Camunda 7 and the Camunda 8 names.
		counters := map[string]any{
			varNrOfInstances: int64(n), varNrOfActive: int64(active), varNrOfCompleted: int64(completed),
			"numberOfInstances": int64(n), "numberOfActiveInstances": int64(active),
			"numberOfCompletedInstances": int64(completed), "numberOfTerminatedInstances": int64(0),
		}
		if done, err = c.loopCondition(ei, ei.ID, l.CompletionCondition, counters); err != nil {
			return loopIncident(ei, "completion condition", err)
		}
	}
	next, item := 0, any(nil)
	if l.Sequential && !done {
		next = k + 1
		if l.InputCollection != nil {
			items, err := c.miCollection(body)
			if err != nil {
				return err
			}
			if len(items) < next {
				return &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression,
					Reason: fmt.Sprintf("multi-instance activity %q: input collection %s now has %d items; instance %d needs item %d", ei.ElementID, l.InputCollection.Source, len(items), next, next)}
			}
			item = items[next-1]
		}
	}

	if l.OutputCollection != "" {
		// A fresh list: setLocal compares with the old value to record the change.
		var list []any
		if v := c.localVar(body.ID, l.OutputCollection); v != nil {
			list, _ = v.Value.([]any)
		}
		list = slices.Clone(list)
		if len(list) < n {
			list = append(list, make([]any, n-len(list))...)
		}
		if k >= 1 && k <= len(list) {
			list[k-1] = out
		}
		c.setLocal(body.ID, l.OutputCollection, list)
	}
	c.setLocal(body.ID, varNrOfCompleted, int64(completed))
	switch {
	case next > 0:
		return c.startInner(body, next, item) // nrOfActiveInstances stays 1
	case done:
		// The remaining instances are cancelled (BPMN 2.0.2 §13.3.7); the
		// body completes when this one has left.
		var rest []*ElementInstance
		for _, x := range c.eis {
			if x.ScopeID == body.ID && x != ei && x.State.Live() {
				rest = append(rest, x)
			}
		}
		for _, x := range rest {
			if err := c.terminate(x); err != nil {
				return err
			}
		}
		live = 0
	}
	c.setLocal(body.ID, varNrOfActive, int64(live))
	return nil
}

// loopInnerDone is innerDone for iteration k of a standard loop: the loop
// goes on while loopMaximum allows and the loop condition holds, evaluated
// in the iteration's scope after it (testBefore false) or in the body's
// scope before the next one (testBefore true), seeing loopCounter = k.
func (c *cmd) loopInnerDone(body, ei *ElementInstance, k int) error {
	l := ei.node.Loop
	more := l.LoopMaximum <= 0 || k < l.LoopMaximum
	if more && l.LoopCondition != nil {
		scope := ei.ID
		if l.TestBefore {
			scope = body.ID
		}
		var err error
		if more, err = c.loopCondition(ei, scope, l.LoopCondition, map[string]any{varLoopCounter: int64(k)}); err != nil {
			return loopIncident(ei, "loop condition", err)
		}
	}
	c.setLocal(body.ID, varLoopCounter, int64(k))
	if more {
		return c.startInner(body, k+1, nil)
	}
	return nil
}

// loopStart starts a standard loop: the first iteration, unless the loop
// tests before and its condition is false at once.
func (c *cmd) loopStart(body *ElementInstance) error {
	l := body.node.Loop
	if l.TestBefore && l.LoopCondition != nil {
		ok, err := c.loopCondition(body, body.ID, l.LoopCondition, map[string]any{varLoopCounter: int64(0)})
		if err != nil {
			return loopIncident(body, "loop condition", err)
		}
		if !ok {
			c.setLocal(body.ID, varLoopCounter, int64(0))
			c.completeLater(body)
			return nil
		}
	}
	c.setLocal(body.ID, varLoopCounter, int64(0))
	return c.startInner(body, 1, nil)
}

// loopCondition evaluates a completion or loop condition in scope, where
// the names in over read the given values instead of variables.
func (c *cmd) loopCondition(ei *ElementInstance, scope int64, x *bpmn.Expression, over map[string]any) (bool, error) {
	if x.Program == nil {
		return false, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression, Reason: fmt.Sprintf("expression %q did not compile", x.Source)}
	}
	look := &loopLookup{scopeVars: scopeVars{c: c, scope: scope}, over: over}
	ok, err := x.Program.EvalBool(look)
	if err != nil {
		return false, c.evalError(ei, x, err)
	}
	return ok, nil
}

// loopLookup resolves variables in a scope, with loop counters laid over them.
type loopLookup struct {
	scopeVars
	over map[string]any
}

// Lookup implements expression.Lookup.
func (l *loopLookup) Lookup(name string) (any, bool) {
	if v, ok := l.over[name]; ok {
		return v, true
	}
	return l.scopeVars.Lookup(name)
}
