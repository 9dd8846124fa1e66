package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// TestTaskLifecycleRoundTrip: owner, delegation and comments survive the
// store, in the live state (InstanceLock) and in UserTaskGet.
func TestTaskLifecycleRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	forDialects(t, func(t *testing.T, s *sqlstore.Store, db *gorm.DB) {
		e := engine.New(s, engine.Config{NowFunc: func() time.Time { return now }})
		deploy(ctx, t, e, bpmntest.New("p").Start("s").Node("a", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales")).End("e").Chain("s", "a", "e"))
		inst, err := e.Start(ctx, &engine.StartParams{Key: "p"})
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID})
		if err != nil || len(tasks) != 1 {
			t.Fatalf("tasks %v: %v", tasks, err)
		}
		id := tasks[0].ID
		sam := engine.WithCommandInfo(ctx, "sam", "r1")
		if err := e.Claim(sam, id, "sam"); err != nil {
			t.Fatal(err)
		}
		if err := e.Delegate(sam, id, "sue"); err != nil {
			t.Fatal(err)
		}
		check := func(where string, tk *engine.UserTask) {
			t.Helper()
			if tk.Assignee != "sue" || tk.Owner != "sam" || tk.Delegation != engine.DelegationPending ||
				len(tk.CandidateGroups) != 1 || tk.CandidateGroups[0] != "sales" {
				t.Errorf("%s: %+v, want assignee sue, owner sam, delegation pending, group sales", where, tk)
			}
		}
		tk, err := s.UserTaskGet(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		check("UserTaskGet", tk)
		st, err := s.InstanceLive(ctx, inst.ID)
		if err != nil || len(st.UserTasks) != 1 {
			t.Fatalf("live tasks %v: %v", st, err)
		}
		check("InstanceLive", st.UserTasks[0])
		// The live state under lock (the next command reads it).
		if err := e.Resolve(engine.WithCommandInfo(ctx, "sue", "r2"), id); err != nil {
			t.Fatal(err)
		}
		if tk, err = s.UserTaskGet(ctx, id); err != nil || tk.Assignee != "sam" || tk.Delegation != engine.DelegationResolved {
			t.Fatalf("resolved: %+v, %v", tk, err)
		}

		c1, err := e.AddComment(sam, id, "first")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.AddComment(engine.WithCommandInfo(ctx, "sue", "r3"), id, "second ✓"); err != nil {
			t.Fatal(err)
		}
		list, err := s.CommentList(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || *list[0] != *c1 || list[1].Text != "second ✓" || list[1].Author != "sue" || !list[1].CreatedAt.Equal(now) {
			t.Fatalf("comments %+v, want first by sam and second by sue", list)
		}
		if other, err := s.CommentList(ctx, id+1000); err != nil || len(other) != 0 {
			t.Errorf("comments of another task: %v, %v", other, err)
		}
	})
}
