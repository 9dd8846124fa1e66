package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

// clock is a time tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// timed deploys b on a fresh in-memory store with a clock at t0 and returns
// the engine, the store, the clock and an executor of its jobs.
func timed(t *testing.T, b *bpmntest.Builder) (*engine.Engine, *enginetest.MemStore, *clock, *engine.Executor) {
	t.Helper()
	b.Definitions(t)
	s := enginetest.NewMemStore()
	clk := &clock{now: t0}
	e := engine.New(s, engine.Config{NowFunc: clk.Now})
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "model.bpmn", Data: b.XML()}}}); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return e, s, clk, e.NewExecutor(engine.ExecutorConfig{Owner: "test"})
}

// runDue runs the due jobs and checks how many ran.
func runDue(t *testing.T, x *engine.Executor, want int) {
	t.Helper()
	n, err := x.RunDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d jobs ran, want %d", n, want)
	}
}

func jobsOf(t *testing.T, s engine.Store, inst int64, state engine.JobState) []*engine.Job {
	t.Helper()
	jobs, err := s.JobList(ctx, &engine.JobListParams{InstanceID: inst, State: state})
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}

func openTasks(t *testing.T, s engine.Store, inst int64) []*engine.UserTask {
	t.Helper()
	tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst, OpenOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

func TestTimerCatchEvent(t *testing.T) {
	t.Parallel()
	e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1H")).
		End("e").Chain("s", "wait", "e"))
	inst := start(t, e, "p", nil)
	jobs := jobsOf(t, s, inst.ID, engine.JobActive)
	if len(jobs) != 1 || jobs[0].Kind != engine.JobTimer || !jobs[0].DueAt.Equal(t0.Add(time.Hour)) || jobs[0].Timer != "timeDuration PT1H" {
		t.Fatalf("timer jobs %+v", jobs)
	}
	runDue(t, x, 0)
	clk.Advance(59 * time.Minute)
	runDue(t, x, 0)
	clk.Advance(time.Minute)
	runDue(t, x, 1)
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, append(enginetest.LifecycleEvents, engine.EventTimerFired)...), []string{
		"p:activated", "s:activated", "s:completed", "wait:activated", "wait:timerFired", "wait:completed", "e:activated", "e:completed", "p:completed"})
	runDue(t, x, 0)
}

func TestTimerValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, value string
		vars              engine.Vars
		due               time.Time
	}{
		{"Date", "timeDate", "2026-03-04T12:00:00Z", nil, time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)},
		{"DurationFromVariable", "timeDuration", "${wait}", engine.Vars{"wait": "PT5M"}, t0.Add(5 * time.Minute)},
		{"FEELString", "timeDuration", `="PT2H"`, nil, t0.Add(2 * time.Hour)},
		{"FEELVariable", "timeCycle", `=cycle`, engine.Vars{"cycle": "R/PT15M"}, t0.Add(15 * time.Minute)},
		{"CycleISO", "timeCycle", "R3/PT10M", nil, t0.Add(10 * time.Minute)},
		{"CycleWithStart", "timeCycle", "R/2026-03-05T09:00:00Z/P1D", nil, time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC)},
		{"CronWithSeconds", "timeCycle", "0 0/5 * * * ?", nil, t0.Truncate(5 * time.Minute).Add(5 * time.Minute)},
		{"CronFiveFields", "timeCycle", "30 9 * * *", nil, time.Date(t0.Year(), t0.Month(), t0.Day(), 9, 30, 0, 0, time.UTC).AddDate(0, 0, dayAfter(t0, 9, 30))},
		{"DateFromVariable", "timeDate", "${at}", engine.Vars{"at": time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}, time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s, _, _ := timed(t, bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer(tt.kind, tt.value)).
				End("e").Chain("s", "wait", "e"))
			inst := start(t, e, "p", tt.vars)
			jobs := jobsOf(t, s, inst.ID, engine.JobActive)
			if len(jobs) != 1 || !jobs[0].DueAt.Equal(tt.due) {
				t.Fatalf("jobs %+v, want one due at %v", jobs, tt.due)
			}
		})
	}
}

// dayAfter returns 1 when hh:mm on t's day is not after t, else 0.
func dayAfter(t time.Time, hh, mm int) int {
	if !time.Date(t.Year(), t.Month(), t.Day(), hh, mm, 0, 0, time.UTC).After(t) {
		return 1
	}
	return 0
}

