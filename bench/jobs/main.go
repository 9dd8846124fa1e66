// Command jobs measures Baton's job executor on PostgreSQL and prints the
// figures. Run it from the repository root:
//
//	make bench-jobs                     # go run ./bench/jobs $(JOBSFLAGS)
//	go run ./bench/jobs -n 20000 -workers 8
//
// PostgreSQL is BATON_BENCH_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); each run uses
// fresh schemas, dropped after it.
//
// # What it measures
//
//   - jobs/s: -n instances of start → service task (camunda:asyncBefore,
//     topic "noop") → end are started while no executor runs, so that -n
//     jobs wait; then 1 node, or 3 nodes, run them: each node is an engine
//     with its own connection pool and an executor of -workers workers, as
//     `baton serve` runs one. A job is one command: the continuation, the
//     no-op Go handler and the instance's end. jobs/s is -n over the time
//     from the executors' start until every instance completed.
//   - timer lag: -n instances wait at a timer catch event whose timeDate is
//     one second, the same for all, after they have all been started; 3
//     nodes run with the default poll interval. The lag of a timer is the
//     time of the command that fired it minus its due time; the command
//     prints p50, p99 and the maximum, and compares p99 with the target
//     (lagTarget, 2 s).
//
// Exit status: 0 when the lag target holds, 1 when it does not or anything
// fails to run or to verify, 2 on bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// lagTarget is the p99 timer lag that passes.
const lagTarget = 2 * time.Second

// PostgresURLDefault is the database used when BATON_BENCH_DATABASE_URL is unset.
const PostgresURLDefault = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func main() {
	n := flag.Int("n", 10000, "jobs, and timers, per run")
	workers := flag.Int("workers", engine.ExecutorWorkersDefault, "workers per node")
	timersOnly := flag.Bool("timers", false, "measure the timer lag only")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench jobs:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench jobs:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if *n <= 0 || *workers <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	base := os.Getenv("BATON_BENCH_DATABASE_URL")
	if base == "" {
		base = PostgresURLDefault
	}
	ctx := context.Background()
	fmt.Printf("bench jobs: n %d, %d workers per node, GOMAXPROCS %d on %d CPUs, PostgreSQL at %s\n",
		*n, *workers, runtime.GOMAXPROCS(0), runtime.NumCPU(), base)
	var rates [2]float64
	for i, nodes := range []int{1, 3} {
		if *timersOnly {
			break
		}
		r, err := jobsRun(ctx, base, *n, nodes, *workers)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench jobs:", err)
			os.Exit(1)
		}
		rates[i] = r
	}
	lags, err := timersRun(ctx, base, *n, *workers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench jobs:", err)
		os.Exit(1)
	}
	p50, p99, maxLag := quantile(lags, 0.5), quantile(lags, 0.99), lags[len(lags)-1]
	fmt.Println()
	if !*timersOnly {
		fmt.Printf("jobs/s, no-op Go handler, %d jobs: 1 node %.0f, 3 nodes %.0f\n", *n, rates[0], rates[1])
	}
	verdict := "PASS"
	if p99 > lagTarget {
		verdict = "FAIL"
	}
	fmt.Printf("timer lag, %d timers due in one second, 3 nodes, poll %v: p50 %v, p99 %v, max %v (target p99 < %v): %s\n",
		*n, engine.ExecutorPollDefault, p50.Round(time.Millisecond), p99.Round(time.Millisecond), maxLag.Round(time.Millisecond), lagTarget, verdict)
	if verdict != "PASS" {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// node is one engine with its own pool, as one `baton serve` process.
type node struct {
	store *sqlstore.Store
	eng   *engine.Engine
}

func openNodes(ctx context.Context, schemaURL string, count int, handler bool) ([]*node, error) {
	var nodes []*node
	for range count {
		st, err := sqlstore.Open(ctx, schemaURL)
		if err != nil {
			return nil, err
		}
		e := engine.New(st, engine.Config{})
		if handler {
			e.RegisterHandler("noop", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, nil })
		}
		nodes = append(nodes, &node{store: st, eng: e})
	}
	return nodes, nil
}

func closeNodes(nodes []*node) {
	for _, nd := range nodes {
		nd.store.Close()
	}
}

