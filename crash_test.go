package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// The load of TestCrashRecovery: crashStarts instances started by
// crashClients concurrent clients, the server killed once crashKillAfter
// (plus up to crashKillJitter) starts have succeeded.
const (
	crashStarts     = 240
	crashClients    = 16
	crashKillAfter  = 100
	crashKillJitter = 40
	// crashRequestTimeout bounds one HTTP request.
	crashRequestTimeout = 10 * time.Second
	// crashDeadline bounds a whole sub-test.
	crashDeadline = 2 * time.Minute
)

// crashModel is what one instance of an example model must have done by
// its end: how many history events of a type at an element id.
type crashModel struct {
	key  string
	vars string // variables of the start request
	want map[string]int
}

// crashModels are the examples the load starts, alternately. An order of
// 500 needs no approval: check order (user task), charge card (job), end.
// A fulfilment forks into pack (job), print label (user task) and notify
// (manual task), which the parallel join waits for.
var crashModels = []crashModel{
	{key: "order", vars: `{"amount":500,"customer":"ACME"}`, want: map[string]int{
		"userTaskCompleted:Activity_0k4y7dw": 1, // check order
		"activated:Activity_1w6x0pn":         0, // approve large order
		"jobCompleted:Activity_0ti8l3a":      1, // charge card
		"completed:Activity_0ti8l3a":         1,
		"completed:Event_1ux5bgi":            1, // end
	}},
	{key: "fulfilment", vars: `{}`, want: map[string]int{
		"userTaskCompleted:Activity_0s7u3dl": 1, // print label
		"jobCompleted:Activity_1p2k9rx":      1, // pack items
		"completed:Activity_1n8c4ye":         1, // notify customer
		"taken:Flow_0d8s5uf":                 1, // the three branches into the join
		"taken:Flow_1q0y6jc":                 1,
		"taken:Flow_0w4l9tp":                 1,
		"completed:Gateway_1h5w0zt":          1, // the join fired once
		"taken:Flow_1f7a3ds":                 1,
		"completed:Event_0e9j6vu":            1, // end
	}},
}

// TestCrashRecovery runs `baton serve --deploy examples` as a process,
// drives concurrent starts and task and job completions, kills the process
// with SIGKILL mid-load, starts it again on the same database and finishes
// the work. Every start answered 2xx has exactly one instance, no business
// key has two, every instance completes, and history shows every task
// completed once and every end reached once.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		crashRecovery(t, "sqlite://"+filepath.Join(t.TempDir(), "baton.db"))
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		crashRecovery(t, crashPostgresURL(t))
	})
}

