// Command store measures Baton's durable store (engine/sqlstore) on
// PostgreSQL and SQLite, and PostgreSQL itself with pgbench, and prints one
// table. Run it from the repository root:
//
//	make bench-store                     # go run ./bench/store $(STOREFLAGS)
//	go run ./bench/store -d 30s -dialects postgres -cpuprofile cpu.out
//
// PostgreSQL is BATON_BENCH_DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). Baton runs in a
// fresh schema made for the run (every pooled connection has it on its
// search_path, as engine/sqlstore/dbtest does) and dropped after it. SQLite
// is a file in a temporary directory, opened by sqlstore.Open in WAL mode.
//
// # Workloads
//
// Each runs with -clients goroutines (default 8) sharing one engine over one
// store, for -warmup (default 2s, not measured) and then -d (default 10s).
//
//   - straight-through: instances of bench/models/straight.bpmn (start → 3
//     service tasks of topic "noop" → end) with variables {x: 10}. A Go
//     handler completes each job inside the command that creates it, so an
//     instance is one command: Start, which returns it completed.
//   - user task: instances of start → user task → end, two commands each:
//     Start, which leaves the instance waiting, and CompleteUserTask. The
//     task id comes from UserTaskList filtered by the instance id (an
//     indexed query, timed as "task query" but not a command).
//
// After both workloads the command counts, with SQL, the instances of each
// process in the store: all of them must be completed, and there must be as
// many as there were successful starts (warm-up included), else it fails.
//
// # pgbench
//
// On the same PostgreSQL, in a schema of its own, pgbench runs
// bench/pgbench/straight.sql, a transaction of about the shape of one
// straight-through command (update one instance row, insert three history
// rows; tables in bench/pgbench/setup.sql), with the same number of clients
// (-c 8 -j 2 -T <d> --no-vacuum, simple query protocol, pgbench's default).
// Its "tps … (without initial connection time)" is the baseline.
//
// # Reading the table
//
// One row per dialect, workload and command: instances completed in the
// measured window, instances per second, and the p50 and p99 latency of
// each call as the client saw it (queueing for a pooled connection and, on
// SQLite, for the single writer included). The last lines are pgbench's TPS
// and the ratio of straight-through instances/s on PostgreSQL to it: how
// close one Baton command comes to a hand-written transaction of the same
// shape on the same database. The target is a ratio of at least
// 0.5 (ratioTarget). Both sides share the machine's CPUs with PostgreSQL itself.
//
// Exit status: 0 when the ratio meets its target, 1 when it does not or
// when anything fails to run or to verify (no figure is ever made up), 2 on
// bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// ratioTarget is the least straight-through instances/s on PostgreSQL over
// pgbench's TPS that passes.
const ratioTarget = 0.5

// PostgresURLDefault is the database used when BATON_BENCH_DATABASE_URL is unset.
const PostgresURLDefault = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

type config struct {
	duration   time.Duration
	warmup     time.Duration
	clients    int
	dialects   []string
	model      string
	pgbench    string
	pgbenchDir string
	rows       int
	pgURL      string
}

func main() {
	var (
		c          config
		dialects   string
		cpuProfile string
	)
	flag.DurationVar(&c.duration, "d", 10*time.Second, "measured duration of each workload and of pgbench")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each Baton workload")
	flag.IntVar(&c.clients, "clients", 8, "concurrent clients (Baton goroutines, pgbench -c)")
	flag.StringVar(&dialects, "dialects", "postgres,sqlite", "comma-separated dialects to run; the ratio needs postgres")
	flag.StringVar(&c.model, "model", "bench/models/straight.bpmn", "the straight-through model")
	flag.StringVar(&c.pgbench, "pgbench", "", "pgbench binary (default: pgbench on PATH, else /usr/lib/postgresql/*/bin/pgbench)")
	flag.StringVar(&c.pgbenchDir, "pgbench-dir", "bench/pgbench", "directory with setup.sql and straight.sql")
	flag.IntVar(&c.rows, "pgbench-rows", 100000, "instance rows pre-created for pgbench")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the Baton workloads to this file")
	flag.Parse()
	c.dialects = strings.Split(dialects, ",")
	if flag.NArg() > 0 || c.duration < time.Second || c.warmup < 0 || c.clients < 1 || c.rows < 1 ||
		slices.ContainsFunc(c.dialects, func(d string) bool { return d != "postgres" && d != "sqlite" }) {
		flag.Usage()
		os.Exit(2)
	}
	c.pgURL = os.Getenv("BATON_BENCH_DATABASE_URL")
	if c.pgURL == "" {
		c.pgURL = PostgresURLDefault
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var prof io.WriteCloser
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fatal(err)
		}
		prof = f
	}
	ok, err := run(ctx, c, prof, os.Stdout)
	if err != nil {
		fatal(err)
	}
	if !ok {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench store:", err)
	os.Exit(1)
}

