package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
)

// The load of TestPostgresRestartUnderLoad.
const (
	// pgRestartClients is how many clients start instances and complete
	// their tasks concurrently.
	pgRestartClients = 8
	// pgRestartBefore is how many task completions must succeed before
	// PostgreSQL stops, and again after it is back.
	pgRestartBefore = 40
	// pgRestartDown is how many 503 answers the clients must have seen
	// while PostgreSQL is down before it starts again.
	pgRestartDown = 4 * pgRestartClients
	// pgRestartRequestTimeout bounds one request: while the database is
	// down, Baton must answer at once, not hang.
	pgRestartRequestTimeout = 5 * time.Second
	// pgRestartRecover bounds the time from PostgreSQL accepting
	// connections again to Baton serving requests again.
	pgRestartRecover = 10 * time.Second
	// pgRestartDeadline bounds the whole test.
	pgRestartDeadline = 90 * time.Second
)

// TestPostgresRestartUnderLoad runs `baton serve` on a private PostgreSQL
// cluster, drives concurrent starts and task completions, stops PostgreSQL
// (pg_ctl stop -m fast, which ends the sessions, or -m immediate, which
// is a crash) and starts it again without restarting Baton.
// While PostgreSQL is down every request is answered at once with 503,
// code "unavailable" and Retry-After, never a 500 or a hang, and /readyz
// answers 503; once it is back requests succeed again. Every start
// answered 201 has its instance and every instance whose task completion
// was answered 204 is completed.
//
// The cluster is the test's own (initdb in a temporary directory, on a
// free port), so the shared PostgreSQL of the other tests never stops. Where
// the PostgreSQL server binaries are missing the test skips, except under
// CI=true, where it fails.
func TestPostgresRestartUnderLoad(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"fast", "immediate"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			pgRestartUnderLoad(t, mode)
		})
	}
}

