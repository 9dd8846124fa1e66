package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/expression"
)

// Call activities (BPMN 2.0.2 §10.2.5) start an instance of another
// process, the child, and wait until it completes. A command changes one
// instance, so everything that passes between the calling instance (the
// parent) and the child passes through jobs of kind JobCall, each run by
// the job executor after the command that created it committed. The job's
// Topic tells what it does:
//
//   - CallStart, a job of the parent's call activity instance. Activating
//     the call activity resolves the called definition by its binding
//     (latest; deployment: the version deployed with the parent's; version;
//     versionTag) and creates the job, which evaluates the input variables
//     and the business key in the parent, starts the child at its none
//     start event linked to the parent (Instance.ParentInstanceID and
//     ParentElementInstanceID), and then completes in the parent. The
//     child's StartKey is made of the call activity instance's id, so a job
//     run twice (a lease that expired) starts one child. A called process
//     that is not deployed is an incident on the call activity, retried
//     after a deploy; so is an input that cannot be evaluated.
//   - CallReturn, a job of the child. When the child's process completes,
//     its element instance stays "completing", its variables live, while
//     the job evaluates the output variables in the child, completes the
//     call activity in the parent with them (the parent goes on along its
//     outgoing flows), and then completes the child. Run again after a
//     crash, it completes the call activity only if it still waits.
//   - CallError and CallEscalation, jobs of the child. An error or an
//     escalation that nothing in the child catches goes to the call
//     activity, as one thrown inside a sub-process goes to its boundary
//     events and enclosing scopes, when a catcher on the way up the calling
//     instances will take it (the child reads, and does not change, the
//     calling instances to know). Then a thrower whose catch interrupts
//     waits to be cancelled with the child. Nothing catches: an error is an
//     incident on the thrower in the child (as in Camunda 8), an escalation
//     is recorded and the thrower goes on.
//   - CallCancel, a job of no instance: a call activity instance that is
//     terminated (the parent is cancelled, an interrupting boundary event
//     fires, a terminate end event ends its scope) cancels the child it
//     started.
//
// An incident in the child stays in the child, and the parent waits. A
// child cannot be cancelled on its own while its call activity waits for
// it (as in Camunda 8): cancelling the parent cancels it.
//
// Variables pass as the dialect of the call activity says:
//
//   - Camunda 7 (camunda:in, camunda:out). An in mapping reads in the call
//     activity's scope (a source variable, a sourceExpression, or
//     variables="all"; local="true" reads only the activity's own local
//     variables, such as its camunda:inputParameter) and writes a process
//     variable of the child; camunda:in businessKey is the child's business
//     key (#{execution.processBusinessKey} is the parent's). An out mapping
//     reads the child's process variables and writes like setVariable from
//     the call activity (local="true": as the activity's local variables,
//     which its camunda:outputParameter can read).
//   - Camunda 8 (zeebe:calledElement). The child gets every variable
//     visible from the call activity when propagateAllParentVariables (the
//     default), else only the activity's input mappings; the parent gets
//     every process variable of the child when propagateAllChildVariables
//     (the default): as local variables of the call activity when it has
//     output mappings, which then choose what goes on, else written like
//     setVariable.
//   - Plain BPMN: nothing passes, as in Camunda 7 without mappings.

// Call job topics: what a JobCall does.
const (
	// CallStart starts the child of a call activity instance.
	CallStart = "start"
	// CallReturn completes the call activity with the child's outputs,
	// then the child.
	CallReturn = "return"
	// CallError throws an error of the child at its call activity.
	CallError = "error"
	// CallEscalation throws an escalation of the child at its call activity.
	CallEscalation = "escalation"
	// CallCancel cancels the child of a terminated call activity instance.
	CallCancel = "cancel"
)

// IncidentCalledElement: a call activity cannot start its child; the called
// process is not deployed (in the version its binding asks for), or has no
// none start event. Deploy it and retry.
const IncidentCalledElement = "calledElementNotFound"

// callDepthMax bounds the calling instances an error or escalation looks
// through for a catcher.
const callDepthMax = 64

// Headers of call jobs.
const (
	hdrDefinition      = "definitionId"      // CallStart: the called definition
	hdrInstance        = "instanceId"        // CallCancel: the parent
	hdrElementInstance = "elementInstanceId" // CallCancel: the call activity instance
	hdrCode            = "code"              // CallError, CallEscalation
	hdrMessage         = "message"           // CallError
	hdrThrower         = "thrower"           // CallError, CallEscalation: the element instance that threw
	hdrWait            = "wait"              // CallEscalation: "true" when the thrower waits
)

// callStartKey is the StartKey of the child of call activity instance eiID.
func callStartKey(eiID int64) string { return "baton-call:" + strconv.FormatInt(eiID, 10) }

// callerLink is the call activity instance that starts a child, for begin.
type callerLink struct{ instanceID, elementInstanceID int64 }

