package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
	"github.com/batonbpm/baton/server"
)

// backends are the stores the end-to-end tests run on. PostgreSQL skips
// where none answers, except under CI=true.
var backends = []struct {
	name string
	open func(t *testing.T) *sqlstore.Store
}{
	{"sqlite", func(t *testing.T) *sqlstore.Store { return sqlstore.New(dbtest.SQLite(t)) }},
	{"postgres", func(t *testing.T) *sqlstore.Store { return sqlstore.New(dbtest.Postgres(t)) }},
}

// client talks to one test server.
type client struct {
	t   *testing.T
	url string
	srv *server.Server
}

// newClient serves a Server over st through httptest.
func newClient(t *testing.T, st *sqlstore.Store) *client {
	t.Helper()
	db, dialect, err := server.SQLStoreDB(st)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv, err := server.New(server.Config{Engine: engine.New(st, engine.Config{}), DB: db, Dialect: dialect, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &client{t: t, url: hs.URL, srv: srv}
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body, keeping numbers as json.Number.
func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return m
}

// do sends a request; body is sent as is when it is []byte or string, else as JSON.
func (c *client) do(method, path string, body any, header ...string) *response {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}
}

// want fails unless r has status; for JSON answers it checks the exact Content-Type.
func want(t *testing.T, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if len(r.body) > 0 && (r.body[0] == '{' || r.body[0] == '[') {
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q, want exactly application/json", ct)
		}
	}
}

