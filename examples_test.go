package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// Element ids of the example models, as examples/README.md lists them.
const (
	orderCheck   = "Activity_0k4y7dw" // order.bpmn: user task "Check order"
	orderApprove = "Activity_1w6x0pn" // order.bpmn: user task "Approve large order"

	fulfilNotify = "Activity_1n8c4ye" // parallel-fulfilment.bpmn: manual task "Notify customer"
	fulfilLabel  = "Activity_0s7u3dl" // parallel-fulfilment.bpmn: user task "Print label"
	fulfilJoin   = "Gateway_1h5w0zt"  // parallel-fulfilment.bpmn: the join

	reviewLegal    = "Activity_0l6b2qe" // inclusive-review.bpmn: user task "Legal review"
	reviewFinance  = "Activity_1f0m7xu" // inclusive-review.bpmn: user task "Finance review"
	reviewStandard = "Activity_1s9f4ro" // inclusive-review.bpmn: user task "Standard review"

	supportResolve   = "Activity_1t7r4qe" // overdue-escalation.bpmn: user task "Resolve ticket"
	supportOverdue   = "Event_1m5c8wz"    // overdue-escalation.bpmn: non-interrupting boundary timer "Overdue"
	supportEscalate  = "Activity_0e3n6yb" // overdue-escalation.bpmn: user task "Escalate to manager"
	supportResolved  = "Event_0v2x9kd"    // overdue-escalation.bpmn: end "Ticket resolved"
	supportEscalated = "Event_1h8q0ta"    // overdue-escalation.bpmn: end "Ticket escalated"

	sagaCharge       = "Activity_1y8s4nv" // payment-saga.bpmn: service task "Charge card"
	sagaCancelHotel  = "Activity_1r5m2hk" // payment-saga.bpmn: compensation handler "Cancel hotel"
	sagaCancelFlight = "Activity_0p6j3cz" // payment-saga.bpmn: compensation handler "Cancel flight"
	sagaDeclined     = "Event_0d1m6gu"    // payment-saga.bpmn: error boundary "Card declined"
	sagaCancelAll    = "Event_1n7b5vw"    // payment-saga.bpmn: compensation throw "Cancel bookings"
	sagaBooked       = "Event_1a9v3rx"    // payment-saga.bpmn: end "Trip booked"
	sagaCancelled    = "Event_0z4h2ip"    // payment-saga.bpmn: end "Trip cancelled"

	expenseCheck   = "Activity_1c4k8pe" // expense-claim.bpmn: user task "Check the receipts"
	expenseApprove = "Activity_0q9a3tf" // expense-claim.bpmn: user task "Approve the claim" (Camunda Form expense-approval)
	expensePaid    = "Event_0h8f4nu"    // expense-claim.bpmn: end "Claim paid"
	expenseLarge   = "Event_1k3p9wd"    // expense-claim.bpmn: end "Large claim decided"

	msgOrderStart = "Event_0m4k2pd"    // message-order.bpmn: message start "Order placed"
	msgOrderShip  = "Activity_1b6x0jr" // message-order.bpmn: call activity "Ship order"
	msgOrderPaid  = "Event_1w3e9tu"    // message-order.bpmn: message catch "Payment received"
	msgOrderPack  = "Activity_0n2y8ke" // message-order.bpmn, process ship-order: user task "Pack"
)

// exampleEpoch is when the examples' clock starts.
var exampleEpoch = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// exampleClock is a clock the scenarios move by hand.
type exampleClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *exampleClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *exampleClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// exampleRun is an engine over one store on which one example is deployed.
type exampleRun struct {
	t   *testing.T
	ctx context.Context
	e   *engine.Engine
	s   engine.Store
	clk *exampleClock
	x   *engine.Executor
}

// exampleScenario drives instances of one example to their end.
type exampleScenario struct {
	name string
	run  func(r *exampleRun)
}

