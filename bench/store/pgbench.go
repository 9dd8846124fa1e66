package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// pgbench is the pgbench binary and the files of the baseline.
type pgbench struct {
	bin, setup, script string
	desc               string
}

// pgbenchResult is what the command reads from pgbench's report.
type pgbenchResult struct {
	clients      int
	tps          float64
	transactions int64
	latencyMS    float64
}

// preparePgbench finds pgbench and the baseline's files.
func preparePgbench(c config) (*pgbench, error) {
	bin := c.pgbench
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("pgbench"); err != nil {
			found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
			if len(found) == 0 {
				return nil, errors.New("pgbench is not on PATH nor under /usr/lib/postgresql/*/bin; install PostgreSQL's client tools or give -pgbench")
			}
			slices.Sort(found) // the highest version last, up to version 99
			bin = found[len(found)-1]
		}
	}
	version, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("run %s --version: %w", bin, err)
	}
	p := &pgbench{bin: bin, setup: filepath.Join(c.pgbenchDir, "setup.sql"), script: filepath.Join(c.pgbenchDir, "straight.sql")}
	for _, f := range []string{p.setup, p.script} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("pgbench baseline (run from the repository root): %w", err)
		}
	}
	p.desc = fmt.Sprintf("%s (%s) with %s", bin, bytes.TrimSpace(version), p.script)
	return p, nil
}

// pgbenchSeconds is the -T of a run of duration d, rounded up to whole seconds.
func pgbenchSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

// run creates the baseline's tables in a schema of their own, runs the
// script on them and drops the schema.
func (p *pgbench) run(ctx context.Context, c config) (res *pgbenchResult, err error) {
	setup, err := os.ReadFile(p.setup)
	if err != nil {
		return nil, err
	}
	schema, schemaURL, drop, err := dbtest.NewSchema(ctx, c.pgURL, "pgbench")
	if err != nil {
		return nil, err
	}
	defer func() {
		if derr := drop(); err == nil && derr != nil {
			err = derr
		}
	}()
	gdb, err := gorm.Open(postgres.Open(schemaURL), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("pgbench: open schema %s: %w", schema, err)
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer sqlDB.Close()
	}
	db := gdb.WithContext(ctx)
	if err := db.Exec(string(setup)).Error; err != nil {
		return nil, fmt.Errorf("pgbench: create the tables of %s in schema %s: %w", p.setup, schema, err)
	}
	if err := db.Exec(`INSERT INTO bench_instances (id, key, state, revision, started_at)
SELECT i, 'straight', 'active', 1, now() FROM generate_series(1, ?) AS i`, c.rows).Error; err != nil {
		return nil, fmt.Errorf("pgbench: fill bench_instances: %w", err)
	}
	if err := db.Exec(`VACUUM ANALYZE bench_instances, bench_history`).Error; err != nil {
		return nil, fmt.Errorf("pgbench: vacuum: %w", err)
	}
	// The URL is a libpq connection string, but libpq does not know
	// search_path as a parameter: give it through PGOPTIONS.
	args := []string{"--no-vacuum", "-f", p.script, "-c", strconv.Itoa(c.clients), "-j", strconv.Itoa(min(2, c.clients)),
		"-T", strconv.Itoa(pgbenchSeconds(c.duration)), "-D", "rows=" + strconv.Itoa(c.rows), c.pgURL}
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("pgbench %v: %w\n%s%s", args[:len(args)-1], err, stdout.Bytes(), stderr.Bytes())
	}
	res, err = parsePgbench(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("pgbench: %w\n%s%s", err, stdout.Bytes(), stderr.Bytes())
	}
	res.clients = c.clients
	// pgbench counts a transaction that failed in its own line, and stops a
	// client on most errors; either way its figure is not comparable.
	var rows int64
	if err := db.Raw(`SELECT COUNT(*) FROM bench_history`).Row().Scan(&rows); err != nil {
		return nil, fmt.Errorf("pgbench: count the history rows: %w", err)
	}
	if rows != 3*res.transactions {
		return nil, fmt.Errorf("pgbench: expected %d history rows after %d transactions, but found %d", 3*res.transactions, res.transactions, rows)
	}
	return res, nil
}

var (
	pgbenchTPS     = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	pgbenchTx      = regexp.MustCompile(`(?m)^number of transactions actually processed: ([0-9]+)`)
	pgbenchFailed  = regexp.MustCompile(`(?m)^number of failed transactions: ([0-9]+)`)
	pgbenchLatency = regexp.MustCompile(`(?m)^latency average = ([0-9.]+) ms`)
)

// parsePgbench reads the figures of a pgbench report.
func parsePgbench(out []byte) (*pgbenchResult, error) {
	if m := pgbenchFailed.FindSubmatch(out); m != nil && string(m[1]) != "0" {
		return nil, fmt.Errorf("%s transactions failed", m[1])
	}
	if bytes.Contains(out, []byte("Run was aborted")) {
		return nil, errors.New("the run was aborted")
	}
	m := pgbenchTPS.FindSubmatch(out)
	if m == nil {
		return nil, errors.New(`no "tps = … (without initial connection time)" line in the report`)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || tps <= 0 {
		return nil, fmt.Errorf("bad tps %q in the report", m[1])
	}
	r := &pgbenchResult{tps: tps}
	m = pgbenchTx.FindSubmatch(out)
	if m == nil {
		return nil, errors.New(`no "number of transactions actually processed" line in the report`)
	}
	if r.transactions, err = strconv.ParseInt(string(m[1]), 10, 64); err != nil {
		return nil, fmt.Errorf("bad transaction count %q in the report", m[1])
	}
	if m = pgbenchLatency.FindSubmatch(out); m != nil {
		r.latencyMS, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	return r, nil
}