// startAll starts n instances of key on nodes[0] with 8 clients.
func startAll(ctx context.Context, e *engine.Engine, key string, n int, vars engine.Vars) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := e.Start(ctx, &engine.StartParams{Key: key, Vars: vars}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// runExecutors runs an executor per node until done returns true.
func runExecutors(ctx context.Context, nodes []*node, workers int, done func() (bool, error)) error {
	xctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, nd := range nodes {
		x := nd.eng.NewExecutor(engine.ExecutorConfig{Owner: fmt.Sprintf("node-%d", i), Workers: workers})
		wg.Add(1)
		go func() {
			defer wg.Done()
			x.Run(xctx)
		}()
	}
	defer func() {
		stop()
		wg.Wait()
	}()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after 10 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(ctx context.Context, st *sqlstore.Store, query string) (int, error) {
	var c int
	err := st.DB().WithContext(ctx).Raw(query).Row().Scan(&c)
	return c, err
}

func jobsRun(ctx context.Context, base string, n, nodeCount, workers int) (float64, error) {
	schema, schemaURL, drop, err := dbtest.NewSchema(ctx, base, "benchjobs")
	if err != nil {
		return 0, err
	}
	defer drop()
	nodes, err := openNodes(ctx, schemaURL, nodeCount, true)
	defer closeNodes(nodes)
	if err != nil {
		return 0, err
	}
	model := bpmntest.New("work").Start("s").Node("charge", "serviceTask", bpmntest.Topic("noop"),
		bpmntest.Attr("camunda:asyncBefore", "true")).End("e").Chain("s", "charge", "e").XML()
	if _, err := nodes[0].eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "work.bpmn", Data: model}}}); err != nil {
		return 0, err
	}
	fmt.Printf("jobs, %d node(s), schema %s: starting %d instances ...\n", nodeCount, schema, n)
	if err := startAll(ctx, nodes[0].eng, "work", n, nil); err != nil {
		return 0, err
	}
	began := time.Now()
	err = runExecutors(ctx, nodes, workers, func() (bool, error) {
		c, err := count(ctx, nodes[0].store, `SELECT count(*) FROM process_instances WHERE state = 'completed'`)
		return c == n, err
	})
	if err != nil {
		return 0, err
	}
	elapsed := time.Since(began)
	runs, err := count(ctx, nodes[0].store, `SELECT count(*) FROM history WHERE type = 'jobCompleted' AND element_id = 'charge' AND detail = ''`)
	if err != nil {
		return 0, err
	}
	if runs != n {
		return 0, fmt.Errorf("%d handler completions for %d jobs", runs, n)
	}
	rate := float64(n) / elapsed.Seconds()
	fmt.Printf("jobs, %d node(s): %d jobs in %v, %.0f jobs/s (each exactly once)\n", nodeCount, n, elapsed.Round(time.Millisecond), rate)
	return rate, nil
}

func timersRun(ctx context.Context, base string, n, workers int) ([]time.Duration, error) {
	schema, schemaURL, drop, err := dbtest.NewSchema(ctx, base, "benchtimers")
	if err != nil {
		return nil, err
	}
	defer drop()
	nodes, err := openNodes(ctx, schemaURL, 3, false)
	defer closeNodes(nodes)
	if err != nil {
		return nil, err
	}
	model := bpmntest.New("timers").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDate", "${due}")).
		End("e").Chain("s", "wait", "e").XML()
	if _, err := nodes[0].eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "timers.bpmn", Data: model}}}); err != nil {
		return nil, err
	}
	// Due far ahead while starting; the executors start just before it.
	fmt.Printf("timers, 3 nodes, schema %s: starting %d instances ...\n", schema, n)
	began := time.Now()
	due := began.Add(time.Hour).Truncate(time.Second).UTC()
	if err := startAll(ctx, nodes[0].eng, "timers", n, engine.Vars{"due": due.Format(time.RFC3339)}); err != nil {
		return nil, err
	}
	// Move every timer to one second from now: the same due time for all.
	due = time.Now().Add(2 * time.Second).Truncate(time.Second).UTC()
	if err := nodes[0].store.DB().WithContext(ctx).Exec(`UPDATE jobs SET due_at = ? WHERE kind = 'timer'`, due).Error; err != nil {
		return nil, err
	}
	err = runExecutors(ctx, nodes, workers, func() (bool, error) {
		c, err := count(ctx, nodes[0].store, `SELECT count(*) FROM process_instances WHERE state = 'completed'`)
		return c == n, err
	})
	if err != nil {
		return nil, err
	}
	fired, err := count(ctx, nodes[0].store, `SELECT count(*) FROM history WHERE type = 'timerFired'`)
	if err != nil {
		return nil, err
	}
	if fired != n {
		return nil, fmt.Errorf("%d timers fired for %d instances", fired, n)
	}
	rows, err := nodes[0].store.DB().WithContext(ctx).Raw(`SELECT extract(epoch FROM h.at - j.due_at) FROM history h
JOIN jobs j ON j.process_instance_id = h.process_instance_id WHERE h.type = 'timerFired' AND j.kind = 'timer'`).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lags []time.Duration
	for rows.Next() {
		var s float64
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		lags = append(lags, time.Duration(s*float64(time.Second)))
	}
	slices.Sort(lags)
	fmt.Printf("timers, 3 nodes: %d fired once each, the last %v after the due second\n", len(lags), lags[len(lags)-1].Round(time.Millisecond))
	return lags, rows.Err()
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}
