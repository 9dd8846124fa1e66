package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// throwCase is one model run until every token waits: its trace of
// lifecycle events (and escalationUncaught), the instance state, and more
// checks.
type throwCase struct {
	name  string
	model *bpmntest.Builder
	// handlers are Go handlers by topic, registered before the start.
	handlers map[string]engine.HandlerFunc
	// then runs after the start, before the trace is taken.
	then  func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64)
	trace []string
	state engine.InstanceState
	check func(t *testing.T, s *enginetest.MemStore, id int64)
}

var throwEvents = append(enginetest.LifecycleEvents[:len(enginetest.LifecycleEvents):len(enginetest.LifecycleEvents)], engine.EventEscalationUncaught)

func runThrowCases(t *testing.T, cases []throwCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, s := deploy(t, tc.model)
			for topic, h := range tc.handlers {
				e.RegisterHandler(topic, h)
			}
			inst := start(t, e, "p", nil)
			if tc.then != nil {
				tc.then(t, e, s, inst.ID)
			}
			enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, throwEvents...), tc.trace)
			wantState(t, s, inst.ID, tc.state)
			if tc.check != nil {
				tc.check(t, s, inst.ID)
			}
		})
	}
}

// incidentsOf returns the open incidents of an instance.
func incidentsOf(t *testing.T, s engine.Store, id int64) []*engine.Incident {
	t.Helper()
	incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: id, State: engine.IncidentOpen})
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

// wantUncaught checks that the only open incident is an unhandled error at
// elementID naming code.
func wantUncaught(t *testing.T, s engine.Store, id int64, elementID, code string) {
	t.Helper()
	incs := incidentsOf(t, s, id)
	if len(incs) != 1 || incs[0].Type != engine.IncidentUnhandledError || incs[0].ElementID != elementID ||
		!strings.Contains(incs[0].Message, `"`+code+`"`) || !strings.Contains(incs[0].Message, elementID) {
		t.Fatalf("incidents %+v, want one unhandledError at %s naming %q", incs, elementID, code)
	}
}

// wantOpenTasks checks the element ids of the open user tasks, sorted.
func wantOpenTasks(t *testing.T, s engine.Store, id int64, want ...string) {
	t.Helper()
	var got []string
	for _, tk := range state(t, s, id).UserTasks {
		got = append(got, tk.ElementID)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("open user tasks %v, want %v", got, want)
	}
}

// completeAll completes every open user task, in id order, until none is left.
func completeAll(t *testing.T, e *engine.Engine, s engine.Store, id int64) {
	t.Helper()
	for range 10 {
		tasks := state(t, s, id).UserTasks
		if len(tasks) == 0 {
			return
		}
		if err := e.CompleteUserTask(ctx, tasks[0].ID, nil); err != nil {
			t.Fatalf("complete %s: %v", tasks[0].ElementID, err)
		}
	}
	t.Fatal("user tasks keep coming")
}

// failingSub is a process whose sub-process "sub" ends at error end event
// "fail" throwing error E (code E1); inside adds more to the sub-process.
func failingSub(inside func(b *bpmntest.Builder)) *bpmntest.Builder {
	return bpmntest.New("p").Error("E", "E1").Start("s").
		Sub("sub", func(b *bpmntest.Builder) {
			b.Start("ss").End("fail", bpmntest.ErrorRef("E")).Chain("ss", "fail")
			if inside != nil {
				inside(b)
			}
		}).End("e").Chain("s", "sub", "e")
}

