package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// taskModel is a process with one user task "check" for candidate group
// sales, due 2026-02-01, follow-up a day after creation, priority from ${prio}.
func taskModel(t *testing.T) (*engine.Engine, engine.Store, *engine.UserTask) {
	t.Helper()
	b := bpmntest.New("review").Start("s").
		Node("check", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales"),
			bpmntest.Attr("camunda:dueDate", "2026-02-01T12:00:00Z"), bpmntest.Attr("camunda:followUpDate", "${follow}"),
			bpmntest.Attr("camunda:priority", "${prio}")).
		End("e").Chain("s", "check", "e")
	e, s := deploy(t, b)
	inst := start(t, e, "review", engine.Vars{"prio": 80, "follow": "P1D"})
	return e, s, openTask(t, s, inst.ID, "check")
}

func as(user string) context.Context { return engine.WithCommandInfo(ctx, user, "req-"+user) }

func wantConflict(t *testing.T, err error, says string) {
	t.Helper()
	if !errors.Is(err, engine.ErrConflict) || !strings.Contains(err.Error(), says) {
		t.Fatalf("error %v, want a conflict saying %q", err, says)
	}
}

func taskNow(t *testing.T, s engine.Store, id int64) *engine.UserTask {
	t.Helper()
	tk, err := s.UserTaskGet(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// taskEvents returns the lifecycle history of the instance as
// "type:detail@actor".
func taskEvents(t *testing.T, s engine.Store, instID int64) []string {
	t.Helper()
	evs, err := s.HistoryList(ctx, instID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Type.String(), "userTask") && ev.Type != engine.EventUserTaskCreated {
			out = append(out, ev.Type.String()+":"+ev.Detail+"@"+ev.Command.Actor)
		}
	}
	return out
}

func TestTaskDatesAndPriorityAtCreation(t *testing.T) {
	t.Parallel()
	_, _, tk := taskModel(t)
	due := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	if tk.DueDate == nil || !tk.DueDate.Equal(due) {
		t.Errorf("due %v, want %v", tk.DueDate, due)
	}
	if tk.FollowUpDate == nil || !tk.FollowUpDate.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("follow-up %v, want a day after creation", tk.FollowUpDate)
	}
	if tk.Priority != 80 {
		t.Errorf("priority %d, want 80", tk.Priority)
	}
}