func TestTimerValueThatIsNotATimerIsAnIncident(t *testing.T) {
	t.Parallel()
	e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "${wait}")).
		End("e").Chain("s", "wait", "e"))
	for _, tt := range []struct {
		value any
		want  string
	}{{int64(5), "timeDuration evaluated to number 5"}, {"soon", `"soon"`}} {
		inst := start(t, e, "p", engine.Vars{"wait": tt.value})
		incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
		if len(incs) != 1 || incs[0].ElementID != "wait" || incs[0].Type != engine.IncidentTimer || !strings.Contains(incs[0].Message, tt.want) {
			t.Fatalf("value %v: incidents %+v, want one on wait naming %s", tt.value, incs, tt.want)
		}
		// Fix the variable and retry: the timer is created and fires.
		if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, Vars: engine.Vars{"wait": "PT1M"}}); err != nil {
			t.Fatal(err)
		}
		if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		runDue(t, x, 1)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	}
}

func TestBoundaryTimers(t *testing.T) {
	t.Parallel()
	lifecycle := append(enginetest.LifecycleEvents, engine.EventTimerFired)

	t.Run("InterruptingCancelsTheTask", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("task", "userTask").End("done").
			Node("late", "boundaryEvent", bpmntest.Boundary("task", true), bpmntest.Timer("timeDuration", "PT2H")).End("timedOut").
			Chain("s", "task", "done").Chain("late", "timedOut"))
		inst := start(t, e, "p", nil)
		tasks := openTasks(t, s, inst.ID)
		clk.Advance(2 * time.Hour)
		runDue(t, x, 1)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, lifecycle...), []string{
			"p:activated", "s:activated", "s:completed", "task:activated", "late:timerFired", "task:terminated",
			"late:activated", "late:completed", "timedOut:activated", "timedOut:completed", "p:completed"})
		if tk, _ := s.UserTaskGet(ctx, tasks[0].ID); tk.State != engine.TaskCanceled {
			t.Fatalf("task %+v, want cancelled", tk)
		}
		if err := e.CompleteUserTask(ctx, tasks[0].ID, nil); !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("completing the interrupted task: %v, want ErrConflict", err)
		}
	})

	t.Run("CompletingTheTaskCancelsTheTimer", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("task", "userTask").End("done").
			Node("late", "boundaryEvent", bpmntest.Boundary("task", true), bpmntest.Timer("timeDuration", "PT2H")).End("timedOut").
			Chain("s", "task", "done").Chain("late", "timedOut"))
		inst := start(t, e, "p", nil)
		if err := e.CompleteUserTask(ctx, openTasks(t, s, inst.ID)[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		if jobs := jobsOf(t, s, inst.ID, ""); len(jobs) != 1 || jobs[0].State != engine.JobCanceled {
			t.Fatalf("jobs %+v, want the timer cancelled", jobs)
		}
		clk.Advance(3 * time.Hour)
		runDue(t, x, 0)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{
			"p:activated", "s:activated", "s:completed", "task:activated", "task:completed", "done:activated", "done:completed", "p:completed"})
	})

	t.Run("NonInterruptingCycleFiresWhileTheTaskLives", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("task", "userTask").End("done").
			Node("remind", "boundaryEvent", bpmntest.Boundary("task", false), bpmntest.Timer("timeCycle", "R3/PT10M")).
			Node("escalate", "userTask", bpmntest.Attr("camunda:candidateGroups", "managers")).End("escalated").
			Chain("s", "task", "done").Chain("remind", "escalate", "escalated"))
		inst := start(t, e, "p", nil)
		for i := 1; i <= 2; i++ {
			clk.Advance(10 * time.Minute)
			runDue(t, x, 1)
			if n := len(openTasks(t, s, inst.ID)); n != 1+i {
				t.Fatalf("after %d fires: %d open tasks, want %d", i, n, 1+i)
			}
		}
		// The task completes before the third fire: the cycle stops.
		var main *engine.UserTask
		for _, tk := range openTasks(t, s, inst.ID) {
			if tk.ElementID == "task" {
				main = tk
			}
		}
		if err := e.CompleteUserTask(ctx, main.ID, nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		runDue(t, x, 0)
		if n := len(openTasks(t, s, inst.ID)); n != 2 {
			t.Fatalf("%d open tasks, want the two escalations", n)
		}
		wantState(t, s, inst.ID, engine.InstanceActive)
		for _, tk := range openTasks(t, s, inst.ID) {
			if err := e.CompleteUserTask(ctx, tk.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		got := enginetest.Trace(t, s, inst.ID, engine.EventTimerFired)
		enginetest.AssertTrace(t, got, []string{"remind:timerFired", "remind:timerFired"})
	})

	t.Run("NonInterruptingCycleEndsAfterItsRepetitions", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("task", "userTask").End("done").
			Node("ping", "boundaryEvent", bpmntest.Boundary("task", false), bpmntest.Timer("timeCycle", "R2/PT1M")).End("pinged").
			Chain("s", "task", "done").Chain("ping", "pinged"))
		inst := start(t, e, "p", nil)
		for range 4 {
			clk.Advance(time.Minute)
			x.RunDue(ctx)
		}
		if got := enginetest.Trace(t, s, inst.ID, engine.EventTimerFired); len(got) != 2 {
			t.Fatalf("fired %v, want twice", got)
		}
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 0 {
			t.Fatalf("active jobs %+v after the cycle ended", jobs)
		}
	})

	t.Run("OnSubProcessTerminatesItsInside", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Start("s").
			Sub("sub", func(b *bpmntest.Builder) {
				b.Start("ss").Node("inner", "userTask").Node("innerWait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT5H")).End("se").
					Chain("ss", "inner", "innerWait", "se")
			}).End("e").
			Node("deadline", "boundaryEvent", bpmntest.Boundary("sub", true), bpmntest.Timer("timeDuration", "PT1H")).End("late").
			Chain("s", "sub", "e").Chain("deadline", "late"))
		inst := start(t, e, "p", nil)
		clk.Advance(time.Hour)
		runDue(t, x, 1)
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID, lifecycle...), []string{
			"p:activated", "s:activated", "s:completed", "sub:activated", "ss:activated", "ss:completed", "inner:activated",
			"deadline:timerFired", "inner:terminated", "sub:terminated", "deadline:activated", "deadline:completed",
			"late:activated", "late:completed", "p:completed"})
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 0 {
			t.Fatalf("active jobs %+v", jobs)
		}
	})

	t.Run("CancellingTheInstanceCancelsItsTimers", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("task", "userTask").End("done").
			Node("late", "boundaryEvent", bpmntest.Boundary("task", true), bpmntest.Timer("timeDuration", "PT2H")).End("timedOut").
			Chain("s", "task", "done").Chain("late", "timedOut"))
		inst := start(t, e, "p", nil)
		if err := e.Cancel(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 0 {
			t.Fatalf("active jobs %+v after cancel", jobs)
		}
		clk.Advance(3 * time.Hour)
		runDue(t, x, 0)
	})
}

