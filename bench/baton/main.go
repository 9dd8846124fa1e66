// Command baton-bench runs Baton's in-memory engine or parser for the peer
// benchmark (bench/cmd/peer), one JSON line per run.
//
//	baton-bench -model bench/models/straight.bpmn -n 10000 [-windows 100000]
//	baton-bench -parse FILE -iter 200
//
// Models run one instance at a time, preparsed (deployed once), with the
// in-memory store and full history on, variables {"x": 10}, and a Go handler
// that completes every service task of topic "noop" at once. Every instance
// must complete, or the run fails.
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
	"strings"
	"time"

	"github.com/batonbpm/baton/bpmn"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/enginetest"
)

func main() {
	modelPath := flag.String("model", "", "BPMN model to run")
	n := flag.Int("n", 10000, "instances to run")
	windows := flag.Int("windows", 0, "if > 0, also report instances/s of every window of this many instances")
	parsePath := flag.String("parse", "", "BPMN file to parse instead")
	iter := flag.Int("iter", 100, "parses to time")
	flag.Parse()
	var err error
	switch {
	case *parsePath != "":
		err = benchParse(*parsePath, *iter)
	case *modelPath != "":
		err = benchRun(*modelPath, *n, *windows)
	default:
		err = errors.New("give -model or -parse")
	}
	if err != nil {
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
	out := map[string]any{"tool": "baton", "model": strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), "instances": n,
		"seconds": el.Seconds(), "perSecond": float64(n) / el.Seconds(),
		"allocsPerInstance": float64(after.Mallocs-before.Mallocs) / float64(n),
		"bytesPerInstance":  float64(after.TotalAlloc-before.TotalAlloc) / float64(n)}
	if window > 0 {
		out["windowPerSecond"] = rates
	}
	return emit(out)
}