// callActivity starts its child through a CallStart job and waits; the
// child's CallReturn job completes it.
type callActivity struct{ passThrough }

func (callActivity) activate(c *cmd, ei *ElementInstance) error {
	if c.callJob(ei, CallStart) != nil {
		return nil // activated again by a retry: the job is there
	}
	m, err := c.calledModel(ei)
	if err != nil {
		return err
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	j := c.newJob()
	*j = Job{ID: id, Kind: JobCall, Topic: CallStart, InstanceID: c.inst.ID, ElementInstanceID: ei.ID, ElementID: ei.ElementID,
		State: JobActive, Retries: c.e.cfg.JobRetries, DueAt: c.now, CreatedAt: c.now, BusinessKey: c.inst.BusinessKey,
		Headers: map[string]string{hdrDefinition: strconv.FormatInt(m.def.ID, 10)}, dirty: true, fresh: true}
	c.jobs = append(c.jobs, j)
	c.record(ei, EventJobCreated, fmt.Sprintf("call %s v%d", m.def.Key, m.def.Version))
	c.noteDue(c.now)
	return nil
}

// complete leaves on the outgoing flows; a start job that has not finished
// yet (the child returned first) is done.
func (callActivity) complete(c *cmd, ei *ElementInstance) error {
	if j := c.callJob(ei, CallStart); j != nil && j.State == JobActive {
		j.State, j.dirty = JobCompleted, true
	}
	return passThrough{}.complete(c, ei)
}

// terminate cancels the start job and, when a child may have been started,
// cancels the child after the commit.
func (callActivity) terminate(c *cmd, ei *ElementInstance) error {
	started := !c.hasIncident(ei.ID) // no job and an incident: resolving the called process failed
	if j := c.callJob(ei, CallStart); j != nil {
		// A job that failed, or that no executor has claimed, started nothing.
		started = j.State == JobActive && j.LeaseOwner != ""
		j.State, j.dirty = JobCanceled, true
	}
	if !started {
		return nil
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	c.noteDue(c.now)
	return c.tx.JobsSave(c.ctx, []*Job{{ID: id, Kind: JobCall, Topic: CallCancel, ElementID: ei.ElementID, State: JobActive,
		Retries: c.e.cfg.JobRetries, DueAt: c.now, CreatedAt: c.now,
		Headers: map[string]string{hdrInstance: strconv.FormatInt(c.inst.ID, 10), hdrElementInstance: strconv.FormatInt(ei.ID, 10)}}})
}

// callJob returns the active or failed call job of ei with topic, or nil.
func (c *cmd) callJob(ei *ElementInstance, topic string) *Job {
	for _, j := range c.jobs {
		if j.Kind == JobCall && j.Topic == topic && j.ElementInstanceID == ei.ID && (j.State == JobActive || j.State == JobFailed) {
			return j
		}
	}
	return nil
}

// callUnsupported tells why call activity n cannot run, or "".
func callUnsupported(n *bpmn.FlowNode) string {
	call := n.Call
	if call == nil || call.CalledElement == nil {
		return "the call activity names no process to call"
	}
	switch call.Binding {
	case "", "latest", "deployment":
	case "version":
		if strings.TrimSpace(call.Version) == "" {
			return `calledElementBinding "version" needs a calledElementVersion`
		}
	case "versionTag":
		if strings.TrimSpace(call.VersionTag) == "" {
			return `binding "versionTag" needs a version tag`
		}
	default:
		return fmt.Sprintf("called element binding %q is not executed; use latest, deployment, version or versionTag", call.Binding)
	}
	return ""
}

// calledModel resolves the definition call activity instance ei calls.
func (c *cmd) calledModel(ei *ElementInstance) (*model, error) {
	call := ei.node.Call
	key, err := c.evalString(ei, call.CalledElement, "called element")
	if err != nil {
		return nil, err
	}
	if key = strings.TrimSpace(key); key == "" {
		return nil, &IncidentError{ElementID: ei.ElementID, Type: IncidentCalledElement,
			Reason: fmt.Sprintf("called element %q gave no process key", call.CalledElement.Source)}
	}
	notFound := func(what string) error {
		return &IncidentError{ElementID: ei.ElementID, Type: IncidentCalledElement,
			Reason: fmt.Sprintf("called process %q%s is not deployed; deploy it and retry", key, what)}
	}
	var def *Definition
	switch call.Binding {
	case "version":
		v, err := c.calledVersion(ei)
		if err != nil {
			return nil, err
		}
		def, err = c.tx.DefinitionVersion(c.ctx, key, v)
		if isNotFound(err) {
			return nil, notFound(fmt.Sprintf(" (version %d)", v))
		}
		if err != nil {
			return nil, err
		}
	case "deployment", "versionTag":
		if def, err = c.calledByList(key, call); err != nil {
			return nil, err
		}
		if def == nil && call.Binding == "versionTag" {
			return nil, notFound(fmt.Sprintf(" with version tag %q", call.VersionTag))
		}
		if def == nil {
			return nil, notFound(fmt.Sprintf(" (in deployment %d of %s v%d, or before it)", c.m.def.DeploymentID, c.m.def.Key, c.m.def.Version))
		}
	default:
		id, err := c.tx.DefinitionLatestID(c.ctx, key)
		if isNotFound(err) {
			return nil, notFound("")
		}
		if err != nil {
			return nil, err
		}
		m, err := c.e.modelByID(c.ctx, c.tx, id)
		if err != nil {
			return nil, err
		}
		return m, checkCalled(ei, m)
	}
	m, err := c.e.model(def)
	if err != nil {
		return nil, err
	}
	return m, checkCalled(ei, m)
}

// checkCalled tells whether model m can be called: it needs a none start event.
func checkCalled(ei *ElementInstance, m *model) error {
	if m.proc.NoneStart() == nil {
		return &IncidentError{ElementID: ei.ElementID, Type: IncidentCalledElement,
			Reason: fmt.Sprintf("called process %s v%d has no none start event to start at", m.def.Key, m.def.Version)}
	}
	return nil
}

// calledVersion evaluates calledElementVersion: a number, or an expression
// that gives one.
func (c *cmd) calledVersion(ei *ElementInstance) (int, error) {
	src := strings.TrimSpace(ei.node.Call.Version)
	if v, err := strconv.Atoi(src); err == nil {
		return v, nil
	}
	prog, err := expression.Compile(src)
	if err != nil {
		return 0, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression, Reason: fmt.Sprintf("called element version %q: %v", src, err)}
	}
	v, err := c.evalString(ei, &bpmn.Expression{Source: src, Program: prog}, "called element version")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, &IncidentError{ElementID: ei.ElementID, Type: IncidentExpression, Reason: fmt.Sprintf("called element version %q gave %q, expected a version number", src, v)}
	}
	return n, nil
}

