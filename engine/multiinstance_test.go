package engine_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// mi gives a node multiInstanceLoopCharacteristics with the given
// attributes and child elements, written as the modelers write them.
func mi(attrs, children string) bpmntest.Opt {
	return bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics ` + attrs + `>` + children + `</bpmn:multiInstanceLoopCharacteristics>`)
}

// loop gives a node standardLoopCharacteristics.
func loop(attrs, condition string) bpmntest.Opt {
	inner := ""
	if condition != "" {
		inner = `<bpmn:loopCondition xsi:type="bpmn:tFormalExpression">` + condition + `</bpmn:loopCondition>`
	}
	return bpmntest.Inner(`<bpmn:standardLoopCharacteristics ` + attrs + `>` + inner + `</bpmn:standardLoopCharacteristics>`)
}

func cardinalityXML(x string) string {
	return `<bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">` + x + `</bpmn:loopCardinality>`
}

func completionXML(x string) string {
	return `<bpmn:completionCondition xsi:type="bpmn:tFormalExpression">` + x + `</bpmn:completionCondition>`
}

// around puts node id between a start and an end event.
func around(id, kind string, opts ...bpmntest.Opt) *bpmntest.Builder {
	return bpmntest.New("p").Start("s").Node(id, kind, opts...).End("e").Chain("s", id, "e")
}

// loopTrace is enginetest.Trace with the instances of a loop activity told
// apart: "a" is the body (or a plain instance), "a#2" the inner instance
// whose loopCounter is 2. An inner instance is one whose loopCounter was
// set before it was activated.
func loopTrace(t *testing.T, s engine.Store, id int64) []string {
	t.Helper()
	hist, err := s.HistoryList(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	counter := map[int64]string{}
	seen := map[int64]bool{}
	var out []string
	for _, ev := range hist {
		switch ev.Type {
		case engine.EventVariableSet:
			if ev.Var.Name == "loopCounter" && !seen[ev.Var.ScopeID] {
				counter[ev.Var.ScopeID] = fmt.Sprint(ev.Var.NewValue)
			}
		case engine.EventActivated, engine.EventCompleted, engine.EventTerminated:
			seen[ev.ElementInstanceID] = true
			label := ev.ElementID
			if k, ok := counter[ev.ElementInstanceID]; ok {
				label += "#" + k
			}
			out = append(out, label+":"+ev.Type.String())
		}
	}
	return out
}

// elementInstances returns the live element instances of elementID, the
// body first, then the inner instances by id.
func elementInstances(t *testing.T, s engine.Store, id int64, elementID string) []*engine.ElementInstance {
	t.Helper()
	var out []*engine.ElementInstance
	for _, ei := range state(t, s, id).ElementInstances {
		if ei.ElementID == elementID {
			out = append(out, ei)
		}
	}
	slices.SortFunc(out, func(a, b *engine.ElementInstance) int {
		if (a.Kind == engine.KindMultiInstanceBody) != (b.Kind == engine.KindMultiInstanceBody) {
			if a.Kind == engine.KindMultiInstanceBody {
				return -1
			}
			return 1
		}
		return int(a.ID - b.ID)
	})
	return out
}

// locals returns the live variables of one scope.
func locals(t *testing.T, s engine.Store, id, scope int64) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, v := range state(t, s, id).Variables {
		if v.ScopeID == scope {
			out[v.Name] = v.Value
		}
	}
	return out
}

// innerTask returns the open user task of the inner instance of elementID
// whose loopCounter is k.
func innerTask(t *testing.T, s engine.Store, id int64, elementID string, k int64) *engine.UserTask {
	t.Helper()
	st := state(t, s, id)
	for _, v := range st.Variables {
		if v.Name != "loopCounter" || v.Value != k {
			continue
		}
		for _, tk := range st.UserTasks {
			if tk.ElementID == elementID && tk.ElementInstanceID == v.ScopeID {
				return tk
			}
		}
	}
	t.Fatalf("no open task of %s with loopCounter %d", elementID, k)
	return nil
}

func completeInner(t *testing.T, e *engine.Engine, s engine.Store, id int64, elementID string, k int64, vars engine.Vars) {
	t.Helper()
	if err := e.CompleteUserTask(ctx, innerTask(t, s, id, elementID, k).ID, vars); err != nil {
		t.Fatalf("complete %s#%d: %v", elementID, k, err)
	}
}

func openIncidents(t *testing.T, s engine.Store, id int64) []*engine.Incident {
	t.Helper()
	incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: id, State: engine.IncidentOpen})
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