// exampleScenarios are the scenarios of each model of examples/, by file
// name. Every model must have some, and together they must complete an
// instance of each of its executable processes.
var exampleScenarios = map[string][]exampleScenario{
	"order.bpmn": {
		{"LargeOrderIsApproved", func(r *exampleRun) {
			id := r.start("order", nil)
			r.completeTask(id, orderCheck, engine.Vars{"amount": 1500, "customer": "ACME"})
			r.wantGroups(r.task(id, orderApprove), "managers")
			r.completeTask(id, orderApprove, nil)
			r.completeJob(id, "charge-card", nil)
			r.wantCompleted(id)
			r.wantInOrder(r.trace(id), orderApprove+":completed", "Activity_0ti8l3a:activated", "Event_1ux5bgi:completed")
		}},
		{"SmallOrderSkipsApproval", func(r *exampleRun) {
			id := r.start("order", nil)
			r.completeTask(id, orderCheck, engine.Vars{"amount": 200, "customer": "Bob"})
			r.completeJob(id, "charge-card", nil)
			r.wantCompleted(id)
			r.wantNone(r.trace(id), orderApprove)
		}},
	},
	"parallel-fulfilment.bpmn": {
		{"AllThreeBranchesJoin", func(r *exampleRun) {
			id := r.start("fulfilment", nil)
			r.wantGroups(r.task(id, fulfilLabel), "warehouse")
			r.completeJob(id, "pack", nil)
			r.completeTask(id, fulfilLabel, nil)
			r.wantCompleted(id)
			tr := r.trace(id)
			r.wantInOrder(tr, fulfilNotify+":completed", fulfilLabel+":completed", fulfilJoin+":completed", "Event_0e9j6vu:completed")
			if n := count(tr, fulfilJoin+":completed"); n != 1 {
				r.t.Fatalf("the join completed %d times, want once: %q", n, tr)
			}
		}},
	},
	"inclusive-review.bpmn": {
		{"LegalAndFinance", func(r *exampleRun) {
			id := r.start("review", engine.Vars{"needsLegal": true, "needsFinance": true})
			r.wantGroups(r.task(id, reviewLegal), "legal")
			r.wantGroups(r.task(id, reviewFinance), "finance")
			r.completeTask(id, reviewLegal, nil)
			r.wantState(id, engine.InstanceActive) // the join waits for finance
			r.completeTask(id, reviewFinance, nil)
			r.wantCompleted(id)
			r.wantNone(r.trace(id), reviewStandard)
		}},
		{"NeitherTakesTheDefault", func(r *exampleRun) {
			id := r.start("review", engine.Vars{"needsLegal": false, "needsFinance": false})
			if a := r.task(id, reviewStandard).Assignee; a != "demo" {
				r.t.Fatalf("standard review assigned to %q, want demo", a)
			}
			r.completeTask(id, reviewStandard, nil)
			r.wantCompleted(id)
			r.wantNone(r.trace(id), reviewLegal, reviewFinance)
		}},
	},
	"overdue-escalation.bpmn": {
		{"ResolvedInTime", func(r *exampleRun) {
			id := r.start("support", nil)
			r.wantGroups(r.task(id, supportResolve), "support")
			r.advance(3*time.Hour, 0)
			r.completeTask(id, supportResolve, nil)
			r.wantCompleted(id)
			r.advance(4*time.Hour, 0) // resolving cancelled the timer
			tr := r.trace(id, engine.EventActivated, engine.EventCompleted, engine.EventTimerFired)
			r.wantNone(tr, supportOverdue, supportEscalate)
			r.wantInOrder(tr, supportResolve+":completed", supportResolved+":completed")
		}},
		{"OverdueTicketIsEscalated", func(r *exampleRun) {
			id := r.start("support", nil)
			started := r.clk.Now()
			r.advance(4*time.Hour, 1)
			esc := r.task(id, supportEscalate)
			r.wantGroups(esc, "managers")
			if !esc.CreatedAt.Equal(started.Add(4 * time.Hour)) {
				r.t.Fatalf("escalation created at %v, want when the timer fired, 4h after %v", esc.CreatedAt, started)
			}
			r.task(id, supportResolve) // non-interrupting: the ticket stays open
			r.completeTask(id, supportEscalate, nil)
			r.wantState(id, engine.InstanceActive)
			r.advance(4*time.Hour, 0) // a duration fires once
			r.completeTask(id, supportResolve, nil)
			r.wantCompleted(id)
			r.wantInOrder(r.trace(id, engine.EventActivated, engine.EventCompleted, engine.EventTimerFired),
				supportResolve+":activated", supportOverdue+":timerFired", supportEscalate+":activated",
				supportEscalated+":completed", supportResolve+":completed", supportResolved+":completed", "support:completed")
		}},
	},
	"payment-saga.bpmn": {
		{"TripBooked", func(r *exampleRun) {
			id := r.start("saga", nil)
			r.completeJob(id, "book-hotel", engine.Vars{"hotelBooking": "H-1"})
			r.completeJob(id, "book-flight", engine.Vars{"flightBooking": "F-1"})
			r.completeJob(id, "charge-card", nil)
			r.wantCompleted(id)
			tr := r.trace(id)
			r.wantInOrder(tr, sagaCharge+":completed", sagaBooked+":completed")
			r.wantNone(tr, sagaCancelHotel, sagaCancelFlight, sagaCancelAll, sagaCancelled)
		}},
		{"CardDeclinedCancelsBookingsInReverse", func(r *exampleRun) {
			id := r.start("saga", nil)
			r.completeJob(id, "book-hotel", engine.Vars{"hotelBooking": "H-2"})
			r.completeJob(id, "book-flight", engine.Vars{"flightBooking": "F-2"})
			charge := r.job(id, "charge-card")
			if err := r.e.ThrowJobError(r.ctx, charge.ID, &engine.BPMNError{Code: "card-declined", Message: "insufficient funds"}); err != nil {
				r.t.Fatalf("throw card-declined: %v", err)
			}
			// Both handlers start at once, in reverse order of the bookings
			// (the flight's first), and wait for their workers; the throw
			// waits for both.
			flight, hotel := r.job(id, "cancel-flight"), r.job(id, "cancel-hotel")
			if flight.ID > hotel.ID {
				r.t.Fatalf("cancel-flight job %d was created after cancel-hotel job %d, want the reverse of the bookings", flight.ID, hotel.ID)
			}
			r.wantState(id, engine.InstanceActive)
			if err := r.e.CompleteJob(r.ctx, flight.ID, nil); err != nil {
				r.t.Fatal(err)
			}
			r.wantState(id, engine.InstanceActive)
			if err := r.e.CompleteJob(r.ctx, hotel.ID, nil); err != nil {
				r.t.Fatal(err)
			}
			r.wantCompleted(id)
			tr := r.trace(id)
			r.wantInOrder(tr, sagaCharge+":terminated", sagaDeclined+":activated",
				sagaCancelFlight+":activated", sagaCancelHotel+":activated",
				sagaCancelFlight+":completed", sagaCancelHotel+":completed",
				sagaCancelAll+":completed", sagaCancelled+":completed", "saga:completed")
			r.wantNone(tr, sagaBooked)
		}},
	},
	"expense-claim.bpmn": {
		{"SmallClaimIsPaid", func(r *exampleRun) {
			id := r.start("expense", engine.Vars{"employee": "Alice", "amount": 180})
			tk := r.task(id, expenseCheck)
			r.wantGroups(tk, "sales")
			if tk.Priority != 60 || tk.DueDate == nil || !tk.DueDate.Equal(tk.CreatedAt.Add(48*time.Hour)) {
				r.t.Fatalf("check task: priority %d, due %v, want 60 and two days after %v", tk.Priority, tk.DueDate, tk.CreatedAt)
			}
			r.completeTask(id, expenseCheck, engine.Vars{"receiptsComplete": true, "checkedAmount": 180})
			r.wantCompleted(id)
			r.wantInOrder(r.trace(id), expenseCheck+":completed", expensePaid+":completed")
			r.wantNone(r.trace(id), expenseApprove)
		}},
		{"LargeClaimGoesToTheManagers", func(r *exampleRun) {
			id := r.start("expense", engine.Vars{"employee": "Bob", "amount": 2400})
			r.completeTask(id, expenseCheck, engine.Vars{"receiptsComplete": true, "checkedAmount": 2400})
			tk := r.task(id, expenseApprove)
			r.wantGroups(tk, "managers")
			r.completeTask(id, expenseApprove, engine.Vars{"decision": "approve"})
			r.wantCompleted(id)
			r.wantInOrder(r.trace(id), expenseApprove+":completed", expenseLarge+":completed")
		}},
	},
	"message-order.bpmn": {
		{"PlacedShippedAndPaid", func(r *exampleRun) {
			res, err := r.e.CorrelateMessage(r.ctx, &engine.MessageParams{Name: "order placed", BusinessKey: "order-7",
				Vars: engine.Vars{"orderId": "order-7", "amount": 120}})
			if err != nil {
				r.t.Fatalf("order placed: %v", err)
			}
			if !res.Started || res.ElementID != msgOrderStart {
				r.t.Fatalf("order placed: %+v, want an instance started at %s", res, msgOrderStart)
			}
			id := res.InstanceID
			r.runJobs(1) // the call activity starts ship-order through a job
			kids, err := r.s.InstanceList(r.ctx, &engine.InstanceListParams{ParentInstanceID: id, Page: engine.Page{Limit: 10}})
			if err != nil {
				r.t.Fatal(err)
			}
			if len(kids) != 1 || kids[0].Key != "ship-order" || kids[0].State != engine.InstanceActive || kids[0].BusinessKey != "order-7" {
				r.t.Fatalf("called instances %+v, want one active ship-order with business key order-7", kids)
			}
			child := kids[0].ID
			r.wantGroups(r.task(child, msgOrderPack), "warehouse")
			if got := r.vars(child)["orderId"]; got != "order-7" {
				r.t.Fatalf("ship-order sees orderId = %v, want order-7 (camunda:in variables=\"all\")", got)
			}
			// The payment cannot come before the parcel is packed: nobody waits for it yet.
			if _, err := r.e.CorrelateMessage(r.ctx, &engine.MessageParams{Name: "payment received", BusinessKey: "order-7"}); !errors.Is(err, engine.ErrNotFound) {
				r.t.Fatalf("early payment: %v, want ErrNotFound", err)
			}
			r.completeTask(child, msgOrderPack, engine.Vars{"trackingNumber": "TN-7"})
			r.runJobs(1) // and ship-order returns to it through a job
			r.wantCompleted(child)
			r.wantState(id, engine.InstanceActive)
			// The payment of another order does not reach this one.
			if _, err := r.e.CorrelateMessage(r.ctx, &engine.MessageParams{Name: "payment received", BusinessKey: "order-8"}); !errors.Is(err, engine.ErrNotFound) {
				r.t.Fatalf("payment of order-8: %v, want ErrNotFound", err)
			}
			res, err = r.e.CorrelateMessage(r.ctx, &engine.MessageParams{Name: "payment received", BusinessKey: "order-7"})
			if err != nil {
				r.t.Fatalf("payment received: %v", err)
			}
			if res.InstanceID != id || res.ElementID != msgOrderPaid {
				r.t.Fatalf("payment received: %+v, want instance %d at %s", res, id, msgOrderPaid)
			}
			r.wantCompleted(id)
			r.wantInOrder(r.trace(id, engine.EventActivated, engine.EventCompleted, engine.EventMessageCorrelated),
				msgOrderStart+":completed", msgOrderShip+":activated", msgOrderShip+":completed",
				msgOrderPaid+":activated", msgOrderPaid+":messageCorrelated", msgOrderPaid+":completed", "message-order:completed")
			if got := r.finalVar(id, "trackingNumber"); got != "TN-7" {
				r.t.Fatalf("message-order ends with trackingNumber = %v, want TN-7 (camunda:out variables=\"all\")", got)
			}
		}},
		{"ShipOrderAlone", func(r *exampleRun) {
			id := r.start("ship-order", nil)
			r.completeTask(id, msgOrderPack, nil)
			r.wantCompleted(id)
		}},
	},
}