func TestErrorEndEvents(t *testing.T) {
	t.Parallel()
	runThrowCases(t, []throwCase{
		{
			name: "CaughtByABoundaryEventOnTheSubProcess",
			model: failingSub(nil).Node("caught", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("E")).
				End("handled").Chain("caught", "handled"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"fail:activated", "fail:terminated", "sub:terminated", "caught:activated", "caught:completed",
				"handled:activated", "handled:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// cancelActivity="false" is ignored: an error always interrupts.
			name: "ErrorBoundaryEventAlwaysInterrupts",
			model: failingSub(nil).Node("caught", "boundaryEvent", bpmntest.Boundary("sub", false), bpmntest.ErrorRef("E")).
				End("handled").Chain("caught", "handled"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"fail:activated", "fail:terminated", "sub:terminated", "caught:activated", "caught:completed",
				"handled:activated", "handled:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// The error interrupts the sub-process: the parallel task is
			// cancelled; after the event sub-process the sub-process
			// completes normally and leaves on its outgoing flow.
			name: "CaughtByAnEventSubProcessInTheSubProcess",
			model: bpmntest.New("p").Error("E", "E1").Start("s").
				Sub("sub", func(b *bpmntest.Builder) {
					b.Start("ss").Node("fork", "parallelGateway").Node("wait", "userTask").End("fail", bpmntest.ErrorRef("E")).End("se").
						Chain("ss", "fork", "wait", "se").Chain("fork", "fail").
						Sub("esp", func(b *bpmntest.Builder) {
							b.Start("es", bpmntest.ErrorRef("E")).End("ee").Chain("es", "ee")
						}, bpmntest.Attr("triggeredByEvent", "true"))
				}).Node("after", "task").End("e").Chain("s", "sub", "after", "e"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"fork:activated", "fork:completed", "wait:activated", "fail:activated", "wait:terminated", "fail:terminated",
				"esp:activated", "es:activated", "es:completed", "ee:activated", "ee:completed", "esp:completed",
				"sub:completed", "after:activated", "after:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: id})
				if err != nil || len(tasks) != 1 || tasks[0].State != engine.TaskCanceled {
					t.Fatalf("tasks %+v (%v), want wait cancelled", tasks, err)
				}
			},
		},
		{
			name: "SpecificCodeBeatsCatchAllAtTheSameLevel",
			model: failingSub(nil).
				Node("any", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("")).End("anyEnd").
				Node("specific", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("E")).End("specificEnd").
				Chain("any", "anyEnd").Chain("specific", "specificEnd"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"fail:activated", "fail:terminated", "sub:terminated", "specific:activated", "specific:completed",
				"specificEnd:activated", "specificEnd:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// An error event sub-process inside a scope wins over a
			// boundary event on that scope, even a catch-all over a code.
			name: "EventSubProcessOfTheScopeBeatsItsBoundaryEvent",
			model: failingSub(func(b *bpmntest.Builder) {
				b.Sub("esp", func(b *bpmntest.Builder) {
					b.Start("es", bpmntest.ErrorRef("")).End("ee").Chain("es", "ee")
				}, bpmntest.Attr("triggeredByEvent", "true"))
			}).Node("caught", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("E")).End("handled").Chain("caught", "handled"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"fail:activated", "fail:terminated", "esp:activated", "es:activated", "es:completed", "ee:activated", "ee:completed",
				"esp:completed", "sub:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "NearestLevelWins",
			model: bpmntest.New("p").Error("E", "E1").Start("s").
				Sub("outer", func(b *bpmntest.Builder) {
					b.Start("os").Sub("inner", func(b *bpmntest.Builder) {
						b.Start("is").End("fail", bpmntest.ErrorRef("E")).Chain("is", "fail")
					}).End("oe").Chain("os", "inner", "oe").
						Node("innerCatch", "boundaryEvent", bpmntest.Boundary("inner", true), bpmntest.ErrorRef("")).Chain("innerCatch", "oe")
				}).End("e").Chain("s", "outer", "e").
				Node("outerCatch", "boundaryEvent", bpmntest.Boundary("outer", true), bpmntest.ErrorRef("E")).End("outerEnd").Chain("outerCatch", "outerEnd"),
			trace: []string{"p:activated", "s:activated", "s:completed", "outer:activated", "os:activated", "os:completed",
				"inner:activated", "is:activated", "is:completed", "fail:activated", "fail:terminated", "inner:terminated",
				"innerCatch:activated", "innerCatch:completed", "oe:activated", "oe:completed", "outer:completed",
				"e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// An errorRef that names no <error> is the code itself; the
			// inner boundary's code does not match, so the error passes it.
			name: "PassesBoundaryEventsOfAnotherCode",
			model: bpmntest.New("p").Start("s").
				Sub("outer", func(b *bpmntest.Builder) {
					b.Start("os").Sub("inner", func(b *bpmntest.Builder) {
						b.Start("is").End("fail", bpmntest.ErrorRef("RAW_CODE")).Chain("is", "fail")
					}).End("oe").Chain("os", "inner", "oe").
						Node("innerCatch", "boundaryEvent", bpmntest.Boundary("inner", true), bpmntest.ErrorRef("OTHER")).Chain("innerCatch", "oe")
				}).End("e").Chain("s", "outer", "e").
				Node("outerCatch", "boundaryEvent", bpmntest.Boundary("outer", true), bpmntest.ErrorRef("RAW_CODE", `camunda:errorCodeVariable="code"`)).
				Node("review", "userTask").Chain("outerCatch", "review"),
			trace: []string{"p:activated", "s:activated", "s:completed", "outer:activated", "os:activated", "os:completed",
				"inner:activated", "is:activated", "is:completed", "fail:activated", "fail:terminated", "inner:terminated",
				"outer:terminated", "outerCatch:activated", "outerCatch:completed", "review:activated"},
			state: engine.InstanceActive,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				if got := vars(t, s, id); got["code"] != "RAW_CODE" {
					t.Fatalf("process variables %v, want code RAW_CODE", got)
				}
			},
		},
		{
			name:  "UncaughtIsAnIncidentNamingTheCode",
			model: failingSub(nil).Node("caught", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("OTHER")).End("handled").Chain("caught", "handled"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed", "fail:activated"},
			state: engine.InstanceActive,
			then: func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
				// A retry throws again: the model still has no catcher.
				incs := incidentsOf(t, s, id)
				if len(incs) != 1 {
					t.Fatalf("incidents %+v, want one", incs)
				}
				if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				wantUncaught(t, s, id, "fail", "E1")
			},
		},
		{
			// The event sub-process catches E and throws it again: not to
			// itself, but to the boundary event of its sub-process.
			name: "ErrorEndInsideAnEventSubProcessGoesToTheOuterScope",
			model: failingSub(func(b *bpmntest.Builder) {
				b.Sub("esp", func(b *bpmntest.Builder) {
					b.Start("es", bpmntest.ErrorRef("E")).End("rethrow", bpmntest.ErrorRef("E")).Chain("es", "rethrow")
				}, bpmntest.Attr("triggeredByEvent", "true")).
					Sub("esp2", func(b *bpmntest.Builder) {
						b.Start("es2", bpmntest.ErrorRef("")).End("ee2").Chain("es2", "ee2")
					}, bpmntest.Attr("triggeredByEvent", "true"))
			}).Node("outer", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("E")).End("handled").Chain("outer", "handled"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"fail:activated", "fail:terminated", "esp:activated", "es:activated", "es:completed", "rethrow:activated",
				"rethrow:terminated", "esp:terminated", "sub:terminated", "outer:activated", "outer:completed",
				"handled:activated", "handled:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// Nothing above the event sub-process catches the re-thrown error.
			name: "ErrorEndInsideAnEventSubProcessUncaught",
			model: failingSub(func(b *bpmntest.Builder) {
				b.Sub("esp", func(b *bpmntest.Builder) {
					b.Start("es", bpmntest.ErrorRef("E")).End("rethrow", bpmntest.ErrorRef("E")).Chain("es", "rethrow")
				}, bpmntest.Attr("triggeredByEvent", "true"))
			}),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"fail:activated", "fail:terminated", "esp:activated", "es:activated", "es:completed", "rethrow:activated"},
			state: engine.InstanceActive,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				wantUncaught(t, s, id, "rethrow", "E1")
			},
		},
		{
			name: "ProcessLevelEventSubProcessCatchesFromNestedSubProcesses",
			model: bpmntest.New("p").Error("E", "E1").Start("s").
				Sub("outer", func(b *bpmntest.Builder) {
					b.Start("os").Sub("inner", func(b *bpmntest.Builder) {
						b.Start("is").End("fail", bpmntest.ErrorRef("E")).Chain("is", "fail")
					}).End("oe").Chain("os", "inner", "oe")
				}).End("e").Chain("s", "outer", "e").
				Sub("esp", func(b *bpmntest.Builder) {
					b.Start("es", bpmntest.ErrorRef("E", `camunda:errorCodeVariable="code"`, `camunda:errorMessageVariable="msg"`)).
						Node("review", "userTask").End("ee").Chain("es", "review", "ee")
				}, bpmntest.Attr("triggeredByEvent", "true")),
			trace: []string{"p:activated", "s:activated", "s:completed", "outer:activated", "os:activated", "os:completed",
				"inner:activated", "is:activated", "is:completed", "fail:activated", "fail:terminated", "inner:terminated",
				"outer:terminated", "esp:activated", "es:activated", "es:completed", "review:activated"},
			state: engine.InstanceActive,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				got := vars(t, s, id)
				if got["code"] != "E1" || got["msg"] != nil {
					t.Fatalf("process variables %v, want code E1 and msg null", got)
				}
				if _, ok := got["msg"]; !ok {
					t.Fatalf("process variables %v, want msg set to null", got)
				}
			},
		},
	})
}

// TestErrorInMultiInstanceCancelsSiblings: an error thrown in one inner
// instance of a parallel multi-instance sub-process is caught on the body,
// which terminates every inner instance.
func TestErrorInMultiInstanceCancelsSiblings(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, bpmntest.New("p").Error("E", "E1").Start("s").
		Sub("each", func(b *bpmntest.Builder) {
			b.Start("ss").Node("gw", "exclusiveGateway").Node("wait", "userTask").End("fail", bpmntest.ErrorRef("E")).End("se").
				Chain("ss", "gw").FlowIf("gw", "fail", "${loopCounter == 2}").Default("gw", "wait").Chain("wait", "se")
		}, bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>`)).
		End("e").Chain("s", "each", "e").
		Node("caught", "boundaryEvent", bpmntest.Boundary("each", true), bpmntest.ErrorRef("E")).Node("review", "userTask").Chain("caught", "review"))
	inst := start(t, e, "p", nil)
	wantOpenTasks(t, s, inst.ID, "review")
	tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
	if err != nil {
		t.Fatal(err)
	}
	// Instance 1 waited at its task when instance 2 threw; instance 3 had
	// not reached it yet.
	var waits []engine.UserTaskState
	for _, tk := range tasks {
		if tk.ElementID == "wait" {
			waits = append(waits, tk.State)
		}
	}
	if !slices.Equal(waits, []engine.UserTaskState{engine.TaskCanceled}) {
		t.Fatalf("wait tasks %v, want the sibling's cancelled", waits)
	}
	if got := enginetest.Trace(t, s, inst.ID, engine.EventTerminated); len(got) < 4 || got[len(got)-1] != "each:terminated" {
		t.Fatalf("terminated %v, want the inner instances, then the body", got)
	}
	if got := active(t, s, inst.ID); !slices.Equal(got, []string{"review"}) {
		t.Fatalf("active %v, want only review", got)
	}
}

// jobModel is a service task "charge" (topic charge) whose boundary event
// "declined" catches DECLINED into the code and message variables; the
// catch path waits at user task "review".
func jobModel() *bpmntest.Builder {
	return bpmntest.New("p").Error("D", "DECLINED").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e").
		Chain("s", "charge", "e").
		Node("declined", "boundaryEvent", bpmntest.Boundary("charge", true),
			bpmntest.ErrorRef("D", `camunda:errorCodeVariable="code"`, `camunda:errorMessageVariable="why"`)).
		Node("review", "userTask").End("reviewed").Chain("declined", "review", "reviewed")
}

func TestJobBPMNErrors(t *testing.T) {
	t.Parallel()
	caughtTrace := []string{"p:activated", "s:activated", "s:completed", "charge:activated", "charge:terminated",
		"declined:activated", "declined:completed", "review:activated"}
	declined := func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
		return nil, &engine.BPMNError{Code: "DECLINED", Message: "card expired", Vars: engine.Vars{"reason": "expired"}}
	}
	wantCaughtVars := func(t *testing.T, s *enginetest.MemStore, id int64) {
		t.Helper()
		got := vars(t, s, id)
		if got["code"] != "DECLINED" || got["why"] != "card expired" || got["reason"] != "expired" {
			t.Fatalf("process variables %v, want code, why and reason", got)
		}
		jobs, err := s.JobList(ctx, &engine.JobListParams{InstanceID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.ElementID == "charge" && j.State != engine.JobCanceled {
				t.Fatalf("job %+v, want it cancelled with its task", j)
			}
		}
	}
	throwJob := func(code string, vs engine.Vars) func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
		return func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
			t.Helper()
			jobs := jobsOf(t, s, id, engine.JobActive)
			if len(jobs) != 1 {
				t.Fatalf("active jobs %+v, want one", jobs)
			}
			if err := e.ThrowJobError(ctx, jobs[0].ID, &engine.BPMNError{Code: code, Message: "card expired", Vars: vs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	runThrowCases(t, []throwCase{
		{
			name:  "ThrowJobErrorCaughtByABoundaryEventOnTheTask",
			model: jobModel(),
			then:  throwJob("DECLINED", engine.Vars{"reason": "expired"}),
			trace: caughtTrace,
			state: engine.InstanceActive,
			check: wantCaughtVars,
		},
		{
			name:     "GoHandlerBPMNErrorCaughtByABoundaryEventOnTheTask",
			model:    jobModel(),
			handlers: map[string]engine.HandlerFunc{"charge": declined},
			trace:    caughtTrace,
			state:    engine.InstanceActive,
			check:    wantCaughtVars,
		},
		{
			name:  "UncaughtCodeIsAnIncidentOnTheTask",
			model: jobModel(),
			then:  throwJob("OTHER", engine.Vars{"reason": "kept"}),
			trace: []string{"p:activated", "s:activated", "s:completed", "charge:activated"},
			state: engine.InstanceActive,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				wantUncaught(t, s, id, "charge", "OTHER")
				if got := vars(t, s, id); got["reason"] != "kept" || got["code"] != nil {
					t.Fatalf("process variables %v, want reason kept and no code", got)
				}
				if jobs := jobsOf(t, s, id, engine.JobFailed); len(jobs) != 1 {
					t.Fatalf("failed jobs %+v, want the job held by the incident", jobs)
				}
			},
		},
		{
			// The task's own boundary event does not match; the walk goes
			// up to the sub-process's boundary event.
			name: "TaskInASubProcessCaughtOnTheSubProcess",
			model: bpmntest.New("p").Start("s").
				Sub("sub", func(b *bpmntest.Builder) {
					b.Start("ss").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("se").Chain("ss", "charge", "se").
						Node("timeout", "boundaryEvent", bpmntest.Boundary("charge", true), bpmntest.ErrorRef("TIMEOUT")).End("te").Chain("timeout", "te")
				}).End("e").Chain("s", "sub", "e").
				Node("declined", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("DECLINED")).
				Node("review", "userTask").Chain("declined", "review"),
			handlers: map[string]engine.HandlerFunc{"charge": declined},
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"charge:activated", "charge:terminated", "sub:terminated", "declined:activated", "declined:completed", "review:activated"},
			state: engine.InstanceActive,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				if got := vars(t, s, id); got["reason"] != "expired" {
					t.Fatalf("process variables %v, want the error's variable reason", got)
				}
			},
		},
		{
			name: "CaughtByAProcessEventSubProcess",
			model: bpmntest.New("p").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).Node("wait", "userTask").End("e").
				Chain("s", "charge", "wait", "e").
				Sub("esp", func(b *bpmntest.Builder) {
					b.Start("es", bpmntest.ErrorRef("", `camunda:errorCodeVariable="code"`)).Node("review", "userTask").End("ee").Chain("es", "review", "ee")
				}, bpmntest.Attr("triggeredByEvent", "true")),
			then: throwJob("DECLINED", nil),
			trace: []string{"p:activated", "s:activated", "s:completed", "charge:activated", "charge:terminated",
				"esp:activated", "es:activated", "es:completed", "review:activated"},
			state: engine.InstanceActive,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				if got := vars(t, s, id); got["code"] != "DECLINED" {
					t.Fatalf("process variables %v, want code DECLINED", got)
				}
			},
		},
	})
}

// TestUncaughtJobErrorRetry: the incident of an uncaught job error holds
// the job; a retry gives it back to the workers.
func TestUncaughtJobErrorRetry(t *testing.T) {
	t.Parallel()
	e, s := deploy(t, jobModel())
	inst := start(t, e, "p", nil)
	job := jobsOf(t, s, inst.ID, engine.JobActive)[0]
	if err := e.ThrowJobError(ctx, job.ID, &engine.BPMNError{Code: "UNKNOWN"}); err != nil {
		t.Fatal(err)
	}
	wantUncaught(t, s, inst.ID, "charge", "UNKNOWN")
	if err := e.RetryIncident(ctx, incidentsOf(t, s, inst.ID)[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.ThrowJobError(ctx, job.ID, &engine.BPMNError{Code: "DECLINED"}); err != nil {
		t.Fatal(err)
	}
	wantOpenTasks(t, s, inst.ID, "review")
	if len(incidentsOf(t, s, inst.ID)) != 0 {
		t.Fatal("incident left open")
	}
}

// escalating is a process whose sub-process "sub" throws escalation X
// (code ESC) at "up" and then waits at user task "next".
func escalating() *bpmntest.Builder {
	return bpmntest.New("p").Escalation("X", "ESC").Start("s").
		Sub("sub", func(b *bpmntest.Builder) {
			b.Start("ss").Node("up", "intermediateThrowEvent", bpmntest.EscalationRef("X")).Node("next", "userTask").End("se").
				Chain("ss", "up", "next", "se")
		}).End("e").Chain("s", "sub", "e")
}

func TestEscalationEvents(t *testing.T) {
	t.Parallel()
	runThrowCases(t, []throwCase{
		{
			// The catch cancels the thrower: the next element never starts.
			name: "InterruptingBoundaryEventOnTheSubProcess",
			model: escalating().Node("caught", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.EscalationRef("X")).
				End("handled").Chain("caught", "handled"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"up:activated", "up:terminated", "sub:terminated", "caught:activated", "caught:completed",
				"handled:activated", "handled:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// Both paths run; the sub-process still completes and leaves on
			// its flow; the code lands in the escalation code variable.
			name: "NonInterruptingBoundaryEventOnTheSubProcess",
			model: escalating().Node("caught", "boundaryEvent", bpmntest.Boundary("sub", false),
				bpmntest.EscalationRef("X", `camunda:escalationCodeVariable="escCode"`)).
				Node("notify", "userTask").End("notified").Chain("caught", "notify", "notified"),
			then: func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
				wantOpenTasks(t, s, id, "next", "notify")
				if got := vars(t, s, id); got["escCode"] != "ESC" {
					t.Fatalf("process variables %v, want escCode ESC", got)
				}
				complete(t, e, s, id, "next", nil)
				complete(t, e, s, id, "notify", nil)
			},
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"up:activated", "caught:activated", "up:completed", "caught:completed", "next:activated", "notify:activated",
				"next:completed", "se:activated", "se:completed", "sub:completed", "e:activated", "e:completed",
				"notify:completed", "notified:activated", "notified:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "InterruptingEventSubProcess",
			model: escalating().Sub("esp", func(b *bpmntest.Builder) {
				b.Start("es", bpmntest.EscalationRef("X")).Node("handle", "userTask").End("ee").Chain("es", "handle", "ee")
			}, bpmntest.Attr("triggeredByEvent", "true")),
			then: func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
				wantOpenTasks(t, s, id, "handle")
				complete(t, e, s, id, "handle", nil)
			},
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"up:activated", "up:terminated", "sub:terminated", "esp:activated", "es:activated", "es:completed",
				"handle:activated", "handle:completed", "ee:activated", "ee:completed", "esp:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "NonInterruptingEventSubProcess",
			model: escalating().Sub("esp", func(b *bpmntest.Builder) {
				b.Start("es", bpmntest.EscalationRef(""), bpmntest.Attr("isInterrupting", "false")).Node("handle", "userTask").End("ee").
					Chain("es", "handle", "ee")
			}, bpmntest.Attr("triggeredByEvent", "true")),
			then: func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
				wantOpenTasks(t, s, id, "handle", "next")
				complete(t, e, s, id, "next", nil)
				wantState(t, s, id, engine.InstanceActive) // the event sub-process still runs
				complete(t, e, s, id, "handle", nil)
			},
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"up:activated", "esp:activated", "up:completed", "es:activated", "next:activated", "es:completed", "handle:activated",
				"next:completed", "se:activated", "se:completed", "sub:completed", "e:activated", "e:completed",
				"handle:completed", "ee:activated", "ee:completed", "esp:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "UncaughtThrowIsRecordedAndGoesOn",
			model: escalating().Node("caught", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.EscalationRef("OTHER")).
				End("handled").Chain("caught", "handled").Escalation("OTHER", "NOT_ESC"),
			then: func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
				complete(t, e, s, id, "next", nil)
			},
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"up:activated", "up:escalationUncaught", "up:completed", "next:activated", "next:completed", "se:activated", "se:completed",
				"sub:completed", "e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
			check: func(t *testing.T, s *enginetest.MemStore, id int64) {
				hist, err := s.HistoryList(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range hist {
					if ev.Type == engine.EventEscalationUncaught && !strings.Contains(ev.Detail, `"ESC"`) {
						t.Fatalf("escalationUncaught detail %q, want the code", ev.Detail)
					}
				}
			},
		},
		{
			name:  "UncaughtEndEventJustEnds",
			model: bpmntest.New("p").Escalation("X", "ESC").Start("s").End("up", bpmntest.EscalationRef("X")).Chain("s", "up"),
			trace: []string{"p:activated", "s:activated", "s:completed", "up:activated", "up:escalationUncaught", "up:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// The escalation end event is the process's last token; the
			// non-interrupting event sub-process it triggers keeps the
			// instance alive.
			name: "ProcessLevelEndEventTriggersANonInterruptingEventSubProcess",
			model: bpmntest.New("p").Escalation("X", "ESC").Start("s").End("up", bpmntest.EscalationRef("X")).Chain("s", "up").
				Sub("esp", func(b *bpmntest.Builder) {
					b.Start("es", bpmntest.EscalationRef("X"), bpmntest.Attr("isInterrupting", "false")).Node("handle", "userTask").End("ee").
						Chain("es", "handle", "ee")
				}, bpmntest.Attr("triggeredByEvent", "true")),
			then: func(t *testing.T, e *engine.Engine, s *enginetest.MemStore, id int64) {
				wantOpenTasks(t, s, id, "handle")
				complete(t, e, s, id, "handle", nil)
			},
			trace: []string{"p:activated", "s:activated", "s:completed", "up:activated", "esp:activated", "up:completed",
				"es:activated", "es:completed", "handle:activated", "handle:completed", "ee:activated", "ee:completed",
				"esp:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "OnlyTheInnermostCatcherFires",
			model: bpmntest.New("p").Escalation("X", "ESC").Start("s").
				Sub("outer", func(b *bpmntest.Builder) {
					b.Start("os").Sub("inner", func(b *bpmntest.Builder) {
						b.Start("is").End("up", bpmntest.EscalationRef("X")).Chain("is", "up")
					}).End("oe").Chain("os", "inner", "oe").
						Node("innerCatch", "boundaryEvent", bpmntest.Boundary("inner", false), bpmntest.EscalationRef("X")).End("ie").Chain("innerCatch", "ie")
				}).End("e").Chain("s", "outer", "e").
				Node("outerCatch", "boundaryEvent", bpmntest.Boundary("outer", false), bpmntest.EscalationRef("")).End("outerEnd").Chain("outerCatch", "outerEnd"),
			trace: []string{"p:activated", "s:activated", "s:completed", "outer:activated", "os:activated", "os:completed",
				"inner:activated", "is:activated", "is:completed", "up:activated", "innerCatch:activated", "up:completed",
				"innerCatch:completed", "inner:completed", "ie:activated", "oe:activated", "ie:completed", "oe:completed", "outer:completed",
				"e:activated", "e:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			name: "SpecificCodeBeatsCatchAll",
			model: escalating().
				Node("any", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.EscalationRef("")).End("anyEnd").Chain("any", "anyEnd").
				Node("specific", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.EscalationRef("X")).End("specificEnd").Chain("specific", "specificEnd"),
			trace: []string{"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed",
				"up:activated", "up:terminated", "sub:terminated", "specific:activated", "specific:completed",
				"specificEnd:activated", "specificEnd:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
		{
			// A non-interrupting event sub-process that escalates the same
			// code again does not catch itself (no endless loop): the
			// escalation goes up, here uncaught.
			name: "EventSubProcessDoesNotCatchItsOwnEscalation",
			model: bpmntest.New("p").Escalation("X", "ESC").Start("s").Node("up", "intermediateThrowEvent", bpmntest.EscalationRef("X")).
				End("e").Chain("s", "up", "e").
				Sub("esp", func(b *bpmntest.Builder) {
					b.Start("es", bpmntest.EscalationRef("X"), bpmntest.Attr("isInterrupting", "false")).
						Node("again", "intermediateThrowEvent", bpmntest.EscalationRef("X")).End("ee").Chain("es", "again", "ee")
				}, bpmntest.Attr("triggeredByEvent", "true")),
			trace: []string{"p:activated", "s:activated", "s:completed", "up:activated", "esp:activated", "up:completed",
				"es:activated", "e:activated", "es:completed", "e:completed", "again:activated", "again:escalationUncaught",
				"again:completed", "ee:activated", "ee:completed", "esp:completed", "p:completed"},
			state: engine.InstanceCompleted,
		},
	})
}

// TestErrorsAndEscalationsAreExecuted: the engine no longer warns of error
// and escalation events.
func TestErrorsAndEscalationsAreExecuted(t *testing.T) {
	t.Parallel()
	d := failingSub(func(b *bpmntest.Builder) {
		b.Sub("esp", func(b *bpmntest.Builder) {
			b.Start("es", bpmntest.ErrorRef("E")).End("ee", bpmntest.EscalationRef("X")).Chain("es", "ee")
		}, bpmntest.Attr("triggeredByEvent", "true")).
			Sub("esp2", func(b *bpmntest.Builder) {
				b.Start("es2", bpmntest.EscalationRef("X"), bpmntest.Attr("isInterrupting", "false")).
					Node("up", "intermediateThrowEvent", bpmntest.EscalationRef("X")).End("ee2").Chain("es2", "up", "ee2")
			}, bpmntest.Attr("triggeredByEvent", "true"))
	}).Escalation("X", "ESC").
		Node("b1", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.ErrorRef("E")).End("b1e").Chain("b1", "b1e").
		Node("b2", "boundaryEvent", bpmntest.Boundary("sub", false), bpmntest.EscalationRef("X")).End("b2e").Chain("b2", "b2e").
		Definitions(t)
	if ps := engine.Check(d); len(ps) != 0 {
		t.Fatalf("warnings %v, want none", ps)
	}
}

// TestErrorEventsModelerXML runs models as the modelers write them: a
// Camunda Modeler model with an error boundary event on an external task
// and an error event sub-process, and the MIWG corpus's A.3.0, whose
// collapsed sub-process carries a catch-all escalation boundary event.
func TestErrorEventsModelerXML(t *testing.T) {
	t.Parallel()

	t.Run("Camunda7", func(t *testing.T) {
		t.Parallel()
		e, s := deployXML(t, modelerErrors)
		inst := start(t, e, "payment", engine.Vars{"amount": 120})
		job := jobsOf(t, s, inst.ID, engine.JobActive)
		if len(job) != 1 || job[0].Topic != "charge-card" {
			t.Fatalf("jobs %+v, want the charge-card job", job)
		}
		if err := e.ThrowJobError(ctx, job[0].ID, &engine.BPMNError{Code: "CARD_DECLINED", Message: "insufficient funds"}); err != nil {
			t.Fatal(err)
		}
		wantOpenTasks(t, s, inst.ID, "Activity_Review")
		if got := vars(t, s, inst.ID); got["declineCode"] != "CARD_DECLINED" || got["declineReason"] != "insufficient funds" {
			t.Fatalf("process variables %v", got)
		}
		complete(t, e, s, inst.ID, "Activity_Review", nil)
		// The review fails for good: the error end event in the
		// sub-process is caught by the process's error event sub-process.
		wantOpenTasks(t, s, inst.ID, "Activity_Manual")
		complete(t, e, s, inst.ID, "Activity_Manual", nil)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{
			"payment:activated", "StartEvent_1:activated", "StartEvent_1:completed", "Activity_Charge:activated",
			"Activity_Charge:terminated", "Event_Declined:activated", "Event_Declined:completed",
			"Activity_Retry:activated", "StartEvent_Retry:activated", "StartEvent_Retry:completed", "Activity_Review:activated",
			"Activity_Review:completed", "Event_GiveUp:activated", "Event_GiveUp:terminated", "Activity_Retry:terminated",
			"Activity_Failed:activated", "Event_Failed:activated", "Event_Failed:completed", "Activity_Manual:activated",
			"Activity_Manual:completed", "Event_Handled:activated", "Event_Handled:completed", "Activity_Failed:completed",
			"payment:completed"})
	})

	t.Run("MIWG_A.3.0", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(miwgDir(t), "bpmn.io-camunda-modeler-18.6.1", "A.3.0-export.bpmn")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		// The modeler left the message boundary event without a message,
		// which does not deploy: give it one.
		xml := strings.Replace(string(data), `<bpmn:messageEventDefinition id="MessageEventDefinition_1eelr04" />`,
			`<bpmn:messageEventDefinition id="MessageEventDefinition_1eelr04" messageRef="Message_Cancel" />`, 1)
		xml = strings.Replace(xml, `<bpmndi:BPMNDiagram`, `<bpmn:message id="Message_Cancel" name="cancel" /><bpmndi:BPMNDiagram`, 1)
		d, err := bpmn.Parse([]byte(xml))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range engine.Check(d) {
			if p.ElementID == "Event_1bgdnfg" {
				t.Fatalf("escalation boundary event: %v", p)
			}
		}
		e, s := deployXML(t, xml)
		inst := start(t, e, "Process_1qh1mjw", nil)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{
			"Process_1qh1mjw:activated", "StartEvent_1:activated", "StartEvent_1:completed", "Activity_164hjmz:activated",
			"Activity_164hjmz:completed", "Activity_1j4b29j:activated", "Activity_1j4b29j:completed", "Activity_0mu4iin:activated",
			"Activity_0mu4iin:completed", "Event_1jn5oqm:activated", "Event_1jn5oqm:completed", "Process_1qh1mjw:completed"})
	})
}

func deployXML(t *testing.T, xml string) (*engine.Engine, *enginetest.MemStore) {
	t.Helper()
	s := enginetest.NewMemStore()
	e := engine.New(s, engine.Config{NowFunc: func() time.Time { return t0 }})
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "model.bpmn", Data: []byte(xml)}}}); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return e, s
}

// miwgDir is the MIWG corpus shared by the team: $BATON_CORPUS/miwg, else
// beside the repository, else the workplace's /work/shared.
func miwgDir(t *testing.T) string {
	t.Helper()
	candidates := []string{"../../shared/bpmn-corpus/miwg", "/work/shared/bpmn-corpus/miwg"}
	if dir := os.Getenv("BATON_CORPUS"); dir != "" {
		candidates = []string{filepath.Join(dir, "miwg")}
	}
	for _, dir := range candidates {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	t.Fatalf("MIWG corpus not found in %v", candidates)
	return ""
}

// modelerErrors is a Camunda Modeler (Camunda 7) model: an external task
// whose error boundary event stores the code and message; a retry
// sub-process whose error end event is caught by the process's error event
// sub-process.
const modelerErrors = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_1e9x" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.31.0" modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.22.0">
  <bpmn:process id="payment" name="Payment" isExecutable="true" camunda:historyTimeToLive="180">
    <bpmn:startEvent id="StartEvent_1">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_Charge" />
    <bpmn:serviceTask id="Activity_Charge" name="Charge card" camunda:type="external" camunda:topic="charge-card">
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="Event_Paid">
      <bpmn:incoming>Flow_2</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_Charge" targetRef="Event_Paid" />
    <bpmn:boundaryEvent id="Event_Declined" name="Card declined" attachedToRef="Activity_Charge">
      <bpmn:outgoing>Flow_3</bpmn:outgoing>
      <bpmn:errorEventDefinition id="ErrorEventDefinition_0d1" errorRef="Error_Declined" camunda:errorCodeVariable="declineCode" camunda:errorMessageVariable="declineReason" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Event_Declined" targetRef="Activity_Retry" />
    <bpmn:subProcess id="Activity_Retry" name="Retry">
      <bpmn:incoming>Flow_3</bpmn:incoming>
      <bpmn:outgoing>Flow_4</bpmn:outgoing>
      <bpmn:startEvent id="StartEvent_Retry">
        <bpmn:outgoing>Flow_5</bpmn:outgoing>
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="Flow_5" sourceRef="StartEvent_Retry" targetRef="Activity_Review" />
      <bpmn:userTask id="Activity_Review" name="Review payment">
        <bpmn:incoming>Flow_5</bpmn:incoming>
        <bpmn:outgoing>Flow_6</bpmn:outgoing>
      </bpmn:userTask>
      <bpmn:sequenceFlow id="Flow_6" sourceRef="Activity_Review" targetRef="Event_GiveUp" />
      <bpmn:endEvent id="Event_GiveUp" name="Give up">
        <bpmn:incoming>Flow_6</bpmn:incoming>
        <bpmn:errorEventDefinition id="ErrorEventDefinition_1a2" errorRef="Error_Failed" />
      </bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:endEvent id="Event_Retried">
      <bpmn:incoming>Flow_4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Activity_Retry" targetRef="Event_Retried" />
    <bpmn:subProcess id="Activity_Failed" name="Payment failed" triggeredByEvent="true">
      <bpmn:startEvent id="Event_Failed" name="Payment failed">
        <bpmn:outgoing>Flow_7</bpmn:outgoing>
        <bpmn:errorEventDefinition id="ErrorEventDefinition_2b3" errorRef="Error_Failed" />
      </bpmn:startEvent>
      <bpmn:sequenceFlow id="Flow_7" sourceRef="Event_Failed" targetRef="Activity_Manual" />
      <bpmn:userTask id="Activity_Manual" name="Handle manually">
        <bpmn:incoming>Flow_7</bpmn:incoming>
        <bpmn:outgoing>Flow_8</bpmn:outgoing>
      </bpmn:userTask>
      <bpmn:endEvent id="Event_Handled">
        <bpmn:incoming>Flow_8</bpmn:incoming>
      </bpmn:endEvent>
      <bpmn:sequenceFlow id="Flow_8" sourceRef="Activity_Manual" targetRef="Event_Handled" />
    </bpmn:subProcess>
  </bpmn:process>
  <bpmn:error id="Error_Declined" name="Card declined" errorCode="CARD_DECLINED" />
  <bpmn:error id="Error_Failed" name="Payment failed" errorCode="PAYMENT_FAILED" />
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="payment">
      <bpmndi:BPMNShape id="Shape_Start" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Charge" bpmnElement="Activity_Charge"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Paid" bpmnElement="Event_Paid"><dc:Bounds x="402" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Retry" bpmnElement="Activity_Retry" isExpanded="true"><dc:Bounds x="300" y="220" width="350" height="160" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_RetryStart" bpmnElement="StartEvent_Retry"><dc:Bounds x="332" y="282" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Review" bpmnElement="Activity_Review"><dc:Bounds x="420" y="260" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_GiveUp" bpmnElement="Event_GiveUp"><dc:Bounds x="572" y="282" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Retried" bpmnElement="Event_Retried"><dc:Bounds x="712" y="282" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Failed" bpmnElement="Activity_Failed" isExpanded="true"><dc:Bounds x="300" y="420" width="350" height="140" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_FailedStart" bpmnElement="Event_Failed"><dc:Bounds x="332" y="472" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Manual" bpmnElement="Activity_Manual"><dc:Bounds x="420" y="450" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Handled" bpmnElement="Event_Handled"><dc:Bounds x="572" y="472" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Shape_Declined" bpmnElement="Event_Declined"><dc:Bounds x="272" y="142" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Edge_1" bpmnElement="Flow_1"><di:waypoint x="188" y="120" /><di:waypoint x="240" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_2" bpmnElement="Flow_2"><di:waypoint x="340" y="120" /><di:waypoint x="402" y="120" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_3" bpmnElement="Flow_3"><di:waypoint x="290" y="178" /><di:waypoint x="290" y="240" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_4" bpmnElement="Flow_4"><di:waypoint x="650" y="300" /><di:waypoint x="712" y="300" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_5" bpmnElement="Flow_5"><di:waypoint x="368" y="300" /><di:waypoint x="420" y="300" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_6" bpmnElement="Flow_6"><di:waypoint x="520" y="300" /><di:waypoint x="572" y="300" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_7" bpmnElement="Flow_7"><di:waypoint x="368" y="490" /><di:waypoint x="420" y="490" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Edge_8" bpmnElement="Flow_8"><di:waypoint x="520" y="490" /><di:waypoint x="572" y="490" /></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>`