func TestMultiInstanceSequences(t *testing.T) {
	t.Parallel()
	subWithTask := func(sub *bpmntest.Builder) { sub.Start("ss").Node("ut", "userTask").End("se").Chain("ss", "ut", "se") }
	tests := []struct {
		name  string
		model *bpmntest.Builder
		vars  engine.Vars
		// run drives the instance after the start; nil when it ends at once.
		run  func(t *testing.T, e *engine.Engine, s engine.Store, id int64)
		want []string
	}{
		{
			name:  "ParallelUserTaskCardinality",
			model: around("mi", "userTask", mi(``, cardinalityXML("3"))),
			run: func(t *testing.T, e *engine.Engine, s engine.Store, id int64) {
				for k := int64(1); k <= 3; k++ {
					completeInner(t, e, s, id, "mi", k, nil)
				}
			},
			want: []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi#1:activated", "mi#2:activated", "mi#3:activated",
				"mi#1:completed", "mi#2:completed", "mi#3:completed", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			name:  "SequentialUserTaskCollection",
			model: around("mi", "userTask", mi(`isSequential="true" camunda:collection="${items}" camunda:elementVariable="item"`, ``)),
			vars:  engine.Vars{"items": []any{"a", "b"}},
			run: func(t *testing.T, e *engine.Engine, s engine.Store, id int64) {
				completeInner(t, e, s, id, "mi", 1, nil)
				completeInner(t, e, s, id, "mi", 2, nil)
			},
			want: []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi#1:activated", "mi#1:completed",
				"mi#2:activated", "mi#2:completed", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			name:  "ParallelServiceTaskHandler",
			model: around("mi", "serviceTask", bpmntest.Topic("work"), mi(``, cardinalityXML("${2}"))),
			want: []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi#1:activated", "mi#2:activated",
				"mi#1:completed", "mi#2:completed", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			name:  "SequentialServiceTaskHandler",
			model: around("mi", "serviceTask", bpmntest.Topic("work"), mi(`isSequential="true"`, cardinalityXML("2"))),
			want: []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi#1:activated", "mi#1:completed",
				"mi#2:activated", "mi#2:completed", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			name: "ParallelSubProcess",
			model: bpmntest.New("p").Start("s").Sub("sub", subWithTask, mi(`camunda:collection="${items}" camunda:elementVariable="item"`, ``)).
				End("e").Chain("s", "sub", "e"),
			vars: engine.Vars{"items": []any{"a", "b"}},
			run: func(t *testing.T, e *engine.Engine, s engine.Store, id int64) {
				// The second instance's task first.
				var tasks []*engine.UserTask
				for _, tk := range state(t, s, id).UserTasks {
					tasks = append(tasks, tk)
				}
				slices.SortFunc(tasks, func(a, b *engine.UserTask) int { return int(b.ID - a.ID) })
				for _, tk := range tasks {
					if err := e.CompleteUserTask(ctx, tk.ID, nil); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "sub#1:activated", "sub#2:activated",
				"ss:activated", "ss:activated", "ss:completed", "ss:completed", "ut:activated", "ut:activated",
				"ut:completed", "se:activated", "se:completed", "sub#2:completed",
				"ut:completed", "se:activated", "se:completed", "sub#1:completed", "sub:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			name: "SequentialSubProcess",
			model: bpmntest.New("p").Start("s").Sub("sub", func(sub *bpmntest.Builder) { sub.Start("ss").Node("t", "task").End("se").Chain("ss", "t", "se") },
				mi(`isSequential="true"`, cardinalityXML("2"))).End("e").Chain("s", "sub", "e"),
			want: []string{"p:activated", "s:activated", "s:completed", "sub:activated",
				"sub#1:activated", "ss:activated", "ss:completed", "t:activated", "t:completed", "se:activated", "se:completed", "sub#1:completed",
				"sub#2:activated", "ss:activated", "ss:completed", "t:activated", "t:completed", "se:activated", "se:completed", "sub#2:completed",
				"sub:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			// A camunda:collection without ${…} names a variable (Camunda 7).
			name:  "CollectionByVariableName",
			model: around("mi", "task", mi(`isSequential="true" camunda:collection="items" camunda:elementVariable="item"`, ``)),
			vars:  engine.Vars{"items": []any{"a", "b"}},
			want: []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi#1:activated", "mi#1:completed",
				"mi#2:activated", "mi#2:completed", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			name:  "EmptyCollectionSkipsTheActivity",
			model: around("mi", "userTask", mi(`camunda:collection="${items}" camunda:elementVariable="item"`, ``)),
			vars:  engine.Vars{"items": []any{}},
			want:  []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			name:  "ZeroCardinalitySkipsTheActivity",
			model: around("mi", "userTask", mi(`isSequential="true"`, cardinalityXML("${n}"))),
			vars:  engine.Vars{"n": 0},
			want:  []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
		{
			// Arithmetic is valid in loop cardinality; division gives a
			// decimal, integral here.
			name:  "CardinalityArithmetic",
			model: around("mi", "task", mi(``, cardinalityXML("${6/3}"))),
			want: []string{"p:activated", "s:activated", "s:completed", "mi:activated", "mi#1:activated", "mi#2:activated",
				"mi#1:completed", "mi#2:completed", "mi:completed", "e:activated", "e:completed", "p:completed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s := deploy(t, tt.model)
			e.RegisterHandler("work", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, nil })
			inst := start(t, e, "p", tt.vars)
			if tt.run != nil {
				tt.run(t, e, s, inst.ID)
			}
			enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), tt.want)
			wantState(t, s, inst.ID, engine.InstanceCompleted)
		})
	}
}

// TestMultiInstanceStructure checks the element instances and variables of
// a parallel multi-instance user task: a body in the process scope holding
// the counters, and inner instances in the body holding loopCounter and the
// element variable, which also decides each task's assignee.
func TestMultiInstanceStructure(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, around("mi", "userTask", bpmntest.Attr("camunda:assignee", "${item}"),
		mi(`camunda:collection="${items}" camunda:elementVariable="item"`, ``)))
	inst := start(t, e, "p", engine.Vars{"items": []any{"ann", "bob", "cid"}})
	eis := elementInstances(t, s, inst.ID, "mi")
	if len(eis) != 4 {
		t.Fatalf("element instances of mi: %d, want 4", len(eis))
	}
	body := eis[0]
	if body.Kind != engine.KindMultiInstanceBody || body.ScopeID != inst.ID || body.State != engine.ElementActivated {
		t.Fatalf("body %+v", body)
	}
	if got, want := locals(t, s, inst.ID, body.ID), map[string]any{"nrOfInstances": int64(3), "nrOfActiveInstances": int64(3), "nrOfCompletedInstances": int64(0)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("body variables %v, want %v", got, want)
	}
	for i, inner := range eis[1:] {
		if inner.Kind != bpmn.KindUserTask || inner.ScopeID != body.ID {
			t.Fatalf("inner instance %+v", inner)
		}
		want := map[string]any{"loopCounter": int64(i + 1), "item": []string{"ann", "bob", "cid"}[i]}
		if got := locals(t, s, inst.ID, inner.ID); !reflect.DeepEqual(got, want) {
			t.Fatalf("inner %d variables %v, want %v", i+1, got, want)
		}
		if tk := innerTask(t, s, inst.ID, "mi", int64(i+1)); tk.Assignee != want["item"] {
			t.Fatalf("task %d assignee %q, want %q", i+1, tk.Assignee, want["item"])
		}
	}
	if _, leaked := vars(t, s, inst.ID)["item"]; leaked {
		t.Fatal("the element variable leaked to the process scope")
	}
	completeInner(t, e, s, inst.ID, "mi", 2, nil)
	if got := locals(t, s, inst.ID, body.ID); got["nrOfActiveInstances"] != int64(2) || got["nrOfCompletedInstances"] != int64(1) {
		t.Fatalf("body variables after one completion %v", got)
	}
	if n := len(elementInstances(t, s, inst.ID, "mi")); n != 3 {
		t.Fatalf("element instances of mi after one completion: %d, want 3", n)
	}
}

