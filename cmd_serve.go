package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server"
	"github.com/batonbpm/baton/server/auth"
	"github.com/batonbpm/baton/server/webhook"
	"github.com/batonbpm/baton/ui"
)

// Defaults of `baton serve` and `baton migrate`, overridden by the
// environment and then by flags.
const (
	databaseURLDefault     = "sqlite://baton.db"
	addrDefault            = "127.0.0.1:8080"
	shutdownTimeoutDefault = 30 * time.Second
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// newLogger returns a slog logger writing text or JSON to w.
func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("log format %q: expected text or json", format)
}

// serveSetup, when set, prepares the engine of baton serve before it
// serves: tests register Go handlers with it.
var serveSetup func(*engine.Engine) error

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", envOr("BATON_DATABASE_URL", databaseURLDefault), "database: sqlite://FILE or postgres://… (env BATON_DATABASE_URL)")
	addr := fs.String("addr", envOr("BATON_ADDR", addrDefault), "address to listen on (env BATON_ADDR)")
	logFormat := fs.String("log-format", envOr("BATON_LOG_FORMAT", "text"), "log format: text or json (env BATON_LOG_FORMAT)")
	deploy := fs.String("deploy", "", "deploy the .bpmn files of this directory (or this one file) before serving")
	demo := fs.Bool("demo", false, "when the database has no users, add the demo users (auth.DemoUsers, public passwords) and print their logins")
	shutdownTimeout := fs.Duration("shutdown-timeout", shutdownTimeoutDefault, "how long a shutdown waits for requests in flight")
	otelEndpoint := fs.String("otel-endpoint", envOr("BATON_OTEL_ENDPOINT", ""), "export OpenTelemetry spans over OTLP/HTTP to this collector, e.g. http://localhost:4318; off when empty (env BATON_OTEL_ENDPOINT)")
	webhookAllow := fs.String("webhook-allow", envOr("BATON_WEBHOOK_ALLOW", ""), "comma-separated hosts and CIDRs that webhooks and task notifications may call; every address but link-local, metadata, unspecified and multicast ones when empty (env BATON_WEBHOOK_ALLOW)")
	defWorkers := engine.ExecutorWorkersDefault
	if v := os.Getenv("BATON_JOB_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fmt.Fprintf(stderr, "baton serve: BATON_JOB_WORKERS=%q: expected how many jobs run at once (0 or more)\n", v)
			return 2
		}
		defWorkers = n
	}
	workers := fs.Int("job-workers", defWorkers, "how many jobs (timers, Go handler work) run at once; 0 runs none on this node (env BATON_JOB_WORKERS)")
	poll := fs.Duration("job-poll", engine.ExecutorPollDefault, "how often the job executor looks for due jobs when nothing wakes it")
	lease := fs.Duration("job-lease", engine.ExecutorLeaseDefault, "how long a claimed job is this node's; another node takes over a job whose lease expired")
	limits := addLimitFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := limits.apply(&server.Config{}); err != nil {
		fmt.Fprintln(stderr, "baton serve:", err)
		return 2
	}
	if *workers < 0 {
		fmt.Fprintf(stderr, "baton serve: --job-workers %d: expected 0 or more\n", *workers)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "baton serve: unexpected arguments %q\n", fs.Args())
		return 2
	}
	log, err := newLogger(*logFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "baton serve:", err)
		return 2
	}
	allow, err := webhook.ParseAllowList(*webhookAllow)
	if err != nil {
		fmt.Fprintln(stderr, "baton serve: --webhook-allow:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	tp, err := newTracing(ctx, *otelEndpoint, log)
	if err != nil {
		log.Error("set up tracing", "err", err)
		return 2
	}
	tracer := installTracing(tp)
	if tp != nil {
		log.Info("tracing: exporting spans over OTLP/HTTP", "endpoint", *otelEndpoint, "service", serviceName)
		defer func() {
			// Flush the spans still batched, after the server and the jobs stopped.
			fctx, cancel := context.WithTimeout(context.Background(), tracingFlushTimeout)
			defer cancel()
			if err := tp.Shutdown(fctx); err != nil {
				log.Warn("tracing: flush spans on exit", "err", err)
			}
		}()
	}

	store, err := sqlstore.Open(ctx, *dbURL)
	if err != nil {
		log.Error("open the database", "err", err)
		return 1
	}
	defer store.Close()
	db, dialect, err := server.SQLStoreDB(store)
	if err != nil {
		log.Error("open the database", "err", err)
		return 1
	}
	eng := engine.New(store, engine.Config{TracerProvider: tracer})
	if serveSetup != nil {
		if err := serveSetup(eng); err != nil {
			log.Error("set up the engine", "err", err)
			return 1
		}
	}
	hooks, err := webhook.New(ctx, webhook.Config{DB: store.DB(), Engine: eng, Allow: allow, Logger: log})
	if err != nil {
		log.Error("set up webhooks", "err", err)
		return 1
	}
	var secret []byte
	if v := os.Getenv("BATON_SESSION_SECRET"); v != "" {
		secret = []byte(v)
	}
	au, err := auth.New(ctx, store.DB(), auth.Config{SessionSecret: secret})
	if err != nil {
		log.Error("set up authentication", "err", err)
		return 1
	}
	var demoUsers []auth.DemoUser
	if *demo {
		if demoUsers, err = au.SeedDemo(ctx); err != nil {
			log.Error("seed the demo users", "err", err)
			return 1
		}
	}
	scfg := server.Config{Engine: eng, DB: db, Dialect: dialect, Logger: log, Auth: au, Webhooks: hooks, TracerProvider: tracer}
	limits.apply(&scfg) // checked after the flags were parsed
	srv, err := server.New(scfg)
	if err != nil {
		log.Error("build the server", "err", err)
		return 1
	}
	pages, err := ui.New(ui.Config{API: srv, Logger: log})
	if err != nil {
		log.Error("build the web UI", "err", err)
		return 1
	}
	if !ui.AssetsBuilt() {
		log.Warn("this binary was built without the web UI's npm assets (htmx, bpmn-js, form-js): pages will lack diagrams and forms; build with make build")
	}
	var deployed []*engine.Definition
	if *deploy != "" {
		if deployed, err = deployPath(ctx, eng, *deploy, log); err != nil {
			log.Error("deploy", "path", *deploy, "err", err)
			return 1
		}
	}

	if len(demoUsers) > 0 {
		startDemoInstances(ctx, eng, deployed, log)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "addr", *addr, "err", err)
		return 1
	}
	url := "http://" + ln.Addr().String()
	log.Info("baton serve listening", "url", url, "database", dialect, "inbox", url+"/inbox", "api", url+"/api/v1", "openapi", url+"/api/v1/openapi.json")
	if len(demoUsers) > 0 {
		log.Warn("added demo users with public passwords; for a first look on this machine only", "users", len(demoUsers))
		printDemoUsers(stdout, demoUsers)
	}
	if *deploy != "" {
		cred := "NAME:PASSWORD"
		if *demo {
			cred = "analyst:baton-analyst"
		}
		printStartHint(stdout, url, cred, deployed)
	}

	jobsDone := make(chan struct{})
	jctx, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	go hooks.Run(jctx) // other nodes' webhook changes
	if *workers > 0 {
		x := eng.NewExecutor(engine.ExecutorConfig{Workers: *workers, Poll: *poll, Lease: *lease, Logger: log})
		log.Info("job executor running", "owner", x.Owner(), "workers", *workers, "poll", *poll)
		go func() {
			defer close(jobsDone)
			x.Run(jctx)
		}()
	} else {
		close(jobsDone)
	}

	hs := &http.Server{Handler: pages, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		log.Error("serve", "err", err)
		return 1
	case <-ctx.Done():
	}
	stop() // a second signal kills the process at once
	log.Info("shutting down: finishing requests in flight", "timeout", *shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	stopJobs() // jobs running finish; no new one starts
	if err := hs.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	select {
	case <-jobsDone:
	case <-sctx.Done():
		log.Error("shutdown: jobs still running after the timeout")
		return 1
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// deployPath deploys one .bpmn file, or every .bpmn file of a directory as
// one deployment named after it. Content already deployed is not a new version.
func deployPath(ctx context.Context, eng *engine.Engine, path string, log *slog.Logger) ([]*engine.Definition, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if fi.IsDir() {
		if files, err = filepath.Glob(filepath.Join(path, "*.bpmn")); err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s has no .bpmn files", path)
		}
		// Camunda Forms (.form) the models link to go in the same deployment.
		forms, err := filepath.Glob(filepath.Join(path, "*.form"))
		if err != nil {
			return nil, err
		}
		files = append(files, forms...)
	}
	p := &engine.DeployParams{Name: filepath.Base(filepath.Clean(path))}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		p.Resources = append(p.Resources, engine.Resource{Name: filepath.Base(f), Data: data})
	}
	dep, err := eng.Deploy(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, d := range dep.Definitions {
		log.Info("deployed", "key", d.Key, "version", d.Version, "definitionId", d.ID, "resource", d.ResourceName, "new", d.CreatedAt.Equal(dep.CreatedAt))
	}
	for _, w := range dep.Warnings {
		log.Warn("model warning", "warning", w.String())
	}
	return dep.Definitions, nil
}

// printDemoUsers prints the logins SeedDemo added.
func printDemoUsers(w io.Writer, users []auth.DemoUser) {
	fmt.Fprintf(w, "\nDemo logins for the web UI and the API (name / password / role / groups):\n")
	for _, u := range users {
		fmt.Fprintf(w, "  %-10s %-16s %-10s %s\n", u.Name, u.Password, u.Role, strings.Join(u.Groups, ","))
	}
}

// printStartHint prints the address and a curl line that starts one of the
// deployed processes (order, when it is there).
func printStartHint(w io.Writer, url, cred string, defs []*engine.Definition) {
	keys := make([]string, 0, len(defs))
	for _, d := range defs {
		keys = append(keys, d.Key)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\nBaton is serving %s: open %s/inbox and sign in (API %s/api/v1, OpenAPI %s/api/v1/openapi.json); deployed: %s\n", url, url, url, url, strings.Join(keys, ", "))
	body := `{}`
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	for _, k := range keys {
		if k == "order" {
			key, body = k, `{"variables":{"amount":1500,"customer":"ACME"}}`
		}
	}
	if key != "" {
		fmt.Fprintf(w, "Start an instance (as a user with the analyst, developer or admin role):\n  curl -s -u %s -X POST %s/api/v1/process-definitions/key/%s/start -H 'Content-Type: application/json' -d '%s'\n", cred, url, key, body)
	}
	fmt.Fprintf(w, "Stop with Ctrl-C.\n\n")
}

// demoStarts are the instances a first --demo start begins, so that the
// demo users find tasks waiting: process key and start variables.
var demoStarts = []struct {
	key, businessKey string
	vars             engine.Vars
}{
	{"order", "ORDER-1001", engine.Vars{"amount": int64(1500), "customer": "ACME"}},
	{"order", "ORDER-1002", engine.Vars{"amount": int64(300), "customer": "Globex"}},
	{"review", "CONTRACT-17", engine.Vars{"needsLegal": false, "needsFinance": false}},
	{"support", "TICKET-311", nil},
	{"expense", "CLAIM-1", engine.Vars{"employee": "Alice", "amount": int64(180), "category": "meals", "description": "Team lunch with ACME"}},
	{"expense", "CLAIM-2", engine.Vars{"employee": "Bob", "amount": int64(2400), "category": "travel", "description": "Trade fair in Hanover"}},
	{"expense", "CLAIM-3", engine.Vars{"employee": "Carol", "amount": int64(950), "category": "equipment", "description": "Monitor"}},
}

// startDemoInstances starts demoStarts of the deployed processes, and logs
// what it could not start: the demo goes on without them.
func startDemoInstances(ctx context.Context, eng *engine.Engine, deployed []*engine.Definition, log *slog.Logger) {
	have := map[string]bool{}
	for _, d := range deployed {
		have[d.Key] = true
	}
	ctx = engine.WithCommandInfo(ctx, "demo", "")
	started := 0
	for _, st := range demoStarts {
		if !have[st.key] {
			continue
		}
		if _, err := eng.Start(ctx, &engine.StartParams{Key: st.key, BusinessKey: st.businessKey, Vars: st.vars}); err != nil {
			log.Warn("start a demo instance", "process", st.key, "err", err)
			continue
		}
		started++
	}
	if started > 0 {
		log.Info("started demo instances, so the demo users have tasks", "instances", started)
	}
}