// calledByList finds the definition of key for the deployment binding (the
// version deployed with the calling definition; a process whose content did
// not change is not deployed again, so else the latest version deployed
// before it) or the versionTag binding (the latest version with the tag).
// It returns nil when none fits.
func (c *cmd) calledByList(key string, call *bpmn.CallActivity) (*Definition, error) {
	var found *Definition
	p := &DefinitionListParams{Key: key, Page: Page{Limit: PageLimitDefault}}
	for {
		defs, err := c.tx.DefinitionList(c.ctx, p)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			switch call.Binding {
			case "deployment":
				same := d.DeploymentID == c.m.def.DeploymentID
				if same || (!d.CreatedAt.After(c.m.def.CreatedAt) && (found == nil || found.DeploymentID != c.m.def.DeploymentID)) {
					found = d
				}
			case "versionTag":
				m, err := c.e.model(d)
				if err != nil {
					return nil, err
				}
				if m.proc.VersionTag == call.VersionTag {
					found = d
				}
			}
		}
		if len(defs) < p.Limit {
			return found, nil
		}
		p.After = Cursor(defs[len(defs)-1])
	}
}

// inspect runs fn on a command loaded with st, the live state of an
// instance of model m, that saves nothing: to evaluate expressions in, or
// walk the scopes of, an instance that the running command does not change.
func (e *Engine) inspect(ctx context.Context, tx Store, m *model, st *LiveState, fn func(c *cmd) error) error {
	c := e.newCmd(ctx, tx, "inspect", m)
	defer c.release()
	if err := c.load(st); err != nil {
		return err
	}
	return fn(c)
}

// executionVars lets call mappings read the instance as Camunda 7's
// execution object: #{execution.processBusinessKey}.
func (c *cmd) executionVars() map[string]any {
	return map[string]any{"execution": map[string]any{
		"processBusinessKey": c.inst.BusinessKey, "businessKey": c.inst.BusinessKey,
		"processInstanceId": strconv.FormatInt(c.inst.ID, 10), "processDefinitionKey": c.inst.Key,
	}}
}

// evalCall evaluates a call mapping's expression in the scope of ei. Every
// failure is an incident on ei: no caller supplied the values.
func (c *cmd) evalCall(ei *ElementInstance, x *bpmn.Expression, what string) (any, error) {
	fail := func(err error) error {
		return &IncidentError{ElementID: ei.ElementID, Type: IncidentMapping, Reason: fmt.Sprintf("%s %q: %v", what, x.Source, err)}
	}
	if x.Program == nil {
		return nil, fail(errors.New("it did not compile"))
	}
	v, err := x.Program.Eval(&loopLookup{scopeVars: scopeVars{c: c, scope: ei.ID}, over: c.executionVars()})
	if err != nil {
		return nil, fail(err)
	}
	n, err := NormalizeValue(v)
	if err != nil {
		return nil, fail(err)
	}
	return n, nil
}

