package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
	"github.com/batonbpm/baton/server/webhook"
)

var ctx = context.Background()

var backends = []struct {
	name string
	open func(t *testing.T) *gorm.DB
}{
	{"sqlite", func(t *testing.T) *gorm.DB { return dbtest.SQLite(t) }},
	{"postgres", func(t *testing.T) *gorm.DB { return dbtest.Postgres(t) }},
}

const secret = "s3cret"

// clock is a NowFunc the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// delivery is one request the receiver accepted as signed.
type delivery struct {
	IdemKey     string
	Traceparent string
	Body        map[string]any
}

// receiver is a real HTTP server that checks every request's signature,
// records what it got and answers with answer.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	got    []delivery
	answer func(w http.ResponseWriter, r *http.Request)
}

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`)

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, answer: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Baton-Timestamp")
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-Baton-Signature"))) {
			t.Errorf("signature %q, want %q", r.Header.Get("X-Baton-Signature"), want)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "Baton" {
			t.Errorf("request %s with Content-Type %q, User-Agent %q", r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"))
		}
		if tp := r.Header.Get("traceparent"); !traceparentRE.MatchString(tp) {
			t.Errorf("traceparent %q is not W3C", tp)
		}
		var b map[string]any
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{IdemKey: r.Header.Get("Idempotency-Key"), Traceparent: r.Header.Get("traceparent"), Body: b})
		answer := rc.answer
		rc.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) answerWith(f func(w http.ResponseWriter, r *http.Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = f
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

func reply(status int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// env is an engine over one backend with a webhook service and an executor.
type env struct {
	eng   *engine.Engine
	store *sqlstore.Store
	svc   *webhook.Service
	x     *engine.Executor
	clock *clock
}

func newEnv(t *testing.T, db *gorm.DB, allow string, models ...*bpmntest.Builder) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)}
	ss := sqlstore.New(db)
	eng := engine.New(ss, engine.Config{NowFunc: clk.now})
	for _, m := range models {
		if _, err := eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "model.bpmn", Data: m.XML()}}}); err != nil {
			t.Fatal(err)
		}
	}
	al, err := webhook.ParseAllowList(allow)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := webhook.New(ctx, webhook.Config{DB: db, Engine: eng, Allow: al})
	if err != nil {
		t.Fatal(err)
	}
	return &env{eng: eng, store: ss, svc: svc, x: eng.NewExecutor(engine.ExecutorConfig{Owner: "test"}), clock: clk}
}

func (e *env) runDue(t *testing.T, want int) {
	t.Helper()
	n, err := e.x.RunDue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d jobs ran, want %d", n, want)
	}
}

func (e *env) openTasks(t *testing.T, inst int64) []string {
	t.Helper()
	tasks, err := e.store.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst, OpenOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tk := range tasks {
		out = append(out, tk.ElementID)
	}
	return out
}

func (e *env) job(t *testing.T, inst int64) *engine.Job {
	t.Helper()
	jobs, err := e.store.JobList(ctx, &engine.JobListParams{InstanceID: inst})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Topic == "charge" {
			return j
		}
	}
	t.Fatalf("no charge job in %+v", jobs)
	return nil
}

// payModel charges by webhook; a DECLINED error goes to review.
func payModel() *bpmntest.Builder {
	return bpmntest.New("pay").Error("D", "DECLINED").Start("s").Node("charge", "serviceTask", bpmntest.Topic("charge")).
		Node("next", "userTask").End("e").Chain("s", "charge", "next", "e").
		Node("declined", "boundaryEvent", bpmntest.Boundary("charge", true),
			bpmntest.ErrorRef("D", `camunda:errorCodeVariable="code"`, `camunda:errorMessageVariable="why"`)).
		Node("review", "userTask").End("reviewed").Chain("declined", "review", "reviewed")
}

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			t.Run("SuccessMergesVariables", func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t)
				e := newEnv(t, b.open(t), "", payModel())
				rc.answerWith(reply(http.StatusOK, `{"variables":{"charged":true,"ref":42}}`))
				addHook(t, e, &webhook.Webhook{Topic: "charge", URL: rc.srv.URL, Secret: secret, Variables: []string{"amount"}})
				inst, err := e.eng.Start(ctx, &engine.StartParams{Key: "pay", BusinessKey: "order-7", Vars: engine.Vars{"amount": int64(30), "card": "4111"}})
				if err != nil {
					t.Fatal(err)
				}
				if got := rc.deliveries(); len(got) != 0 {
					t.Fatalf("delivered %d times inside the start command", len(got))
				}
				jobID := e.job(t, inst.ID).ID
				e.runDue(t, 1)
				got := rc.deliveries()
				if len(got) != 1 {
					t.Fatalf("%d deliveries, want 1", len(got))
				}
				d := got[0]
				if d.IdemKey != "job-"+strconv.FormatInt(jobID, 10) {
					t.Errorf("Idempotency-Key %q, want job-%d", d.IdemKey, jobID)
				}
				want := map[string]any{"jobId": float64(jobID), "topic": "charge", "processInstanceId": float64(inst.ID),
					"processDefinitionKey": "pay", "businessKey": "order-7", "elementId": "charge", "attempt": float64(1),
					"retries": float64(3), "variables": map[string]any{"amount": float64(30)}, "headers": map[string]any{}}
				for k, v := range want {
					if gotV, _ := json.Marshal(d.Body[k]); string(gotV) != mustJSON(v) {
						t.Errorf("body %s = %s, want %s", k, gotV, mustJSON(v))
					}
				}
				if tasks := e.openTasks(t, inst.ID); len(tasks) != 1 || tasks[0] != "next" {
					t.Fatalf("open tasks %v, want next", tasks)
				}
				vars := instanceVars(t, e, inst.ID)
				if vars["charged"] != true || vars["ref"] != int64(42) {
					t.Fatalf("variables %v, want charged true and ref 42 merged", vars)
				}
			})
			t.Run("BPMNErrorCaughtByABoundaryEvent", func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t)
				e := newEnv(t, b.open(t), "", payModel())
				rc.answerWith(reply(http.StatusUnprocessableEntity, `{"bpmnError":{"code":"DECLINED","message":"card expired","variables":{"reason":"expired"}}}`))
				addHook(t, e, &webhook.Webhook{Topic: "charge", URL: rc.srv.URL, Secret: secret})
				inst := startPay(t, e)
				e.runDue(t, 1)
				if tasks := e.openTasks(t, inst); len(tasks) != 1 || tasks[0] != "review" {
					t.Fatalf("open tasks %v, want review after the caught error", tasks)
				}
				vars := instanceVars(t, e, inst)
				if vars["code"] != "DECLINED" || vars["why"] != "card expired" || vars["reason"] != "expired" {
					t.Fatalf("variables %v, want the error's code, message and variables", vars)
				}
			})
			t.Run("ServerErrorRetriedThenAnIncidentThenRetriedByAPerson", func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t)
				e := newEnv(t, b.open(t), "", payModel())
				rc.answerWith(reply(http.StatusInternalServerError, `bank down`))
				addHook(t, e, &webhook.Webhook{Topic: "charge", URL: rc.srv.URL, Secret: secret})
				inst := startPay(t, e)
				for range 3 {
					e.runDue(t, 1)
					e.runDue(t, 0) // the retry waits for its backoff
					e.clock.add(time.Hour)
				}
				j := e.job(t, inst)
				wantMsg := "webhook " + rc.srv.URL + " answered 500: bank down"
				if j.State != engine.JobFailed || j.Retries != 0 || j.ErrorMessage != wantMsg {
					t.Fatalf("job %s with %d retries and message %q, want failed, 0, %q", j.State, j.Retries, j.ErrorMessage, wantMsg)
				}
				got := rc.deliveries()
				if len(got) != 3 {
					t.Fatalf("%d deliveries, want 3", len(got))
				}
				for i, d := range got {
					if d.IdemKey != got[0].IdemKey || d.Body["attempt"] != float64(i+1) {
						t.Fatalf("delivery %d: key %q attempt %v, want key %q attempt %d", i, d.IdemKey, d.Body["attempt"], got[0].IdemKey, i+1)
					}
				}
				incs, err := e.store.IncidentList(ctx, &engine.IncidentListParams{InstanceID: inst, State: engine.IncidentOpen})
				if err != nil {
					t.Fatal(err)
				}
				if len(incs) != 1 || incs[0].ElementID != "charge" || !strings.Contains(incs[0].Message, wantMsg) {
					t.Fatalf("incidents %+v, want one on charge naming the answer", incs)
				}
				rc.answerWith(reply(http.StatusOK, `{"variables":{"charged":true}}`))
				if err := e.eng.RetryIncident(ctx, incs[0].ID, 1); err != nil {
					t.Fatal(err)
				}
				e.runDue(t, 1)
				if tasks := e.openTasks(t, inst); len(tasks) != 1 || tasks[0] != "next" {
					t.Fatalf("open tasks %v, want next once the receiver recovered", tasks)
				}
			})
			t.Run("TimeoutIsAFailure", func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t)
				e := newEnv(t, b.open(t), "", payModel())
				rc.answerWith(func(w http.ResponseWriter, r *http.Request) {
					<-r.Context().Done() // until Baton gives up
				})
				addHook(t, e, &webhook.Webhook{Topic: "charge", URL: rc.srv.URL, Secret: secret, Timeout: 200 * time.Millisecond})
				inst := startPay(t, e)
				began := time.Now()
				e.runDue(t, 1)
				if d := time.Since(began); d > 5*time.Second {
					t.Fatalf("the delivery took %v, past its 200ms timeout", d)
				}
				j := e.job(t, inst)
				if j.State != engine.JobActive || j.Retries != 2 || !strings.Contains(j.ErrorMessage, "did not answer in time") {
					t.Fatalf("job %s, %d retries, message %q: want a timeout that costs a retry", j.State, j.Retries, j.ErrorMessage)
				}
			})
			t.Run("LinkLocalRefused", func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, b.open(t), "", payModel())
				addHook(t, e, &webhook.Webhook{Topic: "charge", URL: "http://169.254.169.254/latest/meta-data", Secret: secret})
				inst := startPay(t, e)
				e.runDue(t, 1)
				j := e.job(t, inst)
				if !strings.Contains(j.ErrorMessage, "address refused: 169.254.169.254 is link-local") {
					t.Fatalf("job message %q, want the link-local address refused", j.ErrorMessage)
				}
			})
			t.Run("AllowListEnforced", func(t *testing.T) {
				t.Parallel()
				rc := newReceiver(t)
				db := b.open(t)
				e := newEnv(t, db, "10.0.0.0/8, hooks.example.com", payModel())
				addHook(t, e, &webhook.Webhook{Topic: "charge", URL: rc.srv.URL, Secret: secret})
				inst := startPay(t, e)
				e.runDue(t, 1)
				if j := e.job(t, inst); !strings.Contains(j.ErrorMessage, "is not in the webhook allow-list") {
					t.Fatalf("job message %q, want the allow-list to refuse 127.0.0.1", j.ErrorMessage)
				}
				if got := rc.deliveries(); len(got) != 0 {
					t.Fatalf("%d deliveries past the allow-list", len(got))
				}
				// Another node whose allow-list has the receiver delivers.
				allowed := newEnv(t, db, "127.0.0.1/32")
				allowed.clock.add(time.Hour)
				allowed.runDue(t, 1)
				if got := rc.deliveries(); len(got) != 1 {
					t.Fatalf("%d deliveries with the receiver allowed, want 1", len(got))
				}
			})
		})
	}
}

// TestGoHandlerComesFirst: a topic with a Go handler keeps it; its
// webhook is not used (DESIGN.md, "Service-task hooks").
func TestGoHandlerComesFirst(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			e := newEnv(t, b.open(t), "", payModel())
			e.eng.RegisterHandler("charge", func(ctx context.Context, j *engine.Job) (engine.Vars, error) {
				return engine.Vars{"by": "go"}, nil
			})
			addHook(t, e, &webhook.Webhook{Topic: "charge", URL: rc.srv.URL, Secret: secret})
			inst := startPay(t, e)
			e.runDue(t, 0)
			if got := rc.deliveries(); len(got) != 0 {
				t.Fatalf("%d deliveries to the webhook of a topic with a Go handler", len(got))
			}
			if vars := instanceVars(t, e, inst); vars["by"] != "go" {
				t.Fatalf("variables %v, want the Go handler's", vars)
			}
		})
	}
}

// TestWebhookConcurrency runs jobs through a running executor with two
// workers: a webhook of concurrency 1 has one delivery in flight at most,
// one of concurrency 2 has both at once.
func TestWebhookConcurrency(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 2} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			var inFlight, most atomic.Int32
			done := make(chan struct{}, 2)
			rc.answerWith(func(w http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				// Hold the delivery long enough for a second one to overlap.
				select {
				case <-time.After(300 * time.Millisecond):
				case <-r.Context().Done():
				}
				inFlight.Add(-1)
				io.WriteString(w, `{"variables":{"charged":true}}`)
				done <- struct{}{}
			})
			e := newEnv(t, dbtest.SQLite(t), "", payModel())
			addHook(t, e, &webhook.Webhook{Topic: "charge", URL: rc.srv.URL, Secret: secret, Concurrency: limit})
			startPay(t, e)
			startPay(t, e)
			x := e.eng.NewExecutor(engine.ExecutorConfig{Owner: "runner", Workers: 2, Poll: 10 * time.Millisecond})
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			go x.Run(rctx)
			for range 2 {
				select {
				case <-done:
				case <-rctx.Done():
					t.Fatal("the two deliveries did not finish in time")
				}
			}
			if got := most.Load(); got != int32(limit) {
				t.Fatalf("%d deliveries in flight at most, want %d", got, limit)
			}
		})
	}
}

func TestTaskNotifications(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t)
			e := newEnv(t, b.open(t), "", bpmntest.New("leave").Start("s").
				Node("approve", "userTask", bpmntest.Attr("camunda:candidateGroups", "hr"), bpmntest.Attr("camunda:dueDate", "2026-03-05T09:00:00Z")).
				End("e").Chain("s", "approve", "e"),
				bpmntest.New("other").Start("s").Node("file", "userTask").End("e").Chain("s", "file", "e"))
			addHook(t, e, &webhook.Webhook{Events: webhook.Events, ProcessKey: "leave", URL: rc.srv.URL, Secret: secret})
			if _, err := e.eng.Start(ctx, &engine.StartParams{Key: "other"}); err != nil {
				t.Fatal(err)
			}
			inst, err := e.eng.Start(ctx, &engine.StartParams{Key: "leave", BusinessKey: "ann-2026"})
			if err != nil {
				t.Fatal(err)
			}
			e.runDue(t, 1) // task.created; task.overdue waits for the due date
			tasks, err := e.store.UserTaskList(ctx, &engine.UserTaskListParams{InstanceID: inst.ID, OpenOnly: true})
			if err != nil || len(tasks) != 1 {
				t.Fatalf("tasks %v, %v", tasks, err)
			}
			task := tasks[0]
			if err := e.eng.Claim(ctx, task.ID, "hanna"); err != nil {
				t.Fatal(err)
			}
			e.runDue(t, 1)
			e.clock.add(25 * time.Hour)
			e.runDue(t, 1)
			e.runDue(t, 0) // overdue fires once
			if err := e.eng.CompleteUserTask(ctx, task.ID, nil); err != nil {
				t.Fatal(err)
			}
			e.runDue(t, 1)
			got := rc.deliveries()
			var events []string
			keys := map[string]bool{}
			for _, d := range got {
				events = append(events, d.Body["event"].(string))
				keys[d.IdemKey] = true
				tk := d.Body["task"].(map[string]any)
				if tk["id"] != float64(task.ID) || tk["processKey"] != "leave" || tk["businessKey"] != "ann-2026" || tk["name"] == nil ||
					tk["processInstanceId"] != float64(inst.ID) || mustJSON(tk["candidateGroups"]) != `["hr"]` || tk["dueDate"] != "2026-03-05T09:00:00Z" {
					t.Errorf("%s task %v", d.Body["event"], tk)
				}
			}
			if strings.Join(events, " ") != "task.created task.assigned task.overdue task.completed" {
				t.Fatalf("events %v, want created, assigned, overdue, completed of process leave only", events)
			}
			if len(keys) != 4 {
				t.Fatalf("Idempotency-Keys %v, want one per notification", keys)
			}
			if a := got[1].Body["task"].(map[string]any)["assignee"]; a != "hanna" {
				t.Fatalf("assigned notification's assignee %v, want hanna", a)
			}
		})
	}
}

func addHook(t *testing.T, e *env, w *webhook.Webhook) {
	t.Helper()
	w.Enabled = true
	if err := e.svc.Create(ctx, w); err != nil {
		t.Fatal(err)
	}
}

func startPay(t *testing.T, e *env) int64 {
	t.Helper()
	inst, err := e.eng.Start(ctx, &engine.StartParams{Key: "pay", Vars: engine.Vars{"amount": int64(30)}})
	if err != nil {
		t.Fatal(err)
	}
	return inst.ID
}

func instanceVars(t *testing.T, e *env, inst int64) map[string]any {
	t.Helper()
	st, err := e.store.InstanceLive(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, v := range st.Variables {
		out[v.Name] = v.Value
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
