// Command embedded runs Baton inside a Go program: no server, no workers,
// the service tasks of payment.bpmn worked by Go functions.
//
// It opens a store (an SQLite file in a temporary directory unless -db
// names one, or a postgres:// URL), which migrates it; builds the engine;
// registers a Go handler per topic; deploys the model; starts three
// payments; runs the job executor until every payment has ended; prints
// how each ended; and stops the executor cleanly. "Check fraud risk"
// (topic fraud-check) returns variables; "Charge card" (topic charge-card)
// returns a *engine.BPMNError for an amount over the card's limit, which
// the error boundary event "Card declined" catches.
//
//	go run ./examples/embedded
//	go run ./examples/embedded -db sqlite:///tmp/payments.db
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

//go:embed payment.bpmn
var paymentModel []byte

// Element ids of payment.bpmn.
const (
	endPaid     = "Event_0p4d2gy" // end "Payment done"
	endDeclined = "Event_0j5r1fo" // end "Payment declined", after the boundary event "Card declined"
)

// cardLimit is the largest amount chargeCard accepts.
const cardLimit = 1000

// payments are the instances the program starts: business key and amount.
var payments = []struct {
	businessKey string
	amount      int64
}{
	{"PAY-1", 120},
	{"PAY-2", 480},
	{"PAY-3", 5000},
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is the program; it returns the exit status. Tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("embedded", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("db", "", "database: sqlite://FILE or postgres://…; default an SQLite file in a temporary directory")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the payments to end")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dbURL == "" {
		dir, err := os.MkdirTemp("", "baton-embedded-")
		if err != nil {
			fmt.Fprintln(stderr, "embedded:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		*dbURL = "sqlite://" + filepath.Join(dir, "baton.db")
	}
	results, err := embed(ctx, *dbURL, *timeout)
	if err != nil {
		fmt.Fprintln(stderr, "embedded:", err)
		return 1
	}
	for _, r := range results {
		fmt.Fprintln(stdout, r)
	}
	return 0
}

// result is how one payment ended.
type result struct {
	BusinessKey string
	InstanceID  int64
	State       engine.InstanceState
	// End is the end event the payment reached: endPaid or endDeclined.
	End  string
	Vars map[string]any
}

// String prints a result on one line, e.g.
// "PAY-1 completed paid: amount=120 receipt=R-PAY-1 risk=low".
func (r result) String() string {
	outcome := map[string]string{endPaid: "paid", endDeclined: "declined"}[r.End]
	names := make([]string, 0, len(r.Vars))
	for name := range r.Vars {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s:", r.BusinessKey, r.State, outcome)
	for _, name := range names {
		fmt.Fprintf(&b, " %s=%v", name, r.Vars[name])
	}
	return b.String()
}

// embed is Baton as a library, start to finish.
func embed(ctx context.Context, dbURL string, timeout time.Duration) ([]result, error) {
	// 1. Open the store: sqlstore.Open connects and applies the migrations.
	store, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer store.Close()

	// 2. Build the engine and register a Go handler per topic. Handlers run
	// inside the command that reaches their task, or in the job executor
	// for a task after an asynchronous continuation or a failed attempt.
	eng := engine.New(store, engine.Config{})
	eng.RegisterHandler("fraud-check", checkFraud)
	eng.RegisterHandler("charge-card", chargeCard)

	// Observers see every command after it committed: here, which
	// instances ended.
	ended := make(chan int64, 64)
	eng.Observe(func(o *engine.Outcome) {
		if o.Err == nil && o.Ended != "" {
			select {
			case ended <- o.InstanceID:
			default: // the buffer holds more than the program starts
			}
		}
	})

	// 3. Deploy the model; deploying the same content again is no new version.
	if _, err := eng.Deploy(ctx, &engine.DeployParams{Name: "embedded", Resources: []engine.Resource{{Name: "payment.bpmn", Data: paymentModel}}}); err != nil {
		return nil, err
	}

	// 4. Run the job executor until the payments ended.
	xctx, stopExecutor := context.WithCancel(ctx)
	executorDone := make(chan error, 1)
	x := eng.NewExecutor(engine.ExecutorConfig{})
	go func() { executorDone <- x.Run(xctx) }()
	defer func() {
		// Stop cleanly: jobs running finish, queued ones are released.
		stopExecutor()
		<-executorDone
	}()

	// 5. Start the payments. "Check fraud risk" is asynchronous
	// (camunda:asyncBefore), so Start returns once the instance waits for
	// the executor.
	ids := map[int64]string{}
	for _, p := range payments {
		inst, err := eng.Start(ctx, &engine.StartParams{Key: "payment", BusinessKey: p.businessKey, Vars: engine.Vars{"amount": p.amount}})
		if err != nil {
			return nil, err
		}
		ids[inst.ID] = p.businessKey
	}
	deadline := time.After(timeout)
	for open := len(ids); open > 0; {
		select {
		case id := <-ended:
			if _, ours := ids[id]; ours {
				open--
			}
		case <-deadline:
			return nil, fmt.Errorf("%d of %d payments still running after %s", open, len(ids), timeout)
		}
	}

	// 6. Read how each ended from its history.
	out := make([]result, 0, len(ids))
	for id, bk := range ids {
		r, err := outcome(ctx, store, id)
		if err != nil {
			return nil, err
		}
		r.BusinessKey = bk
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b result) int { return strings.Compare(a.BusinessKey, b.BusinessKey) })
	return out, nil
}

// outcome reads the state, the end event and the final variables of
// instance id.
func outcome(ctx context.Context, store engine.Store, id int64) (result, error) {
	inst, err := store.InstanceGet(ctx, id)
	if err != nil {
		return result{}, err
	}
	history, err := store.HistoryList(ctx, id)
	if err != nil {
		return result{}, err
	}
	r := result{InstanceID: id, State: inst.State, Vars: map[string]any{}}
	for _, ev := range history {
		switch {
		case ev.Type == engine.EventCompleted && (ev.ElementID == endPaid || ev.ElementID == endDeclined):
			r.End = ev.ElementID
		case ev.Type == engine.EventVariableSet && ev.Var.ScopeID == id:
			r.Vars[ev.Var.Name] = ev.Var.NewValue
		}
	}
	return r, nil
}

// checkFraud works topic fraud-check: it rates the payment's risk and
// returns it as a variable of the instance.
func checkFraud(ctx context.Context, j *engine.Job) (engine.Vars, error) {
	amount, ok := j.Variables()["amount"].(int64)
	if !ok {
		// A plain error fails the attempt; the executor retries with backoff,
		// and an incident holds the job when no retries are left.
		return nil, errors.New("expected a whole number in variable amount")
	}
	risk := "low"
	if amount > 2*cardLimit {
		risk = "high"
	}
	return engine.Vars{"risk": risk}, nil
}

// chargeCard works topic charge-card: it charges the amount, or throws the
// BPMN error CARD_DECLINED (caught by the boundary event "Card declined")
// when the amount is over the card's limit.
func chargeCard(ctx context.Context, j *engine.Job) (engine.Vars, error) {
	amount, _ := j.Variables()["amount"].(int64)
	if amount > cardLimit {
		return nil, &engine.BPMNError{Code: "CARD_DECLINED", Message: fmt.Sprintf("%d is over the card's limit of %d", amount, cardLimit),
			Vars: engine.Vars{"declineReason": "over the limit"}}
	}
	return engine.Vars{"receipt": "R-" + j.BusinessKey}, nil
}
