package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// TestNotifyWakesOtherNodes: a job one node schedules is run at once by
// another node's executor, whose poll interval is an hour, because
// PostgreSQL's LISTEN/NOTIFY wakes it.
func TestNotifyWakesOtherNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Postgres(t)
	a := engine.New(sqlstore.New(db), engine.Config{})
	// Node b is an engine of its own: only a notification reaches it.
	b := engine.New(sqlstore.New(db), engine.Config{})
	ran := make(chan int64, 1)
	b.RegisterHandler("work", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
		ran <- j.InstanceID
		return nil, nil
	})
	if _, err := a.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "m.bpmn", Data: bpmntest.New("p").Start("s").
		Node("w", "serviceTask", bpmntest.Topic("work"), bpmntest.Attr("camunda:asyncBefore", "true")).End("e").Chain("s", "w", "e").XML()}}}); err != nil {
		t.Fatal(err)
	}
	xctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		b.NewExecutor(engine.ExecutorConfig{Owner: "b", Poll: time.Hour}).Run(xctx)
		close(done)
	}()
	defer func() { stop(); <-done }()
	// The executor polls once at its start: wait until that is over, so
	// that only a notification can wake it for the job started next.
	time.Sleep(300 * time.Millisecond)
	inst, err := a.Start(ctx, &engine.StartParams{Key: "p"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-ran:
		if id != inst.ID {
			t.Fatalf("ran instance %d, want %d", id, inst.ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("node b did not run the job node a scheduled: no notification woke it")
	}
}