func TestEventSubProcessTimers(t *testing.T) {
	t.Parallel()
	model := func(interrupting bool) *bpmntest.Builder {
		startOpts := []bpmntest.Opt{bpmntest.Timer("timeDuration", "PT1H")}
		if !interrupting {
			startOpts = append(startOpts, bpmntest.Attr("isInterrupting", "false"))
		}
		return bpmntest.New("p").Start("s").Node("task", "userTask").End("e").Chain("s", "task", "e").
			Sub("esp", func(b *bpmntest.Builder) {
				b.Start("es", startOpts...).Node("handle", "userTask").End("ee").Chain("es", "handle", "ee")
			}, bpmntest.Attr("triggeredByEvent", "true"))
	}

	t.Run("Interrupting", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, model(true))
		inst := start(t, e, "p", nil)
		clk.Advance(time.Hour)
		runDue(t, x, 1)
		tasks := openTasks(t, s, inst.ID)
		if len(tasks) != 1 || tasks[0].ElementID != "handle" {
			t.Fatalf("open tasks %+v, want only handle", tasks)
		}
		if err := e.CompleteUserTask(ctx, tasks[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{
			"p:activated", "s:activated", "s:completed", "task:activated", "task:terminated",
			"esp:activated", "es:activated", "es:completed", "handle:activated", "handle:completed", "ee:activated", "ee:completed",
			"esp:completed", "p:completed"})
	})

	t.Run("NonInterrupting", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, model(false))
		inst := start(t, e, "p", nil)
		clk.Advance(time.Hour)
		runDue(t, x, 1)
		if n := len(openTasks(t, s, inst.ID)); n != 2 {
			t.Fatalf("%d open tasks, want task and handle", n)
		}
		for _, tk := range openTasks(t, s, inst.ID) {
			if err := e.CompleteUserTask(ctx, tk.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})

	t.Run("ScopeEndingCancelsTheSubscription", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, model(true))
		inst := start(t, e, "p", nil)
		if err := e.CompleteUserTask(ctx, openTasks(t, s, inst.ID)[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		clk.Advance(2 * time.Hour)
		runDue(t, x, 0)
	})

	t.Run("InsideASubProcess", func(t *testing.T) {
		t.Parallel()
		e, s, clk, x := timed(t, bpmntest.New("p").Start("s").
			Sub("sub", func(b *bpmntest.Builder) {
				b.Start("ss").Node("inner", "userTask").End("se").Chain("ss", "inner", "se").
					Sub("esp", func(b *bpmntest.Builder) {
						b.Start("es", bpmntest.Timer("timeDuration", "PT1H")).End("ee").Chain("es", "ee")
					}, bpmntest.Attr("triggeredByEvent", "true"))
			}).Node("after", "userTask").End("e").Chain("s", "sub", "after", "e"))
		inst := start(t, e, "p", nil)
		clk.Advance(time.Hour)
		runDue(t, x, 1)
		tasks := openTasks(t, s, inst.ID)
		if len(tasks) != 1 || tasks[0].ElementID != "after" {
			t.Fatalf("open tasks %+v, want after: the sub-process completed through its event sub-process", tasks)
		}
	})
}

