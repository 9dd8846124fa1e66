package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
)

// nodesWorkHandler is the Go handler the nodes of TestSeveralNodes
// register for topic "work": it writes its side effect in the job's own
// transaction, into a table whose primary key is the instance, so a job
// that ran twice could not have committed twice.
func nodesWorkHandler(node string) engine.HandlerFunc {
	return func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
		err := sqlstore.Exec(ctx, `INSERT INTO side_effects (instance_id, job_id, node) VALUES (?, ?, ?)`, j.InstanceID, j.ID, node)
		return nil, err
	}
}

// nodesSize is how many timers and how many jobs TestSeveralNodes runs:
// 10,000 each, or BATON_NODES_N.
func nodesSize(t *testing.T) int {
	if v := os.Getenv("BATON_NODES_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("BATON_NODES_N=%q: want a positive number", v)
		}
		return n
	}
	return 10000
}

// TestSeveralNodes runs three `baton serve` processes on one PostgreSQL
// schema: n timers due in the same second and n jobs for a Go handler are
// each executed exactly once, while one node is killed in the middle of the
// jobs and the others take over its leases. It prints the timer lag (fire
// time minus due time) and the throughput; speed targets live in
// `make bench-jobs`, not here.
func TestSeveralNodes(t *testing.T) {
	t.Parallel()
	n := nodesSize(t)
	dbURL := crashPostgresURL(t)
	seedTestAdmin(t, dbURL)
	db := openNodesDB(t, dbURL)
	if err := db.Exec(`CREATE TABLE side_effects (instance_id BIGINT PRIMARY KEY, job_id BIGINT NOT NULL, node TEXT NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	nodes := make([]*servedBaton, 3)
	for i := range nodes {
		nodes[i] = startNode(t, fmt.Sprintf("node-%d", i), dbURL)
	}
	api := nodes[0].URL
	deploy := func(b *bpmntest.Builder) {
		res, err := adminPost(api+"/api/v1/deployments", "application/xml", bytes.NewReader(b.XML()))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("deploy: %d %s", res.StatusCode, body)
		}
	}
	deploy(bpmntest.New("timers").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDate", "${due}")).
		End("e").Chain("s", "wait", "e"))
	deploy(bpmntest.New("work").Start("s").Node("charge", "serviceTask", bpmntest.Topic("work"),
		bpmntest.Attr("camunda:asyncBefore", "true")).End("e").Chain("s", "charge", "e"))

	// Timers: every instance waits for the same second, far enough ahead
	// for all of them to be started first.
	lead := 3*time.Second + time.Duration(n)*time.Millisecond
	due := time.Now().Add(lead).Truncate(time.Second).Add(time.Second).UTC()
	began := time.Now()
	startMany(ctx, t, nodes, "timers", n, fmt.Sprintf(`{"variables":{"due":%q}}`, due.Format(time.RFC3339)))
	t.Logf("%d timer instances started in %v (through the three nodes); all due at %s", n, time.Since(began).Round(time.Millisecond), due.Format(time.RFC3339))
	if time.Now().After(due) {
		t.Logf("note: the starts took longer than the %v lead; timers were due before all had started", lead)
	}
	waitCount(ctx, t, db, `SELECT count(*) FROM process_instances WHERE key = 'timers' AND state = 'completed'`, n, nodes)
	var fired, instancesFiredTwice int
	db.Raw(`SELECT count(*) FROM history WHERE type = 'timerFired'`).Scan(&fired)
	db.Raw(`SELECT count(*) FROM (SELECT process_instance_id FROM history WHERE type = 'timerFired' GROUP BY process_instance_id HAVING count(*) > 1) x`).Scan(&instancesFiredTwice)
	if fired != n || instancesFiredTwice != 0 {
		t.Fatalf("timers fired %d times for %d instances, %d instances fired more than once", fired, n, instancesFiredTwice)
	}
	var lags []float64
	if err := db.Raw(`SELECT extract(epoch FROM h.at - j.due_at) FROM history h JOIN jobs j ON j.process_instance_id = h.process_instance_id
WHERE h.type = 'timerFired' AND j.kind = 'timer'`).Scan(&lags).Error; err != nil {
		t.Fatal(err)
	}
	slices.Sort(lags)
	t.Logf("timer lag over %d timers (fire time minus due time): p50 %.3fs, p99 %.3fs, max %.3fs; last fired %.1fs after the due second",
		len(lags), quantile(lags, 0.50), quantile(lags, 0.99), lags[len(lags)-1], lags[len(lags)-1])

	// Jobs: n instances whose service task waits behind an asynchronous
	// continuation, so the job executors of the nodes run the handler.
	began = time.Now()
	var killed atomic.Bool
	go func() {
		// Kill node 2 once a third of the jobs are done.
		for ctx.Err() == nil && !killed.Load() {
			var done int
			db.Raw(`SELECT count(*) FROM side_effects`).Scan(&done)
			if done >= n/3 {
				nodes[2].Kill()
				killed.Store(true)
				t.Logf("node-2 killed (SIGKILL) after %d of %d jobs", done, n)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	startMany(ctx, t, nodes[:2], "work", n, `{}`)
	waitCount(ctx, t, db, `SELECT count(*) FROM process_instances WHERE key = 'work' AND state = 'completed'`, n, nodes[:2])
	elapsed := time.Since(began)
	if !killed.Load() {
		t.Fatal("node-2 was never killed: the jobs finished before a third was done?")
	}
	var effects, completions int
	db.Raw(`SELECT count(*) FROM side_effects`).Scan(&effects)
	db.Raw(`SELECT count(*) FROM history WHERE type = 'jobCompleted' AND element_id = 'charge' AND detail = ''`).Scan(&completions)
	if effects != n || completions != n {
		t.Fatalf("%d side effects and %d job completions for %d jobs, want %d of each", effects, completions, n, n)
	}
	byNode := map[string]int{}
	rows, err := db.Raw(`SELECT node, count(*) FROM side_effects GROUP BY node`).Rows()
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var node string
		var c int
		rows.Scan(&node, &c)
		byNode[node] = c
	}
	rows.Close()
	t.Logf("%d jobs done exactly once in %v (starts included) by %v; node-2 was killed mid-run and its leases taken over", n, elapsed.Round(time.Millisecond), byNode)
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func openNodesDB(t *testing.T, dbURL string) *gorm.DB {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.DB()
}

// startMany starts n instances of key through the nodes, 12 at a time.
func startMany(ctx context.Context, t *testing.T, nodes []*servedBaton, key string, n int, body string) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := nodes[w%len(nodes)].URL + "/api/v1/process-definitions/key/" + key + "/start"
			for ctx.Err() == nil && next.Add(1) <= int64(n) {
				res, err := adminPost(url, "application/json", bytes.NewReader([]byte(body)))
				if err != nil {
					failed.Store(err.Error())
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					failed.Store(fmt.Sprintf("start %s: %d %s", key, res.StatusCode, b))
					return
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatal(f)
	}
}

// waitCount polls query until it counts want.
func waitCount(ctx context.Context, t *testing.T, db *gorm.DB, query string, want int, nodes []*servedBaton) {
	t.Helper()
	for {
		var got int
		if err := db.Raw(query).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: %d, want %d\nnode-0 log:\n%s", query, got, want, nodes[0].LogTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startNode starts `baton serve` with the work handler of node name, a
// short lease and four job workers, and waits until it is ready.
func startNode(t *testing.T, name, dbURL string) *servedBaton {
	t.Helper()
	return serveBaton(t, dbURL, []string{"BATON_TEST_WORK_HANDLER=" + name}, "--job-lease", "3s", "--job-workers", "4")
}
