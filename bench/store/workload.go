package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// Workload names, as the table shows them.
const (
	workloadStraight = "straight-through"
	workloadUserTask = "user task"
)

// userTaskKey is the process id of the user-task model.
const userTaskKey = "usertask"

// callStats are the latencies of one kind of call in the measured window,
// sorted once the workload ends.
type callStats struct {
	name string
	lat  []time.Duration
}

// result is one workload on one dialect.
type result struct {
	dialect, workload, key string
	// instances finished in the measured window, which lasted window.
	instances int
	window    time.Duration
	calls     []*callStats
	// started counts every successful Start, warm-up and the last
	// instances that finished after the window included.
	started int64
}

// rate is the instances finished per second of the measured window.
func (r *result) rate() float64 { return float64(r.instances) / r.window.Seconds() }

// iteration runs one instance. It sets lat[i] to the latency of its i-th
// call and adds to started after each successful Start.
type iteration func(ctx context.Context, lat []time.Duration, started *atomic.Int64) error

// runDialect runs both workloads on a fresh store and checks what they left in it.
func runDialect(ctx context.Context, c config, st *benchStore, straightXML []byte, out io.Writer) ([]*result, error) {
	e := engine.New(st.store, engine.Config{})
	e.RegisterHandler("noop", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, nil })
	dep, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "straight.bpmn", Data: straightXML}}})
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", c.model, err)
	}
	if len(dep.Definitions) != 1 {
		return nil, fmt.Errorf("deploy %s: expected one process, but got %d", c.model, len(dep.Definitions))
	}
	straightKey := dep.Definitions[0].Key
	userTask := bpmntest.New(userTaskKey).Start("start").Node("task", "userTask").End("end").Chain("start", "task", "end")
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "usertask.bpmn", Data: userTask.XML()}}}); err != nil {
		return nil, fmt.Errorf("deploy the user-task model: %w", err)
	}
	vars := engine.Vars{"x": 10}

	straight := func(ctx context.Context, lat []time.Duration, started *atomic.Int64) error {
		t := time.Now()
		inst, err := e.Start(ctx, &engine.StartParams{Key: straightKey, Vars: vars})
		lat[0] = time.Since(t)
		if err != nil {
			return err
		}
		started.Add(1)
		if inst.State != engine.InstanceCompleted {
			return fmt.Errorf("instance %d: expected it completed after Start, but it is %s", inst.ID, inst.State)
		}
		return nil
	}
	withTask := func(ctx context.Context, lat []time.Duration, started *atomic.Int64) error {
		t := time.Now()
		inst, err := e.Start(ctx, &engine.StartParams{Key: userTaskKey, Vars: vars})
		lat[0] = time.Since(t)
		if err != nil {
			return err
		}
		started.Add(1)
		if inst.State != engine.InstanceActive {
			return fmt.Errorf("instance %d: expected it active at its user task, but it is %s", inst.ID, inst.State)
		}
		t = time.Now()
		tasks, err := st.store.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
		lat[1] = time.Since(t)
		if err != nil {
			return fmt.Errorf("list the tasks of instance %d: %w", inst.ID, err)
		}
		if len(tasks) != 1 {
			return fmt.Errorf("instance %d: expected one open user task, but found %d", inst.ID, len(tasks))
		}
		t = time.Now()
		err = e.CompleteUserTask(ctx, tasks[0].ID, nil)
		lat[2] = time.Since(t)
		return err
	}

	var results []*result
	for _, w := range []struct {
		name, key string
		calls     []string
		it        iteration
	}{
		{workloadStraight, straightKey, []string{"start"}, straight},
		{workloadUserTask, userTaskKey, []string{"start", "task query", "complete"}, withTask},
	} {
		fmt.Fprintf(out, "%s: %s, %d clients, %s warm-up + %s%s ...\n", st.dialect, w.name, c.clients, c.warmup, c.duration, loadAverage())
		r, err := runWorkload(ctx, c, w.calls, w.it)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.name, err)
		}
		r.dialect, r.workload, r.key = st.dialect, w.name, w.key
		results = append(results, r)
	}
	for _, r := range results {
		if err := verify(ctx, st, r); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "%s: %s verified: %d instances started, all of them completed in the store\n", st.dialect, r.workload, r.started)
	}
	return results, nil
}

// runWorkload runs it on c.clients goroutines for c.warmup and then
// c.duration. It counts the instances that finish in the measured window and
// keeps the latencies of their calls. The first error stops every client.
func runWorkload(ctx context.Context, c config, calls []string, it iteration) (*result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		started  atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		r        = &result{window: c.duration}
	)
	for _, name := range calls {
		r.calls = append(r.calls, &callStats{name: name})
	}
	t0 := time.Now().Add(c.warmup)
	t1 := t0.Add(c.duration)
	for range c.clients {
		wg.Go(func() {
			lat := make([]time.Duration, len(calls))
			own := make([][]time.Duration, len(calls))
			n := 0
			for ctx.Err() == nil && time.Now().Before(t1) {
				err := it(ctx, lat, &started)
				end := time.Now()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				if !end.Before(t0) && !end.After(t1) {
					n++
					for i, d := range lat {
						own[i] = append(own[i], d)
					}
				}
			}
			mu.Lock()
			r.instances += n
			for i, s := range r.calls {
				s.lat = append(s.lat, own[i]...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		if errors.Is(firstErr, context.Canceled) {
			return nil, fmt.Errorf("interrupted: %w", firstErr)
		}
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("interrupted: %w", err)
	}
	if r.instances == 0 {
		return nil, fmt.Errorf("no instance finished in the measured %s", c.duration)
	}
	for _, s := range r.calls {
		slices.Sort(s.lat)
	}
	r.started = started.Load()
	return r, nil
}

// verify checks with SQL that the store holds exactly r.started instances
// of r's process and that all of them completed.
func verify(ctx context.Context, st *benchStore, r *result) error {
	var total, completed int64
	err := st.store.DB().WithContext(ctx).Raw(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = ? THEN 1 ELSE 0 END), 0)
FROM process_instances WHERE key = ?`, string(engine.InstanceCompleted), r.key).Row().Scan(&total, &completed)
	if err != nil {
		return fmt.Errorf("%s: count the instances of %s: %w", r.workload, r.key, err)
	}
	if total != r.started || completed != r.started {
		return fmt.Errorf("%s: expected %d instances of %s, all completed, but the store holds %d, %d of them completed",
			r.workload, r.started, r.key, total, completed)
	}
	return nil
}