// pgRestartUnderLoad is TestPostgresRestartUnderLoad with PostgreSQL
// stopped in shutdown mode mode.
func pgRestartUnderLoad(t *testing.T, mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), pgRestartDeadline)
	defer cancel()
	began := time.Now()

	pg := newPGCluster(t)
	seedTestAdmin(t, pg.url())
	srv := &crashServer{t: t, dbURL: pg.url()}
	srv.start(ctx, "127.0.0.1:0")
	t.Cleanup(srv.kill)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("baton log (tail):\n%s", srv.logTail())
			t.Logf("PostgreSQL log (tail):\n%s", pg.logTail())
		}
	})

	l := newPGLoad(srv.url)
	defer l.hc.CloseIdleConnections()
	model := bpmntest.New("pgrestart").Start("start").Node("review", "userTask").End("end").Chain("start", "review", "end").XML()
	if st, b, err := l.do(ctx, "POST", "/api/v1/deployments?name=pgrestart.bpmn", "application/xml", model); err != nil || st != http.StatusCreated {
		t.Fatalf("deploy: %d %s %v", st, b, err)
	}

	// The load runs until stop is closed.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range pgRestartClients {
		wg.Go(func() { l.client(ctx, stop, i) })
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()

	// Up: the load runs.
	if !l.waitFor(ctx, func(s pgLoadStats) bool { return s.completed >= pgRestartBefore }) {
		t.Fatalf("before the stop: %v", l.stats())
	}

	// Down: every answer is 503, at once.
	stopAt := time.Now()
	if err := pg.ctl("stop", "-m", mode); err != nil {
		t.Fatal(err)
	}
	downAt := l.mark()
	stopTook := time.Since(stopAt)
	if st, b := l.readyz(ctx); st != http.StatusServiceUnavailable {
		t.Errorf("/readyz while PostgreSQL is down: %d %s, expected 503", st, b)
	} else {
		l.checkUnavailable(t, "GET /readyz", b)
	}
	if !l.waitFor(ctx, func(s pgLoadStats) bool { return s.unavailableAfter(downAt) >= pgRestartDown }) {
		t.Fatalf("while PostgreSQL is down: %v", l.stats())
	}

	// Back: PostgreSQL starts again; Baton serves again by itself.
	upAt := l.mark()
	if err := pg.ctl("start"); err != nil {
		t.Fatal(err)
	}
	pgUp := l.mark()
	startTook := time.Since(upAt.at)
	recoverBy := time.Now().Add(pgRestartRecover)
	for {
		st, b := l.readyz(ctx)
		if st == http.StatusOK {
			break
		}
		if time.Now().After(recoverBy) {
			t.Fatalf("/readyz %s after PostgreSQL started again: %d %s", pgRestartRecover, st, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ready := l.mark()
	readyAt := ready.at
	readyTook := readyAt.Sub(pgUp.at)
	rctx, rcancel := context.WithDeadline(ctx, recoverBy)
	ok := l.waitFor(rctx, func(s pgLoadStats) bool { return s.completedAfter(ready) >= pgRestartBefore })
	rcancel()
	if !ok {
		t.Fatalf("%s after PostgreSQL started again: %v", pgRestartRecover, l.stats())
	}
	stopLoad()
	loadTook := time.Since(began)

	// Every answer: 2xx or 503 "unavailable" at once. Before the stop,
	// 2xx only; while PostgreSQL was down, 503 only; during the stop and
	// the start, either; once /readyz answered 200 again, 2xx but for a
	// few (see below).
	l.mu.Lock()
	answers := slices.Clone(l.answers)
	l.mu.Unlock()
	var (
		byPhase     = map[string]map[int]int{}
		firstOK     time.Time // the first 2xx after PostgreSQL started again
		lateUnavail []pgAnswer
	)
	for _, a := range answers {
		if a.err != nil {
			t.Errorf("%s: no answer after %s: %v", a.what, a.got.Sub(a.sent).Round(time.Millisecond), a.err)
			continue
		}
		var phase string
		switch {
		case a.got.Before(stopAt):
			phase = "before"
		case a.sent.After(downAt.at) && a.got.Before(upAt.at):
			phase = "down"
		case a.sent.After(readyAt):
			phase = "after"
		default:
			phase = "transition"
		}
		if byPhase[phase] == nil {
			byPhase[phase] = map[int]int{}
		}
		byPhase[phase][a.status]++
		switch {
		case a.status == http.StatusServiceUnavailable:
			l.checkUnavailable(t, a.what, a.body)
			if a.retryAfter != "1" {
				t.Errorf("%s: 503 with Retry-After %q, expected 1", a.what, a.retryAfter)
			}
			if !strings.Contains(string(a.body), a.requestID) || a.requestID == "" {
				t.Errorf("%s: 503 %s does not name the request id %q", a.what, a.body, a.requestID)
			}
			switch phase {
			case "before":
				t.Errorf("%s: 503 before PostgreSQL stopped: %s", a.what, a.body)
			case "after":
				lateUnavail = append(lateUnavail, a)
			}
		case a.status/100 == 2:
			if phase == "down" {
				t.Errorf("%s: %d while PostgreSQL was down: %s", a.what, a.status, a.body)
			}
			if a.sent.After(pgUp.at) && (firstOK.IsZero() || a.got.Before(firstOK)) {
				firstOK = a.got
			}
		default:
			t.Errorf("%s: %d %s, expected 2xx or 503", a.what, a.status, a.body)
		}
		// No request hangs: the client's timeout (pgRestartRequestTimeout)
		// turns one into a transport error, which fails above. Slower
		// answers within it are a loaded machine, not a hang.
	}
	// Once Baton is ready again, a pooled connection whose session
	// PostgreSQL ended may still fail one request: pgx pings a connection
	// before reuse only when it was idle for over a second. More than a
	// few would mean that the pool does not recover.
	if len(lateUnavail) > pgRestartClients {
		for _, a := range lateUnavail[:min(len(lateUnavail), 10)] {
			t.Logf("late 503: %s sent %s after /readyz answered 200: %s", a.what, a.sent.Sub(readyAt).Round(time.Millisecond), a.body)
		}
		t.Errorf("%d answers 503 after PostgreSQL was back and /readyz answered 200, expected at most %d", len(lateUnavail), pgRestartClients)
	}

	// Consistency: what was answered 2xx happened.
	l.mu.Lock()
	started, completed := slices.Clone(l.started), slices.Clone(l.completed)
	for _, e := range l.errs {
		t.Error(e)
	}
	l.mu.Unlock()
	isCompleted := map[string]bool{}
	for _, id := range completed {
		isCompleted[id] = true
	}
	states := make([]string, len(started))
	var next atomic.Int64
	var cwg sync.WaitGroup
	for range pgRestartClients {
		cwg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(started); i = int(next.Add(1) - 1) {
				st, b, err := l.do(ctx, "GET", "/api/v1/process-instances/"+started[i], "", nil)
				var inst struct{ State string }
				if err != nil || st != http.StatusOK || json.Unmarshal(b, &inst) != nil {
					states[i] = fmt.Sprintf("GET: %d %s %v", st, b, err)
					continue
				}
				states[i] = inst.State
			}
		})
	}
	cwg.Wait()
	for i, id := range started {
		switch {
		case isCompleted[id] && states[i] != "completed":
			t.Errorf("instance %s: its task completion was answered 204, but it is %s", id, states[i])
		case states[i] != "completed" && states[i] != "active":
			t.Errorf("instance %s: its start was answered 201, but %s", id, states[i])
		}
	}
	for _, id := range completed {
		if !slices.Contains(started, id) {
			t.Errorf("instance %s: its task was completed, but no start answered it", id)
		}
	}
	t.Logf("%s: starts answered 201: %d, task completions answered 204: %d; answers by phase (status: count): %v; "+
		"pg_ctl stop %s, pg_ctl start %s, /readyz 200 %s after, first 2xx %s after; 503 after ready: %d; load %s, total %s",
		mode, len(started), len(completed), byPhase,
		stopTook.Round(time.Millisecond), startTook.Round(time.Millisecond), readyTook.Round(time.Millisecond),
		firstOK.Sub(pgUp.at).Round(time.Millisecond), len(lateUnavail),
		loadTook.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// pgLoad is the HTTP side of TestPostgresRestartUnderLoad: clients that
// start instances and complete their tasks, and the record of every answer.
type pgLoad struct {
	base string
	hc   *http.Client

	mu        sync.Mutex
	answers   []pgAnswer // in the order they arrived
	started   []string   // instances of starts answered 201
	completed []string   // instances whose task completion was answered 204
	errs      []string   // what the clients found wrong besides the answers
}

// pgAnswer is the outcome of one request.
type pgAnswer struct {
	what       string // method and route
	sent, got  time.Time
	status     int
	body       []byte
	requestID  string
	retryAfter string
	err        error // no answer
}

// pgMark is a moment of the test: a time and the answers recorded by then.
type pgMark struct {
	at time.Time
	n  int // len(pgLoad.answers)
}

func newPGLoad(base string) *pgLoad {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = pgRestartClients * 2
	return &pgLoad{base: base, hc: &http.Client{Transport: tr, Timeout: pgRestartRequestTimeout}}
}

// mark returns the moment now.
func (l *pgLoad) mark() pgMark {
	l.mu.Lock()
	defer l.mu.Unlock()
	return pgMark{at: time.Now(), n: len(l.answers)}
}

// do sends one request, without recording it.
func (l *pgLoad) do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	a := l.send(ctx, method, path, contentType, body)
	return a.status, a.body, a.err
}

func (l *pgLoad) send(ctx context.Context, method, path, contentType string, body []byte) pgAnswer {
	a := pgAnswer{what: method + " " + path, sent: time.Now()}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, rd)
	if err != nil {
		a.err = err
		return a
	}
	req.SetBasicAuth(testAdminUser, testAdminPassword)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := l.hc.Do(req)
	if err == nil {
		a.body, err = io.ReadAll(res.Body)
		res.Body.Close()
		a.status = res.StatusCode
		a.requestID = res.Header.Get("X-Request-Id")
		a.retryAfter = res.Header.Get("Retry-After")
	}
	a.err, a.got = err, time.Now()
	return a
}

