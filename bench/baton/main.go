// Command baton-bench runs Baton's in-memory engine or parser for the peer
// benchmark (bench/cmd/peer), one JSON line per run.
//
//	baton-bench -model bench/models/straight.bpmn -n 10000 [-windows 100000]
//	baton-bench -parse FILE -iter 200
//	baton-bench -chain 10000
//
// Models run one instance at a time, preparsed (deployed once), after the
// same untimed warm-up as the bpmn-engine side (min(100, n/10) instances), with the
// in-memory store and full history on, variables {"x": 10}, and a Go handler
// that completes every service task of topic "noop" at once. Every instance
// must complete, or the run fails. -chain runs one instance of a generated
// start → N manual tasks → end model several times and reports the median
// time per step, under a 256 KiB stack limit (the engine's work queue is a
// loop, so its stack must not grow with the model).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

func main() {
	modelPath := flag.String("model", "", "BPMN model to run")
	n := flag.Int("n", 10000, "instances to run")
	windows := flag.Int("windows", 0, "if > 0, also report instances/s of every window of this many instances")
	parsePath := flag.String("parse", "", "BPMN file to parse instead")
	iter := flag.Int("iter", 100, "parses to time")
	chain := flag.Int("chain", 0, "if > 0, run one instance of a chain of this many manual tasks")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "baton-bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	switch {
	case *chain > 0:
		err = benchChain(*chain)
	case *parsePath != "":
		err = benchParse(*parsePath, *iter)
	case *modelPath != "":
		err = benchRun(*modelPath, *n, *windows)
	default:
		err = errors.New("give -model or -parse")
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "baton-bench:", err)
		os.Exit(1)
	}
}

func emit(v any) error { return json.NewEncoder(os.Stdout).Encode(v) }

func benchParse(path string, iter int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if _, err := bpmn.Parse(data); err != nil { // warm up, and fail early
		return err
	}
	start := time.Now()
	for range iter {
		if _, err := bpmn.Parse(data); err != nil {
			return err
		}
	}
	el := time.Since(start)
	return emit(map[string]any{"tool": "baton", "file": path, "bytes": len(data), "iterations": iter,
		"secondsPerParse": el.Seconds() / float64(iter)})
}

func benchChain(n int) error {
	ctx := context.Background()
	b := bpmntest.New("chain").Start("s")
	ids := []string{"s"}
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		b.Node(id, "manualTask")
		ids = append(ids, id)
	}
	b.End("e").Chain(append(ids, "e")...)
	e := engine.New(enginetest.NewMemStore(), engine.Config{})
	if _, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "chain.bpmn", Data: b.XML()}}}); err != nil {
		return err
	}
	// Warm up with a short run so the measured one does not pay for first use.
	if _, err := e.Start(ctx, &engine.StartParams{Key: "chain"}); err != nil {
		return err
	}
	// The engine drains a work queue in a loop: no stack that grows with the
	// model. Hold it to that with a small stack limit; recursion per step
	// would exceed it and crash the run.
	const maxStack = 256 << 10
	debug.SetMaxStack(maxStack)
	// Several runs, the median per step: one run of a few milliseconds is at
	// the mercy of a garbage collection.
	runs := max(9, 100000/n)
	perStep := make([]float64, 0, runs)
	for range runs {
		start := time.Now()
		inst, err := e.Start(ctx, &engine.StartParams{Key: "chain"})
		el := time.Since(start)
		if err != nil {
			return err
		}
		if inst.State != engine.InstanceCompleted {
			return fmt.Errorf("chain instance ended %s, want completed", inst.State)
		}
		perStep = append(perStep, float64(el.Nanoseconds())/float64(n+2))
	}
	slices.Sort(perStep)
	return emit(map[string]any{"tool": "baton", "chain": n, "runs": runs, "nsPerStep": perStep[len(perStep)/2],
		"maxStackBytes": maxStack})
}

func benchRun(path string, n, window int) error {
	ctx := context.Background()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	store := enginetest.NewMemStore()
	e := engine.New(store, engine.Config{})
	e.RegisterHandler("noop", func(ctx context.Context, j *engine.Job) (engine.Vars, error) { return nil, nil })
	dep, err := e.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: filepath.Base(path), Data: data}}})
	if err != nil {
		return err
	}
	key := dep.Definitions[0].Key
	vars := engine.Vars{"x": 10}
	// Warm up as the bpmn-engine side does: min(100, n/10) instances, not timed.
	warmup := min(100, n/10)
	for i := range warmup {
		if _, err := e.Start(ctx, &engine.StartParams{Key: key, Vars: vars}); err != nil {
			return fmt.Errorf("warm-up instance %d: %w", i, err)
		}
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var rates []float64
	start := time.Now()
	winStart := start
	for i := range n {
		inst, err := e.Start(ctx, &engine.StartParams{Key: key, Vars: vars})
		if err != nil {
			return fmt.Errorf("instance %d: %w", i, err)
		}
		if inst.State != engine.InstanceCompleted {
			return fmt.Errorf("instance %d ended %s, want completed", i, inst.State)
		}
		if window > 0 && (i+1)%window == 0 {
			now := time.Now()
			rates = append(rates, float64(window)/now.Sub(winStart).Seconds())
			winStart = now
		}
	}
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	out := map[string]any{"tool": "baton", "model": strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), "instances": n, "warmup": warmup,
		"seconds": el.Seconds(), "perSecond": float64(n) / el.Seconds(),
		"allocsPerInstance": float64(after.Mallocs-before.Mallocs) / float64(n),
		"bytesPerInstance":  float64(after.TotalAlloc-before.TotalAlloc) / float64(n)}
	if window > 0 {
		out["windowPerSecond"] = rates
	}
	return emit(out)
}
