// Command peer runs Baton's side-by-side benchmarks against bpmn-engine (run)
// and bpmn-moddle (parse) and prints a table with the ratios and the targets.
// Run it from the repository root; `make bench-peer` installs the npm side
// first and then runs it.
//
// Every contestant runs as a child process that times itself and prints one
// JSON line; peak memory is taken uniformly from the child's rusage (Maxrss).
//
// Baton's side is bench/baton (written with the engine). Its contract:
//
//	baton-bench -model FILE -n N
//	  runs N instances of the model's process one at a time, in memory, with a
//	  Go handler for topic "noop" that completes at once and variables {x: 10};
//	  prints {"tool":"baton","model":"straight","instances":N,"seconds":S,
//	  "perSecond":R,"allocsPerInstance":A,"bytesPerInstance":B}
//	  ("model" is the file name without .bpmn).
//	baton-bench -parse FILE -iter N
//	  parses FILE N times; prints {"tool":"baton","file":FILE,"bytes":B,
//	  "iterations":N,"secondsPerParse":S}
//
// A non-zero exit or any other output shape fails the run; no number is ever
// made up. Until bench/baton exists the command stops with an error saying so
// (use -peer-only to see the npm side alone).
//
// Exit status: 0 when every target passes, 1 when one fails or a contestant
// fails, 2 on bad usage.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Targets are the speed-ups Baton must reach over the peer, and Baton's own
// targets: the last window of the accumulation run at least 90% as fast as
// the first, and the cost per step of a long chain not growing with its length.
var (
	targetRun        = map[string]float64{"straight": 500, "gateway": 400}
	targetParse      = 5.0
	targetAccumulate = 0.90
	targetChainGrow  = 1.5 // per-step cost of the long chain over the short one, at most
)

const (
	bin        = "bench/.bin"
	batonBench = bin + "/baton-bench"
	peerDir    = "bench/peer"
)

type config struct {
	instances  int
	parseIter  int
	miwgFile   string
	node       string
	peerOnly   bool
	timeout    time.Duration
	modelsDir  string
	genNodes   int
	accumulate int
	window     int
	chains     [2]int
	stderrSink io.Writer
}

