// Command workers measures how fast Baton's service-task hooks move work
// on PostgreSQL and prints the figures (make bench-workers). Run it from
// the repository root:
//
//	make bench-workers                  # go run ./bench/workers $(WORKERSFLAGS)
//	go run ./bench/workers -n 20000 -workers 8
//
// PostgreSQL is BATON_BENCH_DATABASE_URL, else the test database
// (BATON_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test);
// each run uses a fresh schema, dropped after it.
//
// # What it measures
//
//   - external tasks: a real Baton server (the API of `baton serve`, over
//     httptest, without authentication) on a fresh schema, with a model of
//     one external service task (topic "bench"). -workers workers run over
//     HTTP, each a loop of POST /api/v1/external-tasks/fetch-and-lock
//     (maxTasks -max, long polling) and POST …/complete for every task
//     fetched. A round trip is one task fetched and completed.
//     Drain: -n instances are started (-starters goroutines, through the
//     engine) while no worker runs; then the workers take the -n waiting
//     tasks, and round trips/s is -n over the time until the last
//     completion. Live: the workers long-poll while -live more instances
//     are started at -rate a second (below the drain's capacity, so that
//     no backlog forms); the latency of a task is from its job's creation
//     (its createTime) to the answer of its complete, printed as p50 and
//     p99.
//
// Each measurement is a bench in benches; the webhook deliveries to a local
// receiver are meant to be another one there.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
	"github.com/batonbpm/baton/server"
)

// config is what every bench gets: the flags.
type config struct {
	base     string // PostgreSQL URL of the database whose fresh schemas the benches use
	n        int
	workers  int
	max      int
	starters int
	live     int     // tasks of the live phase
	rate     float64 // starts per second of the live phase
}

// benches are the measurements, run in order. Add one by writing a
// func(ctx, *config) error that prints its figures.
var benches = []struct {
	name string
	run  func(ctx context.Context, cfg *config) error
}{
	{"external tasks (fetch-and-lock + complete over HTTP)", benchExternal},
	{"webhooks (job deliveries to a local receiver, webhooks.go)", benchWebhooks},
}

func main() {
	cfg := &config{}
	flag.IntVar(&cfg.n, "n", 20000, "instances (tasks) per bench")
	flag.IntVar(&cfg.workers, "workers", 8, "concurrent workers")
	flag.IntVar(&cfg.max, "max", 10, "maxTasks of each fetch-and-lock")
	flag.IntVar(&cfg.starters, "starters", 4, "goroutines starting instances")
	flag.IntVar(&cfg.live, "live", 2000, "instances started at -rate while the workers run, for the latency")
	flag.Float64Var(&cfg.rate, "rate", 100, "starts per second of the live phase")
	only := flag.String("only", "", "run only the bench whose name starts with this")
	flag.Parse()
	if cfg.n <= 0 || cfg.workers <= 0 || cfg.max <= 0 || cfg.starters <= 0 || cfg.live <= 0 || cfg.rate <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	cfg.base = os.Getenv("BATON_BENCH_DATABASE_URL")
	if cfg.base == "" {
		cfg.base = dbtest.PostgresURL()
	}
	ctx := context.Background()
	for _, b := range benches {
		if *only != "" && !bytes.HasPrefix([]byte(b.name), []byte(*only)) {
			continue
		}
		fmt.Printf("\n== %s\n", b.name)
		if err := b.run(ctx, cfg); err != nil {
			fmt.Fprintf(os.Stderr, "bench-workers: %s: %v\n", b.name, err)
			os.Exit(1)
		}
	}
}

// serve opens a fresh schema and serves Baton's API on it; stop closes
// everything and drops the schema.
func serve(ctx context.Context, cfg *config, prefix string) (eng *engine.Engine, url string, stop func(), err error) {
	_, schemaURL, drop, err := dbtest.NewSchema(ctx, cfg.base, prefix)
	if err != nil {
		return nil, "", nil, err
	}
	store, err := sqlstore.Open(ctx, schemaURL)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	eng = engine.New(store, engine.Config{})
	sqlDB, dialect, err := server.SQLStoreDB(store)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	srv, err := server.New(server.Config{Engine: eng, DB: sqlDB, Dialect: dialect, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		sqlDB.Close()
		drop()
		return nil, "", nil, err
	}
	hs := httptest.NewServer(srv)
	return eng, hs.URL, func() {
		hs.Close()
		sqlDB.Close()
		if err := drop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-workers: drop schema:", err)
		}
	}, nil
}

// task is the part of a fetched external task a worker reads.
type task struct {
	ID         string    `json:"id"`
	CreateTime time.Time `json:"createTime"`
}