// TestExamplesRunToTheEnd deploys each model of examples/ on the in-memory
// store, SQLite and PostgreSQL (skipped where none answers, except under
// CI=true), and drives instances of every executable process to their end
// as a user, a worker and the clock would: see exampleScenarios.
func TestExamplesRunToTheEnd(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("examples/*.bpmn")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example models: %v", err)
	}
	for _, f := range files {
		if _, ok := exampleScenarios[filepath.Base(f)]; !ok {
			t.Errorf("no scenario drives %s: add one to exampleScenarios", f)
		}
	}
	stores := []struct {
		name string
		open func(t *testing.T) engine.Store
	}{
		{"MemStore", func(*testing.T) engine.Store { return enginetest.NewMemStore() }},
		{"SQLite", func(t *testing.T) engine.Store { return sqlstore.New(dbtest.SQLite(t)) }},
		{"PostgreSQL", func(t *testing.T) engine.Store { return sqlstore.New(dbtest.Postgres(t)) }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range files {
				t.Run(strings.TrimSuffix(filepath.Base(f), ".bpmn"), func(t *testing.T) {
					t.Parallel()
					r := newExampleRun(t, st.open(t), f)
					for _, sc := range exampleScenarios[filepath.Base(f)] {
						t.Run(sc.name, func(t *testing.T) {
							r := *r
							r.t = t
							sc.run(&r)
						})
					}
					r.wantEveryProcessCompleted(f)
				})
			}
		})
	}
}

