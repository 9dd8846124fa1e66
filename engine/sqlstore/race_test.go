package sqlstore_test

import (
	"context"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// TestParallelBranchesCompletedAtOnce completes the two branches of a
// parallel fork of one instance from two goroutines at the same moment, on
// separate connections: the instance lock and revision make the commands
// queue, so no token is lost and the join fires exactly once.
func TestParallelBranchesCompletedAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	model := bpmntest.New("p").Start("s").Node("fork", "parallelGateway").Node("a", "userTask").Node("b", "userTask").
		Node("join", "parallelGateway").Node("after", "userTask").
		Chain("s", "fork", "a", "join", "after").Chain("fork", "b", "join")
	forDialects(t, func(t *testing.T, s *sqlstore.Store, _ *gorm.DB) {
		e := engine.New(s, engine.Config{})
		if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "p.bpmn", Data: model.XML()}}}); err != nil {
			t.Fatal(err)
		}
		const instances = 15
		for range instances {
			inst, err := e.Start(ctx, &engine.StartParams{Key: "p"})
			if err != nil {
				t.Fatal(err)
			}
			tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
			if err != nil || len(tasks) != 2 {
				t.Fatalf("open tasks %v, %v; want 2", tasks, err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i, tk := range tasks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = e.CompleteUserTask(ctx, tk.ID, engine.Vars{tk.ElementID + "Done": true})
				}()
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("instance %d: %v", inst.ID, err)
				}
			}
			open, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
			if err != nil || len(open) != 1 || open[0].ElementID != "after" {
				t.Fatalf("instance %d: open tasks %+v (%v), want only after", inst.ID, open, err)
			}
			hist, err := s.HistoryList(ctx, inst.ID)
			if err != nil {
				t.Fatal(err)
			}
			joins := 0
			for _, ev := range hist {
				if ev.ElementID == "join" && ev.Type == engine.EventCompleted {
					joins++
				}
			}
			if joins != 1 {
				t.Fatalf("instance %d: join completed %d times, want 1", inst.ID, joins)
			}
			st, err := s.InstanceLive(ctx, inst.ID)
			if err != nil || len(st.JoinTokens) != 0 {
				t.Fatalf("instance %d: join tokens left %+v (%v)", inst.ID, st.JoinTokens, err)
			}
		}
	})
}