func benchExternal(ctx context.Context, cfg *config) error {
	eng, url, stop, err := serve(ctx, cfg, "workers")
	if err != nil {
		return err
	}
	defer stop()
	model := bpmntest.New("bench").Start("s").Node("work", "serviceTask", bpmntest.Topic("bench")).End("e").Chain("s", "work", "e")
	if _, err := eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "bench.bpmn", Data: model.XML()}}}); err != nil {
		return err
	}
	w := &workers{url: url, cfg: cfg, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * cfg.workers}}}

	// Drain: -n tasks wait, then the workers take them all.
	began := time.Now()
	if err := startAll(ctx, eng, cfg); err != nil {
		return err
	}
	fmt.Printf("%d instances started by %d goroutines in %s (%.0f starts/s)\n", cfg.n, cfg.starters,
		time.Since(began).Round(time.Millisecond), float64(cfg.n)/time.Since(began).Seconds())
	res, err := w.run(ctx, cfg.n, nil)
	if err != nil {
		return err
	}
	fmt.Printf("drain of %d waiting tasks by %d workers (maxTasks %d): %s, %d fetches (%.1f tasks a fetch)\n",
		cfg.n, cfg.workers, cfg.max, res.took.Round(time.Millisecond), res.fetches, float64(cfg.n)/float64(max(res.fetches, 1)))
	fmt.Printf("  round trips/s:           %.0f\n", float64(cfg.n)/res.took.Seconds())

	// Live: the workers long-poll while -live instances are started at -rate.
	res, err = w.run(ctx, cfg.live, func() error { return startPaced(ctx, eng, cfg) })
	if err != nil {
		return err
	}
	fmt.Printf("live: %d tasks created at %.0f/s while %d workers long-poll: %d fetches (%.1f tasks a fetch)\n",
		cfg.live, cfg.rate, cfg.workers, res.fetches, float64(cfg.live)/float64(max(res.fetches, 1)))
	fmt.Printf("  creation → completion:   p50 %s  p99 %s  max %s\n", res.p(0.50), res.p(0.99), res.p(1))

	left, err := eng.ExternalTaskList(ctx, &engine.ExternalTaskListParams{Page: engine.Page{Limit: 10}})
	if err != nil {
		return err
	}
	if len(left) != 0 {
		return fmt.Errorf("expected no external task left, but %d are (e.g. %d)", len(left), left[0].Job.ID)
	}
	return nil
}

// startAll starts cfg.n instances of "bench" from cfg.starters goroutines.
func startAll(ctx context.Context, eng *engine.Engine, cfg *config) error {
	var next atomic.Int64
	errs := make(chan error, cfg.starters)
	for range cfg.starters {
		go func() {
			for next.Add(1) <= int64(cfg.n) {
				if _, err := eng.Start(ctx, &engine.StartParams{Key: "bench"}); err != nil {
					errs <- fmt.Errorf("start: %w", err)
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range cfg.starters {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// startPaced starts cfg.live instances of "bench", the i-th at i/cfg.rate
// seconds, from cfg.starters goroutines.
func startPaced(ctx context.Context, eng *engine.Engine, cfg *config) error {
	due := make(chan struct{})
	errs := make(chan error, cfg.starters)
	for range cfg.starters {
		go func() {
			for range due {
				if _, err := eng.Start(ctx, &engine.StartParams{Key: "bench"}); err != nil {
					errs <- fmt.Errorf("start: %w", err)
					for range due {
					}
					return
				}
			}
			errs <- nil
		}()
	}
	began := time.Now()
	for i := range cfg.live {
		time.Sleep(time.Until(began.Add(time.Duration(float64(i) / cfg.rate * float64(time.Second)))))
		due <- struct{}{}
	}
	close(due)
	var first error
	for range cfg.starters {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// workers are cfg.workers external-task workers over HTTP.
type workers struct {
	url    string
	cfg    *config
	client *http.Client
}

// result is what one run of the workers measured.
type result struct {
	took      time.Duration // from the run's start to the last completion
	fetches   int64
	latencies []time.Duration // job creation → completion, sorted
}

func (r *result) p(q float64) time.Duration {
	return r.latencies[min(len(r.latencies)-1, int(float64(len(r.latencies))*q))].Round(100 * time.Microsecond)
}

func (w *workers) post(ctx context.Context, path string, body any, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", w.url+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", path, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// run runs the workers, and feed (when not nil) beside them, until n
// tasks are completed.
func (w *workers) run(ctx context.Context, n int, feed func() error) (*result, error) {
	cfg := w.cfg
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done     atomic.Int64
		fetches  atomic.Int64
		mu       sync.Mutex
		res      = &result{latencies: make([]time.Duration, 0, n)}
		last     time.Time
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil && wctx.Err() == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	began := time.Now()
	for i := range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("worker-%d", i)
			fetch := map[string]any{"workerId": worker, "maxTasks": cfg.max, "asyncResponseTimeout": 1000,
				"topics": []map[string]any{{"topicName": "bench", "lockDuration": 60000, "variables": []string{}}}}
			for wctx.Err() == nil {
				var tasks []task
				if err := w.post(wctx, "/api/v1/external-tasks/fetch-and-lock", fetch, &tasks); err != nil {
					fail(err)
					return
				}
				fetches.Add(1)
				for _, t := range tasks {
					err := w.post(wctx, "/api/v1/external-tasks/"+t.ID+"/complete", map[string]any{"workerId": worker, "variables": map[string]any{"ok": true}}, nil)
					if err != nil {
						fail(err)
						return
					}
					now := time.Now()
					mu.Lock()
					res.latencies = append(res.latencies, now.Sub(t.CreateTime))
					last = now
					mu.Unlock()
					if done.Add(1) == int64(n) {
						cancel()
					}
				}
			}
		}()
	}
	if feed != nil {
		if err := feed(); err != nil {
			fail(err)
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if got := done.Load(); got != int64(n) {
		return nil, fmt.Errorf("expected %d tasks completed, but %d were", n, got)
	}
	slices.Sort(res.latencies)
	res.took, res.fetches = last.Sub(began), fetches.Load()
	return res, nil
}