func TestMultiInstanceCompletionCondition(t *testing.T) {
	t.Parallel()

	t.Run("ParallelCancelsTheRest", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("mi", "userTask", mi(``, cardinalityXML("3")+completionXML("${approved}"))))
		inst := start(t, e, "p", nil)
		completeInner(t, e, s, inst.ID, "mi", 3, engine.Vars{"approved": false})
		wantTask := innerTask(t, s, inst.ID, "mi", 1)
		completeInner(t, e, s, inst.ID, "mi", 2, engine.Vars{"approved": true})
		enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"mi:activated", "mi#1:activated", "mi#2:activated", "mi#3:activated", "mi#3:completed",
			"mi#1:terminated", "mi#2:completed", "mi:completed", "e:activated", "e:completed", "p:completed"})
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		tk, err := s.UserTaskGet(ctx, wantTask.ID)
		if err != nil || tk.State != engine.TaskCanceled {
			t.Fatalf("task of the cancelled instance: %+v, %v; want cancelled", tk, err)
		}
	})

	t.Run("SequentialCreatesNoMore", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("mi", "userTask", mi(`isSequential="true"`, cardinalityXML("5")+completionXML("${loopCounter == 2}"))))
		inst := start(t, e, "p", nil)
		completeInner(t, e, s, inst.ID, "mi", 1, nil)
		completeInner(t, e, s, inst.ID, "mi", 2, nil)
		enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"mi:activated", "mi#1:activated", "mi#1:completed", "mi#2:activated", "mi#2:completed", "mi:completed",
			"e:activated", "e:completed", "p:completed"})
	})

	// The counters are visible to the condition, counting the instance that
	// completes; division gives a decimal (Camunda 7).
	t.Run("CountersVisible", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			cond  string
			after int64 // completions after which the body completes
		}{
			{"${nrOfCompletedInstances/nrOfInstances >= 0.5}", 2},
			{"${nrOfCompletedInstances == 3}", 3},
			{"${nrOfActiveInstances == 1}", 3},
			{"${nrOfInstances == 4 &amp;&amp; nrOfCompletedInstances &gt; 0}", 1},
			// Camunda 8 names, in FEEL.
			{"= numberOfCompletedInstances &gt;= 2 and numberOfInstances = 4", 2},
		} {
			e, s := deploy(t, around("mi", "userTask", mi(``, cardinalityXML("4")+completionXML(tt.cond))))
			inst := start(t, e, "p", nil)
			for k := int64(1); k <= tt.after; k++ {
				wantState(t, s, inst.ID, engine.InstanceActive)
				completeInner(t, e, s, inst.ID, "mi", k, nil)
			}
			if got := loopTrace(t, s, inst.ID); !slices.Contains(got, "mi:completed") {
				t.Errorf("%s: body not completed after %d instances: %q", tt.cond, tt.after, got)
			}
		}
	})

	// The condition sees the completing instance's local variables.
	t.Run("SeesInnerLocals", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("mi", "userTask",
			mi(`camunda:collection="${items}" camunda:elementVariable="item"`, ``+completionXML(`${item == "stop"}`))))
		inst := start(t, e, "p", engine.Vars{"items": []any{"go", "stop", "go"}})
		completeInner(t, e, s, inst.ID, "mi", 1, nil)
		wantState(t, s, inst.ID, engine.InstanceActive)
		completeInner(t, e, s, inst.ID, "mi", 2, nil)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})
}

