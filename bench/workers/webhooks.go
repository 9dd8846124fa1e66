package main

// The webhook bench: jobs delivered by Baton's job executor to a local
// receiver (package webhook), on a fresh PostgreSQL schema. A model of one
// service task of topic "bench" has a webhook; the receiver checks each
// request's signature and answers {"variables":{"ok":true}}. The executor
// runs -workers jobs at once and the webhook's concurrency is as large.
// Drain: -n instances wait while no executor runs, then one executor
// delivers them all: deliveries/s is -n over the time until the last
// instance completed. Live: the executor runs while -n more instances are
// started; the latency of a job is from the start that created it to the
// commit of its completion, printed as p50 and p99.

import (
	"context"
	"fmt"
	"io"
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
	"github.com/batonbpm/baton/server/webhook"
)

func benchWebhooks(ctx context.Context, cfg *config) error {
	_, schemaURL, drop, err := dbtest.NewSchema(ctx, cfg.base, "webhooks")
	if err != nil {
		return err
	}
	defer func() {
		if err := drop(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-workers: drop schema:", err)
		}
	}()
	store, err := sqlstore.Open(ctx, schemaURL)
	if err != nil {
		return err
	}
	defer store.Close()
	eng := engine.New(store, engine.Config{})
	model := bpmntest.New("bench").Start("s").Node("work", "serviceTask", bpmntest.Topic("bench")).End("e").Chain("s", "work", "e")
	if _, err := eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "bench.bpmn", Data: model.XML()}}}); err != nil {
		return err
	}

	const secret = "bench-secret"
	var bad atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify(secret, r.Header.Get("X-Baton-Timestamp"), body, r.Header.Get("X-Baton-Signature")) {
			bad.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"variables":{"ok":true}}`)
	}))
	defer rc.Close()
	hooks, err := webhook.New(ctx, webhook.Config{DB: store.DB(), Engine: eng})
	if err != nil {
		return err
	}
	if err := hooks.Create(ctx, &webhook.Webhook{Topic: "bench", URL: rc.URL, Secret: secret, Concurrency: cfg.workers, Enabled: true}); err != nil {
		return err
	}

	// Completions are counted, and timed from their instance's start, by
	// an observer of the commands that end instances.
	var (
		mu      sync.Mutex
		started = map[int64]time.Time{}
		lat     []time.Duration
		done    atomic.Int64
		all     = make(chan struct{}, 1)
		target  atomic.Int64
	)
	eng.Observe(func(o *engine.Outcome) {
		if o.Err != nil || o.Ended != engine.InstanceCompleted {
			return
		}
		now := time.Now()
		mu.Lock()
		if t, ok := started[o.InstanceID]; ok {
			lat = append(lat, now.Sub(t))
		}
		mu.Unlock()
		if done.Add(1) == target.Load() {
			all <- struct{}{}
		}
	})
	startN := func(record bool) error {
		var next atomic.Int64
		errs := make(chan error, cfg.starters)
		for range cfg.starters {
			go func() {
				for next.Add(1) <= int64(cfg.n) {
					began := time.Now()
					inst, err := eng.Start(ctx, &engine.StartParams{Key: "bench"})
					if err != nil {
						errs <- fmt.Errorf("start: %w", err)
						return
					}
					if record {
						mu.Lock()
						started[inst.ID] = began
						mu.Unlock()
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
	runExecutor := func() (stop func()) {
		x := eng.NewExecutor(engine.ExecutorConfig{Workers: cfg.workers, Poll: 10 * time.Millisecond})
		xctx, cancel := context.WithCancel(ctx)
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			x.Run(xctx)
		}()
		return func() { cancel(); <-finished }
	}
	wait := func() error {
		select {
		case <-all:
			return nil
		case <-time.After(10 * time.Minute):
			return fmt.Errorf("expected %d completions, but %d came in 10 minutes", target.Load(), done.Load())
		}
	}

	// Drain.
	target.Store(int64(cfg.n))
	if err := startN(false); err != nil {
		return err
	}
	began := time.Now()
	stop := runExecutor()
	err = wait()
	took := time.Since(began)
	if err != nil {
		stop()
		return err
	}
	fmt.Printf("drain of %d waiting jobs by an executor of %d workers: %s\n", cfg.n, cfg.workers, took.Round(time.Millisecond))
	fmt.Printf("  deliveries/s:            %.0f\n", float64(cfg.n)/took.Seconds())

	// Live.
	target.Store(int64(2 * cfg.n))
	began = time.Now()
	if err := startN(true); err != nil {
		stop()
		return err
	}
	err = wait()
	took = time.Since(began)
	stop()
	if err != nil {
		return err
	}
	if n := bad.Load(); n > 0 {
		return fmt.Errorf("expected every request signed, but %d were not", n)
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration {
		return lat[min(len(lat)-1, int(float64(len(lat))*q))].Round(100 * time.Microsecond)
	}
	fmt.Printf("live: %d jobs created while the executor runs: %s\n", cfg.n, took.Round(time.Millisecond))
	fmt.Printf("  deliveries/s:            %.0f (bounded by the starts)\n", float64(cfg.n)/took.Seconds())
	fmt.Printf("  creation → completion:   p50 %s  p99 %s  max %s\n", p(0.50), p(0.99), p(1))
	return nil
}
