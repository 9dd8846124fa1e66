package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// calls deploys models, one resource each, in one deployment on a fresh
// in-memory store with a clock at t0, and returns the engine, the store,
// the clock and an executor of its jobs.
func calls(t *testing.T, models ...model) (*engine.Engine, *enginetest.MemStore, *clock, *engine.Executor) {
	t.Helper()
	s := enginetest.NewMemStore()
	e, clk, x := callsOn(t, s, models...)
	return e, s, clk, x
}

// callsOn is calls on store s.
func callsOn(t *testing.T, s engine.Store, models ...model) (*engine.Engine, *clock, *engine.Executor) {
	t.Helper()
	clk := &clock{now: t0}
	e := engine.New(s, engine.Config{NowFunc: clk.Now})
	deployAll(t, e, models...)
	return e, clk, e.NewExecutor(engine.ExecutorConfig{Owner: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// deployAll deploys models, one resource each, in one deployment.
func deployAll(t *testing.T, e *engine.Engine, models ...model) *engine.Deployment {
	t.Helper()
	var res []engine.Resource
	for i, b := range models {
		if b, ok := b.(*bpmntest.Builder); ok {
			b.Definitions(t) // fails on validation problems, with the XML
		}
		res = append(res, engine.Resource{Name: string(rune('a'+i)) + ".bpmn", Data: b.XML()})
	}
	d, err := e.Deploy(ctx, &engine.DeployParams{Resources: res})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return d
}

// children returns the instances call activities of instance id started.
func children(t *testing.T, s engine.Store, id int64) []*engine.Instance {
	t.Helper()
	list, err := s.InstanceList(ctx, &engine.InstanceListParams{ParentInstanceID: id})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// child returns the only instance a call activity of instance id started.
func child(t *testing.T, s engine.Store, id int64) *engine.Instance {
	t.Helper()
	list := children(t, s, id)
	if len(list) != 1 {
		t.Fatalf("instance %d has %d children, want 1", id, len(list))
	}
	return list[0]
}

// caller is a process "p" calling "child" at call activity "ca" with opts.
func caller(opts ...bpmntest.Opt) *bpmntest.Builder {
	return bpmntest.New("p").Start("s").Node("ca", "callActivity", append([]bpmntest.Opt{bpmntest.Attr("calledElement", "child")}, opts...)...).
		End("e").Chain("s", "ca", "e")
}

// waitingChild is a process "child" that waits at user task "work".
func waitingChild() *bpmntest.Builder {
	return bpmntest.New("child").Start("cs").Node("work", "userTask").End("ce").Chain("cs", "work", "ce")
}

// ext wraps extension elements.
func ext(xml string) bpmntest.Opt {
	return bpmntest.Inner(`<bpmn:extensionElements>` + xml + `</bpmn:extensionElements>`)
}

func TestCallActivitySequence(t *testing.T) {
	t.Parallel()
	e, s, _, x := calls(t, caller(), waitingChild())
	inst := start(t, e, "p", nil)
	if len(children(t, s, inst.ID)) != 0 {
		t.Fatal("the child started before the command that activated the call activity committed")
	}
	runDue(t, x, 1) // CallStart
	ch := child(t, s, inst.ID)
	ca := elementInstances(t, s, inst.ID, "ca")
	if ch.Key != "child" || ch.State != engine.InstanceActive || ch.ParentInstanceID != inst.ID || len(ca) != 1 || ch.ParentElementInstanceID != ca[0].ID {
		t.Fatalf("child %+v, call activity %+v", ch, ca)
	}
	complete(t, e, s, ch.ID, "work", nil)
	wantState(t, s, ch.ID, engine.InstanceActive) // its process waits for the return
	wantState(t, s, inst.ID, engine.InstanceActive)
	runDue(t, x, 1) // CallReturn
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	wantState(t, s, ch.ID, engine.InstanceCompleted)
	runDue(t, x, 0)
	jobs := append(enginetest.LifecycleEvents, engine.EventJobCreated, engine.EventJobCompleted)
	enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, jobs...), []string{
		"p:activated", "s:activated", "s:completed", "ca:activated", "ca:jobCreated", "ca:jobCompleted",
		"ca:completed", "e:activated", "e:completed", "p:completed"})
	enginetest.AssertTrace(t, enginetest.Trace(t, s, ch.ID, jobs...), []string{
		"child:activated", "cs:activated", "cs:completed", "work:activated", "work:completed", "ce:activated", "ce:completed",
		"child:jobCreated", "child:jobCompleted", "child:completed"})
}

func TestCallActivityChildWithoutWaitStates(t *testing.T) {
	t.Parallel()
	e, s, _, x := calls(t, caller(), bpmntest.New("child").Start("cs").End("ce").Chain("cs", "ce"))
	inst := start(t, e, "p", nil)
	runDue(t, x, 2) // the start, then the return of a child that completed at once
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	wantState(t, s, child(t, s, inst.ID).ID, engine.InstanceCompleted)
}

func TestCallActivityVariables(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call []bpmntest.Opt
		// start are the parent's start variables, done the variables the
		// child's task completes with.
		start, done engine.Vars
		// wantChild are variables of the child once started (others may
		// exist), wantParent the parent's at its end; nil values must be
		// absent from wantAbsent.
		wantChild, wantParent engine.Vars
		absentChild           []string
		absentParent          []string
		businessKey           string
	}{
		{
			name:  "PlainBPMNPassesNothing",
			start: engine.Vars{"a": int64(1)}, done: engine.Vars{"r": "x"},
			absentChild: []string{"a"}, absentParent: []string{"r"},
		},
		{
			name: "CamundaInOut",
			call: []bpmntest.Opt{ext(`<camunda:in source="a" target="b"/><camunda:in sourceExpression="${a + 1}" target="c"/>` +
				`<camunda:in source="missing" target="m"/><camunda:out source="r" target="result"/><camunda:out sourceExpression="${r2 * 10}" target="big"/>`)},
			start: engine.Vars{"a": int64(1), "secret": true}, done: engine.Vars{"r": "ok", "r2": int64(4), "other": 1},
			wantChild:   engine.Vars{"b": int64(1), "c": int64(2), "m": nil},
			absentChild: []string{"a", "secret"},
			wantParent:  engine.Vars{"result": "ok", "big": int64(40)}, absentParent: []string{"r", "other"},
		},
		{
			name:  "CamundaAll",
			call:  []bpmntest.Opt{ext(`<camunda:in variables="all"/><camunda:out variables="all"/>`)},
			start: engine.Vars{"a": int64(1), "b": "x"}, done: engine.Vars{"r": "ok"},
			wantChild:  engine.Vars{"a": int64(1), "b": "x"},
			wantParent: engine.Vars{"a": int64(1), "b": "x", "r": "ok"},
		},
		{
			name: "CamundaLocal",
			call: []bpmntest.Opt{bpmntest.Input("loc", "${a * 2}"), bpmntest.Output("fromLocal", "${r}"),
				ext(`<camunda:in variables="all" local="true"/><camunda:out variables="all" local="true"/>`)},
			start: engine.Vars{"a": int64(3)}, done: engine.Vars{"r": "ok"},
			wantChild: engine.Vars{"loc": int64(6)}, absentChild: []string{"a"},
			wantParent: engine.Vars{"fromLocal": "ok"}, absentParent: []string{"r", "loc"},
		},
		{
			name:  "CamundaBusinessKey",
			call:  []bpmntest.Opt{ext(`<camunda:in businessKey="#{execution.processBusinessKey}-${a}"/>`)},
			start: engine.Vars{"a": int64(7)}, businessKey: "order-1-7",
		},
		{
			name:  "ZeebeDefaultsPropagateAll",
			call:  []bpmntest.Opt{ext(`<zeebe:calledElement processId="child"/>`)},
			start: engine.Vars{"a": int64(1)}, done: engine.Vars{"r": "ok"},
			wantChild: engine.Vars{"a": int64(1)}, wantParent: engine.Vars{"a": int64(1), "r": "ok"},
		},
		{
			name: "ZeebeInputMappingsOnly",
			call: []bpmntest.Opt{ext(`<zeebe:calledElement processId="=childKey" propagateAllParentVariables="false" propagateAllChildVariables="false"/>` +
				`<zeebe:ioMapping><zeebe:input source="=a + 1" target="in"/><zeebe:output source="=r" target="out"/></zeebe:ioMapping>`)},
			start: engine.Vars{"a": int64(1), "childKey": "child"}, done: engine.Vars{"r": "ok"},
			wantChild: engine.Vars{"in": int64(2)}, absentChild: []string{"a", "childKey"},
			wantParent: engine.Vars{"out": "ok"}, absentParent: []string{"r", "in"},
		},
		{
			name:  "ZeebeOutputMappingsChoose",
			call:  []bpmntest.Opt{ext(`<zeebe:calledElement processId="child"/><zeebe:ioMapping><zeebe:output source="=r + &quot;!&quot;" target="out"/></zeebe:ioMapping>`)},
			start: engine.Vars{"a": int64(1)}, done: engine.Vars{"r": "ok", "noise": true},
			wantChild: engine.Vars{"a": int64(1)}, wantParent: engine.Vars{"out": "ok!"}, absentParent: []string{"r", "noise"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s, _, x := calls(t, caller(tt.call...), waitingChild())
			inst, err := e.Start(ctx, &engine.StartParams{Key: "p", Vars: tt.start, BusinessKey: "order-1"})
			if err != nil {
				t.Fatal(err)
			}
			runDue(t, x, 1)
			ch := child(t, s, inst.ID)
			if ch.BusinessKey != tt.businessKey {
				t.Errorf("child business key %q, want %q", ch.BusinessKey, tt.businessKey)
			}
			got := vars(t, s, ch.ID)
			for k, v := range tt.wantChild {
				if w, ok := got[k]; !ok || w != v {
					t.Errorf("child variable %s = %v (set %v), want %v; child has %v", k, w, ok, v, got)
				}
			}
			for _, k := range tt.absentChild {
				if _, ok := got[k]; ok {
					t.Errorf("child has variable %s: %v", k, got)
				}
			}
			complete(t, e, s, ch.ID, "work", tt.done)
			runDue(t, x, 1)
			wantState(t, s, inst.ID, engine.InstanceCompleted)
			final := finalVars(t, s, inst.ID)
			for k, v := range tt.wantParent {
				if w, ok := final[k]; !ok || w != v {
					t.Errorf("parent variable %s = %v (set %v), want %v; parent has %v", k, w, ok, v, final)
				}
			}
			for _, k := range tt.absentParent {
				if _, ok := final[k]; ok {
					t.Errorf("parent has variable %s: %v", k, final)
				}
			}
		})
	}
}

func TestCallActivityBindings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call []bpmntest.Opt
		want string // the name of the child's task: which version ran
	}{
		{"Latest", nil, "v3"},
		{"LatestExplicit", []bpmntest.Opt{bpmntest.Attr("camunda:calledElementBinding", "latest")}, "v3"},
		{"Version", []bpmntest.Opt{bpmntest.Attr("camunda:calledElementBinding", "version"), bpmntest.Attr("camunda:calledElementVersion", "1")}, "v1"},
		{"VersionExpression", []bpmntest.Opt{bpmntest.Attr("camunda:calledElementBinding", "version"), bpmntest.Attr("camunda:calledElementVersion", "${v}")}, "v1"},
		{"Deployment", []bpmntest.Opt{bpmntest.Attr("camunda:calledElementBinding", "deployment")}, "v2"},
		{"ZeebeDeployment", []bpmntest.Opt{ext(`<zeebe:calledElement processId="child" bindingType="deployment"/>`)}, "v2"},
		{"VersionTag", []bpmntest.Opt{bpmntest.Attr("camunda:calledElementBinding", "versionTag"), bpmntest.Attr("camunda:calledElementVersionTag", "stable")}, "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s, _, x := calls(t, taggedChild("stable", "v1"))
			deployAll(t, e, caller(tt.call...), taggedChild("", "v2"))
			deployAll(t, e, taggedChild("", "v3"))
			inst := start(t, e, "p", engine.Vars{"v": int64(1)})
			runDue(t, x, 1)
			ch := child(t, s, inst.ID)
			if got := openTask(t, s, ch.ID, "work").Name; got != tt.want {
				t.Fatalf("the child runs %s (version %d), want %s", got, ch.Version, tt.want)
			}
		})
	}
}