// wantError checks the one error shape.
func wantError(t *testing.T, r *response, status int, code string) map[string]any {
	t.Helper()
	want(t, r, status)
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok || e["code"] != code || e["message"] == "" {
		t.Fatalf("want error code %q, got %s", code, r.body)
	}
	return e
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// multipartBody returns a multipart body with the files and a name field.
func multipartBody(t *testing.T, name string, files map[string][]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if name != "" {
		w.WriteField("name", name)
	}
	for fn, data := range files {
		fw, err := w.CreateFormFile("file", fn)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func items(t *testing.T, r *response) ([]map[string]any, string) {
	t.Helper()
	m := r.json(t)
	raw, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("no items array: %s", r.body)
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	next, _ := m["next"].(string)
	return out, next
}

func str(v any) string { s, _ := v.(string); return s }

const brokenModel = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:exclusiveGateway id="Gateway_1"/>
    <bpmn:endEvent id="a"/>
    <bpmn:endEvent id="b"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="Gateway_1"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Gateway_1" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Gateway_1" targetRef="b"/>
  </bpmn:process>
</bpmn:definitions>`

// TestAPIEndToEnd drives the examples through the API on every backend:
// deployments, starts, tasks, jobs, incidents, cancel, history, metrics
// and the error shape.
func TestAPIEndToEnd(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			c := newClient(t, st)
			s := &scenario{c: c, store: st}
			for _, step := range s.steps() {
				if !t.Run(step.name, step.fn) {
					t.FailNow()
				}
			}
		})
	}
}

// scenario holds what the steps of TestAPIEndToEnd pass on.
type scenario struct {
	c                   *client
	store               *sqlstore.Store
	orderDef            string
	inst1, inst2, inst3 string
}

// start starts an order and returns its detail.
func (s *scenario) start(t *testing.T, body any, header ...string) map[string]any {
	t.Helper()
	r := s.c.do("POST", "/api/v1/process-definitions/key/order/start", body, header...)
	want(t, r, http.StatusCreated)
	return r.json(t)
}

func (s *scenario) openTask(t *testing.T, inst string) string {
	t.Helper()
	r := s.c.do("GET", "/api/v1/tasks?processInstanceId="+inst, nil)
	want(t, r, http.StatusOK)
	its, _ := items(t, r)
	if len(its) != 1 {
		t.Fatalf("want 1 open task of instance %s, got %s", inst, r.body)
	}
	return str(its[0]["id"])
}

func (s *scenario) job(t *testing.T, inst, state string) map[string]any {
	t.Helper()
	r := s.c.do("GET", "/api/v1/jobs?processInstanceId="+inst+"&state="+state, nil)
	want(t, r, http.StatusOK)
	its, _ := items(t, r)
	if len(its) != 1 {
		t.Fatalf("want 1 %s job of instance %s, got %s", state, inst, r.body)
	}
	return its[0]
}

func (s *scenario) instance(t *testing.T, id string) map[string]any {
	t.Helper()
	r := s.c.do("GET", "/api/v1/process-instances/"+id, nil)
	want(t, r, http.StatusOK)
	return r.json(t)
}

func (s *scenario) steps() []struct {
	name string
	fn   func(t *testing.T)
} {
	c := s.c
	return []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"probes", func(t *testing.T) {
			want(t, c.do("GET", "/healthz", nil), http.StatusOK)
			r := c.do("GET", "/readyz", nil)
			want(t, r, http.StatusOK)
			if r.header.Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id in the response")
			}
		}},
		{"deploy multipart", func(t *testing.T) {
			body, ct := multipartBody(t, "examples", map[string][]byte{
				"order.bpmn": example(t, "order.bpmn"), "parallel-fulfilment.bpmn": example(t, "parallel-fulfilment.bpmn")})
			r := c.do("POST", "/api/v1/deployments", body, "Content-Type", ct)
			want(t, r, http.StatusCreated)
			m := r.json(t)
			defs := m["definitions"].([]any)
			if m["name"] != "examples" || str(m["id"]) == "" || len(defs) != 2 {
				t.Fatalf("deployment %s", r.body)
			}
			for _, d := range defs {
				d := d.(map[string]any)
				if d["version"] != json.Number("1") {
					t.Fatalf("definition %v", d)
				}
				if d["key"] == "order" {
					s.orderDef = str(d["id"])
				}
			}
			if _, ok := m["warnings"].([]any); !ok {
				t.Fatalf("no warnings array: %s", r.body)
			}
		}},
		{"deploy raw XML", func(t *testing.T) {
			r := c.do("POST", "/api/v1/deployments?name=review", example(t, "inclusive-review.bpmn"), "Content-Type", "application/xml")
			want(t, r, http.StatusCreated)
			m := r.json(t)
			d := m["definitions"].([]any)[0].(map[string]any)
			if m["name"] != "review" || d["key"] != "review" || d["resourceName"] != "review.bpmn" {
				t.Fatalf("deployment %s", r.body)
			}
		}},
		{"redeploy identical content", func(t *testing.T) {
			r := c.do("POST", "/api/v1/deployments", example(t, "order.bpmn"), "Content-Type", "text/xml")
			want(t, r, http.StatusOK)
			m := r.json(t)
			d := m["definitions"].([]any)[0].(map[string]any)
			if d["version"] != json.Number("1") || str(d["id"]) != s.orderDef || m["id"] != d["deploymentId"] || m["name"] != "examples" {
				t.Fatalf("identical content made a new version, or the earlier deployment is misnamed: %s", r.body)
			}
			r = c.do("GET", "/api/v1/process-definitions?key=order", nil)
			want(t, r, http.StatusOK)
			if its, _ := items(t, r); len(its) != 1 {
				t.Fatalf("want one version of order: %s", r.body)
			}
			r = c.do("GET", "/api/v1/process-definitions?latest=true", nil)
			want(t, r, http.StatusOK)
			if its, _ := items(t, r); len(its) != 3 {
				t.Fatalf("want three latest definitions: %s", r.body)
			}
			r = c.do("GET", "/api/v1/deployments", nil)
			want(t, r, http.StatusOK)
			if its, _ := items(t, r); len(its) != 2 {
				t.Fatalf("want two deployments: %s", r.body)
			}
		}},
		{"definition XML", func(t *testing.T) {
			r := c.do("GET", "/api/v1/process-definitions/"+s.orderDef+"/xml", nil)
			want(t, r, http.StatusOK)
			if ct := r.header.Get("Content-Type"); ct != "application/xml" || !bytes.Equal(r.body, example(t, "order.bpmn")) {
				t.Fatalf("Content-Type %q, body of %d bytes", ct, len(r.body))
			}
		}},
		{"deploy broken model", func(t *testing.T) {
			r := c.do("POST", "/api/v1/deployments?name=broken.bpmn", []byte(brokenModel), "Content-Type", "application/xml")
			e := wantError(t, r, http.StatusUnprocessableEntity, "invalid_model")
			found := false
			for _, d := range e["details"].([]any) {
				d := d.(map[string]any)
				if d["elementId"] == "Gateway_1" && d["line"] == json.Number("5") && d["resource"] == "broken.bpmn" {
					found = true
				}
			}
			if !found {
				t.Fatalf("no detail names Gateway_1 at line 5: %s", r.body)
			}
		}},
		{"start with variables", func(t *testing.T) {
			m := s.start(t, map[string]any{"variables": map[string]any{"amount": 1500, "customer": "ACME"}, "businessKey": "order-1"},
				"X-Request-Id", "req-start-1")
			s.inst1 = str(m["id"])
			vars := m["variables"].(map[string]any)
			if m["state"] != "active" || m["key"] != "order" || m["version"] != json.Number("1") || m["businessKey"] != "order-1" ||
				vars["amount"] != json.Number("1500") || vars["customer"] != "ACME" {
				t.Fatalf("instance %s", m)
			}
			if !bytes.Contains(mustJSON(t, m), []byte(`"amount":1500`)) {
				t.Fatalf("amount is not kept an integer: %s", m)
			}
			s.inst2 = str(s.start(t, map[string]any{"variables": map[string]any{"amount": 200}})["id"])
			s.inst3 = str(s.start(t, nil)["id"])
		}},
		{"get instance", func(t *testing.T) {
			m := s.instance(t, s.inst1)
			ae := m["activeElements"].([]any)
			if len(ae) != 1 || ae[0] != "Activity_0k4y7dw" || m["definitionId"] != s.orderDef || len(m["incidents"].([]any)) != 0 {
				t.Fatalf("instance %s", mustJSON(t, m))
			}
			r := c.do("GET", "/api/v1/process-instances?key=order&state=active&businessKey=order-1", nil)
			want(t, r, http.StatusOK)
			if its, _ := items(t, r); len(its) != 1 || its[0]["id"] != s.inst1 {
				t.Fatalf("instances %s", r.body)
			}
		}},
		{"list tasks with paging", func(t *testing.T) {
			seen := map[string]bool{}
			after, pages := "", 0
			for {
				r := c.do("GET", "/api/v1/tasks?assignee=demo&limit=1&after="+after, nil)
				want(t, r, http.StatusOK)
				its, next := items(t, r)
				pages++
				for _, it := range its {
					if seen[str(it["id"])] {
						t.Fatalf("task %s listed twice", it["id"])
					}
					seen[str(it["id"])] = true
				}
				if next == "" {
					break
				}
				if pages > 10 {
					t.Fatal("paging does not end")
				}
				after = next
			}
			if len(seen) != 3 || pages != 4 {
				t.Fatalf("%d tasks on %d pages, want 3 on 4 (the last empty)", len(seen), pages)
			}
		}},
		{"complete task twice", func(t *testing.T) {
			task := s.openTask(t, s.inst1)
			r := c.do("GET", "/api/v1/tasks/"+task, nil)
			want(t, r, http.StatusOK)
			if m := r.json(t); m["elementId"] != "Activity_0k4y7dw" || m["assignee"] != "demo" || m["state"] != "created" {
				t.Fatalf("task %s", r.body)
			}
			want(t, c.do("POST", "/api/v1/tasks/"+task+"/complete", map[string]any{"variables": map[string]any{"amount": 500}}), http.StatusNoContent)
			wantError(t, c.do("POST", "/api/v1/tasks/"+task+"/complete", `{}`), http.StatusConflict, "conflict")
			m := s.instance(t, s.inst1)
			if ae := m["activeElements"].([]any); len(ae) != 1 || ae[0] != "Activity_0ti8l3a" {
				t.Fatalf("instance %s", mustJSON(t, m))
			}
		}},
		{"complete job", func(t *testing.T) {
			j := s.job(t, s.inst1, "active")
			if j["topic"] != "charge-card" {
				t.Fatalf("job %v", j)
			}
			want(t, c.do("POST", "/api/v1/jobs/"+str(j["id"])+"/complete", map[string]any{"variables": map[string]any{"charged": true}}), http.StatusNoContent)
			m := s.instance(t, s.inst1)
			vars := m["variables"].(map[string]any)
			if m["state"] != "completed" || m["endedAt"] == nil || vars["amount"] != json.Number("500") || vars["customer"] != "ACME" || vars["charged"] != true {
				t.Fatalf("instance %s", mustJSON(t, m))
			}
		}},
		{"fail job, incident, retry", func(t *testing.T) {
			want(t, c.do("POST", "/api/v1/tasks/"+s.openTask(t, s.inst2)+"/complete", nil), http.StatusNoContent)
			j := s.job(t, s.inst2, "active")
			// A failure with retries left waits retryTimeout before the next attempt.
			wantError(t, c.do("POST", "/api/v1/jobs/"+str(j["id"])+"/fail", map[string]any{"message": "slow", "retries": 1, "retryTimeout": -5}), http.StatusUnprocessableEntity, "invalid")
			want(t, c.do("POST", "/api/v1/jobs/"+str(j["id"])+"/fail", map[string]any{"message": "timeout", "retries": 1, "retryTimeout": 60000}), http.StatusNoContent)
			j = s.job(t, s.inst2, "active")
			due, err := time.Parse(time.RFC3339Nano, str(j["dueAt"]))
			if err != nil || time.Until(due) < 50*time.Second || j["retries"] != json.Number("1") || j["errorMessage"] != "timeout" {
				t.Fatalf("job after a failure with retryTimeout 60 s: %v (due in %v)", j, time.Until(due))
			}
			want(t, c.do("POST", "/api/v1/jobs/"+str(j["id"])+"/fail", map[string]any{"message": "card declined", "details": "gateway said no", "retries": 0}), http.StatusNoContent)
			r := c.do("GET", "/api/v1/incidents?state=open&processInstanceId="+s.inst2, nil)
			want(t, r, http.StatusOK)
			its, _ := items(t, r)
			if len(its) != 1 || its[0]["type"] != engine.IncidentJobNoRetries || its[0]["jobId"] != j["id"] {
				t.Fatalf("incidents %s", r.body)
			}
			m := s.instance(t, s.inst2)
			if m["state"] != "active" || len(m["incidents"].([]any)) != 1 {
				t.Fatalf("instance %s", mustJSON(t, m))
			}
			want(t, c.do("POST", "/api/v1/incidents/"+str(its[0]["id"])+"/retry", map[string]any{"retries": 2}), http.StatusNoContent)
			wantError(t, c.do("POST", "/api/v1/incidents/"+str(its[0]["id"])+"/retry", nil), http.StatusConflict, "conflict")
			j = s.job(t, s.inst2, "active")
			if j["retries"] != json.Number("2") {
				t.Fatalf("job %v", j)
			}
			want(t, c.do("POST", "/api/v1/jobs/"+str(j["id"])+"/complete", nil), http.StatusNoContent)
			if m := s.instance(t, s.inst2); m["state"] != "completed" {
				t.Fatalf("instance %s", mustJSON(t, m))
			}
		}},
		{"BPMN error without a catcher", func(t *testing.T) {
			r := c.do("POST", "/api/v1/process-definitions/key/fulfilment/start", nil)
			want(t, r, http.StatusCreated)
			inst := str(r.json(t)["id"])
			j := s.job(t, inst, "active")
			want(t, c.do("POST", "/api/v1/jobs/"+str(j["id"])+"/bpmn-error", map[string]any{"code": "OUT_OF_STOCK", "message": "none left"}), http.StatusNoContent)
			if m := s.instance(t, inst); len(m["incidents"].([]any)) != 1 {
				t.Fatalf("instance %s", mustJSON(t, m))
			}
			wantError(t, c.do("POST", "/api/v1/jobs/"+str(j["id"])+"/bpmn-error", map[string]any{"code": ""}), http.StatusUnprocessableEntity, "invalid")
		}},
		{"cancel", func(t *testing.T) {
			want(t, c.do("DELETE", "/api/v1/process-instances/"+s.inst3, nil), http.StatusNoContent)
			if m := s.instance(t, s.inst3); m["state"] != "cancelled" || len(m["activeElements"].([]any)) != 0 {
				t.Fatalf("instance %s", mustJSON(t, m))
			}
			wantError(t, c.do("DELETE", "/api/v1/process-instances/"+s.inst3, nil), http.StatusConflict, "conflict")
			r := c.do("GET", "/api/v1/tasks?processInstanceId="+s.inst3, nil)
			want(t, r, http.StatusOK)
			if its, _ := items(t, r); len(its) != 0 {
				t.Fatalf("tasks of a cancelled instance: %s", r.body)
			}
		}},
		{"history carries the request id", func(t *testing.T) {
			r := c.do("GET", "/api/v1/process-instances/"+s.inst1+"/history", nil)
			want(t, r, http.StatusOK)
			its, _ := items(t, r)
			starts, vars := 0, 0
			for _, ev := range its {
				if ev["command"] == "start" {
					if ev["requestId"] != "req-start-1" {
						t.Fatalf("start event without the request id: %v", ev)
					}
					starts++
				}
				if v, ok := ev["variable"].(map[string]any); ok && v["name"] == "amount" && v["new"] == json.Number("500") && v["old"] == json.Number("1500") {
					vars++
				}
			}
			if starts == 0 || vars != 1 {
				t.Fatalf("%d start events, %d amount changes: %s", starts, vars, r.body)
			}
		}},
		{"metrics", func(t *testing.T) {
			r := c.do("GET", "/metrics", nil)
			want(t, r, http.StatusOK)
			for _, line := range []string{
				`baton_instances_started_total{process="order"} 3`,
				`baton_instances_started_total{process="fulfilment"} 1`,
				`baton_instances_completed_total{process="order"} 2`,
				`baton_incidents_total{process="order"} 1`,
				`baton_incidents_total{process="fulfilment"} 1`,
				`baton_command_duration_seconds_count{command="start",outcome="ok"} 4`,
				`baton_command_duration_seconds_count{command="cancel",outcome="error"} 1`,
				`baton_instances_cancelled_total{process="`,
				`baton_http_request_duration_seconds_count{method="POST",route="/api/v1/tasks/:id/complete",status="204"} 2`,
				`go_sql_open_connections{db_name=`,
			} {
				if !bytes.Contains(r.body, []byte(line)) {
					t.Errorf("/metrics lacks %s", line)
				}
			}
		}},
		{"idempotency key", func(t *testing.T) {
			a := c.do("POST", "/api/v1/process-definitions/key/order/start", nil, "Idempotency-Key", "k-1")
			want(t, a, http.StatusCreated)
			b := c.do("POST", "/api/v1/process-definitions/key/order/start", nil, "Idempotency-Key", "k-1")
			want(t, b, http.StatusOK)
			if a.json(t)["id"] != b.json(t)["id"] || b.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("same key, two instances or no replay header: %s %s %v", a.body, b.body, b.header)
			}
			// The key is stored with the instance: another node (a new
			// engine and server on the same database) knows it too.
			other := newClient(t, s.store)
			r := other.do("POST", "/api/v1/process-definitions/key/order/start", nil, "Idempotency-Key", "k-1")
			want(t, r, http.StatusOK)
			if r.json(t)["id"] != a.json(t)["id"] {
				t.Fatalf("another node started a second instance for key k-1: %s, first %s", r.body, a.body)
			}
		}},
		{"not found", func(t *testing.T) {
			for _, p := range []string{"/api/v1/process-instances/999999999", "/api/v1/process-instances/abc",
				"/api/v1/process-instances/abc/history", "/api/v1/tasks/12x", "/api/v1/process-definitions/0/xml", "/api/v1/nothing-here"} {
				wantError(t, c.do("GET", p, nil), http.StatusNotFound, "not_found")
			}
			wantError(t, c.do("POST", "/api/v1/tasks/abc/complete", nil), http.StatusNotFound, "not_found")
			wantError(t, c.do("POST", "/api/v1/jobs/424242/complete", nil), http.StatusNotFound, "not_found")
			wantError(t, c.do("POST", "/api/v1/process-definitions/key/nope/start", nil), http.StatusNotFound, "not_found")
			wantError(t, c.do("PUT", "/api/v1/tasks", nil), http.StatusMethodNotAllowed, "method_not_allowed")
		}},
		{"bad requests", func(t *testing.T) {
			wantError(t, c.do("POST", "/api/v1/process-definitions/key/order/start", `{"variables":`), http.StatusBadRequest, "bad_request")
			wantError(t, c.do("POST", "/api/v1/process-definitions/key/order/start", `{"variables":[1]}`), http.StatusBadRequest, "bad_request")
			wantError(t, c.do("GET", "/api/v1/tasks?after=nonsense", nil), http.StatusUnprocessableEntity, "invalid")
			wantError(t, c.do("GET", "/api/v1/tasks?limit=0", nil), http.StatusUnprocessableEntity, "invalid")
			wantError(t, c.do("GET", "/api/v1/jobs?state=sleeping", nil), http.StatusUnprocessableEntity, "invalid")
			wantError(t, c.do("POST", "/api/v1/deployments", `{}`), http.StatusUnsupportedMediaType, "unsupported_media_type")
		}},
		{"bad variable type", func(t *testing.T) {
			// A condition that meets a string where it needs a boolean.
			r := c.do("POST", "/api/v1/process-definitions/key/review/start", map[string]any{"variables": map[string]any{"needsLegal": "yes", "needsFinance": false}})
			wantError(t, r, http.StatusUnprocessableEntity, "invalid")
			// A number JSON has but the engine does not.
			r = c.do("POST", "/api/v1/process-definitions/key/order/start", `{"variables":{"amount":1e999}}`)
			e := wantError(t, r, http.StatusUnprocessableEntity, "invalid")
			if d := e["details"].([]any)[0].(map[string]any); d["field"] != "variable amount" {
				t.Fatalf("details %v", e)
			}
		}},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInstanceTokensAndPath checks what the UI draws on an instance's