// TestMultiInstanceOutputCollection: each instance's output element lands at
// its own index (loopCounter-1), whatever order the instances complete in;
// the collection is a local of the body (nulls at first) and reaches the
// process scope when the body completes. The output element is local to
// each instance, so it never leaks.
func TestMultiInstanceOutputCollection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		loop bpmntest.Opt
	}{
		{"Zeebe", mi(``, `<bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="results" outputElement="=result"/></bpmn:extensionElements>`)},
		{"Spec", mi(``, `<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>results</bpmn:loopDataOutputRef>`+
			`<bpmn:inputDataItem id="in" name="item"/><bpmn:outputDataItem id="out" name="result"/>`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s := deploy(t, around("mi", "userTask", tt.loop))
			inst := start(t, e, "p", engine.Vars{"items": []any{"a", "b", "c"}})
			body := elementInstances(t, s, inst.ID, "mi")[0]
			if got := locals(t, s, inst.ID, body.ID)["results"]; !reflect.DeepEqual(got, []any{nil, nil, nil}) {
				t.Fatalf("results at the start %#v, want three nulls", got)
			}
			completeInner(t, e, s, inst.ID, "mi", 3, engine.Vars{"result": "C"})
			completeInner(t, e, s, inst.ID, "mi", 1, engine.Vars{"result": "A"})
			if got := locals(t, s, inst.ID, body.ID)["results"]; !reflect.DeepEqual(got, []any{"A", nil, "C"}) {
				t.Fatalf("results after two %#v", got)
			}
			if _, ok := vars(t, s, inst.ID)["results"]; ok {
				t.Fatal("results reached the process scope before the body completed")
			}
			completeInner(t, e, s, inst.ID, "mi", 2, engine.Vars{"result": "B"})
			wantState(t, s, inst.ID, engine.InstanceCompleted)
			final := finalVars(t, s, inst.ID)
			if got := final["results"]; !reflect.DeepEqual(got, []any{"A", "B", "C"}) {
				t.Fatalf("results %#v, want [A B C]", got)
			}
			if _, leaked := final["result"]; leaked {
				t.Fatal("the output element leaked to the process scope")
			}
		})
	}

	t.Run("SequentialHandlerOutputAndEmpty", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("mi", "serviceTask", bpmntest.Topic("double"), mi(`isSequential="true"`,
			`<bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="doubled" outputElement="=item * 2"/></bpmn:extensionElements>`)))
		e.RegisterHandler("double", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, nil })
		inst := start(t, e, "p", engine.Vars{"items": []any{1, 2, 3}})
		if got := finalVars(t, s, inst.ID)["doubled"]; !reflect.DeepEqual(got, []any{int64(2), int64(4), int64(6)}) {
			t.Fatalf("doubled %#v", got)
		}
		inst = start(t, e, "p", engine.Vars{"items": []any{}})
		if got := finalVars(t, s, inst.ID)["doubled"]; !reflect.DeepEqual(got, []any{}) {
			t.Fatalf("doubled of nothing %#v, want an empty list", got)
		}
	})
}