// record sends one request of the load and records its answer, unless the
// test is ending (ctx done).
func (l *pgLoad) record(ctx context.Context, what, method, path string, body []byte) pgAnswer {
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	a := l.send(ctx, method, path, ct, body)
	a.what = what
	if ctx.Err() != nil {
		return a
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, a)
	return a
}

// client starts an instance, lists its task and completes it, again and
// again until stop is closed. A request that fails is not sent again (it
// may have taken effect); the client goes on with a new instance after a
// short pause.
func (l *pgLoad) client(ctx context.Context, stop <-chan struct{}, n int) {
	pause := func() bool {
		select {
		case <-stop:
			return false
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
			return true
		}
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		body := fmt.Sprintf(`{"businessKey":"c%d-%d","variables":{"n":%d}}`, n, i, i)
		a := l.record(ctx, "start", "POST", "/api/v1/process-definitions/key/pgrestart/start", []byte(body))
		var inst struct{ ID string }
		if a.status != http.StatusCreated || json.Unmarshal(a.body, &inst) != nil || inst.ID == "" {
			if !pause() {
				return
			}
			continue
		}
		l.mu.Lock()
		l.started = append(l.started, inst.ID)
		l.mu.Unlock()

		a = l.record(ctx, "list tasks", "GET", "/api/v1/tasks?processInstanceId="+inst.ID, nil)
		var tasks struct{ Items []struct{ ID string } }
		if a.status != http.StatusOK || json.Unmarshal(a.body, &tasks) != nil || len(tasks.Items) != 1 {
			if a.status == http.StatusOK {
				l.mu.Lock()
				l.errs = append(l.errs, fmt.Sprintf("tasks of instance %s: expected one, but %s", inst.ID, a.body))
				l.mu.Unlock()
			}
			if !pause() {
				return
			}
			continue
		}
		a = l.record(ctx, "complete task", "POST", "/api/v1/tasks/"+tasks.Items[0].ID+"/complete", []byte(`{"variables":{"ok":true}}`))
		if a.status == http.StatusNoContent {
			l.mu.Lock()
			l.completed = append(l.completed, inst.ID)
			l.mu.Unlock()
		} else if !pause() {
			return
		}
	}
}