// diagram: the tokens per active element (three inner instances of a
// parallel multi-instance task, its body not counted) and the elements
// completed so far, in order of their first completion.
func TestInstanceTokensAndPath(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("tokens").Start("s").
		Node("fork", "parallelGateway").
		Node("review", "userTask", bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics camunda:collection="${reviewers}" camunda:elementVariable="reviewer"/>`)).
		Node("check", "userTask").
		Node("join", "parallelGateway").
		End("e").
		Chain("s", "fork", "review", "join", "e").Chain("fork", "check", "join")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, b.open(t))
			r := c.do("POST", "/api/v1/deployments", model.XML(), "Content-Type", "application/xml")
			want(t, r, http.StatusCreated)
			r = c.do("POST", "/api/v1/process-definitions/key/tokens/start", `{"variables":{"reviewers":["ann","bob","cy"]}}`)
			want(t, r, http.StatusCreated)
			inst := str(r.json(t)["id"])
			detail := func(t *testing.T) (active, completed string, tokens map[string]any) {
				t.Helper()
				r := c.do("GET", "/api/v1/process-instances/"+inst, nil)
				want(t, r, http.StatusOK)
				m := r.json(t)
				tokens, ok := m["activeTokens"].(map[string]any)
				ae, ok2 := m["activeElements"].([]any)
				ce, ok3 := m["completedElements"].([]any)
				if !ok || !ok2 || !ok3 {
					t.Fatalf("instance %s", r.body)
				}
				return fmt.Sprint(ae), fmt.Sprint(ce), tokens
			}
			tasks := func(elementID string) []string {
				t.Helper()
				list, _ := items(t, c.do("GET", "/api/v1/tasks?processInstanceId="+inst, nil))
				var ids []string
				for _, tk := range list {
					if tk["elementId"] == elementID {
						ids = append(ids, str(tk["id"]))
					}
				}
				return ids
			}

			active, completed, tokens := detail(t)
			if active != "[review check]" || completed != "[s fork]" || len(tokens) != 2 ||
				tokens["review"] != json.Number("3") || tokens["check"] != json.Number("1") {
				t.Fatalf("after start: active %s, completed %s, tokens %v", active, completed, tokens)
			}
			// One review done: review has completed once and has two tokens left.
			want(t, c.do("POST", "/api/v1/tasks/"+tasks("review")[0]+"/complete", nil), http.StatusNoContent)
			active, completed, tokens = detail(t)
			if active != "[review check]" || completed != "[s fork review]" || tokens["review"] != json.Number("2") || tokens["check"] != json.Number("1") {
				t.Fatalf("after one review: active %s, completed %s, tokens %v", active, completed, tokens)
			}
			want(t, c.do("POST", "/api/v1/tasks/"+tasks("check")[0]+"/complete", nil), http.StatusNoContent)
			for _, id := range tasks("review") {
				want(t, c.do("POST", "/api/v1/tasks/"+id+"/complete", nil), http.StatusNoContent)
			}
			active, completed, tokens = detail(t)
			if active != "[]" || completed != "[s fork review check join e]" || len(tokens) != 0 {
				t.Fatalf("after the end: active %s, completed %s, tokens %v", active, completed, tokens)
			}
		})
	}
}