// TestMultiInstanceMappings: the activity's input and output mappings apply
// to each inner instance; inputs see loopCounter and the element variable.
func TestMultiInstanceMappings(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, around("mi", "userTask", bpmntest.Attr("camunda:assignee", "${who}"),
		bpmntest.Input("who", "${item}-${loopCounter}"), bpmntest.Output("last", "${who}"),
		mi(`camunda:collection="${items}" camunda:elementVariable="item"`, ``)))
	inst := start(t, e, "p", engine.Vars{"items": []any{"ann", "bob"}})
	if tk := innerTask(t, s, inst.ID, "mi", 2); tk.Assignee != "bob-2" {
		t.Fatalf("assignee %q, want bob-2", tk.Assignee)
	}
	body := elementInstances(t, s, inst.ID, "mi")[0]
	if _, ok := locals(t, s, inst.ID, body.ID)["who"]; ok {
		t.Fatal("an input mapping was applied to the body")
	}
	completeInner(t, e, s, inst.ID, "mi", 2, nil)
	if got := vars(t, s, inst.ID)["last"]; got != "bob-2" {
		t.Fatalf("last %v, want bob-2 (output mapping of instance 2)", got)
	}
	completeInner(t, e, s, inst.ID, "mi", 1, nil)
	if got := finalVars(t, s, inst.ID)["last"]; got != "ann-1" {
		t.Fatalf("last %v, want ann-1", got)
	}
}

// TestMultiInstanceTermination: terminating the body (here by cancelling the
// instance, and by a terminate end event on a parallel path) terminates its
// inner instances first and cancels their tasks.
func TestMultiInstanceTermination(t *testing.T) {
	t.Parallel()
	t.Run("Cancel", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("mi", "userTask", mi(``, cardinalityXML("2"))))
		inst := start(t, e, "p", nil)
		if err := e.Cancel(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"mi:activated", "mi#1:activated", "mi#2:activated", "mi#1:terminated", "mi#2:terminated", "mi:terminated", "p:terminated"})
		tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tasks {
			if tk.State != engine.TaskCanceled {
				t.Fatalf("task %+v, want cancelled", tk)
			}
		}
	})
	t.Run("TerminateEndEvent", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, bpmntest.New("p").Start("s").Node("fork", "parallelGateway").
			Node("mi", "userTask", mi(``, cardinalityXML("2"))).Node("stop", "userTask").End("e").End("kill", bpmntest.Terminate()).
			Chain("s", "fork", "mi", "e").Chain("fork", "stop", "kill"))
		inst := start(t, e, "p", nil)
		complete(t, e, s, inst.ID, "stop", nil)
		got := loopTrace(t, s, inst.ID)
		want := []string{"mi#1:terminated", "mi#2:terminated", "mi:terminated", "p:completed"}
		if !slices.Equal(got[len(got)-len(want):], want) {
			t.Fatalf("event sequence %q, want it to end with %q", got, want)
		}
	})
}

// TestMultiInstanceNested: a parallel multi-instance sub-process holding a
// sequential multi-instance task: the inner bodies live in the outer inner
// instances, and loopCounter is each level's own.
func TestMultiInstanceNested(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Start("s").Sub("sub", func(sub *bpmntest.Builder) {
		sub.Start("ss").Node("t", "userTask", bpmntest.Attr("camunda:assignee", "${outer}-${loopCounter}"),
			mi(`isSequential="true"`, cardinalityXML("2"))).End("se").Chain("ss", "t", "se")
	}, bpmntest.Input("outer", "${loopCounter}"), mi(``, cardinalityXML("2"))).End("e").Chain("s", "sub", "e"))
	inst := start(t, e, "p", nil)
	for range 10 {
		open := state(t, s, inst.ID).UserTasks
		if len(open) == 0 {
			break
		}
		if len(open) > 2 {
			t.Fatalf("open tasks %d, want at most 2 (one per outer instance)", len(open))
		}
		if err := e.CompleteUserTask(ctx, open[0].ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	all, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
	if err != nil {
		t.Fatal(err)
	}
	var assignees []string
	for _, tk := range all {
		assignees = append(assignees, tk.Assignee)
	}
	slices.Sort(assignees)
	if want := []string{"1-1", "1-2", "2-1", "2-2"}; !slices.Equal(assignees, want) {
		t.Fatalf("assignees %q, want %q", assignees, want)
	}
}

func TestStandardLoop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		loop bpmntest.Opt
		vars engine.Vars
		want int // iterations
	}{
		// testBefore false: the condition is checked after each iteration,
		// in its scope (loopCounter is the iteration just done).
		{"TestAfter", loop(``, "${loopCounter &lt; 3}"), nil, 3},
		{"TestAfterFalseStillRunsOnce", loop(`testBefore="false"`, "${false}"), nil, 1},
		// testBefore true: checked before each iteration, in the body's
		// scope, where loopCounter is the iterations done so far.
		{"TestBefore", loop(`testBefore="true"`, "${loopCounter &lt; 2}"), nil, 2},
		{"TestBeforeFalseRunsNever", loop(`testBefore="true"`, "${go}"), engine.Vars{"go": false}, 0},
		{"LoopMaximumCaps", loop(`loopMaximum="4"`, "${true}"), nil, 4},
		{"LoopMaximumCapsTestBefore", loop(`testBefore="true" loopMaximum="2"`, "${true}"), nil, 2},
		{"LoopMaximumAlone", loop(`loopMaximum="3"`, ""), nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s := deploy(t, around("l", "task", tt.loop))
			inst := start(t, e, "p", tt.vars)
			want := []string{"p:activated", "s:activated", "s:completed", "l:activated"}
			for k := 1; k <= tt.want; k++ {
				want = append(want, fmt.Sprintf("l#%d:activated", k), fmt.Sprintf("l#%d:completed", k))
			}
			want = append(want, "l:completed", "e:activated", "e:completed", "p:completed")
			enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), want)
		})
	}

	// The loop condition sees what the iteration wrote.
	t.Run("UserTaskUntilApproved", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("l", "userTask", loop(``, "${!approved}")))
		inst := start(t, e, "p", nil)
		complete(t, e, s, inst.ID, "l", engine.Vars{"approved": false})
		complete(t, e, s, inst.ID, "l", engine.Vars{"approved": true})
		enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"l:activated", "l#1:activated", "l#1:completed", "l#2:activated", "l#2:completed", "l:completed",
			"e:activated", "e:completed", "p:completed"})
	})

	t.Run("NeverEndingLoopIsUnsupported", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("l", "task", loop(``, "")))
		inst := start(t, e, "p", nil)
		incs := openIncidents(t, s, inst.ID)
		if len(incs) != 1 || incs[0].ElementID != "l" || !strings.Contains(incs[0].Message, "never ends") {
			t.Fatalf("incidents %+v", incs)
		}
	})
}