// crashPostgresURL returns the URL of a fresh, migrated schema of its own
// (dropped at cleanup), for a process: dbtest's test database with the
// schema on its search_path. It skips or fails as dbtest.Postgres does.
func crashPostgresURL(t *testing.T) string {
	t.Helper()
	db := dbtest.Postgres(t)
	var schema string
	if err := db.Raw(`SELECT current_schema()`).Scan(&schema).Error; err != nil || schema == "" {
		t.Fatalf("the test schema: %q, %v", schema, err)
	}
	u, err := url.Parse(dbtest.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func crashRecovery(t *testing.T, dbURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), crashDeadline)
	defer cancel()
	began := time.Now()

	seedTestAdmin(t, dbURL)
	srv := &crashServer{t: t, dbURL: dbURL}
	srv.start(ctx, "127.0.0.1:0")
	t.Cleanup(srv.kill)
	c := newCrashClient(srv.url)
	defer c.hc.CloseIdleConnections()
	prefix := fmt.Sprintf("crash-%x-", rand.Uint32())

	// The load: crashClients workers start instances and drive each to
	// its end, retrying what the kill interrupts once the server is back.
	var (
		next     atomic.Int64
		startsOK atomic.Int64
		killAt   = int64(crashKillAfter + rand.IntN(crashKillJitter+1))
		killNow  = make(chan struct{})
		killOnce sync.Once
		wg       sync.WaitGroup
	)
	for range crashClients {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := next.Add(1) - 1
				if n >= crashStarts {
					return
				}
				m := crashModels[n%int64(len(crashModels))]
				id, ok := c.start(ctx, m, fmt.Sprintf("%s%04d", prefix, n))
				if !ok {
					continue
				}
				if startsOK.Add(1) == killAt {
					killOnce.Do(func() { close(killNow) })
				}
				if err := c.drive(ctx, id); err != nil {
					c.errorf("drive instance %s: %v", id, err)
				}
			}
		})
	}
	loadDone := make(chan struct{})
	go func() { wg.Wait(); close(loadDone) }()

	var killedAt time.Duration
	select {
	case <-killNow:
		c.gate.close()
		srv.kill()
		killedAt = time.Since(began)
		// Idle connections lead to the dead process.
		c.hc.CloseIdleConnections()
		srv.start(ctx, srv.addr)
		c.setURL(srv.url)
		c.hc.CloseIdleConnections()
		c.gate.open()
	case <-loadDone:
		t.Fatalf("the load ended after %d successful starts, before the kill at %d", startsOK.Load(), killAt)
	case <-ctx.Done():
		t.Fatalf("no kill before the deadline: %d successful starts, kill at %d\n%s", startsOK.Load(), killAt, srv.logTail())
	}
	select {
	case <-loadDone:
	case <-ctx.Done():
		t.Fatalf("the load did not end before the deadline\n%s", srv.logTail())
	}
	loadTook := time.Since(began)

	// Finish the work: the instances of starts whose answer the kill lost
	// may exist and nobody drives them yet.
	var all []crashInstance
	for _, m := range crashModels {
		all = append(all, c.instances(ctx, "key="+m.key)...)
	}
	var active []string
	for _, in := range all {
		if in.State == "active" {
			active = append(active, in.ID)
		}
	}
	c.parallel(active, func(id string) {
		if err := c.drive(ctx, id); err != nil {
			c.errorf("finish instance %s: %v", id, err)
		}
	})
	c.report(t)

	// Every instance now: which model, which business key, completed.
	all = all[:0]
	byKey := map[string][]crashInstance{}
	model := map[string]crashModel{}
	for _, m := range crashModels {
		for _, in := range c.instances(ctx, "key="+m.key) {
			all = append(all, in)
			model[in.ID] = m
			byKey[in.BusinessKey] = append(byKey[in.BusinessKey], in)
		}
	}
	c.mu.Lock()
	starts := c.starts
	c.mu.Unlock()
	for bk, ins := range byKey {
		if len(ins) != 1 {
			t.Errorf("business key %q has %d instances, expected 1: %+v", bk, len(ins), ins)
		}
		if _, sent := starts[bk]; !sent {
			t.Errorf("instance %s has business key %q, which no start sent", ins[0].ID, bk)
		}
	}
	for _, in := range all {
		if in.State != "completed" {
			t.Errorf("instance %s (%s) is %s, expected completed", in.ID, in.BusinessKey, in.State)
		}
	}

	// Every start answered 2xx: exactly one instance of its business key,
	// the one the answer named. The others: at most one.
	var startsFailed, failedExist int
	keys := make([]string, 0, len(starts))
	for bk := range starts {
		keys = append(keys, bk)
	}
	found := make([][]crashInstance, len(keys))
	c.parallelN(len(keys), func(i int) { found[i] = c.instances(ctx, "businessKey="+url.QueryEscape(keys[i])) })
	for i, bk := range keys {
		s := starts[bk]
		switch {
		case s.id != "" && (len(found[i]) != 1 || found[i][0].ID != s.id):
			t.Errorf("start %q answered %d with instance %s, but the instances of the key are %+v", bk, s.status, s.id, found[i])
		case s.id == "":
			startsFailed++
			if len(found[i]) > 1 {
				t.Errorf("start %q failed (%v), and its key has %d instances", bk, s.err, len(found[i]))
			}
			failedExist += len(found[i])
		}
	}
	if ok := int(startsOK.Load()); ok+startsFailed != crashStarts || len(all) != ok+failedExist {
		t.Errorf("expected %d starts (%d answered, %d failed) and %d+%d instances, but found %d", crashStarts, ok, startsFailed, ok, failedExist, len(all))
	}

	// History: each task completed once, each end reached once.
	histories := make([]map[string]int, len(all))
	c.parallelN(len(all), func(i int) { histories[i] = c.history(ctx, all[i].ID) })
	c.report(t)
	var tasksDone, jobsDone, completed int
	for i, in := range all {
		h := histories[i]
		if in.State == "completed" {
			completed++
		}
		for ev, n := range model[in.ID].want {
			if h[ev] != n {
				t.Errorf("instance %s (%s %s): %d %s events, expected %d", in.ID, model[in.ID].key, in.BusinessKey, h[ev], ev, n)
			}
		}
		for ev, n := range h {
			switch {
			case strings.HasPrefix(ev, "userTaskCompleted:"):
				tasksDone += n
			case strings.HasPrefix(ev, "jobCompleted:"):
				jobsDone += n
			case strings.HasPrefix(ev, "incidentCreated:"):
				t.Errorf("instance %s has an incident at %s", in.ID, ev)
			}
		}
	}
	// A completion answered 204 committed; one whose answer the kill lost
	// may have. Either way history has exactly one per task.
	c.mu.Lock()
	tasks, jobs := c.tasks.count(), c.jobs.count()
	c.mu.Unlock()
	for _, id := range append(tasks.twice, jobs.twice...) {
		t.Errorf("task or job %s: completed twice, by answers %v %v", id, c.tasks[id], c.jobs[id])
	}
	if tasksDone != len(all) || tasks.ok > tasksDone || tasksDone > tasks.ok+tasks.lost {
		t.Errorf("user tasks: %d completed in history for %d instances; %d answered 204, %d answers lost", tasksDone, len(all), tasks.ok, tasks.lost)
	}
	if jobsDone != len(all) || jobs.ok > jobsDone || jobsDone > jobs.ok+jobs.lost {
		t.Errorf("jobs: %d completed in history for %d instances; %d answered 204, %d answers lost", jobsDone, len(all), jobs.ok, jobs.lost)
	}
	t.Logf("%s: starts ok %d, starts failed by the kill %d (%d of them exist), instances found %d (completed %d), "+
		"tasks completed %d (204: %d, answers lost: %d, 409 after a lost answer: %d), jobs completed %d (204: %d, answers lost: %d, 409 after a lost answer: %d); "+
		"killed at %s after %d ok starts, load %s, total %s",
		filepath.Base(t.Name()), startsOK.Load(), startsFailed, failedExist, len(all), completed,
		tasksDone, tasks.ok, tasks.lost, tasks.already, jobsDone, jobs.ok, jobs.lost, jobs.already,
		killedAt.Round(time.Millisecond), killAt, loadTook.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if t.Failed() {
		t.Logf("server log (tail):\n%s", srv.logTail())
	}
}