func TestTimerStartEvents(t *testing.T) {
	t.Parallel()
	model := func(cycle string) *bpmntest.Builder {
		return bpmntest.New("p").Start("tick", bpmntest.Timer("timeCycle", cycle)).Node("work", "userTask").End("e").Chain("tick", "work", "e")
	}
	e, s, clk, x := timed(t, model("R2/PT1M"))
	if _, err := e.Start(ctx, &engine.StartParams{Key: "p"}); !errors.Is(err, engine.ErrInvalid) {
		t.Fatalf("starting a timer-started process by hand: %v, want ErrInvalid", err)
	}
	count := func() int {
		list, err := s.InstanceList(ctx, &engine.InstanceListParams{Key: "p"})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	runDue(t, x, 0)
	clk.Advance(time.Minute)
	runDue(t, x, 1)
	clk.Advance(time.Minute)
	runDue(t, x, 1)
	clk.Advance(time.Minute)
	runDue(t, x, 0)
	if n := count(); n != 2 {
		t.Fatalf("%d instances, want 2 (R2)", n)
	}
	list, _ := s.InstanceList(ctx, &engine.InstanceListParams{Key: "p"})
	enginetest.AssertTrace(t, enginetest.Trace(t, s, list[0].ID), []string{"p:activated", "tick:activated", "tick:completed", "work:activated"})

	// A redeploy moves the schedule to the new version: the old one's timer
	// is cancelled.
	e2, s2, clk2, x2 := timed(t, model("R/PT1M"))
	first, _ := s2.DefinitionLatest(ctx, "p")
	if _, err := e2.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "v2.bpmn", Data: model("R/PT10M").XML()}}}); err != nil {
		t.Fatal(err)
	}
	second, _ := s2.DefinitionLatest(ctx, "p")
	if second.Version != 2 {
		t.Fatalf("version %d, want 2", second.Version)
	}
	old, _ := s2.JobList(ctx, &engine.JobListParams{DefinitionID: first.ID})
	cur, _ := s2.JobList(ctx, &engine.JobListParams{DefinitionID: second.ID})
	if len(old) != 1 || old[0].State != engine.JobCanceled || len(cur) != 1 || cur[0].State != engine.JobActive {
		t.Fatalf("jobs of v1 %+v, of v2 %+v", old, cur)
	}
	clk2.Advance(10 * time.Minute)
	runDue(t, x2, 1)
	list2, _ := s2.InstanceList(ctx, &engine.InstanceListParams{Key: "p"})
	if len(list2) != 1 || list2[0].Version != 2 {
		t.Fatalf("instances %+v, want one of version 2", list2)
	}
	// The unbounded cycle keeps its job, due next.
	cur, _ = s2.JobList(ctx, &engine.JobListParams{DefinitionID: second.ID, State: engine.JobActive})
	if len(cur) != 1 || !cur[0].DueAt.Equal(t0.Add(20*time.Minute)) || cur[0].Fired != 1 {
		t.Fatalf("job after the fire %+v", cur)
	}
}

