package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

func TestAsyncContinuations(t *testing.T) {
	t.Parallel()
	t.Run("BeforeCommitsWhatCameBefore", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := timed(t, bpmntest.New("p").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge"),
			bpmntest.Attr("camunda:asyncBefore", "true")).End("e").Chain("s", "charge", "e"))
		calls := 0
		e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			calls++
			return engine.Vars{"charged": true}, nil
		})
		inst := start(t, e, "p", nil)
		if calls != 0 {
			t.Fatal("the handler ran in the starting command")
		}
		jobs := jobsOf(t, s, inst.ID, engine.JobActive)
		if len(jobs) != 1 || jobs[0].Kind != engine.JobAsync || jobs[0].Topic != engine.AsyncBefore || jobs[0].ElementID != "charge" {
			t.Fatalf("jobs %+v, want the asyncBefore continuation of charge", jobs)
		}
		runDue(t, x, 1)
		if calls != 1 {
			t.Fatalf("handler called %d times, want 1", calls)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
		enginetest.AssertTrace(t, enginetest.Trace(t, s, inst.ID), []string{"p:activated", "s:activated", "s:completed",
			"charge:activated", "charge:completed", "e:activated", "e:completed", "p:completed"})
	})
	t.Run("AfterWaitsBeforeLeaving", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := timed(t, bpmntest.New("p").Start("s").Node("review", "userTask", bpmntest.Attr("camunda:asyncAfter", "true")).
			Node("next", "userTask").End("e").Chain("s", "review", "next", "e"))
		inst := start(t, e, "p", nil)
		if err := e.CompleteUserTask(ctx, openTasks(t, s, inst.ID)[0].ID, engine.Vars{"ok": true}); err != nil {
			t.Fatal(err)
		}
		if tasks := openTasks(t, s, inst.ID); len(tasks) != 0 {
			t.Fatalf("tasks %+v before the continuation ran", tasks)
		}
		runDue(t, x, 1)
		if tasks := openTasks(t, s, inst.ID); len(tasks) != 1 || tasks[0].ElementID != "next" {
			t.Fatalf("tasks %+v, want next", tasks)
		}
	})
	t.Run("FailureAfterTheSavePointKeepsWhatCameBefore", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := timed(t, bpmntest.New("p").Start("s").Node("calc", "scriptTask", bpmntest.Attr("scriptFormat", "juel"),
			bpmntest.Attr("camunda:resultVariable", "r"), bpmntest.Attr("camunda:asyncBefore", "true"),
			bpmntest.Inner(`<bpmn:script>${missing + 1}</bpmn:script>`)).End("e").Chain("s", "calc", "e"))
		inst := start(t, e, "p", engine.Vars{"kept": "yes"})
		runDue(t, x, 1)
		incs, _ := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
		if len(incs) != 1 || incs[0].ElementID != "calc" {
			t.Fatalf("incidents %+v, want one on calc", incs)
		}
		if finalVars(t, s, inst.ID)["kept"] != "yes" {
			t.Fatal("the start's variables were lost")
		}
		if err := e.SetVariables(ctx, &engine.SetVariablesParams{InstanceID: inst.ID, Vars: engine.Vars{"missing": int64(1)}}); err != nil {
			t.Fatal(err)
		}
		if err := e.RetryIncident(ctx, incs[0].ID, 0); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, inst.ID, engine.InstanceCompleted)
	})
	t.Run("CancelledWhileWaiting", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := timed(t, bpmntest.New("p").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge"),
			bpmntest.Attr("camunda:asyncBefore", "true")).End("e").Chain("s", "charge", "e"))
		e.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, errors.New("must not run") })
		inst := start(t, e, "p", nil)
		if err := e.Cancel(ctx, inst.ID); err != nil {
			t.Fatal(err)
		}
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 0 {
			t.Fatalf("active jobs %+v after cancel", jobs)
		}
		runDue(t, x, 0)
	})
}