// locals returns the live local variables of scope.
func (c *cmd) locals(scope int64) Vars {
	out := Vars{}
	for _, v := range c.vars {
		if v.ScopeID == scope && !v.Deleted {
			out[v.Name] = v.Value
		}
	}
	return out
}

// callInputs evaluates, in the parent, the variables and the business key
// call activity instance ei gives its child.
func (c *cmd) callInputs(ei *ElementInstance) (Vars, string, error) {
	call := ei.node.Call
	vs := Vars{}
	switch {
	case call.Zeebe && call.PropagateAllParentVariables:
		maps.Copy(vs, c.visible(ei.ID))
	case call.Zeebe:
		maps.Copy(vs, c.locals(ei.ID)) // the input mappings
	}
	for _, m := range call.In {
		target := cmp.Or(m.Target, m.Source)
		switch {
		case m.All && m.Local:
			maps.Copy(vs, c.locals(ei.ID))
		case m.All:
			maps.Copy(vs, c.visible(ei.ID))
		case target == "":
		case m.SourceExpression != nil:
			v, err := c.evalCall(ei, m.SourceExpression, "camunda:in sourceExpression")
			if err != nil {
				return nil, "", err
			}
			vs[target] = v
		case m.Local:
			vs[target] = nil
			if v := c.localVar(ei.ID, m.Source); v != nil {
				vs[target] = v.Value
			}
		default:
			vs[target] = nil
			if v := c.findVar(ei.ID, m.Source); v != nil {
				vs[target] = v.Value
			}
		}
	}
	bk := ""
	if call.BusinessKey != nil {
		v, err := c.evalCall(ei, call.BusinessKey, "camunda:in businessKey")
		if err != nil {
			return nil, "", err
		}
		switch x := v.(type) {
		case nil:
		case string:
			bk = x
		case int64:
			bk = strconv.FormatInt(x, 10)
		default:
			return nil, "", &IncidentError{ElementID: ei.ElementID, Type: IncidentMapping,
				Reason: fmt.Sprintf("camunda:in businessKey %q gave %s %s, expected a string", call.BusinessKey.Source, TypeOf(v), showValue(v))}
		}
	}
	return vs, bk, nil
}

// callOutput is one variable a child gives back to its call activity.
type callOutput struct {
	name  string
	value any
	// local writes it as a local variable of the call activity; zeebe
	// decides that by the activity's output mappings.
	local, zeebe bool
}

// callOutputs evaluates, in the child whose process element instance is
// proc, the variables it gives back to call activity n. Camunda 8 gives
// every variable when propagateAllChildVariables, and also when the call
// activity has output mappings, which read them.
func (c *cmd) callOutputs(proc *ElementInstance, n *bpmn.FlowNode) ([]callOutput, error) {
	call := n.Call
	var out []callOutput
	all := func(local, zeebe bool) {
		vs := c.locals(proc.ID)
		for _, name := range vs.Names() {
			out = append(out, callOutput{name: name, value: vs[name], local: local, zeebe: zeebe})
		}
	}
	if call.Zeebe && (call.PropagateAllChildVariables || len(n.Outputs) > 0) {
		all(false, true)
	}
	for _, m := range call.Out {
		target := cmp.Or(m.Target, m.Source)
		switch {
		case m.All:
			all(m.Local, false)
		case target == "":
		case m.SourceExpression != nil:
			v, err := c.evalCall(proc, m.SourceExpression, "camunda:out sourceExpression")
			if err != nil {
				return nil, err
			}
			out = append(out, callOutput{name: target, value: v, local: m.Local})
		default:
			var v any
			if x := c.findVar(proc.ID, m.Source); x != nil {
				v = x.Value
			}
			out = append(out, callOutput{name: target, value: v, local: m.Local})
		}
	}
	return out, nil
}

// errCallGone: the call activity instance a job serves no longer waits.
var errCallGone = errors.New("call activity gone")

// errNotCaught: nothing in the calling instances catches a child's throw.
var errNotCaught = errors.New("not caught by the caller")

// runCall runs call job j, claimed by owner. Each step is a command on one
// instance; a step cut short is repeated when the lease expires, and every
// step checks first whether it was done.
func (e *Engine) runCall(ctx context.Context, j *Job, owner string) error {
	if j.State != JobActive || j.LeaseOwner != owner {
		return nil
	}
	var err error
	switch j.Topic {
	case CallStart:
		err = e.callStart(ctx, j, owner)
	case CallReturn:
		err = e.callReturn(ctx, j, owner)
	case CallError, CallEscalation:
		err = e.callThrow(ctx, j, owner)
	case CallCancel:
		err = e.callCancel(ctx, j, owner)
	default:
		err = fmt.Errorf("expected a call job topic, but got %q", j.Topic)
	}
	if err != nil {
		return fmt.Errorf("call job %d (%s at %q): %w", j.ID, j.Topic, j.ElementID, err)
	}
	return nil
}