// TestExamplesDeployTogether deploys every model of examples/ as one
// deployment, as `baton serve --deploy examples` does: no process key may
// appear twice, and none may warn.
func TestExamplesDeployTogether(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("examples/*.bpmn")
	forms, _ := filepath.Glob("examples/*.form")
	var res []engine.Resource
	for _, f := range append(files, forms...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, engine.Resource{Name: filepath.Base(f), Data: data})
	}
	e := engine.New(enginetest.NewMemStore(), engine.Config{})
	dep, err := e.Deploy(context.Background(), &engine.DeployParams{Name: "examples", Resources: res})
	if err != nil {
		t.Fatal(err)
	}
	if len(dep.Warnings) != 0 {
		t.Fatalf("warnings: %v", dep.Warnings)
	}
	if len(dep.Forms) != len(forms) {
		t.Fatalf("deployed %d forms, want the %d of examples/", len(dep.Forms), len(forms))
	}
	// Every form a model links to is deployed beside it.
	for _, f := range dep.Forms {
		if f.FormID != "expense-approval" {
			t.Errorf("form %q: no example links to it", f.FormID)
		}
	}
}

// newExampleRun deploys file on an engine over store, with a clock of its own.
func newExampleRun(t *testing.T, store engine.Store, file string) *exampleRun {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	clk := &exampleClock{now: exampleEpoch}
	e := engine.New(store, engine.Config{NowFunc: clk.Now})
	ctx := context.Background()
	dep, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: filepath.Base(file), Data: data}}})
	if err != nil {
		t.Fatalf("deploy %s: %v", file, err)
	}
	if len(dep.Warnings) != 0 {
		t.Fatalf("deploy %s: warnings %v", file, dep.Warnings)
	}
	return &exampleRun{t: t, ctx: ctx, e: e, s: store, clk: clk, x: e.NewExecutor(engine.ExecutorConfig{Owner: "examples"})}
}