func main() {
	var c config
	flag.IntVar(&c.instances, "n", 10000, "instances per run benchmark, for both engines")
	flag.IntVar(&c.parseIter, "iter", 50, "parses per parse benchmark, for both parsers")
	flag.StringVar(&c.miwgFile, "miwg", "../shared/bpmn-corpus/miwg/trisotech-workflow-modeler-12.6.3/C.8.1-export.bpmn",
		"large MIWG model for the parse benchmark (relative to the repository root)")
	flag.StringVar(&c.node, "node", "node", "Node.js binary")
	flag.BoolVar(&c.peerOnly, "peer-only", false, "run only the npm side (no ratios, no targets); for checking the peer scripts")
	flag.DurationVar(&c.timeout, "timeout", 15*time.Minute, "time limit for each child process")
	flag.StringVar(&c.modelsDir, "models", "bench/models", "directory with straight.bpmn and gateway.bpmn")
	flag.IntVar(&c.genNodes, "gen-nodes", 2000, "flow nodes in the generated parse-benchmark model")
	flag.IntVar(&c.accumulate, "accumulate", 1000000, "instances of the accumulation run (0 skips it)")
	flag.IntVar(&c.window, "window", 100000, "window of the accumulation run whose first and last are compared")
	flag.IntVar(&c.chains[0], "chain-short", 1000, "steps of the short chain")
	flag.IntVar(&c.chains[1], "chain-long", 10000, "steps of the long chain")
	flag.Parse()
	if flag.NArg() > 0 || c.instances < 1 || c.parseIter < 1 {
		flag.Usage()
		os.Exit(2)
	}
	c.stderrSink = os.Stderr

	ok, err := run(context.Background(), c, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench peer:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

// runResult is the JSON line of a run benchmark, from either side.
type runResult struct {
	Tool              string  `json:"tool"`
	Model             string  `json:"model"`
	Instances         int     `json:"instances"`
	Seconds           float64 `json:"seconds"`
	PerSecond         float64 `json:"perSecond"`
	AllocsPerInstance float64 `json:"allocsPerInstance"`
	BytesPerInstance  float64 `json:"bytesPerInstance"`
	maxRSSKiB         int64
}

// parseResult is the JSON line of a parse benchmark, from either side.
type parseResult struct {
	Tool            string  `json:"tool"`
	File            string  `json:"file"`
	Bytes           int64   `json:"bytes"`
	Iterations      int     `json:"iterations"`
	SecondsPerParse float64 `json:"secondsPerParse"`
	maxRSSKiB       int64
}

func run(ctx context.Context, c config, out io.Writer) (bool, error) {
	if err := checkLayout(c); err != nil {
		return false, err
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return false, err
	}
	if !c.peerOnly {
		fmt.Fprintln(out, "building bench/baton ...")
		if _, err := execCmd(ctx, c, "go", "build", "-o", batonBench, "./bench/baton"); err != nil {
			return false, fmt.Errorf("build Baton's benchmark: %w", err)
		}
	}
	genFile := fmt.Sprintf("%s/gen%d.bpmn", bin, c.genNodes)
	fmt.Fprintf(out, "generating %s ...\n", genFile)
	if err := generate(ctx, c, genFile); err != nil {
		return false, err
	}

	models := []string{"straight", "gateway"}
	parseFiles := []string{c.miwgFile, genFile}

	var runs [][2]*runResult // [baton, peer]
	for _, m := range models {
		file := filepath.Join(c.modelsDir, m+".bpmn")
		var pair [2]*runResult
		if !c.peerOnly {
			fmt.Fprintf(out, "baton: %d instances of %s ...\n", c.instances, m)
			r, err := runBench(ctx, c, "baton", m, batonBench, "-model", file, "-n", fmt.Sprint(c.instances))
			if err != nil {
				return false, err
			}
			pair[0] = r
		}
		fmt.Fprintf(out, "bpmn-engine: %d instances of %s ...\n", c.instances, m)
		r, err := runBench(ctx, c, "bpmn-engine", m, c.node, peerDir+"/run-engine.js", file, fmt.Sprint(c.instances))
		if err != nil {
			return false, err
		}
		pair[1] = r
		runs = append(runs, pair)
	}

	var parses [][2]*parseResult
	for _, f := range parseFiles {
		var pair [2]*parseResult
		if !c.peerOnly {
			fmt.Fprintf(out, "baton: parse %s x%d ...\n", f, c.parseIter)
			r, err := parseBench(ctx, c, "baton", f, batonBench, "-parse", f, "-iter", fmt.Sprint(c.parseIter))
			if err != nil {
				return false, err
			}
			pair[0] = r
		}
		fmt.Fprintf(out, "bpmn-moddle: parse %s x%d ...\n", f, c.parseIter)
		r, err := parseBench(ctx, c, "bpmn-moddle", f, c.node, peerDir+"/run-moddle.js", f, fmt.Sprint(c.parseIter))
		if err != nil {
			return false, err
		}
		pair[1] = r
		parses = append(parses, pair)
	}

	ok := report(out, c, models, runs, parseFiles, parses)
	if c.peerOnly {
		return ok, nil
	}
	own, err := batonOnly(ctx, c, out)
	if err != nil {
		return false, err
	}
	allOK := ok && own
	fmt.Fprintf(out, "\nAll targets: %s\n", verdict(allOK))
	return allOK, nil
}

// accumulateResult is baton-bench's line for -windows.
type accumulateResult struct {
	runResult
	WindowPerSecond []float64 `json:"windowPerSecond"`
}

// chainResult is baton-bench's line for -chain.
type chainResult struct {
	Tool          string  `json:"tool"`
	Chain         int     `json:"chain"`
	NsPerStep     float64 `json:"nsPerStep"`
	MaxStackBytes int64   `json:"maxStackBytes"`
}

// accumulateRuns is how many times the accumulation run is repeated.
const accumulateRuns = 3

// median returns the median of vs (which it sorts).
func median(vs []float64) float64 {
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// batonOnly runs Baton's own targets: no slowdown as instances accumulate,
// and a long chain in time linear in its length without stack growth.
func batonOnly(ctx context.Context, c config, out io.Writer) (bool, error) {
	allOK := true
	if c.accumulate > 0 {
		// One window is well under a second: a garbage collection or a
		// neighbour on the machine moves it by a quarter. So the whole run is
		// repeated and each window's median across the runs is compared.
		file := filepath.Join(c.modelsDir, "straight.bpmn")
		var windows [][]float64
		var overall []float64
		var rss int64
		for run := 1; run <= accumulateRuns; run++ {
			fmt.Fprintf(out, "\nbaton: %d instances of straight, in windows of %d (run %d of %d) ...\n", c.accumulate, c.window, run, accumulateRuns)
			stdout, r1, err := child(ctx, c, batonBench, "-model", file, "-n", fmt.Sprint(c.accumulate), "-windows", fmt.Sprint(c.window))
			if err != nil {
				return false, err
			}
			var r accumulateResult
			if err := lastJSONLine(stdout, &r); err != nil {
				return false, fmt.Errorf("baton accumulation: %w", err)
			}
			if r.Instances != c.accumulate || len(r.WindowPerSecond) < 2 {
				return false, fmt.Errorf("baton accumulation: expected %d instances in windows, but got %d instances and %d windows", c.accumulate, r.Instances, len(r.WindowPerSecond))
			}
			fmt.Fprintf(out, "  instances/s per window:")
			for _, w := range r.WindowPerSecond {
				fmt.Fprintf(out, " %.0f", w)
			}
			fmt.Fprintln(out)
			windows = append(windows, r.WindowPerSecond)
			overall = append(overall, r.PerSecond)
			rss = max(rss, r1)
		}
		med := func(i int) float64 {
			var vs []float64
			for _, w := range windows {
				vs = append(vs, w[i])
			}
			return median(vs)
		}
		first, last := med(0), med(len(windows[0])-1)
		ok := last >= targetAccumulate*first
		allOK = allOK && ok
		fmt.Fprintf(out, "  median of %d runs: last window %.0f/s is %.1f%% of the first %.0f/s (target >= %.0f%%): %s; overall %.0f/s, peak RSS %s MiB\n",
			accumulateRuns, last, 100*last/first, first, 100*targetAccumulate, verdict(ok), median(overall), mib(rss))
	}
	var steps [2]chainResult
	for i, n := range c.chains {
		fmt.Fprintf(out, "baton: one instance through a chain of %d manual tasks ...\n", n)
		stdout, _, err := child(ctx, c, batonBench, "-chain", fmt.Sprint(n))
		if err != nil {
			return false, err
		}
		if err := lastJSONLine(stdout, &steps[i]); err != nil || steps[i].Chain != n || !(steps[i].NsPerStep > 0) {
			return false, fmt.Errorf("baton chain %d: unexpected result %+v (%v)", n, steps[i], err)
		}
	}
	grow := steps[1].NsPerStep / steps[0].NsPerStep
	ok := grow <= targetChainGrow && steps[1].MaxStackBytes > 0
	allOK = allOK && ok
	fmt.Fprintf(out, "  chain %d: %.0f ns/step; chain %d: %.0f ns/step; both under a %d KiB stack limit (recursion per step would crash)\n",
		steps[0].Chain, steps[0].NsPerStep, steps[1].Chain, steps[1].NsPerStep, steps[1].MaxStackBytes>>10)
	fmt.Fprintf(out, "  per-step cost changes %.2fx from %d to %d steps (target <= %.1fx): %s\n",
		grow, steps[0].Chain, steps[1].Chain, targetChainGrow, verdict(ok))
	return allOK, nil
}

// checkLayout fails early, with what to do, when a prerequisite is missing.
func checkLayout(c config) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return errors.New("run from the repository root (no go.mod here)")
	}
	if _, err := os.Stat(filepath.Join(peerDir, "node_modules", "bpmn-engine")); err != nil {
		return fmt.Errorf("%s/node_modules is missing: run `npm ci --prefix %s` (make bench-peer does)", peerDir, peerDir)
	}
	if _, err := exec.LookPath(c.node); err != nil {
		return fmt.Errorf("Node.js (%s) is not on PATH: %w", c.node, err)
	}
	if _, err := os.Stat(c.miwgFile); err != nil {
		return fmt.Errorf("MIWG parse-benchmark file: %w (set -miwg)", err)
	}
	for _, m := range []string{"straight", "gateway"} {
		if _, err := os.Stat(filepath.Join(c.modelsDir, m+".bpmn")); err != nil {
			return fmt.Errorf("benchmark model: %w", err)
		}
	}
	if c.peerOnly {
		return nil
	}
	matches, _ := filepath.Glob("bench/baton/*.go")
	if len(matches) == 0 {
		return errors.New("bench/baton does not exist yet: Baton's side of the benchmark (bench/baton/main.go, " +
			"flags -model FILE -n N and -parse FILE -iter N) comes with the engine; " +
			"no numbers are reported without it (use -peer-only to run the npm side alone)")
	}
	return nil
}

// generate writes the synthetic parse-benchmark model with bench/genmodel.
func generate(ctx context.Context, c config, file string) error {
	stdout, err := execCmd(ctx, c, "go", "run", "./bench/genmodel", "-n", fmt.Sprint(c.genNodes))
	if err != nil {
		return fmt.Errorf("generate %s: %w", file, err)
	}
	return os.WriteFile(file, stdout.Bytes(), 0o644)
}

// child runs one contestant; it returns its stdout and its peak RSS in KiB.
func child(ctx context.Context, c config, name string, args ...string) ([]byte, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = c.stderrSink
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, 0, fmt.Errorf("%s %s: timed out after %s", name, strings.Join(args, " "), c.timeout)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) // KiB on Linux
	}
	return stdout.Bytes(), rss, nil
}