func TestTaskLifecycle(t *testing.T) {
	t.Parallel()

	t.Run("ClaimUnclaim", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		if err := e.Claim(as("sam"), tk.ID, "sam"); err != nil {
			t.Fatal(err)
		}
		if err := e.Claim(as("sam"), tk.ID, "sam"); err != nil {
			t.Fatalf("claiming one's own task again: %v", err)
		}
		wantConflict(t, e.Claim(as("sue"), tk.ID, "sue"), "already claimed by sam")
		if got := taskNow(t, s, tk.ID).Assignee; got != "sam" {
			t.Fatalf("assignee %q, want sam", got)
		}
		if err := e.Unclaim(as("sam"), tk.ID); err != nil {
			t.Fatal(err)
		}
		if got := taskNow(t, s, tk.ID).Assignee; got != "" {
			t.Fatalf("assignee %q after unclaim", got)
		}
		if err := e.Claim(as("sue"), tk.ID, "sue"); err != nil {
			t.Fatal(err)
		}
		want := []string{"userTaskClaimed:sam@sam", "userTaskUnclaimed:@sam", "userTaskClaimed:sue@sue"}
		if got := taskEvents(t, s, tk.InstanceID); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("history %v, want %v", got, want)
		}
		var inv *engine.InvalidError
		if err := e.Claim(ctx, tk.ID, " "); !errors.As(err, &inv) {
			t.Errorf("claim for nobody: %v, want InvalidError", err)
		}
	})

	t.Run("Assign", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		if err := e.Claim(as("sam"), tk.ID, "sam"); err != nil {
			t.Fatal(err)
		}
		if err := e.Assign(as("boss"), tk.ID, "sue"); err != nil {
			t.Fatal(err)
		}
		if got := taskNow(t, s, tk.ID).Assignee; got != "sue" {
			t.Fatalf("assignee %q, want sue", got)
		}
		want := []string{"userTaskClaimed:sam@sam", "userTaskAssigned:sue@boss"}
		if got := taskEvents(t, s, tk.InstanceID); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("history %v, want %v", got, want)
		}
	})

	t.Run("DelegateResolve", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		wantConflict(t, e.Resolve(as("sam"), tk.ID), "not delegated")
		if err := e.Claim(as("sam"), tk.ID, "sam"); err != nil {
			t.Fatal(err)
		}
		if err := e.Delegate(as("sam"), tk.ID, "sue"); err != nil {
			t.Fatal(err)
		}
		got := taskNow(t, s, tk.ID)
		if got.Assignee != "sue" || got.Owner != "sam" || got.Delegation != engine.DelegationPending {
			t.Fatalf("delegated task: assignee %q owner %q delegation %q", got.Assignee, got.Owner, got.Delegation)
		}
		wantConflict(t, e.CompleteUserTask(as("sue"), tk.ID, nil), "must be resolved")
		wantConflict(t, e.Unclaim(as("sue"), tk.ID), "must be resolved")
		if err := e.Resolve(as("sue"), tk.ID); err != nil {
			t.Fatal(err)
		}
		got = taskNow(t, s, tk.ID)
		if got.Assignee != "sam" || got.Owner != "sam" || got.Delegation != engine.DelegationResolved {
			t.Fatalf("resolved task: assignee %q owner %q delegation %q", got.Assignee, got.Owner, got.Delegation)
		}
		if err := e.CompleteUserTask(as("sam"), tk.ID, nil); err != nil {
			t.Fatal(err)
		}
		want := []string{"userTaskClaimed:sam@sam", "userTaskDelegated:sue@sam", "userTaskResolved:sam@sue", "userTaskCompleted:@sam"}
		if got := taskEvents(t, s, tk.InstanceID); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("history %v, want %v", got, want)
		}
	})

	t.Run("DelegateUnassignedOwnerIsActor", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		var inv *engine.InvalidError
		if err := e.Delegate(ctx, tk.ID, "sue"); !errors.As(err, &inv) {
			t.Fatalf("delegating a task with no owner and no actor: %v, want InvalidError", err)
		}
		if err := e.Delegate(as("boss"), tk.ID, "sue"); err != nil {
			t.Fatal(err)
		}
		if got := taskNow(t, s, tk.ID); got.Owner != "boss" || got.Assignee != "sue" {
			t.Fatalf("owner %q assignee %q, want boss and sue", got.Owner, got.Assignee)
		}
	})

	t.Run("CompleteByAssigneeOnly", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		if err := e.Claim(as("sam"), tk.ID, "sam"); err != nil {
			t.Fatal(err)
		}
		wantConflict(t, e.CompleteUserTask(as("sue"), tk.ID, engine.Vars{"x": 1}), "claimed by sam")
		if _, ok := vars(t, s, tk.InstanceID)["x"]; ok {
			t.Fatal("the refused completion wrote its variables")
		}
		if err := e.CompleteUserTask(as("sam"), tk.ID, engine.Vars{"x": 1}); err != nil {
			t.Fatal(err)
		}
		wantConflict(t, e.CompleteUserTask(as("sam"), tk.ID, nil), "already completed")
		wantConflict(t, e.Claim(as("sam"), tk.ID, "sam"), "already completed")
		wantState(t, s, tk.InstanceID, engine.InstanceCompleted)
	})

	t.Run("CompleteUnassignedClaimsFirst", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		if err := e.CompleteUserTask(as("sue"), tk.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got := taskNow(t, s, tk.ID); got.Assignee != "sue" || got.State != engine.TaskCompleted {
			t.Fatalf("assignee %q state %q, want sue and completed", got.Assignee, got.State)
		}
		want := []string{"userTaskClaimed:sue@sue", "userTaskCompleted:@sue"}
		if got := taskEvents(t, s, tk.InstanceID); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("history %v, want %v", got, want)
		}
	})

	t.Run("CompleteWithoutActor", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		if err := e.Claim(as("sam"), tk.ID, "sam"); err != nil {
			t.Fatal(err)
		}
		// The engine embedded, without people: no assignee check.
		if err := e.CompleteUserTask(ctx, tk.ID, nil); err != nil {
			t.Fatal(err)
		}
		wantState(t, s, tk.InstanceID, engine.InstanceCompleted)
	})

	t.Run("Comments", func(t *testing.T) {
		t.Parallel()
		e, s, tk := taskModel(t)
		c1, err := e.AddComment(as("sam"), tk.ID, "  first  ")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.AddComment(as("sue"), tk.ID, "second"); err != nil {
			t.Fatal(err)
		}
		var inv *engine.InvalidError
		if _, err := e.AddComment(as("sue"), tk.ID, " "); !errors.As(err, &inv) || inv.Field != "text" {
			t.Errorf("empty comment: %v, want InvalidError on text", err)
		}
		list, err := s.CommentList(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Text != "first" || list[0].Author != "sam" || list[1].Author != "sue" ||
			list[0].ID != c1.ID || !list[0].CreatedAt.Equal(t0) || list[0].InstanceID != tk.InstanceID {
			t.Fatalf("comments %+v", list)
		}
		if got := taskEvents(t, s, tk.InstanceID); len(got) != 2 || !strings.HasPrefix(got[0], "userTaskCommented:") {
			t.Errorf("history %v, want two comment events", got)
		}
	})

	t.Run("UnknownTask", func(t *testing.T) {
		t.Parallel()
		e, _, _ := taskModel(t)
		for name, err := range map[string]error{
			"claim":    e.Claim(ctx, 987654, "sam"),
			"unclaim":  e.Unclaim(ctx, 987654),
			"assign":   e.Assign(ctx, 987654, "sam"),
			"delegate": e.Delegate(ctx, 987654, "sam"),
			"resolve":  e.Resolve(ctx, 987654),
		} {
			if !errors.Is(err, engine.ErrNotFound) {
				t.Errorf("%s of an unknown task: %v, want ErrNotFound", name, err)
			}
		}
	})
}

func TestUserTaskVars(t *testing.T) {
	t.Parallel()
	e, s, tk := taskModel(t)
	got, err := e.UserTaskVars(ctx, taskNow(t, s, tk.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got["follow"] != "P1D" || len(got) != 2 {
		t.Errorf("vars %v, want prio and follow", got)
	}
	n, err := e.UserTaskNode(ctx, tk)
	if err != nil || n.ID != "check" {
		t.Fatalf("node %v, %v", n, err)
	}
}