// wantEveryProcessCompleted fails unless the scenarios completed an
// instance of every executable process of file and left none active.
func (r *exampleRun) wantEveryProcessCompleted(file string) {
	r.t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		r.t.Fatal(err)
	}
	d, err := bpmn.Parse(data)
	if err != nil {
		r.t.Fatal(err)
	}
	for _, p := range d.ExecutableProcesses() {
		done, err := r.s.InstanceList(r.ctx, &engine.InstanceListParams{Key: p.ID, State: engine.InstanceCompleted, Page: engine.Page{Limit: 1}})
		if err != nil {
			r.t.Fatal(err)
		}
		if len(done) == 0 {
			r.t.Errorf("no scenario completed an instance of process %s of %s", p.ID, file)
		}
		live, err := r.s.InstanceList(r.ctx, &engine.InstanceListParams{Key: p.ID, State: engine.InstanceActive, Page: engine.Page{Limit: 10}})
		if err != nil {
			r.t.Fatal(err)
		}
		for _, inst := range live {
			r.t.Errorf("instance %d of %s is still active", inst.ID, p.ID)
		}
	}
}

func (r *exampleRun) start(key string, vars engine.Vars) int64 {
	r.t.Helper()
	inst, err := r.e.Start(r.ctx, &engine.StartParams{Key: key, Vars: vars})
	if err != nil {
		r.t.Fatalf("start %s: %v", key, err)
	}
	return inst.ID
}

// task returns the open user task of element in instance id; it fails
// unless there is exactly one.
func (r *exampleRun) task(id int64, element string) *engine.UserTask {
	r.t.Helper()
	tasks, err := r.s.UserTaskList(r.ctx, &engine.UserTaskListParams{InstanceID: id, OpenOnly: true, Page: engine.Page{Limit: 100}})
	if err != nil {
		r.t.Fatal(err)
	}
	var found []*engine.UserTask
	var open []string
	for _, tk := range tasks {
		open = append(open, tk.ElementID)
		if tk.ElementID == element {
			found = append(found, tk)
		}
	}
	if len(found) != 1 {
		r.t.Fatalf("instance %d has %d open tasks of %s, want 1 (open: %v; active: %v)", id, len(found), element, open, r.active(id))
	}
	return found[0]
}

func (r *exampleRun) completeTask(id int64, element string, vars engine.Vars) {
	r.t.Helper()
	if err := r.e.CompleteUserTask(r.ctx, r.task(id, element).ID, vars); err != nil {
		r.t.Fatalf("complete %s: %v", element, err)
	}
}

