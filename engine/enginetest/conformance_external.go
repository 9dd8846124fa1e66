package enginetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// runExternalConformance runs the external-task protocol through the
// store: fetch-and-lock by concurrent workers, locks that expire, complete,
// failure with retries and retry timeouts, incidents, BPMN errors, lock
// extension, unlock, priority order, the variables asked for, and long
// polling.
func runExternalConformance(t *testing.T, newStore func(t *testing.T) engine.Store) {
	ctx := context.Background()
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// charge: a service task for external workers; an error CARD_DECLINED
	// on it is caught by a boundary event that leads to a user task.
	model := bpmntest.New("pay").Error("Declined", "CARD_DECLINED").Start("s").
		Node("charge", "serviceTask", bpmntest.Topic("charge"), bpmntest.Attr("camunda:taskPriority", "${prio}")).
		End("e").Chain("s", "charge", "e").
		Node("declined", "boundaryEvent", bpmntest.Boundary("charge", true), bpmntest.ErrorRef("Declined")).
		Node("call", "userTask").Chain("declined", "call")

	setup := func(t *testing.T) (*engine.Engine, engine.Store, func(time.Duration)) {
		s := newStore(t)
		var mu sync.Mutex
		at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return at
		}
		advance := func(d time.Duration) {
			mu.Lock()
			at = at.Add(d)
			mu.Unlock()
		}
		// The long polls here never look again by themselves (an hourly
		// re-check): only a wake-up answers them early.
		e := engine.New(s, engine.Config{NowFunc: clock, IDBlockSize: 64, FetchRecheck: time.Hour})
		_, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "pay.bpmn", Data: model.XML()}}})
		must(t, err)
		return e, s, advance
	}
	start := func(t *testing.T, e *engine.Engine, vs engine.Vars) *engine.Instance {
		t.Helper()
		if vs == nil {
			vs = engine.Vars{}
		}
		if _, ok := vs["prio"]; !ok {
			vs["prio"] = int64(0)
		}
		inst, err := e.Start(ctx, &engine.StartParams{Key: "pay", Vars: vs})
		must(t, err)
		return inst
	}
	fetch := func(t *testing.T, e *engine.Engine, worker string, max int, opts ...func(p *engine.FetchParams)) []*engine.LockedTask {
		t.Helper()
		p := &engine.FetchParams{WorkerID: worker, MaxTasks: max, Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Minute}}}
		for _, o := range opts {
			o(p)
		}
		got, err := e.FetchAndLock(ctx, p)
		must(t, err)
		return got
	}
	state := func(t *testing.T, s engine.Store, id int64) engine.InstanceState {
		t.Helper()
		inst, err := s.InstanceGet(ctx, id)
		must(t, err)
		return inst.State
	}
	lockErr := func(t *testing.T, err error, owner string, expired bool) {
		t.Helper()
		var le *engine.LockError
		if !errors.As(err, &le) || !errors.Is(err, engine.ErrConflict) || le.Owner != owner || le.Expired != expired {
			t.Fatalf("got %v, want a lock error (owner %q, expired %v) that is ErrConflict", err, owner, expired)
		}
	}

	t.Run("TwoWorkersNeverLockTheSameTask", func(t *testing.T) {
		e, _, _ := setup(t)
		for range 30 {
			start(t, e, nil)
		}
		var mu sync.Mutex
		owner := map[int64]string{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				worker := fmt.Sprintf("w%d", w)
				for {
					got, err := e.FetchAndLock(ctx, &engine.FetchParams{WorkerID: worker, MaxTasks: 3,
						Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Minute, Variables: []string{}}}})
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, lt := range got {
						if prev, dup := owner[lt.Job.ID]; dup {
							t.Errorf("task %d locked by %s and %s", lt.Job.ID, prev, worker)
						}
						if lt.Job.LeaseOwner != worker {
							t.Errorf("task %d fetched by %s carries lock owner %q", lt.Job.ID, worker, lt.Job.LeaseOwner)
						}
						owner[lt.Job.ID] = worker
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(owner) != 30 {
			t.Fatalf("%d distinct tasks locked, want 30", len(owner))
		}
	})

	t.Run("ExpiredLockIsFetchableAgainAndRefusesItsHolder", func(t *testing.T) {
		e, s, advance := setup(t)
		inst := start(t, e, nil)
		got := fetch(t, e, "a", 5)
		if len(got) != 1 || got[0].Job.LeaseOwner != "a" || got[0].Job.InstanceID != inst.ID || got[0].ProcessKey != "pay" {
			t.Fatalf("fetch by a: %+v", got)
		}
		id := got[0].Job.ID
		if again := fetch(t, e, "b", 5); len(again) != 0 {
			t.Fatalf("b fetched a task a holds: %+v", again)
		}
		lockErr(t, e.CompleteExternalTask(ctx, id, "b", engine.Vars{"paid": true}, nil), "a", false)
		advance(61 * time.Second)
		lockErr(t, e.CompleteExternalTask(ctx, id, "a", engine.Vars{"paid": true}, nil), "a", true)
		if st := state(t, s, inst.ID); st != engine.InstanceActive {
			t.Fatalf("instance %s after refused completions", st)
		}
		again := fetch(t, e, "b", 5)
		if len(again) != 1 || again[0].Job.ID != id || again[0].Job.LeaseOwner != "b" {
			t.Fatalf("fetch by b after a's lock expired: %+v", again)
		}
		lockErr(t, e.CompleteExternalTask(ctx, id, "a", nil, nil), "b", false)
		must(t, e.CompleteExternalTask(ctx, id, "b", engine.Vars{"paid": true}, engine.Vars{"receipt": "r-1"}))
		if st := state(t, s, inst.ID); st != engine.InstanceCompleted {
			t.Fatalf("instance %s after b completed", st)
		}
		hist, err := s.HistoryList(ctx, inst.ID)
		must(t, err)
		paid := false
		for _, h := range hist {
			if h.Var != nil && h.Var.Name == "paid" && h.Var.NewValue == true {
				paid = true
			}
		}
		if !paid {
			t.Fatalf("history has no write of paid=true: %+v", hist)
		}
		if err := e.CompleteExternalTask(ctx, id, "b", nil, nil); !errors.Is(err, engine.ErrConflict) {
			t.Fatalf("second completion: %v, want ErrConflict", err)
		}
		if err := e.CompleteExternalTask(ctx, 987654321, "b", nil, nil); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("unknown task: %v, want ErrNotFound", err)
		}
	})

	t.Run("FailureRetriesAfterTheTimeoutThenSucceeds", func(t *testing.T) {
		e, s, advance := setup(t)
		inst := start(t, e, nil)
		id := fetch(t, e, "a", 1)[0].Job.ID
		lockErr(t, e.FailExternalTask(ctx, id, "b", &engine.ExternalFailure{ErrorMessage: "x", Retries: 1}), "a", false)
		must(t, e.FailExternalTask(ctx, id, "a", &engine.ExternalFailure{ErrorMessage: "gateway timeout", ErrorDetails: "stack",
			Retries: 2, RetryTimeout: 30 * time.Second}))
		if got := fetch(t, e, "a", 1); len(got) != 0 {
			t.Fatalf("fetched during the retry timeout: %+v", got)
		}
		advance(30 * time.Second)
		got := fetch(t, e, "b", 1)
		if len(got) != 1 || got[0].Job.ID != id || got[0].Job.Retries != 2 || got[0].Job.ErrorMessage != "gateway timeout" || got[0].Job.ErrorDetails != "stack" {
			t.Fatalf("fetch after the retry timeout: %+v", got)
		}
		must(t, e.CompleteExternalTask(ctx, id, "b", nil, nil))
		if st := state(t, s, inst.ID); st != engine.InstanceCompleted {
			t.Fatalf("instance %s", st)
		}
	})

	t.Run("NoRetriesLeftIsAnIncidentThatARetryResolves", func(t *testing.T) {
		e, s, _ := setup(t)
		inst := start(t, e, nil)
		id := fetch(t, e, "a", 1)[0].Job.ID
		must(t, e.FailExternalTask(ctx, id, "a", &engine.ExternalFailure{ErrorMessage: "card service down", Retries: 0}))
		if got := fetch(t, e, "a", 1); len(got) != 0 {
			t.Fatalf("fetched a task with no retries: %+v", got)
		}
		incs, err := s.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst.ID, State: engine.IncidentOpen})
		must(t, err)
		if len(incs) != 1 || incs[0].JobID != id || incs[0].ElementID != "charge" {
			t.Fatalf("incidents %+v", incs)
		}
		listed, err := e.ExternalTaskList(ctx, &engine.ExternalTaskListParams{InstanceID: inst.ID})
		must(t, err)
		if len(listed) != 1 || listed[0].Job.State != engine.JobFailed || listed[0].Job.Retries != 0 {
			t.Fatalf("list with the incident: %+v", listed)
		}
		withRetries, err := e.ExternalTaskList(ctx, &engine.ExternalTaskListParams{InstanceID: inst.ID, WithRetriesLeft: true})
		must(t, err)
		if len(withRetries) != 0 {
			t.Fatalf("with retries left: %+v", withRetries)
		}
		must(t, e.RetryIncident(ctx, incs[0].ID, 1))
		got := fetch(t, e, "b", 1)
		if len(got) != 1 || got[0].Job.ID != id || got[0].Job.Retries != 1 {
			t.Fatalf("fetch after the retry: %+v", got)
		}
		must(t, e.CompleteExternalTask(ctx, id, "b", nil, nil))
		if st := state(t, s, inst.ID); st != engine.InstanceCompleted {
			t.Fatalf("instance %s", st)
		}
	})

	t.Run("BPMNErrorIsCaughtByTheBoundaryEvent", func(t *testing.T) {
		e, s, _ := setup(t)
		inst := start(t, e, nil)
		id := fetch(t, e, "a", 1)[0].Job.ID
		if err := e.ExternalTaskBPMNError(ctx, id, "a", "", "no code", nil); !errors.Is(err, engine.ErrInvalid) {
			t.Fatalf("empty code: %v, want ErrInvalid", err)
		}
		lockErr(t, e.ExternalTaskBPMNError(ctx, id, "b", "CARD_DECLINED", "", nil), "a", false)
		must(t, e.ExternalTaskBPMNError(ctx, id, "a", "CARD_DECLINED", "insufficient funds", engine.Vars{"reason": "funds"}))
		tasks, err := s.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
		must(t, err)
		if len(tasks) != 1 || tasks[0].ElementID != "call" {
			t.Fatalf("open tasks after the error: %+v", tasks)
		}
		st, err := s.InstanceLive(ctx, inst.ID)
		must(t, err)
		reason := false
		for _, v := range st.Variables {
			if v.Name == "reason" && v.Value == "funds" {
				reason = true
			}
		}
		if !reason {
			t.Fatalf("variables after the error: %+v", st.Variables)
		}
		if got := fetch(t, e, "a", 1); len(got) != 0 {
			t.Fatalf("fetched after the error ended the task: %+v", got)
		}
	})

	t.Run("ExtendLockAndLock", func(t *testing.T) {
		e, s, advance := setup(t)
		inst := start(t, e, nil)
		id := fetch(t, e, "a", 1)[0].Job.ID
		advance(30 * time.Second)
		lockErr(t, e.ExtendExternalTaskLock(ctx, id, "b", 5*time.Minute), "a", false)
		must(t, e.ExtendExternalTaskLock(ctx, id, "a", 5*time.Minute))
		advance(2 * time.Minute)
		if got := fetch(t, e, "b", 1); len(got) != 0 {
			t.Fatalf("b fetched a task whose lock a extended: %+v", got)
		}
		lockErr(t, e.LockExternalTask(ctx, id, "b", time.Minute), "a", false)
		advance(4 * time.Minute)
		lockErr(t, e.ExtendExternalTaskLock(ctx, id, "a", time.Minute), "a", true)
		must(t, e.LockExternalTask(ctx, id, "b", time.Minute))
		listed, err := e.ExternalTaskList(ctx, &engine.ExternalTaskListParams{WorkerID: "b"})
		must(t, err)
		if len(listed) != 1 || listed[0].Job.ID != id || listed[0].Job.LeaseOwner != "b" {
			t.Fatalf("tasks b holds: %+v", listed)
		}
		must(t, e.CompleteExternalTask(ctx, id, "b", nil, nil))
		if st := state(t, s, inst.ID); st != engine.InstanceCompleted {
			t.Fatalf("instance %s", st)
		}
	})

	t.Run("UnlockMakesItFetchableAtOnce", func(t *testing.T) {
		e, _, _ := setup(t)
		start(t, e, nil)
		id := fetch(t, e, "a", 1)[0].Job.ID
		locked, err := e.ExternalTaskList(ctx, &engine.ExternalTaskListParams{Locked: true})
		must(t, err)
		if len(locked) != 1 || locked[0].Job.ID != id {
			t.Fatalf("locked tasks: %+v", locked)
		}
		must(t, e.UnlockExternalTask(ctx, id))
		free, err := e.ExternalTaskList(ctx, &engine.ExternalTaskListParams{NotLocked: true})
		must(t, err)
		if len(free) != 1 || free[0].Job.ID != id || free[0].Job.LeaseOwner != "" {
			t.Fatalf("tasks not locked: %+v", free)
		}
		got := fetch(t, e, "b", 1)
		if len(got) != 1 || got[0].Job.ID != id || got[0].Job.LeaseOwner != "b" {
			t.Fatalf("fetch after unlock: %+v", got)
		}
		lockErr(t, e.CompleteExternalTask(ctx, id, "a", nil, nil), "b", false)
		if err := e.UnlockExternalTask(ctx, 987654321); !errors.Is(err, engine.ErrNotFound) {
			t.Fatalf("unlock of an unknown task: %v, want ErrNotFound", err)
		}
	})

	t.Run("PriorityOrder", func(t *testing.T) {
		e, _, _ := setup(t)
		var ids []int64
		for _, prio := range []int64{1, 5, 3} {
			inst := start(t, e, engine.Vars{"prio": prio})
			ids = append(ids, inst.ID)
		}
		byCreation := fetch(t, e, "a", 3)
		var order []int64
		for _, lt := range byCreation {
			order = append(order, lt.Job.InstanceID)
		}
		if !slices.Equal(order, ids) {
			t.Fatalf("without priority: instances %v, want creation order %v", order, ids)
		}
		for _, lt := range byCreation {
			must(t, e.UnlockExternalTask(ctx, lt.Job.ID))
		}
		newest := fetch(t, e, "a", 2, func(p *engine.FetchParams) { p.NewestFirst = true })
		if len(newest) != 2 || newest[0].Job.InstanceID != ids[2] || newest[1].Job.InstanceID != ids[1] {
			t.Fatalf("newest first: %+v, want instances %d and %d", newest, ids[2], ids[1])
		}
		for _, lt := range newest {
			must(t, e.UnlockExternalTask(ctx, lt.Job.ID))
		}
		byPrio := fetch(t, e, "a", 2, func(p *engine.FetchParams) { p.UsePriority = true })
		if len(byPrio) != 2 || byPrio[0].Priority != 5 || byPrio[1].Priority != 3 || byPrio[0].Job.InstanceID != ids[1] {
			t.Fatalf("by priority: %+v", byPrio)
		}
		last := fetch(t, e, "a", 2, func(p *engine.FetchParams) { p.UsePriority = true })
		if len(last) != 1 || last[0].Priority != 1 {
			t.Fatalf("last by priority: %+v", last)
		}
	})

	t.Run("TopicFiltersAndVariablesAskedFor", func(t *testing.T) {
		e, _, _ := setup(t)
		withVars := func(names []string, local bool) func(p *engine.FetchParams) {
			return func(p *engine.FetchParams) { p.Topics[0].Variables, p.Topics[0].LocalVariables = names, local }
		}
		inst, err := e.Start(ctx, &engine.StartParams{Key: "pay", BusinessKey: "order-7", Vars: engine.Vars{"prio": int64(0), "amount": int64(42), "currency": "EUR"}})
		must(t, err)
		if got := fetch(t, e, "a", 1, func(p *engine.FetchParams) { p.Topics[0].BusinessKey = "order-8" }); len(got) != 0 {
			t.Fatalf("fetched with another business key: %+v", got)
		}
		if got := fetch(t, e, "a", 1, func(p *engine.FetchParams) { p.Topics[0].ProcessDefinitionKeys = []string{"other"} }); len(got) != 0 {
			t.Fatalf("fetched with another process key: %+v", got)
		}
		if got := fetch(t, e, "a", 1, func(p *engine.FetchParams) { p.Topics[0].Name = "refund" }); len(got) != 0 {
			t.Fatalf("fetched another topic: %+v", got)
		}
		cases := []struct {
			name string
			opt  func(p *engine.FetchParams)
			want engine.Vars
		}{
			{"All", withVars(nil, false), engine.Vars{"prio": int64(0), "amount": int64(42), "currency": "EUR"}},
			{"Named", withVars([]string{"amount", "missing"}, false), engine.Vars{"amount": int64(42)}},
			{"None", withVars([]string{}, false), engine.Vars{}},
			{"LocalOnly", withVars(nil, true), engine.Vars{}},
		}
		for _, c := range cases {
			got := fetch(t, e, "a", 1, c.opt, func(p *engine.FetchParams) {
				p.Topics[0].BusinessKey, p.Topics[0].ProcessDefinitionKeys = "order-7", []string{"pay"}
			})
			if len(got) != 1 || got[0].Job.InstanceID != inst.ID || got[0].Job.BusinessKey != "order-7" {
				t.Fatalf("%s: fetched %+v", c.name, got)
			}
			if fmt.Sprint(got[0].Vars) != fmt.Sprint(c.want) {
				t.Fatalf("%s: variables %v, want %v", c.name, got[0].Vars, c.want)
			}
			must(t, e.UnlockExternalTask(ctx, got[0].Job.ID))
		}
	})

	t.Run("BadFetchParametersNameTheField", func(t *testing.T) {
		e, _, _ := setup(t)
		for _, c := range []struct {
			p     engine.FetchParams
			field string
		}{
			{engine.FetchParams{MaxTasks: 1, Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Second}}}, "workerId"},
			{engine.FetchParams{WorkerID: "a", Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Second}}}, "maxTasks"},
			{engine.FetchParams{WorkerID: "a", MaxTasks: 1}, "topics"},
			{engine.FetchParams{WorkerID: "a", MaxTasks: 1, Topics: []engine.FetchTopic{{Name: "charge"}}}, "topics[0].lockDuration"},
			{engine.FetchParams{WorkerID: "a", MaxTasks: 1, Wait: time.Hour, Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Second}}}, "asyncResponseTimeout"},
		} {
			_, err := e.FetchAndLock(ctx, &c.p)
			var inv *engine.InvalidError
			if !errors.As(err, &inv) || inv.Field != c.field {
				t.Fatalf("%+v: got %v, want an invalid %s", c.p, err, c.field)
			}
		}
	})

	t.Run("LongPollAnswersWhenWorkArrives", func(t *testing.T) {
		e, _, _ := setup(t)
		// Warm up: the first fetch on a fresh store (PostgreSQL prepares its
		// statements) is not what is measured.
		start(t, e, nil)
		must(t, e.CompleteExternalTask(ctx, fetch(t, e, "a", 1)[0].Job.ID, "a", nil, nil))
		type answer struct {
			tasks []*engine.LockedTask
			err   error
			at    time.Time
		}
		done := make(chan answer, 1)
		go func() {
			got, err := e.FetchAndLock(ctx, &engine.FetchParams{WorkerID: "a", MaxTasks: 1, Wait: 20 * time.Second,
				Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Minute}}})
			done <- answer{got, err, time.Now()}
		}()
		// Give the poll a moment to find nothing and wait.
		time.Sleep(200 * time.Millisecond)
		began := time.Now()
		inst := start(t, e, nil)
		started := time.Now()
		select {
		case a := <-done:
			must(t, a.err)
			if len(a.tasks) != 1 || a.tasks[0].Job.InstanceID != inst.ID {
				t.Fatalf("long poll answered %+v", a.tasks)
			}
			t.Logf("long poll answered %s after the start committed (the start took %s)", a.at.Sub(started), started.Sub(began))
		case <-time.After(10 * time.Second):
			t.Fatal("long poll did not answer within 10 s of the start: nothing woke it (it re-checks only hourly)")
		}
	})

	t.Run("LongPollAnswersEmptyAfterTheWait", func(t *testing.T) {
		e, _, _ := setup(t)
		began := time.Now()
		got, err := e.FetchAndLock(ctx, &engine.FetchParams{WorkerID: "a", MaxTasks: 1, Wait: 300 * time.Millisecond,
			Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Minute}}})
		must(t, err)
		took := time.Since(began)
		if got == nil || len(got) != 0 {
			t.Fatalf("answer after the wait: %#v, want an empty list", got)
		}
		if took < 300*time.Millisecond || took > 2*time.Second {
			t.Fatalf("answered after %s, want 300 ms", took)
		}
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		began = time.Now()
		got, err = e.FetchAndLock(cctx, &engine.FetchParams{WorkerID: "a", MaxTasks: 1, Wait: 10 * time.Second,
			Topics: []engine.FetchTopic{{Name: "charge", LockDuration: time.Minute}}})
		must(t, err)
		if len(got) != 0 || time.Since(began) > 2*time.Second {
			t.Fatalf("answer when the context ended: %+v after %s", got, time.Since(began))
		}
	})
}