// crashServer is a `baton serve` process: the test binary run again as
// TestMain (cmd_serve_test.go).
type crashServer struct {
	t     *testing.T
	dbURL string
	addr  string // host:port it listens on
	url   string
	cmd   *exec.Cmd
	// exited is closed when cmd has ended, with exitErr.
	exited  chan struct{}
	exitErr error
	mu      sync.Mutex
	log     bytes.Buffer // of every run
}

// start runs the server listening on addr and returns once /readyz answers
// 200. When addr is taken (another process got the port after a kill), it
// listens on a free port instead.
func (s *crashServer) start(ctx context.Context, addr string) {
	s.t.Helper()
	err := s.run(ctx, addr)
	if err != nil && addr != "127.0.0.1:0" {
		s.t.Logf("restart on %s: %v; on a free port instead", addr, err)
		err = s.run(ctx, "127.0.0.1:0")
	}
	if err != nil {
		s.t.Fatalf("start baton serve: %v\n%s", err, s.logTail())
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, "GET", s.url+"/readyz", nil)
		res, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			s.t.Fatalf("baton serve exited before /readyz answered: %v\n%s", s.exitErr, s.logTail())
		case <-ctx.Done():
			s.t.Fatalf("/readyz never answered 200: %v\n%s", err, s.logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *crashServer) run(ctx context.Context, addr string) error {
	args, _ := json.Marshal([]string{"serve", "--addr", addr, "--deploy", "examples", "--log-format", "json"})
	cmd := exec.Command(os.Args[0])
	// The load is one admin's clients at full speed, which a per-caller
	// rate limit would turn into 429s: off.
	cmd.Env = append(os.Environ(), "BATON_SERVE_HELPER=1", "BATON_SERVE_ARGS="+string(args), "BATON_DATABASE_URL="+s.dbURL, "BATON_RATE_LIMIT=off")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	urlCh := make(chan string, 1)
	go func(exited chan<- struct{}) {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		re := regexp.MustCompile(`"url":"(http://[^"]+)"`)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlCh <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		s.exitErr = cmd.Wait()
		close(exited)
	}(s.exited)
	select {
	case s.url = <-urlCh:
		s.addr = strings.TrimPrefix(s.url, "http://")
		return nil
	case <-s.exited:
		s.cmd = nil
		return fmt.Errorf("exited before listening: %v", s.exitErr)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill kills the process with SIGKILL, if it runs, and waits for its end.
func (s *crashServer) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// logTail returns the end of the server's log.
func (s *crashServer) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.log.Bytes()
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// crashGate holds requests back while the server is down.
type crashGate struct {
	mu sync.Mutex
	up chan struct{} // closed while the server is up
}

func newCrashGate() *crashGate {
	g := &crashGate{up: make(chan struct{})}
	close(g.up)
	return g
}

func (g *crashGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.up = make(chan struct{})
}

func (g *crashGate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.up)
}

func (g *crashGate) wait(ctx context.Context) error {
	g.mu.Lock()
	up := g.up
	g.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// crashClient is the HTTP client of the load. It records the outcome of
// every start and every completion.
type crashClient struct {
	hc   *http.Client
	gate *crashGate

	mu     sync.Mutex
	url    string
	starts map[string]crashStart // by business key
	tasks  crashCompletions
	jobs   crashCompletions
	errs   []string
}

type crashStart struct {
	status int    // 0: no answer
	err    error  // the transport error, when no answer
	id     string // the instance, when 2xx
}

// crashCompletions records the answers to the completions of tasks or
// jobs, in order, by id. 0 is a lost answer (a transport error).
type crashCompletions map[string][]int

type crashCompletionCount struct {
	ok, lost, already int
	twice             []string // ids answered 204 more than once
}

// count counts answers 204, lost answers, and 409s that follow a lost
// answer for the same id: the lost request had completed it.
func (cc crashCompletions) count() crashCompletionCount {
	var n crashCompletionCount
	for id, answers := range cc {
		ok := 0
		for i, st := range answers {
			switch {
			case st == http.StatusNoContent:
				n.ok++
				if ok++; ok == 2 {
					n.twice = append(n.twice, id)
				}
			case st == 0:
				n.lost++
			case st == http.StatusConflict && i > 0 && answers[i-1] == 0:
				n.already++
			}
		}
	}
	return n
}

func newCrashClient(base string) *crashClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = crashClients * 2
	return &crashClient{hc: &http.Client{Transport: tr}, gate: newCrashGate(), url: base,
		starts: map[string]crashStart{}, tasks: crashCompletions{}, jobs: crashCompletions{}}
}

func (c *crashClient) setURL(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.url = u
}

// errorf records a failure of a worker; report reports them.
func (c *crashClient) errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *crashClient) report(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.errs {
		if i == 20 {
			t.Errorf("… and %d more", len(c.errs)-i)
			break
		}
		t.Error(e)
	}
	if len(c.errs) > 0 {
		t.FailNow()
	}
}

// do sends one request once. err is a transport error: no answer.
func (c *crashClient) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	if err := c.gate.wait(ctx); err != nil {
		return 0, nil, err
	}
	c.mu.Lock()
	base := c.url
	c.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, crashRequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(testAdminUser, testAdminPassword)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	return res.StatusCode, b, nil
}

