package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

func TestOutboundHandlers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answers []error // one per attempt; nil completes
		// runs are the jobs the executor runs after the start, and after
		// each advance of the clock by a backoff.
		runs  []int
		state engine.InstanceState
		trace []string
	}{
		{
			name:    "VariablesMergedOutsideTheCommand",
			answers: []error{nil},
			runs:    []int{1},
			state:   engine.InstanceCompleted,
		},
		{
			name:    "BPMNErrorCaughtByABoundaryEvent",
			answers: []error{&engine.BPMNError{Code: "DECLINED", Message: "card expired"}},
			runs:    []int{1},
			state:   engine.InstanceActive,
		},
		{
			name:    "FailureRetriedWithBackoffThenAnIncident",
			answers: []error{errors.New("answered 500"), errors.New("answered 500"), errors.New("answered 500")},
			runs:    []int{1, 1, 1},
			state:   engine.InstanceActive,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, s, clk, x := timed(t, jobModel())
			var calls []int
			e.RegisterOutboundHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
				if engine.TxStore(ctx) != nil {
					t.Error("an outbound handler ran inside a transaction")
				}
				if got := j.Variables()["amount"]; got != int64(42) {
					t.Errorf("variable amount %v, want 42", got)
				}
				calls = append(calls, j.Fired)
				return engine.Vars{"charged": true}, tt.answers[len(calls)-1]
			})
			inst := start(t, e, "p", engine.Vars{"amount": int64(42)})
			if len(calls) != 0 {
				t.Fatal("the outbound handler ran in the starting command")
			}
			if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 1 || jobs[0].Topic != "charge" {
				t.Fatalf("jobs %+v, want the charge job waiting for the executor", jobs)
			}
			for i, n := range tt.runs {
				if i > 0 {
					clk.Advance(time.Hour)
				}
				runDue(t, x, n)
			}
			for i, attempt := range calls {
				if attempt != i+1 {
					t.Fatalf("attempts %v, want 1, 2, …", calls)
				}
			}
			wantState(t, s, inst.ID, tt.state)
			switch tt.name {
			case "VariablesMergedOutsideTheCommand":
				if got := finalVars(t, s, inst.ID)["charged"]; got != true {
					t.Fatalf("charged %v, want true", got)
				}
			case "BPMNErrorCaughtByABoundaryEvent":
				if tasks := openTasks(t, s, inst.ID); len(tasks) != 1 || tasks[0].ElementID != "review" {
					t.Fatalf("tasks %+v, want review after the caught error", tasks)
				}
			default:
				incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
				if err != nil {
					t.Fatal(err)
				}
				if len(incs) != 1 || incs[0].ElementID != "charge" {
					t.Fatalf("incidents %+v, want one on charge", incs)
				}
				// A person retries: the handler runs from the executor, not
				// inside the retry command.
				tt.answers = append(tt.answers, nil)
				if err := e.RetryIncident(ctx, incs[0].ID, 1); err != nil {
					t.Fatal(err)
				}
				if len(calls) != 3 {
					t.Fatalf("the handler ran inside the retry command")
				}
				runDue(t, x, 1)
				wantState(t, s, inst.ID, engine.InstanceCompleted)
			}
		})
	}
	t.Run("UnregisteredTopicWaitsForWorkers", func(t *testing.T) {
		t.Parallel()
		e, s, _, x := timed(t, jobModel())
		e.RegisterOutboundHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
			t.Error("an unregistered handler ran")
			return nil, nil
		})
		e.UnregisterHandler("charge")
		inst := start(t, e, "p", nil)
		runDue(t, x, 0)
		if jobs := jobsOf(t, s, inst.ID, engine.JobActive); len(jobs) != 1 {
			t.Fatalf("jobs %+v, want the charge job left to workers", jobs)
		}
	})
}

func TestTaskListeners(t *testing.T) {
	t.Parallel()
	e, s, clk, x := timed(t, bpmntest.New("p").Start("s").Node("review", "userTask").End("e").Chain("s", "review", "e"))
	var events []engine.EventType
	e.ListenTasks(func(ev *engine.TaskEvent) []engine.FollowUp {
		events = append(events, ev.Type)
		if ev.Key != "p" || ev.Task.ElementID != "review" {
			t.Errorf("event %+v: want process p, task review", ev)
		}
		return []engine.FollowUp{{Topic: "notify", Data: map[string]string{"event": ev.Type.String()}, Retries: 2}}
	})
	var got []string
	fail := true
	e.RegisterHandler("notify", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
		if j.Kind != engine.JobFollowUp {
			t.Errorf("job kind %s, want %s", j.Kind, engine.JobFollowUp)
		}
		if fail && j.Headers["event"] == engine.EventUserTaskCompleted.String() {
			return nil, errors.New("receiver down")
		}
		got = append(got, j.Headers["event"])
		return nil, nil
	})
	inst := start(t, e, "p", nil)
	if err := e.CompleteUserTask(ctx, openTasks(t, s, inst.ID)[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	wantState(t, s, inst.ID, engine.InstanceCompleted)
	if len(events) != 2 || events[0] != engine.EventUserTaskCreated || events[1] != engine.EventUserTaskCompleted {
		t.Fatalf("events %v, want created, completed", events)
	}
	runDue(t, x, 2) // created delivered, completed failed
	if len(got) != 1 {
		t.Fatalf("delivered %v, want the created notification", got)
	}
	clk.Advance(time.Hour)
	runDue(t, x, 1) // the last retry fails too
	failed, err := s.JobList(ctx, &engine.JobListParams{State: engine.JobFailed})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Kind != engine.JobFollowUp || failed[0].ErrorMessage != "receiver down" || failed[0].Retries != 0 {
		t.Fatalf("failed jobs %+v, want the completed notification, out of retries", failed)
	}
	fail = false
	clk.Advance(time.Hour)
	runDue(t, x, 0)
}