// TestMultiInstanceIncidents: bad input stops the body with an incident
// naming the element and the value; once the variable is fixed, retrying the
// incident runs the activation again.
func TestMultiInstanceIncidents(t *testing.T) {
	t.Parallel()
	collection := mi(`camunda:collection="${items}" camunda:elementVariable="item"`, ``)
	tests := []struct {
		name  string
		loop  bpmntest.Opt
		vars  engine.Vars
		parts []string // the incident message holds each
		fix   engine.Vars
		want  int // instances after the retry
	}{
		{"CollectionNotAList", collection, engine.Vars{"items": "a,b"}, []string{`"mi"`, "input collection ${items}", "string", `"a,b"`, "expected a list"},
			engine.Vars{"items": []any{"a", "b"}}, 2},
		{"CollectionIsAnObject", collection, engine.Vars{"items": map[string]any{"a": 1}}, []string{`"mi"`, "object"},
			engine.Vars{"items": []any{"a"}}, 1},
		{"CollectionUnknownVariable", collection, nil, []string{`"mi"`, "input collection", "items"},
			engine.Vars{"items": []any{"a", "b", "c"}}, 3},
		{"LiteralCollectionUnknownVariable", mi(``, `<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>`), nil, []string{`"mi"`, `unknown variable "items"`},
			engine.Vars{"items": []any{"a"}}, 1},
		{"CardinalityNegative", mi(``, cardinalityXML("${n}")), engine.Vars{"n": -1}, []string{`"mi"`, "loop cardinality ${n}", "number -1", "non-negative integer"},
			engine.Vars{"n": 2}, 2},
		{"CardinalityFraction", mi(``, cardinalityXML("${n}")), engine.Vars{"n": 1.5}, []string{`"mi"`, "number 1.5"},
			engine.Vars{"n": 1}, 1},
		{"CardinalityNotANumber", mi(``, cardinalityXML("${n}")), engine.Vars{"n": "many"}, []string{`"mi"`, `string "many"`},
			engine.Vars{"n": "3"}, 3},
		{"CardinalityUnknownVariable", mi(`isSequential="true"`, cardinalityXML("${n}")), nil, []string{`"mi"`, "loop cardinality", "n"},
			engine.Vars{"n": 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s := deploy(t, around("mi", "userTask", tt.loop))
			inst := start(t, e, "p", tt.vars)
			incs := openIncidents(t, s, inst.ID)
			if len(incs) != 1 {
				t.Fatalf("incidents %+v, want 1", incs)
			}
			in := incs[0]
			for _, p := range tt.parts {
				if !strings.Contains(in.Message, p) {
					t.Errorf("incident message %q does not hold %q", in.Message, p)
				}
			}
			eis := elementInstances(t, s, inst.ID, "mi")
			if len(eis) != 1 || eis[0].Kind != engine.KindMultiInstanceBody || in.ElementInstanceID != eis[0].ID || in.ElementID != "mi" {
				t.Fatalf("incident %+v on %+v, want it on the body alone", in, eis)
			}
			if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, Vars: tt.fix}); err != nil {
				t.Fatal(err)
			}
			if err := e.RetryIncident(ctx, in.ID, 0); err != nil {
				t.Fatal(err)
			}
			if incs := openIncidents(t, s, inst.ID); len(incs) != 0 {
				t.Fatalf("incidents after the retry %+v", incs)
			}
			if n := len(elementInstances(t, s, inst.ID, "mi")) - 1; n != tt.want {
				t.Fatalf("inner instances after the retry %d, want %d", n, tt.want)
			}
		})
	}

	// A completion condition that cannot be evaluated stops the completing
	// instance; the retry completes it once the variable is there.
	t.Run("CompletionConditionUnknownVariable", func(t *testing.T) {
		t.Parallel()
		e, s := deploy(t, around("mi", "userTask", mi(``, cardinalityXML("2")+completionXML("${done}"))))
		inst := start(t, e, "p", nil)
		completeInner(t, e, s, inst.ID, "mi", 1, nil)
		incs := openIncidents(t, s, inst.ID)
		if len(incs) != 1 || !strings.Contains(incs[0].Message, "completion condition") {
			t.Fatalf("incidents %+v", incs)
		}
		if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, Vars: engine.Vars{"done": true}}); err != nil {
			t.Fatal(err)
		}
		if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"mi:activated", "mi#1:activated", "mi#2:activated", "mi#2:terminated", "mi#1:completed", "mi:completed",
			"e:activated", "e:completed", "p:completed"})
	})
}