// crashRetries is how often a request without an answer is sent again.
const crashRetries = 5

// retried sends a request until it has an answer, waiting for the
// server to be back after each transport error. record, when not nil,
// sees every outcome.
func (c *crashClient) retried(ctx context.Context, method, path, body string, record func(status int)) (int, []byte, error) {
	var err error
	for range crashRetries {
		var (
			st int
			b  []byte
		)
		st, b, err = c.do(ctx, method, path, body)
		if record != nil && ctx.Err() == nil {
			record(st)
		}
		if err == nil {
			return st, b, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return 0, nil, fmt.Errorf("%s %s: no answer after %d tries: %w", method, path, crashRetries, err)
}

// getJSON gets path, retried, into v; any answer but 200 is an error.
func (c *crashClient) getJSON(ctx context.Context, path string, v any) error {
	st, b, err := c.retried(ctx, "GET", path, "", nil)
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, st, b)
	}
	return json.Unmarshal(b, v)
}

// start starts an instance of m with business key bk, once: a start
// whose answer is lost is not sent again (its instance may exist).
func (c *crashClient) start(ctx context.Context, m crashModel, bk string) (id string, ok bool) {
	body := fmt.Sprintf(`{"businessKey":%q,"variables":%s}`, bk, m.vars)
	st, b, err := c.do(ctx, "POST", "/api/v1/process-definitions/key/"+m.key+"/start", body)
	var res struct{ ID string }
	if err == nil && st/100 == 2 {
		if jerr := json.Unmarshal(b, &res); jerr != nil || res.ID == "" {
			c.errorf("start %s: %d %s", bk, st, b)
		}
	} else if err == nil {
		c.errorf("start %s: %d %s", bk, st, b)
	}
	c.mu.Lock()
	c.starts[bk] = crashStart{status: st, err: err, id: res.ID}
	c.mu.Unlock()
	return res.ID, res.ID != ""
}

