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

// TestWorkNotifyWakesOtherNodes: a worker long-polling one node gets the
// work a start on another node created at once (PostgreSQL LISTEN/NOTIFY),
// not at the next re-check a second later.
func TestWorkNotifyWakesOtherNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Postgres(t)
	// Node A never looks again by itself within the test: only the
	// notification can wake it.
	nodeA := engine.New(sqlstore.New(db), engine.Config{FetchRecheck: time.Hour})
	nodeB := engine.New(sqlstore.New(db), engine.Config{})
	model := bpmntest.New("pay").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).End("e").Chain("s", "charge", "e")
	if _, err := nodeB.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "pay.bpmn", Data: model.XML()}}}); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		tasks []*engine.LockedTask
		err   error
		at    time.Time
	}
	done := make(chan answer, 1)
	go func() {
		got, err := nodeA.FetchAndLock(ctx, &engine.FetchParams{WorkerID: "w", MaxTasks: 1, Wait: 20 * time.Second,
			Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Minute}}})
		done <- answer{got, err, time.Now()}
	}()
	// Let node A find nothing, wait, and start listening.
	time.Sleep(300 * time.Millisecond)
	inst, err := nodeB.Start(ctx, &engine.StartParams{Key: "pay"})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	select {
	case a := <-done:
		if a.err != nil {
			t.Fatal(a.err)
		}
		if len(a.tasks) != 1 || a.tasks[0].Job.InstanceID != inst.ID {
			t.Fatalf("node A answered %+v", a.tasks)
		}
		t.Logf("node A answered %s after node B's start", a.at.Sub(started))
	case <-time.After(10 * time.Second):
		t.Fatal("node A did not answer within 10 s: the notification did not wake it (it re-checks only hourly)")
	}
}