// pgLoadStats counts the answers so far.
type pgLoadStats struct {
	answers   []pgAnswer
	completed int
}

// String summarizes the answers for a failure message.
func (s pgLoadStats) String() string {
	byStatus := map[int]int{}
	for _, a := range s.answers {
		byStatus[a.status]++
	}
	return fmt.Sprintf("%d answers by status (0: none) %v, %d tasks completed", len(s.answers), byStatus, s.completed)
}

func (s pgLoadStats) unavailableAfter(m pgMark) int {
	n := 0
	for _, a := range s.answers[m.n:] {
		if a.status == http.StatusServiceUnavailable && a.sent.After(m.at) {
			n++
		}
	}
	return n
}

func (s pgLoadStats) completedAfter(m pgMark) int {
	n := 0
	for _, a := range s.answers[m.n:] {
		if a.what == "complete task" && a.status == http.StatusNoContent && a.sent.After(m.at) {
			n++
		}
	}
	return n
}

func (l *pgLoad) stats() pgLoadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return pgLoadStats{answers: l.answers[:len(l.answers):len(l.answers)], completed: len(l.completed)}
}

// waitFor polls the answers until cond holds, and reports whether it did
// before ctx ended.
func (l *pgLoad) waitFor(ctx context.Context, cond func(pgLoadStats) bool) bool {
	for !cond(l.stats()) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// readyz returns the answer of /readyz.
func (l *pgLoad) readyz(ctx context.Context) (int, []byte) {
	st, b, err := l.do(ctx, "GET", "/readyz", "", nil)
	if err != nil {
		return 0, []byte(err.Error())
	}
	return st, b
}

// checkUnavailable checks the error shape of a 503 answer.
func (l *pgLoad) checkUnavailable(t *testing.T, what string, body []byte) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "database") {
		t.Errorf("%s: 503 %s, expected {\"error\":{\"code\":\"unavailable\",\"message\":… the database …}}", what, body)
	}
}