// ownJob returns the live job id of st when owner holds it, else nil.
func ownJob(st *LiveState, id int64, owner string) *Job {
	for _, j := range st.Jobs {
		if j.ID == id && j.State == JobActive && j.LeaseOwner == owner {
			return j
		}
	}
	return nil
}

// callStart runs CallStart job j: it evaluates the inputs in the parent,
// starts the child (once, by its StartKey) and completes the job.
func (e *Engine) callStart(ctx context.Context, j *Job, owner string) error {
	st, err := e.store.InstanceLive(ctx, j.InstanceID)
	if err != nil {
		return err
	}
	job := ownJob(st, j.ID, owner)
	if st.Instance.State != InstanceActive || job == nil {
		return nil
	}
	parent := *st.Instance
	pm, err := e.modelByID(ctx, e.store, parent.DefinitionID)
	if err != nil {
		return err
	}
	var (
		vs Vars
		bk string
	)
	err = e.inspect(ctx, e.store, pm, st, func(c *cmd) error {
		ei := c.eiByID(job.ElementInstanceID)
		if ei == nil || ei.State != ElementActivated || ei.node == nil || ei.node.Call == nil {
			return errCallGone
		}
		var err error
		vs, bk, err = c.callInputs(ei)
		return err
	})
	if errors.Is(err, errCallGone) {
		return nil // it ended: the job was cancelled with it
	}
	defID, _ := strconv.ParseInt(job.Headers[hdrDefinition], 10, 64)
	var child *Instance
	if err == nil {
		child, err = e.startCalled(ctx, &parent, job, defID, vs, bk)
	}
	if inc := (*IncidentError)(nil); errors.As(err, &inc) {
		return e.callFailed(ctx, parent.ID, j.ID, owner, inc)
	}
	if err != nil {
		return err
	}
	err = e.onInstance(ctx, "callStarted", parent.ID, func(c *cmd) error {
		var job *Job
		for _, x := range c.jobs {
			if x.ID == j.ID && x.State == JobActive {
				job = x
			}
		}
		switch {
		case job == nil:
			return errCallGone
		case job.LeaseOwner != owner:
			return errJobGone
		}
		job.State, job.LeaseOwner, job.LeaseUntil, job.dirty = JobCompleted, "", time.Time{}, true
		if ei := c.eiByID(job.ElementInstanceID); ei != nil {
			c.record(ei, EventJobCompleted, fmt.Sprintf("started instance %d of %s v%d", child.ID, child.Key, child.Version))
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errJobGone):
		return nil
	case errors.Is(err, errCallGone), errors.Is(err, ErrConflict):
		// The job was completed (the child returned already) or cancelled
		// with its call activity, maybe before the child started.
		if now, err := e.store.JobGet(ctx, j.ID); err != nil || now.State == JobCompleted {
			return err
		}
		return e.cancelCalled(ctx, child.ID)
	}
	return err
}

// startCalled starts the child of start job j of parent: an instance of
// definition defID with variables vs and business key bk, once.
func (e *Engine) startCalled(ctx context.Context, parent *Instance, j *Job, defID int64, vs Vars, bk string) (*Instance, error) {
	m, err := e.modelByID(ctx, e.store, defID)
	if err != nil {
		return nil, err
	}
	start := m.proc.NoneStart()
	if start == nil {
		return nil, &IncidentError{ElementID: j.ElementID, Type: IncidentCalledElement,
			Reason: fmt.Sprintf("called process %s v%d has no none start event to start at", m.def.Key, m.def.Version)}
	}
	key := callStartKey(j.ElementInstanceID)
	if inst, err := e.startedBefore(ctx, m.def.Key, key); inst != nil || err != nil {
		return inst, err
	}
	var inst *Instance
	err = e.command(ctx, "startCalled", m, func(c *cmd) error {
		c.caller = callerLink{instanceID: parent.ID, elementInstanceID: j.ElementInstanceID}
		if err := c.begin(start, vs, bk, key); err != nil {
			return err
		}
		inst = c.inst
		return nil
	})
	if errors.Is(err, ErrConflict) {
		// Another run of the job started it first.
		if before, err2 := e.startedBefore(ctx, m.def.Key, key); before != nil || err2 != nil {
			return before, err2
		}
	}
	return inst, err
}

// callFailed stops start job id with an incident on its call activity; a
// retry of the incident runs the job again.
func (e *Engine) callFailed(ctx context.Context, instanceID, id int64, owner string, inc *IncidentError) error {
	err := e.onInstance(ctx, "callFailed", instanceID, func(c *cmd) error {
		var job *Job
		for _, x := range c.jobs {
			if x.ID == id && x.State == JobActive && x.LeaseOwner == owner {
				job = x
			}
		}
		ei := (*ElementInstance)(nil)
		if job != nil {
			ei = c.eiByID(job.ElementInstanceID)
		}
		if ei == nil {
			return errJobGone
		}
		job.State, job.ErrorMessage, job.LeaseOwner, job.LeaseUntil, job.dirty = JobFailed, inc.Reason, "", time.Time{}, true
		c.record(ei, EventJobFailed, inc.Reason)
		return c.raise(ei, phaseActivate, inc, job.ID)
	})
	if errors.Is(err, errJobGone) || errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// returnToCaller is the completion of the process of a child: its element
// instance stays completing, with its variables, until the CallReturn job
// has handed the outputs to the caller (see callReturn).
func (c *cmd) returnToCaller(proc *ElementInstance) error {
	if c.callJob(proc, CallReturn) != nil {
		return nil
	}
	// The event sub-processes of the process do not start any more.
	for _, j := range c.jobs {
		if j.Kind == JobTimer && j.ElementInstanceID == proc.ID && j.State == JobActive {
			j.State, j.dirty = JobCanceled, true
		}
	}
	for _, sub := range c.subs {
		if sub.ElementInstanceID == proc.ID && !sub.Closed && (sub.Kind == SubscribeMessage || sub.Kind == SubscribeSignal) {
			sub.Closed, sub.dirty = true, true
		}
	}
	id, err := c.newID()
	if err != nil {
		return err
	}
	j := c.newJob()
	*j = Job{ID: id, Kind: JobCall, Topic: CallReturn, InstanceID: c.inst.ID, ElementInstanceID: proc.ID, ElementID: proc.ElementID,
		State: JobActive, Retries: c.e.cfg.JobRetries, DueAt: c.now, CreatedAt: c.now, BusinessKey: c.inst.BusinessKey, dirty: true, fresh: true}
	c.jobs = append(c.jobs, j)
	c.record(proc, EventJobCreated, fmt.Sprintf("return to instance %d", c.inst.ParentInstanceID))
	c.noteDue(c.now)
	return nil
}

// callReturn runs CallReturn job j of a child: it evaluates the outputs in
// the child, completes the call activity in the parent with them, then
// completes the child.
func (e *Engine) callReturn(ctx context.Context, j *Job, owner string) error {
	st, err := e.store.InstanceLive(ctx, j.InstanceID)
	if err != nil {
		return err
	}
	if st.Instance.State != InstanceActive || ownJob(st, j.ID, owner) == nil {
		return nil
	}
	child := *st.Instance
	outs, err := e.calledOutputs(ctx, st)
	if inc := (*IncidentError)(nil); errors.As(err, &inc) {
		// The outputs read the child's variables: the child has the incident.
		return e.finishCalled(ctx, j, owner, func(c *cmd, proc *ElementInstance) error {
			return c.raise(proc, phaseComplete, inc, 0)
		})
	}
	if err != nil {
		return err
	}
	if outs != nil {
		err = e.onInstance(ctx, "callReturned", child.ParentInstanceID, func(c *cmd) error {
			ei := c.eiByID(child.ParentElementInstanceID)
			if ei == nil || ei.State != ElementActivated || ei.node == nil || c.hasIncident(ei.ID) {
				return errCallGone
			}
			for _, o := range *outs {
				if o.local || (o.zeebe && len(ei.node.Outputs) > 0) {
					c.setLocal(ei.ID, o.name, o.value)
				} else {
					c.setVar(ei.ID, o.name, o.value)
				}
			}
			c.completeLater(ei)
			return nil
		})
		if err != nil && !errors.Is(err, errCallGone) && !errors.Is(err, ErrConflict) && !isNotFound(err) {
			return err
		}
	}
	return e.finishCalled(ctx, j, owner, func(c *cmd, proc *ElementInstance) error { return c.finishProcess(proc) })
}

// calledOutputs evaluates the outputs of the child st for its call
// activity; nil when the call activity no longer waits.
func (e *Engine) calledOutputs(ctx context.Context, st *LiveState) (*[]callOutput, error) {
	child := st.Instance
	pst, err := e.store.InstanceLive(ctx, child.ParentInstanceID)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil || pst.Instance.State != InstanceActive {
		return nil, err
	}
	pm, err := e.modelByID(ctx, e.store, pst.Instance.DefinitionID)
	if err != nil {
		return nil, err
	}
	var call *bpmn.FlowNode
	for _, ei := range pst.ElementInstances {
		if ei.ID == child.ParentElementInstanceID && ei.State == ElementActivated {
			if n := pm.defs.Node(ei.ElementID); n != nil && n.Call != nil {
				call = n
			}
		}
	}
	if call == nil {
		return nil, nil
	}
	cm, err := e.modelByID(ctx, e.store, child.DefinitionID)
	if err != nil {
		return nil, err
	}
	var outs []callOutput
	err = e.inspect(ctx, e.store, cm, st, func(c *cmd) error {
		proc := c.eiByID(c.inst.ID)
		if proc == nil {
			return errCallGone
		}
		var err error
		outs, err = c.callOutputs(proc, call)
		return err
	})
	if errors.Is(err, errCallGone) {
		return nil, nil
	}
	return &outs, err
}

// finishCalled completes CallReturn job j in the child and runs fn on the
// child's process element instance.
func (e *Engine) finishCalled(ctx context.Context, j *Job, owner string, fn func(c *cmd, proc *ElementInstance) error) error {
	err := e.onInstance(ctx, "callReturn", j.InstanceID, func(c *cmd) error {
		var job *Job
		for _, x := range c.jobs {
			if x.ID == j.ID && x.State == JobActive && x.LeaseOwner == owner {
				job = x
			}
		}
		proc := c.eiByID(c.inst.ID)
		if job == nil || proc == nil || proc.State != ElementCompleting {
			return errJobGone
		}
		job.State, job.LeaseOwner, job.LeaseUntil, job.dirty = JobCompleted, "", time.Time{}, true
		c.record(proc, EventJobCompleted, "")
		return fn(c, proc)
	})
	if errors.Is(err, errJobGone) || errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// throwToCaller hands an error or escalation that no scope of this instance
// catches to the call activity that started it, when a catcher on the way
// up the calling instances will take it: a CallError or CallEscalation job
// throws it there after the commit. It tells whether it went, and whether
// the thrower must wait for the catch that interrupts it (an error always
// does; an escalation when its catch interrupts).
func (c *cmd) throwToCaller(from *ElementInstance, kind bpmn.EventKind, code, message string) (caught, wait bool, err error) {
	if c.inst.ParentInstanceID == 0 {
		return false, false, nil
	}
	k, err := c.callerCatcher(kind, code)
	if err != nil || k == nil {
		return false, false, err
	}
	topic := CallError
	wait = true
	if kind == bpmn.EventEscalation {
		topic, wait = CallEscalation, k.Interrupting
	}
	id, err := c.newID()
	if err != nil {
		return false, false, err
	}
	h := map[string]string{hdrCode: code, hdrThrower: strconv.FormatInt(from.ID, 10)}
	if message != "" {
		h[hdrMessage] = message
	}
	if wait {
		h[hdrWait] = "true"
	}
	// The job waits for the process, not the thrower, which may go on.
	j := c.newJob()
	*j = Job{ID: id, Kind: JobCall, Topic: topic, InstanceID: c.inst.ID, ElementInstanceID: c.inst.ID, ElementID: from.ElementID,
		State: JobActive, Retries: c.e.cfg.JobRetries, DueAt: c.now, CreatedAt: c.now, BusinessKey: c.inst.BusinessKey, Headers: h,
		dirty: true, fresh: true}
	c.jobs = append(c.jobs, j)
	c.record(from, EventJobCreated, fmt.Sprintf("%s %q to instance %d", topic, code, c.inst.ParentInstanceID))
	c.noteDue(c.now)
	return true, wait, nil
}

// callerCatcher returns the event that catches a throw of kind and code
// from this instance's call activity, or from those that called its
// caller, up the chain; nil when none does. It reads the calling
// instances and changes nothing.
func (c *cmd) callerCatcher(kind bpmn.EventKind, code string) (*bpmn.FlowNode, error) {
	inst := c.inst
	for depth := 0; inst.ParentInstanceID != 0 && depth < callDepthMax; depth++ {
		st, err := c.tx.InstanceLive(c.ctx, inst.ParentInstanceID)
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if st.Instance.State != InstanceActive {
			return nil, nil
		}
		m, err := c.e.modelByID(c.ctx, c.tx, st.Instance.DefinitionID)
		if err != nil {
			return nil, err
		}
		var found *bpmn.FlowNode
		waiting := false
		err = c.e.inspect(c.ctx, c.tx, m, st, func(pc *cmd) error {
			ei := pc.eiByID(inst.ParentElementInstanceID)
			if ei == nil || ei.State != ElementActivated {
				return nil
			}
			waiting = true
			if k := pc.findCatcher(ei, kind, code); k != nil {
				found = k.event
			}
			return nil
		})
		if err != nil || found != nil || !waiting {
			return found, err
		}
		inst = st.Instance
	}
	return nil, nil
}

// escalateFrom throws an escalation with code from element instance from,
// which is not an event: a call activity whose child escalated. It tells
// whether a catcher took it.
func (c *cmd) escalateFrom(from *ElementInstance, code string) (bool, error) {
	k := c.findCatcher(from, bpmn.EventEscalation, code)
	if k == nil {
		caught, _, err := c.throwToCaller(from, bpmn.EventEscalation, code, "")
		return caught, err
	}
	scope, err := c.triggerCatch(k)
	if err != nil {
		return true, err
	}
	if v := k.event.Event().EscalationCodeVariable; v != "" {
		c.setVar(scope.ID, v, orNil(code))
	}
	return true, nil
}

// callThrow runs a CallError or CallEscalation job j of a child: it throws
// at the call activity in the parent, then completes the job in the child,
// where a throw nothing caught any more is an incident (an error) or goes
// on (an escalation).
func (e *Engine) callThrow(ctx context.Context, j *Job, owner string) error {
	child, err := e.store.InstanceGet(ctx, j.InstanceID)
	if err != nil {
		return err
	}
	code, message := j.Headers[hdrCode], j.Headers[hdrMessage]
	err = e.onInstance(ctx, "throwFromCalled", child.ParentInstanceID, func(c *cmd) error {
		ei := c.eiByID(child.ParentElementInstanceID)
		if ei == nil || ei.State != ElementActivated {
			return errCallGone
		}
		var caught bool
		var err error
		if j.Topic == CallError {
			caught, err = c.throwError(ei, code, message, nil)
		} else {
			caught, err = c.escalateFrom(ei, code)
		}
		if err == nil && !caught {
			err = errNotCaught
		}
		return err
	})
	notCaught := errors.Is(err, errNotCaught)
	if err != nil && !notCaught && !errors.Is(err, errCallGone) && !errors.Is(err, ErrConflict) && !isNotFound(err) {
		return err
	}
	err = e.onInstance(ctx, "thrownToCaller", child.ID, func(c *cmd) error {
		var job *Job
		for _, x := range c.jobs {
			if x.ID == j.ID && x.State == JobActive && x.LeaseOwner == owner {
				job = x
			}
		}
		if job == nil {
			return errJobGone
		}
		job.State, job.LeaseOwner, job.LeaseUntil, job.dirty = JobCompleted, "", time.Time{}, true
		thrower := c.eiByID(parseID(job.Headers[hdrThrower]))
		if !notCaught || thrower == nil || !thrower.State.Live() {
			return nil
		}
		if job.Topic == CallError {
			var workID int64
			for _, w := range c.jobs {
				if w.Kind == JobWork && w.ElementInstanceID == thrower.ID && w.State == JobFailed {
					workID = w.ID
				}
			}
			return c.raise(thrower, phaseActivate, uncaughtError(thrower.node, code, message), workID)
		}
		c.record(thrower, EventEscalationUncaught, fmt.Sprintf("escalation %q was not caught; the instance goes on", code))
		if job.Headers[hdrWait] == "true" && thrower.State == ElementActivated {
			c.completeLater(thrower)
		}
		return nil
	})
	if errors.Is(err, errJobGone) || errors.Is(err, ErrConflict) {
		return nil
	}
	return err
}

// parseID parses an id header; 0 when it is not one.
func parseID(s string) int64 {
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}

// callCancel runs CallCancel job j: it cancels the active children of the
// call activity instance named in its headers, then completes the job.
func (e *Engine) callCancel(ctx context.Context, j *Job, owner string) error {
	p := &InstanceListParams{ParentInstanceID: parseID(j.Headers[hdrInstance]), ParentElementInstanceID: parseID(j.Headers[hdrElementInstance]),
		State: InstanceActive, Page: Page{Limit: PageLimitDefault}}
	if p.ParentInstanceID == 0 || p.ParentElementInstanceID == 0 {
		return fmt.Errorf("expected the ids of the calling instance and call activity in the job's headers, but got %v", j.Headers)
	}
	for {
		list, err := e.store.InstanceList(ctx, p)
		if err != nil {
			return err
		}
		for _, child := range list {
			if err := e.cancelCalled(ctx, child.ID); err != nil {
				return err
			}
		}
		if len(list) < p.Limit {
			break
		}
		p.After = Cursor(list[len(list)-1])
	}
	return e.completeFreeJob(ctx, j.ID, owner)
}

// cancelCalled cancels child id, which its call activity no longer waits
// for; a child that ended meanwhile is left alone.
func (e *Engine) cancelCalled(ctx context.Context, id int64) error {
	err := e.Cancel(ctx, id)
	if errors.Is(err, ErrConflict) || isNotFound(err) {
		return nil
	}
	return err
}

// refuseCalledCancel refuses to cancel, on its own, a child whose call
// activity still waits for it: cancelling the parent cancels it.
func (c *cmd) refuseCalledCancel() error {
	if c.inst.ParentInstanceID == 0 {
		return nil
	}
	st, err := c.tx.InstanceLive(c.ctx, c.inst.ParentInstanceID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Instance.State != InstanceActive {
		return nil
	}
	for _, ei := range st.ElementInstances {
		if ei.ID == c.inst.ParentElementInstanceID && ei.State.Live() {
			return &ConflictError{Reason: fmt.Sprintf("process instance %d was started by call activity %q of instance %d, which waits for it; cancel instance %d instead",
				c.inst.ID, ei.ElementID, st.Instance.ID, st.Instance.ID)}
		}
	}
	return nil
}