// taggedChild is a process "child" whose task is named name, with version
// tag tag when it is not empty.
func taggedChild(tag, name string) model {
	b := bpmntest.New("child").Start("cs").Node("work", "userTask", bpmntest.Attr("name", name)).End("ce").Chain("cs", "work", "ce")
	if tag == "" {
		return b
	}
	return rawModel(strings.Replace(string(b.XML()), `<bpmn:process id="child" isExecutable="true">`,
		`<bpmn:process id="child" isExecutable="true" camunda:versionTag="`+tag+`">`, 1))
}

// model is a BPMN document to deploy.
type model interface{ XML() []byte }

// rawModel is a model written by hand.
type rawModel string

func (m rawModel) XML() []byte { return []byte(m) }

func TestCallActivityNotDeployedIsAnIncidentRetriedAfterDeploy(t *testing.T) {
	t.Parallel()
	e, s, _, x := calls(t, caller())
	inst := start(t, e, "p", nil)
	incs := incidentsOf(t, s, inst.ID)
	if len(incs) != 1 || incs[0].ElementID != "ca" || incs[0].Type != engine.IncidentCalledElement || !strings.Contains(incs[0].Message, `"child"`) {
		t.Fatalf("incidents %+v, want one at ca naming the called process", incs)
	}
	runDue(t, x, 0)
	if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	if incs := incidentsOf(t, s, inst.ID); len(incs) != 1 {
		t.Fatalf("retry before the deploy: incidents %+v, want a new one", incs)
	}
	deployAll(t, e, waitingChild())
	if err := e.RetryIncident(ctx, incidentsOf(t, s, inst.ID)[0].ID, 0); err != nil {
		t.Fatal(err)
	}
	runDue(t, x, 1)
	ch := child(t, s, inst.ID)
	complete(t, e, s, ch.ID, "work", nil)
	runDue(t, x, 1)
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

func TestCallActivityInputFailureIsAnIncidentOnTheJob(t *testing.T) {
	t.Parallel()
	e, s, _, x := calls(t, caller(ext(`<camunda:in sourceExpression="${missing + 1}" target="x"/>`)), waitingChild())
	inst := start(t, e, "p", nil)
	runDue(t, x, 1)
	incs := incidentsOf(t, s, inst.ID)
	if len(incs) != 1 || incs[0].ElementID != "ca" || incs[0].JobID == 0 || !strings.Contains(incs[0].Message, "missing") || len(children(t, s, inst.ID)) != 0 {
		t.Fatalf("incidents %+v, want one on the start job naming the variable, and no child", incs)
	}
	if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, Vars: engine.Vars{"missing": 1}}); err != nil {
		t.Fatal(err)
	}
	if err := e.RetryIncident(ctx, incs[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	runDue(t, x, 1)
	if got := vars(t, s, child(t, s, inst.ID).ID)["x"]; got != int64(2) {
		t.Fatalf("child x = %v, want 2", got)
	}
}

func TestCallActivityCancel(t *testing.T) {
	t.Parallel()
	t.Run("ParentCancelsChild", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := calls(t, caller(), waitingChild())
		inst := start(t, e, "p", nil)
		runDue(t, x, 1)
		ch := child(t, s, inst.ID)
		if err := e.Cancel(ctx, ch.ID); !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("cancel of the child alone: %v, want ErrConflict", err)
		}
		if err := e.Cancel(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		runDue(t, x, 1) // CallCancel
		wantState(t, s, ch.ID, engine.InstanceCanceled)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, ch.ID, engine.EventTerminated, engine.EventInstanceCanceled), []string{
			"work:terminated", "child:terminated", "child:instanceCanceled"})
	})
	t.Run("BeforeTheChildStarted", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := calls(t, caller(), waitingChild())
		inst := start(t, e, "p", nil)
		if err := e.Cancel(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		runDue(t, x, 0) // the start job was cancelled: no child, nothing to cancel
		if n := len(children(t, s, inst.ID)); n != 0 {
			t.Fatalf("%d children", n)
		}
	})
	t.Run("NestedCalls", func(t *testing.T) {
		t.Parallel()
		middle := bpmntest.New("middle").Start("ms").Node("ca2", "callActivity", bpmntest.Attr("calledElement", "child")).End("me").Chain("ms", "ca2", "me")
		e, s, _, x := calls(t, caller(bpmntest.Attr("calledElement", "middle")), middle, waitingChild())
		inst := start(t, e, "p", nil)
		runDue(t, x, 2)
		mid := child(t, s, inst.ID)
		leaf := child(t, s, mid.ID)
		if err := e.Cancel(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		runDue(t, x, 2)
		wantState(t, s, mid.ID, engine.InstanceCanceled)
		wantState(t, s, leaf.ID, engine.InstanceCanceled)
	})
}