// pgCluster is a PostgreSQL cluster of one test: initdb in a temporary
// directory, listening on 127.0.0.1 at a free port and on a socket in
// that directory, with user postgres trusted. As root, its commands run
// as the postgres user (initdb refuses root).
type pgCluster struct {
	t     *testing.T
	bin   string // the directory of initdb and pg_ctl
	dir   string // the temporary directory: data, socket, log
	port  int
	runAs string // the user to run the commands as, when root
	uid   int
	gid   int
}

// newPGCluster creates and starts a cluster, stopped at cleanup. Without
// the PostgreSQL server binaries it skips the test, or fails it under CI=true.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	unusable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (CI=true: PostgreSQL tests do not skip)", msg)
		}
		t.Skipf("%s; install the PostgreSQL server to run this test", msg)
	}
	bin, err := pgBinDir()
	if err != nil {
		unusable("no PostgreSQL server binaries: %v", err)
	}
	c := &pgCluster{t: t, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unusable("running as root, initdb needs the user postgres: %v", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			unusable("running as root, initdb needs runuser to run as postgres: %v", err)
		}
		c.runAs = u.Username
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
	}
	// Not t.TempDir: its parent is private to the test's user, and the
	// socket path must stay short (a socket path has at most 107 bytes).
	c.dir, err = os.MkdirTemp("", "baton-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	if c.runAs != "" {
		if err := os.Chown(c.dir, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.command("initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// fsync=off loses nothing when only PostgreSQL stops, not the
	// machine; synchronous_commit=off would lose the last commits to
	// pg_ctl stop -m immediate.
	conf := fmt.Sprintf("\n# TestPostgresRestartUnderLoad\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
		"fsync = off\nshared_buffers = 16MB\nmax_connections = 60\n", c.dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	// Another process may take the free port before PostgreSQL does.
	for try := 0; ; try++ {
		if c.port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		if err = c.ctl("start"); err == nil {
			break
		}
		if try == 2 {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.data(), "postmaster.pid")); err == nil {
			if err := c.ctl("stop", "-m", "immediate"); err != nil {
				t.Errorf("stop the test's PostgreSQL: %v", err)
			}
		}
	})
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// url is Baton's database URL of the cluster.
func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// command returns the command of the PostgreSQL binary name, run as the
// cluster's user, without the PG* variables of the environment.
func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// ctl runs pg_ctl action (start, stop) with args and waits for it to finish.
func (c *pgCluster) ctl(action string, args ...string) error {
	args = append([]string{"-D", c.data(), "-l", filepath.Join(c.dir, "postgres.log"), "-w", "-t", "30",
		"-o", fmt.Sprintf("-p %d", c.port)}, args...)
	out, err := c.command("pg_ctl", append(args, action)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %v\n%s\n%s", action, err, out, c.logTail())
	}
	return nil
}

// logTail returns the end of the cluster's log.
func (c *pgCluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// pgBinDir finds the directory of the PostgreSQL server binaries: pg_config
// --bindir, else the newest /usr/lib/postgresql/*/bin, else initdb's on PATH.
func pgBinDir() (string, error) {
	server := func(dir string) bool {
		for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	var tried []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if server(dir) {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest version first
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, dir := range dirs {
		if server(dir) {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil && server(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no initdb, pg_ctl and postgres in " + strings.Join(append(tried, "pg_config --bindir", "/usr/lib/postgresql/*/bin", "PATH"), ", "))
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