func execCmd(ctx context.Context, c config, name string, args ...string) (*bytes.Buffer, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = c.stderrSink
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return &stdout, nil
}

// lastJSONLine decodes the last non-empty line of out into v, rejecting
// unknown shapes loosely (extra fields are allowed, missing ones are checked
// by the caller).
func lastJSONLine(out []byte, v any) error {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return errors.New("printed no result line")
	}
	if err := json.Unmarshal([]byte(last), v); err != nil {
		return fmt.Errorf("result line %q is not the expected JSON: %w", last, err)
	}
	return nil
}

func runBench(ctx context.Context, c config, tool, model, name string, args ...string) (*runResult, error) {
	out, rss, err := child(ctx, c, name, args...)
	if err != nil {
		return nil, err
	}
	var r runResult
	if err := lastJSONLine(out, &r); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tool, model, err)
	}
	switch {
	case r.Tool != tool:
		return nil, fmt.Errorf("%s %s: expected tool %q, but the result says %q", tool, model, tool, r.Tool)
	case r.Model != model:
		return nil, fmt.Errorf("%s %s: expected model %q, but the result says %q", tool, model, model, r.Model)
	case r.Instances != c.instances:
		return nil, fmt.Errorf("%s %s: expected %d instances, but the result says %d", tool, model, c.instances, r.Instances)
	case !(r.Seconds > 0) || !(r.PerSecond > 0):
		return nil, fmt.Errorf("%s %s: expected positive seconds and perSecond, but got %v and %v", tool, model, r.Seconds, r.PerSecond)
	}
	r.maxRSSKiB = rss
	return &r, nil
}