func TestCallActivityInterruptingBoundaryTimerCancelsTheChild(t *testing.T) {
	t.Parallel()
	e, s, clk, x := calls(t, caller().
		Node("late", "boundaryEvent", bpmntest.Boundary("ca", true), bpmntest.Timer("timeDuration", "PT1H")).End("timedOut").Chain("late", "timedOut"),
		waitingChild())
	inst := start(t, e, "p", nil)
	runDue(t, x, 1)
	ch := child(t, s, inst.ID)
	clk.Advance(time.Hour)
	runDue(t, x, 2) // the timer, then CallCancel
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	wantState(t, s, ch.ID, engine.InstanceCanceled)
	enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{
		"p:activated", "s:activated", "s:completed", "ca:activated", "ca:terminated", "late:activated", "late:completed",
		"timedOut:activated", "timedOut:completed", "p:completed"})
}

func TestCallActivityErrorsAndEscalations(t *testing.T) {
	t.Parallel()
	failing := func() *bpmntest.Builder {
		return bpmntest.New("child").Error("E", "E1").Start("cs").Node("work", "userTask").End("fail", bpmntest.ErrorRef("E")).Chain("cs", "work", "fail")
	}
	t.Run("ErrorCaughtByBoundary", func(t *testing.T) {
		t.Parallel()
		parent := caller().Error("PE", "E1").
			Node("onError", "boundaryEvent", bpmntest.Boundary("ca", true), bpmntest.ErrorRef("PE", `camunda:errorCodeVariable="code"`)).
			End("handled").Chain("onError", "handled")
		e, s, _, x := calls(t, parent, failing())
		inst := start(t, e, "p", nil)
		runDue(t, x, 1)
		ch := child(t, s, inst.ID)
		complete(t, e, s, ch.ID, "work", nil)
		if incs := incidentsOf(t, s, ch.ID); len(incs) != 0 {
			t.Fatalf("child incidents %+v: the caller catches the error", incs)
		}
		runDue(t, x, 2) // CallError, then CallCancel
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		wantState(t, s, ch.ID, engine.InstanceCanceled)
		if got := finalVars(t, s, inst.ID)["code"]; got != "E1" {
			t.Fatalf("error code variable %v", got)
		}
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{
			"p:activated", "s:activated", "s:completed", "ca:activated", "ca:terminated", "onError:activated", "onError:completed",
			"handled:activated", "handled:completed", "p:completed"})
		enginetest.AssertTrace(t, enginetest.Trace(t, s, ch.ID), []string{
			"child:activated", "cs:activated", "cs:completed", "work:activated", "work:completed", "fail:activated",
			"fail:terminated", "child:terminated"})
	})
	t.Run("ErrorCaughtByTheCallersCaller", func(t *testing.T) {
		t.Parallel()
		middle := bpmntest.New("middle").Start("ms").Node("ca2", "callActivity", bpmntest.Attr("calledElement", "child")).End("me").Chain("ms", "ca2", "me")
		top := caller(bpmntest.Attr("calledElement", "middle")).
			Node("onError", "boundaryEvent", bpmntest.Boundary("ca", true), bpmntest.ErrorRef("")).End("handled").Chain("onError", "handled")
		e, s, _, x := calls(t, top, middle, failing())
		inst := start(t, e, "p", nil)
		runDue(t, x, 2)
		mid := child(t, s, inst.ID)
		leaf := child(t, s, mid.ID)
		complete(t, e, s, leaf.ID, "work", nil)
		runDue(t, x, 4) // CallError to middle, CallError to p, CallCancel of middle, CallCancel of the leaf
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		wantState(t, s, mid.ID, engine.InstanceCanceled)
		wantState(t, s, leaf.ID, engine.InstanceCanceled)
	})
	t.Run("UncaughtErrorIsAnIncidentInTheChild", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := calls(t, caller(), failing())
		inst := start(t, e, "p", nil)
		runDue(t, x, 1)
		ch := child(t, s, inst.ID)
		complete(t, e, s, ch.ID, "work", nil)
		runDue(t, x, 0)
		wantUncaught(t, s, ch.ID, "fail", "E1")
		if incs := incidentsOf(t, s, inst.ID); len(incs) != 0 {
			t.Fatalf("parent incidents %+v, want none: the child has it", incs)
		}
		wantState(t, s, inst.ID, engine.InstanceActive)
	})
	t.Run("EscalationNonInterrupting", func(t *testing.T) {
		t.Parallel()
		escalating := bpmntest.New("child").Escalation("X", "X1").Start("cs").
			Node("up", "intermediateThrowEvent", bpmntest.EscalationRef("X")).Node("work", "userTask").End("ce").Chain("cs", "up", "work", "ce")
		parent := caller().Escalation("PX", "X1").
			Node("onEsc", "boundaryEvent", bpmntest.Boundary("ca", false), bpmntest.EscalationRef("PX")).Node("notify", "userTask").End("notified").
			Chain("onEsc", "notify", "notified")
		e, s, _, x := calls(t, parent, escalating)
		inst := start(t, e, "p", nil)
		runDue(t, x, 2) // CallStart, CallEscalation
		ch := child(t, s, inst.ID)
		wantOpenTasks(t, s, inst.ID, "notify")
		wantOpenTasks(t, s, ch.ID, "work") // the thrower went on
		complete(t, e, s, ch.ID, "work", nil)
		runDue(t, x, 1)
		complete(t, e, s, inst.ID, "notify", nil)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		wantState(t, s, ch.ID, engine.InstanceCompleted)
	})
	t.Run("EscalationInterruptingStopsTheThrower", func(t *testing.T) {
		t.Parallel()
		escalating := bpmntest.New("child").Escalation("X", "X1").Start("cs").
			Node("up", "intermediateThrowEvent", bpmntest.EscalationRef("X")).Node("work", "userTask").End("ce").Chain("cs", "up", "work", "ce")
		parent := caller().
			Node("onEsc", "boundaryEvent", bpmntest.Boundary("ca", true), bpmntest.EscalationRef("")).End("escalated").Chain("onEsc", "escalated")
		e, s, _, x := calls(t, parent, escalating)
		inst := start(t, e, "p", nil)
		runDue(t, x, 3) // CallStart, CallEscalation, CallCancel
		ch := child(t, s, inst.ID)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		wantState(t, s, ch.ID, engine.InstanceCanceled)
		// The thrower waited for the catch, which cancelled it: work never started.
		enginetest.AssertTrace(t, enginetest.Trace(t, s, ch.ID), []string{
			"child:activated", "cs:activated", "cs:completed", "up:activated", "up:terminated", "child:terminated"})
	})
	t.Run("UncaughtEscalationGoesOn", func(t *testing.T) {
		t.Parallel()
		escalating := bpmntest.New("child").Escalation("X", "X1").Start("cs").
			Node("up", "intermediateThrowEvent", bpmntest.EscalationRef("X")).End("ce").Chain("cs", "up", "ce")
		e, s, _, x := calls(t, caller(), escalating)
		inst := start(t, e, "p", nil)
		runDue(t, x, 2)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		ch := child(t, s, inst.ID)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, ch.ID, engine.EventEscalationUncaught), []string{"up:escalationUncaught"})
	})
}