// report is everything the table shows.
type report struct {
	results  []*result
	pgbench  *pgbenchResult
	ratioRun bool
}

// run runs every workload and pgbench, prints the table and reports
// whether the ratio met its target. prof, when set, receives a CPU profile
// of the whole run: it samples this process only, so pgbench and the
// database servers are not in it.
func run(ctx context.Context, c config, prof io.WriteCloser, out io.Writer) (bool, error) {
	model, err := os.ReadFile(c.model)
	if err != nil {
		return false, fmt.Errorf("read the straight-through model (run from the repository root): %w", err)
	}
	var pgb *pgbench
	if slices.Contains(c.dialects, "postgres") {
		if pgb, err = preparePgbench(c); err != nil {
			return false, err
		}
	}
	if prof != nil {
		if err := pprof.StartCPUProfile(prof); err != nil {
			return false, fmt.Errorf("start CPU profile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			prof.Close()
		}()
	}
	fmt.Fprintf(out, "bench store: %d clients, %s warm-up, %s measured per workload; GOMAXPROCS %d on %d CPUs%s\n",
		c.clients, c.warmup, c.duration, runtime.GOMAXPROCS(0), runtime.NumCPU(), loadAverage())
	var rep report
	for _, d := range c.dialects {
		var st *benchStore
		switch d {
		case "postgres":
			st, err = openPostgres(ctx, c.pgURL)
		case "sqlite":
			st, err = openSQLite(ctx)
		}
		if err != nil {
			return false, err
		}
		fmt.Fprintf(out, "%s: %s\n", d, st.desc)
		rs, err := runDialect(ctx, c, st, model, out)
		if cerr := st.close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", d, err)
		}
		rep.results = append(rep.results, rs...)
		if d == "postgres" {
			fmt.Fprintf(out, "pgbench: %s, %d clients, %ds%s ...\n", pgb.desc, c.clients, pgbenchSeconds(c.duration), loadAverage())
			if rep.pgbench, err = pgb.run(ctx, c); err != nil {
				return false, err
			}
			rep.ratioRun = true
		}
	}
	return printReport(out, &rep), nil
}

// loadAverage returns ", load average X" from /proc/loadavg, or "" where
// there is none. Both sides share the machine with whatever else runs on it;
// the load before each phase shows whether they had it to themselves.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return ", load average " + f[0]
}

// printReport prints the table and returns whether the ratio met its target.
func printReport(out io.Writer, rep *report) bool {
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "dialect\tworkload\tinstances\tinstances/s\tcall\tcalls\tp50\tp99\t")
	for _, r := range rep.results {
		for i, s := range r.calls {
			dialect, workload, n, rate := "", "", "", ""
			if i == 0 {
				dialect, workload = r.dialect, r.workload
				n, rate = fmt.Sprint(r.instances), fmt.Sprintf("%.1f", r.rate())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t\n", dialect, workload, n, rate,
				s.name, len(s.lat), ms(percentile(s.lat, 0.50)), ms(percentile(s.lat, 0.99)))
		}
	}
	tw.Flush()
	fmt.Fprintln(out)
	if !rep.ratioRun {
		fmt.Fprintln(out, "ratio: not measured (PostgreSQL was not among -dialects): FAIL")
		return false
	}
	var pg *result
	for _, r := range rep.results {
		if r.dialect == "postgres" && r.workload == workloadStraight {
			pg = r
		}
	}
	fmt.Fprintf(out, "pgbench (bench/pgbench/straight.sql, %d clients): %.1f tps, %d transactions, latency average %.3f ms\n",
		rep.pgbench.clients, rep.pgbench.tps, rep.pgbench.transactions, rep.pgbench.latencyMS)
	ratio := pg.rate() / rep.pgbench.tps
	verdict := "PASS"
	if ratio < ratioTarget {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, "ratio straight-through on PostgreSQL / pgbench: %.1f / %.1f = %.2f (target >= %.2f): %s\n",
		pg.rate(), rep.pgbench.tps, ratio, ratioTarget, verdict)
	return verdict == "PASS"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}

// percentile returns the q-quantile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