// job returns the active job of topic in instance id, as a worker would
// fetch it; it fails unless there is exactly one.
func (r *exampleRun) job(id int64, topic string) *engine.Job {
	r.t.Helper()
	jobs, err := r.s.JobList(r.ctx, &engine.JobListParams{InstanceID: id, Topic: topic, State: engine.JobActive, Page: engine.Page{Limit: 100}})
	if err != nil {
		r.t.Fatal(err)
	}
	if len(jobs) != 1 {
		r.t.Fatalf("instance %d has %d active jobs of topic %s, want 1 (active: %v)", id, len(jobs), topic, r.active(id))
	}
	return jobs[0]
}

func (r *exampleRun) completeJob(id int64, topic string, vars engine.Vars) {
	r.t.Helper()
	if err := r.e.CompleteJob(r.ctx, r.job(id, topic).ID, vars); err != nil {
		r.t.Fatalf("complete job %s: %v", topic, err)
	}
}

// advance moves the clock by d and runs the jobs then due; want of them must run.
func (r *exampleRun) advance(d time.Duration, want int) {
	r.t.Helper()
	r.clk.Advance(d)
	n, err := r.x.RunDue(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	if n != want {
		r.t.Fatalf("%d jobs ran after %v, want %d", n, d, want)
	}
}

// runJobs runs the jobs due now; want of them must run.
func (r *exampleRun) runJobs(want int) {
	r.t.Helper()
	r.advance(0, want)
}

// active lists the element ids of instance id's live element instances.
func (r *exampleRun) active(id int64) []string {
	st, err := r.s.InstanceLive(r.ctx, id)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, ei := range st.ElementInstances {
		if ei.ID != id {
			out = append(out, ei.ElementID)
		}
	}
	return out
}

func (r *exampleRun) vars(id int64) map[string]any {
	r.t.Helper()
	st, err := r.s.InstanceLive(r.ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]any{}
	for _, v := range st.Variables {
		if v.ScopeID == id {
			out[v.Name] = v.Value
		}
	}
	return out
}

// finalVar returns the last value history records for process variable name
// of instance id: an ended instance keeps no live variables.
func (r *exampleRun) finalVar(id int64, name string) any {
	r.t.Helper()
	hist, err := r.s.HistoryList(r.ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	var v any
	for _, ev := range hist {
		if ev.Type == engine.EventVariableSet && ev.Var.ScopeID == id && ev.Var.Name == name {
			v = ev.Var.NewValue
		}
	}
	return v
}

func (r *exampleRun) wantState(id int64, want engine.InstanceState) {
	r.t.Helper()
	inst, err := r.s.InstanceGet(r.ctx, id)
	if err != nil {
		r.t.Fatal(err)
	}
	if inst.State != want {
		r.t.Fatalf("instance %d (%s) is %s, want %s (active: %v)\ntrace %q", id, inst.Key, inst.State, want, r.active(id), r.trace(id))
	}
}

func (r *exampleRun) wantCompleted(id int64) {
	r.t.Helper()
	r.wantState(id, engine.InstanceCompleted)
}

func (r *exampleRun) trace(id int64, types ...engine.EventType) []string {
	r.t.Helper()
	return enginetest.Trace(r.t, r.s, id, types...)
}

func (r *exampleRun) wantGroups(tk *engine.UserTask, groups ...string) {
	r.t.Helper()
	if !slices.Equal(tk.CandidateGroups, groups) {
		r.t.Fatalf("task %s has candidate groups %q, want %q", tk.ElementID, tk.CandidateGroups, groups)
	}
}

// wantInOrder fails unless tr holds events in this order (others may come between).
func (r *exampleRun) wantInOrder(tr []string, events ...string) {
	r.t.Helper()
	i := 0
	for _, ev := range tr {
		if i < len(events) && ev == events[i] {
			i++
		}
	}
	if i < len(events) {
		r.t.Fatalf("trace lacks %q after %q:\n%q", events[i], events[:i], tr)
	}
}

// wantNone fails when tr has an event of one of elements.
func (r *exampleRun) wantNone(tr []string, elements ...string) {
	r.t.Helper()
	for _, ev := range tr {
		for _, el := range elements {
			if strings.HasPrefix(ev, el+":") {
				r.t.Fatalf("trace has %q, want no event of %s:\n%q", ev, el, tr)
			}
		}
	}
}

func count(tr []string, ev string) int {
	n := 0
	for _, e := range tr {
		if e == ev {
			n++
		}
	}
	return n
}