func TestCallActivityMultiInstance(t *testing.T) {
	t.Parallel()
	parent := bpmntest.New("p").Start("s").Node("ca", "callActivity", ext(`<zeebe:calledElement processId="child" propagateAllChildVariables="false"/>`+
		`<zeebe:ioMapping><zeebe:output source="=double" target="result"/></zeebe:ioMapping>`),
		bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="results" outputElement="=result"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>`)).
		End("e").Chain("s", "ca", "e")
	doubler := bpmntest.New("child").Start("cs").Node("calc", "scriptTask", ext(`<zeebe:script expression="=item * 2" resultVariable="double"/>`)).
		End("ce").Chain("cs", "calc", "ce")
	e, s, _, x := calls(t, parent, doubler)
	inst := start(t, e, "p", engine.Vars{"items": []any{int64(1), int64(2), int64(3)}})
	runDue(t, x, 6) // three starts, three returns
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	if got := children(t, s, inst.ID); len(got) != 3 {
		t.Fatalf("%d children, want 3", len(got))
	}
	res, _ := finalVars(t, s, inst.ID)["results"].([]any)
	if len(res) != 3 || res[0] != int64(2) || res[1] != int64(4) || res[2] != int64(6) {
		t.Fatalf("results %v, want [2 4 6]", res)
	}
	if _, leaked := finalVars(t, s, inst.ID)["double"]; leaked {
		t.Fatal("the child's variable reached the parent")
	}
}

// crashOnce is a store whose InstanceSave of one instance (not its
// creation) fails once, as if the node died before the commit.
type crashOnce struct {
	engine.Store
	mu    sync.Mutex
	id    int64
	armed bool
}

func (s *crashOnce) Tx(ctx2 context.Context, fn func(tx engine.Store) error) error {
	return s.Store.Tx(ctx2, func(tx engine.Store) error { return fn(&crashTx{Store: tx, s: s}) })
}

type crashTx struct {
	engine.Store
	s *crashOnce
}

func (t *crashTx) InstanceSave(ctx2 context.Context, c *engine.InstanceChanges) error {
	t.s.mu.Lock()
	fire := t.s.armed && !c.Created && c.Instance.ID == t.s.id
	if fire {
		t.s.armed = false
	}
	t.s.mu.Unlock()
	if fire {
		return errors.New("node died")
	}
	return t.Store.InstanceSave(ctx2, c)
}

func TestCallActivityStartJobRunTwiceStartsOneChild(t *testing.T) {
	t.Parallel()
	s := &crashOnce{Store: enginetest.NewMemStore()}
	e, clk, x := callsOn(t, s, caller(), waitingChild())
	inst := start(t, e, "p", nil)
	s.mu.Lock()
	s.id, s.armed = inst.ID, true
	s.mu.Unlock()
	runDue(t, x, 1) // starts the child, then fails to complete the job in the parent
	if n := len(children(t, s, inst.ID)); n != 1 {
		t.Fatalf("%d children after the first run", n)
	}
	runDue(t, x, 0) // the lease holds
	clk.Advance(engine.ExecutorLeaseDefault + time.Second)
	runDue(t, x, 1) // the job again
	ch := child(t, s, inst.ID)
	if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 0 {
		t.Fatalf("active jobs of the parent %+v", jobs)
	}
	complete(t, e, s, ch.ID, "work", nil)
	runDue(t, x, 1)
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

func TestCallActivityIsExecuted(t *testing.T) {
	t.Parallel()
	d := caller().Definitions(t)
	if ps := engine.Check(d); len(ps) != 0 {
		t.Fatalf("warnings %v, want none", ps)
	}
	bad := caller(bpmntest.Attr("camunda:calledElementBinding", "tenant")).Definitions(t)
	if ps := engine.Check(bad); len(ps) != 1 || !strings.Contains(ps[0].Message, `"tenant"`) {
		t.Fatalf("warnings %v, want one naming the binding", ps)
	}
}