// TestMultiInstanceModelerXML runs models as Camunda Modeler writes them for
// Camunda 7 (camunda: attributes) and Camunda 8 (zeebe:loopCharacteristics),
// and checks what the parser read.
func TestMultiInstanceModelerXML(t *testing.T) {
	t.Parallel()
	const camunda7 = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_0x1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0" modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.22.0">
  <bpmn:process id="review" name="Review" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="StartEvent_1">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_Review" />
    <bpmn:userTask id="Activity_Review" name="Review document" camunda:assignee="${reviewer}">
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${reviewers}" camunda:elementVariable="reviewer">
        <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">${nrOfCompletedInstances/nrOfInstances &gt;= 0.6}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_Review" targetRef="Activity_Notify" />
    <bpmn:serviceTask id="Activity_Notify" name="Notify" camunda:type="external" camunda:topic="notify">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">${5-2}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
    <bpmn:endEvent id="EndEvent_1">
      <bpmn:incoming>Flow_3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_Notify" targetRef="EndEvent_1" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="review">
      <bpmndi:BPMNShape id="Shape_Start" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="82" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Review" bpmnElement="Activity_Review"><dc:Bounds x="240" y="60" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Notify" bpmnElement="Activity_Notify"><dc:Bounds x="400" y="60" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_End" bpmnElement="EndEvent_1"><dc:Bounds x="562" y="82" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Edge_1" bpmnElement="Flow_1"><di:waypoint x="188" y="100" /><di:waypoint x="240" y="100" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_2" bpmnElement="Flow_2"><di:waypoint x="340" y="100" /><di:waypoint x="400" y="100" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_3" bpmnElement="Flow_3"><di:waypoint x="500" y="100" /><di:waypoint x="562" y="100" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`

	const camunda8 = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_1k2" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0" modeler:executionPlatform="Camunda Cloud" modeler:executionPlatformVersion="8.6.0">
  <bpmn:process id="quotes" name="Quotes" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_Quote" />
    <bpmn:serviceTask id="Activity_Quote" name="Get quote">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="quote" retries="3" />
        <zeebe:ioMapping>
          <zeebe:input source="=supplier.name" target="supplierName" />
        </zeebe:ioMapping>
      </bpmn:extensionElements>
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:extensionElements>
          <zeebe:loopCharacteristics inputCollection="=suppliers" inputElement="supplier" outputCollection="quotes" outputElement="=quote" />
        </bpmn:extensionElements>
        <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">=numberOfCompletedInstances &gt;= 3</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_Quote" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1">
      <bpmn:incoming>Flow_2</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="quotes">
      <bpmndi:BPMNShape id="Shape_Start" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="82" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Quote" bpmnElement="Activity_Quote"><dc:Bounds x="240" y="60" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_End" bpmnElement="EndEvent_1"><dc:Bounds x="402" y="82" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Edge_1" bpmnElement="Flow_1"><di:waypoint x="188" y="100" /><di:waypoint x="240" y="100" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_2" bpmnElement="Flow_2"><di:waypoint x="340" y="100" /><di:waypoint x="402" y="100" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`

	t.Run("Parsed", func(t *testing.T) {
		t.Parallel()
		d7, err := bpmn.Parse([]byte(camunda7))
		if err != nil {
			t.Fatal(err)
		}
		l := d7.Node("Activity_Review").Loop
		if !l.MultiInstance || !l.Sequential || l.InputCollection.String() != "${reviewers}" || l.InputElement != "reviewer" ||
			l.Cardinality != nil || l.CompletionCondition.String() != "${nrOfCompletedInstances/nrOfInstances >= 0.6}" {
			t.Errorf("Camunda 7 review loop %+v", l)
		}
		if l := d7.Node("Activity_Notify").Loop; !l.MultiInstance || l.Sequential || l.Cardinality.String() != "${5-2}" || l.InputCollection != nil {
			t.Errorf("Camunda 7 notify loop %+v", l)
		}
		d8, err := bpmn.Parse([]byte(camunda8))
		if err != nil {
			t.Fatal(err)
		}
		l = d8.Node("Activity_Quote").Loop
		if !l.MultiInstance || l.Sequential || l.InputCollection.String() != "=suppliers" || l.InputElement != "supplier" ||
			l.OutputCollection != "quotes" || l.OutputElement.String() != "=quote" || l.CompletionCondition.String() != "=numberOfCompletedInstances >= 3" {
			t.Errorf("Camunda 8 loop %+v", l)
		}
		for _, d := range []*bpmn.Definitions{d7, d8} {
			if ws := engine.Check(d); len(ws) != 0 {
				t.Errorf("warnings %+v, want none", ws)
			}
		}
	})

	t.Run("Camunda7", func(t *testing.T) {
		t.Parallel()
		s := enginetest.NewMemStore()
		e := engine.New(s, engine.Config{NowFunc: func() time.Time { return t0 }})
		dep, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "review.bpmn", Data: []byte(camunda7)}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(dep.Warnings) != 0 {
			t.Fatalf("warnings %+v", dep.Warnings)
		}
		notified := 0
		e.RegisterHandler("notify", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			notified++
			return nil, nil
		})
		inst := start(t, e, "review", engine.Vars{"reviewers": []string{"ann", "bob", "cid", "dan", "eve"}})
		// Sequential: one task at a time, assigned to the element variable;
		// 3 of 5 is 0.6, so the fourth reviewer never gets a task.
		for _, who := range []string{"ann", "bob", "cid"} {
			tk := openTask(t, s, inst.ID, "Activity_Review")
			if tk.Assignee != who {
				t.Fatalf("assignee %q, want %q", tk.Assignee, who)
			}
			if err := e.CompleteUserTask(ctx, tk.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		if notified != 3 {
			t.Fatalf("notify handler ran %d times, want 3", notified)
		}
		enginetest.AssertTrace(t, loopTrace(t, s, inst.ID), []string{"review:activated", "StartEvent_1:activated", "StartEvent_1:completed",
			"Activity_Review:activated", "Activity_Review#1:activated", "Activity_Review#1:completed",
			"Activity_Review#2:activated", "Activity_Review#2:completed", "Activity_Review#3:activated", "Activity_Review#3:completed", "Activity_Review:completed",
			"Activity_Notify:activated", "Activity_Notify#1:activated", "Activity_Notify#2:activated", "Activity_Notify#3:activated",
			"Activity_Notify#1:completed", "Activity_Notify#2:completed", "Activity_Notify#3:completed", "Activity_Notify:completed",
			"EndEvent_1:activated", "EndEvent_1:completed", "review:completed"})
	})

	t.Run("Camunda8", func(t *testing.T) {
		t.Parallel()
		s := enginetest.NewMemStore()
		e := engine.New(s, engine.Config{NowFunc: func() time.Time { return t0 }})
		dep, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "quotes.bpmn", Data: []byte(camunda8)}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(dep.Warnings) != 0 {
			t.Fatalf("warnings %+v", dep.Warnings)
		}
		inst := start(t, e, "quotes", engine.Vars{"suppliers": []any{
			map[string]any{"name": "acme"}, map[string]any{"name": "globex"}, map[string]any{"name": "initech"}, map[string]any{"name": "umbrella"}}})
		jobs := state(t, s, inst.ID).Jobs
		slices.SortFunc(jobs, func(a, b *engine.Job) int { return int(a.ID - b.ID) })
		if len(jobs) != 4 {
			t.Fatalf("jobs %d, want 4 (parallel)", len(jobs))
		}
		// Workers answer out of order; the input mapping gave each job its supplier's name.
		prices := map[string]int64{"acme": 10, "globex": 20, "initech": 30, "umbrella": 40}
		for _, i := range []int{3, 1, 0} {
			j := jobs[i]
			name := locals(t, s, inst.ID, j.ElementInstanceID)["supplierName"].(string)
			if err := e.CompleteJob(ctx, j.ID, engine.Vars{"quote": prices[name]}); err != nil {
				t.Fatal(err)
			}
		}
		// Three quotes are enough: the fourth job is cancelled.
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		got := finalVars(t, s, inst.ID)["quotes"]
		want := []any{int64(10), int64(20), nil, int64(40)}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("quotes %#v, want %#v (in supplier order, the cancelled one null)", got, want)
		}
		if _, leaked := finalVars(t, s, inst.ID)["quote"]; leaked {
			t.Fatal("the output element leaked to the process scope")
		}
	})
}