type crashInstance struct {
	ID          string `json:"id"`
	BusinessKey string `json:"businessKey"`
	State       string `json:"state"`
}

// instances lists every instance the query selects, page by page.
func (c *crashClient) instances(ctx context.Context, query string) []crashInstance {
	var all []crashInstance
	after := ""
	for {
		var page struct {
			Items []crashInstance `json:"items"`
			Next  string          `json:"next"`
		}
		path := "/api/v1/process-instances?limit=1000&" + query
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		if err := c.getJSON(ctx, path, &page); err != nil {
			c.errorf("list instances: %v", err)
			return all
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		after = page.Next
	}
}

// history counts the history events of instance id by "type:elementId".
func (c *crashClient) history(ctx context.Context, id string) map[string]int {
	var h struct {
		Items []struct {
			Type      string `json:"type"`
			ElementID string `json:"elementId"`
		} `json:"items"`
	}
	if err := c.getJSON(ctx, "/api/v1/process-instances/"+id+"/history", &h); err != nil {
		c.errorf("history of %s: %v", id, err)
		return nil
	}
	n := map[string]int{}
	for _, ev := range h.Items {
		n[ev.Type+":"+ev.ElementID]++
	}
	return n
}

// drive completes the open user tasks and active jobs of instance id, all
// at once, until it has completed. Only one goroutine drives an instance,
// so an active instance always waits for a task or a job.
func (c *crashClient) drive(ctx context.Context, id string) error {
	for round := 0; ; round++ {
		var inst struct {
			State          string   `json:"state"`
			ActiveElements []string `json:"activeElements"`
			Incidents      []any    `json:"incidents"`
		}
		if err := c.getJSON(ctx, "/api/v1/process-instances/"+id, &inst); err != nil {
			return err
		}
		if inst.State == "completed" {
			return nil
		}
		if inst.State != "active" || len(inst.Incidents) > 0 || round > 10 {
			return fmt.Errorf("expected an active instance without incidents, but %+v in round %d", inst, round)
		}
		type item struct{ ID string }
		var tasks, jobs struct{ Items []item }
		if err := c.getJSON(ctx, "/api/v1/tasks?processInstanceId="+id, &tasks); err != nil {
			return err
		}
		if err := c.getJSON(ctx, "/api/v1/jobs?state=active&processInstanceId="+id, &jobs); err != nil {
			return err
		}
		if len(tasks.Items)+len(jobs.Items) == 0 {
			return fmt.Errorf("expected open tasks or jobs, but none (active elements %v)", inst.ActiveElements)
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(tasks.Items)+len(jobs.Items))
		for _, tk := range tasks.Items {
			wg.Go(func() { errs <- c.complete(ctx, "tasks", tk.ID, `{"variables":{"amount":500}}`, c.tasks) })
		}
		for _, j := range jobs.Items {
			wg.Go(func() { errs <- c.complete(ctx, "jobs", j.ID, `{"variables":{"done":true}}`, c.jobs) })
		}
		wg.Wait()
		close(errs)
		if err := errors.Join(slicesOf(errs)...); err != nil {
			return err
		}
	}
}

// complete completes a task or job (what is "tasks" or "jobs"), sending it
// again while the answer is lost. 204 completed it; 409 after a lost answer
// means the lost request had.
func (c *crashClient) complete(ctx context.Context, what, id, body string, rec crashCompletions) error {
	st, b, err := c.retried(ctx, "POST", "/api/v1/"+what+"/"+id+"/complete", body, func(st int) {
		c.mu.Lock()
		rec[id] = append(rec[id], st)
		c.mu.Unlock()
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	answers := rec[id]
	c.mu.Unlock()
	lostBefore := len(answers) > 1 && answers[len(answers)-2] == 0
	if st == http.StatusNoContent || st == http.StatusConflict && lostBefore {
		return nil
	}
	return fmt.Errorf("complete %s %s: %d %s (answers %v)", what, id, st, b, answers)
}

func slicesOf(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

// parallel runs fn on every id with crashClients goroutines.
func (c *crashClient) parallel(ids []string, fn func(id string)) {
	c.parallelN(len(ids), func(i int) { fn(ids[i]) })
}

// parallelN runs fn(0) … fn(n-1) with crashClients goroutines.
func (c *crashClient) parallelN(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range crashClients {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}