func TestJobRetriesWithBackoff(t *testing.T) {
	t.Parallel()
	e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e").Chain("s", "charge", "e"))
	calls, fail := 0, true
	e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
		calls++
		if fail {
			return nil, fmt.Errorf("card declined (attempt %d)", calls)
		}
		return nil, nil
	})
	inst := start(t, e, "p", nil)
	if calls != 1 {
		t.Fatalf("handler called %d times at start, want 1", calls)
	}
	jobs := jobsOf(t, s, inst.ID, engine.JobActive)
	if len(jobs) != 1 || jobs[0].Retries != 2 || jobs[0].Fired != 1 || !strings.Contains(jobs[0].ErrorMessage, "attempt 1") {
		t.Fatalf("jobs %+v", jobs)
	}
	// The first retry waits 10 s ± 20%.
	if d := jobs[0].DueAt.Sub(t0); d < 8*time.Second || d > 12*time.Second {
		t.Fatalf("first retry due after %v, want 10 s ± 20%%", d)
	}
	runDue(t, x, 0)
	clk.Advance(12 * time.Second)
	runDue(t, x, 1)
	jobs = jobsOf(t, s, inst.ID, engine.JobActive)
	if d := jobs[0].DueAt.Sub(clk.Now()); d < 16*time.Second || d > 24*time.Second {
		t.Fatalf("second retry due after %v, want 20 s ± 20%%", d)
	}
	clk.Advance(24 * time.Second)
	runDue(t, x, 1)
	if calls != 3 {
		t.Fatalf("handler called %d times, want 3", calls)
	}
	incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
	if len(incs) != 1 || incs[0].Type != engine.IncidentJobNoRetries || !strings.Contains(incs[0].Message, "attempt 3") {
		t.Fatalf("incidents %+v", incs)
	}
	clk.Advance(time.Hour)
	runDue(t, x, 0) // a dead job is not retried by itself
	fail = false
	if err := e.RetryIncident(ctx, incs[0].ID, 1); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, inst.ID, engine.InstanceCompleted)
}

func TestRetryTimeCycleFromTheModel(t *testing.T) {
	t.Parallel()
	e, s, _, x := timed(t, bpmntest.New("p").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge"),
		bpmntest.Attr("camunda:asyncBefore", "true"),
		bpmntest.Inner(`<bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R5/PT1M</camunda:failedJobRetryTimeCycle></bpmn:extensionElements>`)).
		End("e").Chain("s", "charge", "e"))
	e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, errors.New("down") })
	inst := start(t, e, "p", nil)
	runDue(t, x, 1) // the asynchronous continuation, then the first attempt
	jobs := jobsOf(t, s, inst.ID, engine.JobActive)
	if len(jobs) != 1 || jobs[0].Retries != 4 || !jobs[0].DueAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("jobs %+v, want 4 retries left, the next in 1 min", jobs)
	}
}

func TestLeases(t *testing.T) {
	t.Parallel()
	e, s, clk, _ := timed(t, bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "PT1M")).
		End("e").Chain("s", "wait", "e"))
	a := e.NewExecutor(engine.ExecutorConfig{Owner: "a", Lease: time.Minute})
	b := e.NewExecutor(engine.ExecutorConfig{Owner: "b", Lease: time.Minute})
	inst := start(t, e, "p", nil)
	clk.Advance(time.Minute)
	claimed, err := s.JobsClaim(ctx, &engine.JobClaimParams{Owner: "a", Now: clk.Now(), LeaseUntil: clk.Now().Add(time.Minute), Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %+v", err, claimed)
	}
	// a holds the lease: b finds nothing, and running it as b does nothing.
	runDue(t, b, 0)
	if err := e.RunJob(ctx, claimed[0].ID, "b"); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, inst.ID, engine.InstanceActive)
	// a dies; its lease expires and b takes the job over.
	clk.Advance(time.Minute)
	runDue(t, b, 1)
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	// a comes back too late: the job is gone.
	if err := e.RunJob(ctx, claimed[0].ID, "a"); err != nil {
		t.Fatal(err)
	}
	runDue(t, a, 0)
	if n := len(enginetest.Trace(t, s, inst.ID, engine.EventTimerFired)); n != 1 {
		t.Fatalf("timer fired %d times, want once", n)
	}
}