func parseBench(ctx context.Context, c config, tool, file, name string, args ...string) (*parseResult, error) {
	out, rss, err := child(ctx, c, name, args...)
	if err != nil {
		return nil, err
	}
	var r parseResult
	if err := lastJSONLine(out, &r); err != nil {
		return nil, fmt.Errorf("%s parse %s: %w", tool, file, err)
	}
	switch {
	case r.Tool != tool:
		return nil, fmt.Errorf("%s parse %s: expected tool %q, but the result says %q", tool, file, tool, r.Tool)
	case r.Iterations != c.parseIter:
		return nil, fmt.Errorf("%s parse %s: expected %d iterations, but the result says %d", tool, file, c.parseIter, r.Iterations)
	case !(r.SecondsPerParse > 0) || r.Bytes <= 0:
		return nil, fmt.Errorf("%s parse %s: expected positive secondsPerParse and bytes, but got %v and %d", tool, file, r.SecondsPerParse, r.Bytes)
	}
	r.maxRSSKiB = rss
	return &r, nil
}

func mib(kib int64) string { return fmt.Sprintf("%.1f", float64(kib)/1024) }

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// report prints the tables and returns whether every target passed.
func report(out io.Writer, c config, models []string, runs [][2]*runResult, files []string, parses [][2]*parseResult) bool {
	allOK := true
	fmt.Fprintf(out, "\nRun: %d instances each, one at a time; peak RSS of the whole process\n\n", c.instances)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	if c.peerOnly {
		fmt.Fprintln(tw, "model\tbpmn-engine inst/s\tbpmn-engine MiB\t")
		for i, m := range models {
			p := runs[i][1]
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t\n", m, p.PerSecond, mib(p.maxRSSKiB))
		}
	} else {
		fmt.Fprintln(tw, "model\tbaton inst/s\tbpmn-engine inst/s\tspeed-up\ttarget\t\tbaton MiB\tbpmn-engine MiB\tbaton allocs/inst\tbaton B/inst\t")
		for i, m := range models {
			b, p := runs[i][0], runs[i][1]
			ratio := b.PerSecond / p.PerSecond
			ok := ratio >= targetRun[m]
			allOK = allOK && ok
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.1fx\t>= %.0fx\t%s\t%s\t%s\t%.1f\t%.0f\t\n",
				m, b.PerSecond, p.PerSecond, ratio, targetRun[m], verdict(ok), mib(b.maxRSSKiB), mib(p.maxRSSKiB), b.AllocsPerInstance, b.BytesPerInstance)
		}
	}
	tw.Flush()

	fmt.Fprintf(out, "\nParse: %d parses each\n\n", c.parseIter)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	if c.peerOnly {
		fmt.Fprintln(tw, "file\tKiB\tbpmn-moddle ms/parse\tbpmn-moddle MiB\t")
		for i, f := range files {
			p := parses[i][1]
			fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%s\t\n", filepath.Base(f), float64(p.Bytes)/1024, p.SecondsPerParse*1e3, mib(p.maxRSSKiB))
		}
	} else {
		fmt.Fprintln(tw, "file\tKiB\tbaton ms/parse\tbpmn-moddle ms/parse\tspeed-up\ttarget\t\tbaton MiB\tbpmn-moddle MiB\t")
		for i, f := range files {
			b, p := parses[i][0], parses[i][1]
			ratio := p.SecondsPerParse / b.SecondsPerParse
			ok := ratio >= targetParse
			allOK = allOK && ok
			fmt.Fprintf(tw, "%s\t%.0f\t%.3f\t%.3f\t%.1fx\t>= %.0fx\t%s\t%s\t%s\t\n",
				filepath.Base(f), float64(b.Bytes)/1024, b.SecondsPerParse*1e3, p.SecondsPerParse*1e3, ratio, targetParse, verdict(ok), mib(b.maxRSSKiB), mib(p.maxRSSKiB))
		}
	}
	tw.Flush()

	if c.peerOnly {
		fmt.Fprintln(out, "\n-peer-only: no Baton numbers, so no ratios and no targets checked.")
		return true
	}
	fmt.Fprintf(out, "\nPeer targets: >= %.0fx on straight, >= %.0fx on gateway, >= %.0fx on every parse file: %s\n",
		targetRun["straight"], targetRun["gateway"], targetParse, verdict(allOK))
	return allOK
}
