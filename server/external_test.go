package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// externalModel is a payment with an external service task "charge" of
// topic charge (priority from the variable prio) whose BPMN error
// CARD_DECLINED a boundary event catches, leading to a user task "call".
var externalModel = bpmntest.New("pay").Error("Declined", "CARD_DECLINED").Start("s").
	Node("charge", "serviceTask", bpmntest.Topic("charge"), bpmntest.Attr("camunda:taskPriority", "${prio}")).
	End("e").Chain("s", "charge", "e").
	Node("declined", "boundaryEvent", bpmntest.Boundary("charge", true), bpmntest.ErrorRef("Declined")).
	Node("call", "userTask").Chain("declined", "call")

// externalEnv deploys externalModel on env and returns a function that
// starts an instance with variables.
func externalEnv(t *testing.T, env *authEnv) func(vs engine.Vars) *engine.Instance {
	t.Helper()
	ctx := context.Background()
	if _, err := env.eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "pay.bpmn", Data: externalModel.XML()}}}); err != nil {
		t.Fatal(err)
	}
	return func(vs engine.Vars) *engine.Instance {
		t.Helper()
		if vs == nil {
			vs = engine.Vars{}
		}
		if _, ok := vs["prio"]; !ok {
			vs["prio"] = int64(0)
		}
		inst, err := env.eng.Start(ctx, &engine.StartParams{Key: "pay", BusinessKey: "order-1", Vars: vs})
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
}

// fetched decodes a fetch-and-lock answer.
func fetched(t *testing.T, r *response) []map[string]any {
	t.Helper()
	want(t, r, http.StatusOK)
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil || out == nil {
		t.Fatalf("fetch-and-lock answered %s, want a JSON array: %v", r.body, err)
	}
	return out
}

func fetchBody(worker string, max int, lockMS int64, extra string) string {
	return fmt.Sprintf(`{"workerId":%q,"maxTasks":%d%s,"topics":[{"topicName":"charge","lockDuration":%d}]}`, worker, max, extra, lockMS)
}

func TestExternalTasksAPI(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		dev := as("developer")
		start := externalEnv(t, env)
		inst := start(engine.Vars{"amount": int64(42), "currency": "EUR", "prio": int64(7)})

		t.Run("FetchShowsTheTaskAndItsVariables", func(t *testing.T) {
			got := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock",
				`{"workerId":"w1","maxTasks":5,"topics":[{"topicName":"charge","lockDuration":60000,"variables":["amount"]}]}`, dev...))
			if len(got) != 1 {
				t.Fatalf("fetched %d tasks, want 1", len(got))
			}
			task := got[0]
			lockUntil, err := time.Parse(time.RFC3339Nano, str(task["lockExpirationTime"]))
			if err != nil || lockUntil.Before(time.Now().Add(50*time.Second)) {
				t.Errorf("lockExpirationTime %v (%v), want about a minute from now", task["lockExpirationTime"], err)
			}
			for k, v := range map[string]any{"topicName": "charge", "workerId": "w1", "processInstanceId": fmt.Sprint(inst.ID),
				"activityId": "charge", "businessKey": "order-1", "processDefinitionKey": "pay", "priority": 7.0, "retries": 3.0} {
				if task[k] != v {
					t.Errorf("%s = %#v, want %#v", k, task[k], v)
				}
			}
			if vs, _ := task["variables"].(map[string]any); len(vs) != 1 || vs["amount"] != 42.0 {
				t.Errorf("variables %v, want only amount 42", task["variables"])
			}
			if str(task["id"]) == "" || str(task["createTime"]) == "" {
				t.Errorf("task without id or createTime: %v", task)
			}
			id := str(task["id"])

			// Another worker: 409 naming the holder, and nothing changes.
			r := env.do("POST", "/api/v1/external-tasks/"+id+"/complete", `{"workerId":"w2","variables":{"paid":true}}`, dev...)
			e := wantError(t, r, http.StatusConflict, "conflict")
			if msg := str(e["message"]); !strings.Contains(msg, `"w1"`) {
				t.Errorf("409 message %q does not name the lock's holder w1", msg)
			}
			listed, _ := items(t, env.do("GET", "/api/v1/external-tasks?workerId=w1", nil, dev...))
			if len(listed) != 1 || str(listed[0]["id"]) != id {
				t.Fatalf("tasks w1 holds after the refused completion: %v", listed)
			}
			// Extend, then unlock: w2 fetches it.
			want(t, env.do("POST", "/api/v1/external-tasks/"+id+"/extend-lock", `{"workerId":"w1","newDuration":120000}`, dev...), http.StatusNoContent)
			wantError(t, env.do("POST", "/api/v1/external-tasks/"+id+"/extend-lock", `{"workerId":"w2","newDuration":120000}`, dev...), http.StatusConflict, "conflict")
			want(t, env.do("POST", "/api/v1/external-tasks/"+id+"/unlock", nil, dev...), http.StatusNoContent)
			notLocked, _ := items(t, env.do("GET", "/api/v1/external-tasks?notLocked=true&topicName=charge", nil, dev...))
			if len(notLocked) != 1 || notLocked[0]["workerId"] != nil {
				t.Fatalf("not locked after unlock: %v", notLocked)
			}
			again := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w2", 1, 60000, ""), dev...))
			if len(again) != 1 || str(again[0]["id"]) != id || again[0]["workerId"] != "w2" {
				t.Fatalf("fetch by w2 after unlock: %v", again)
			}
			if vs, _ := again[0]["variables"].(map[string]any); len(vs) != 3 {
				t.Errorf("variables without a list: %v, want all three", again[0]["variables"])
			}
			want(t, env.do("POST", "/api/v1/external-tasks/"+id+"/complete", `{"workerId":"w2","variables":{"paid":true},"localVariables":{"receipt":"r-1"}}`, dev...), http.StatusNoContent)
			r = env.do("GET", fmt.Sprintf("/api/v1/process-instances/%d", inst.ID), nil, as("admin")...)
			want(t, r, http.StatusOK)
			if st := r.json(t)["state"]; st != "completed" {
				t.Fatalf("instance %v after completion", st)
			}
		})

		t.Run("ExpiredLockIs409", func(t *testing.T) {
			start(nil)
			got := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 50, ""), dev...))
			if len(got) != 1 {
				t.Fatalf("fetched %v", got)
			}
			until, err := time.Parse(time.RFC3339Nano, str(got[0]["lockExpirationTime"]))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Until(until) + 10*time.Millisecond) // the lock's own expiry, read from the answer
			e := wantError(t, env.do("POST", "/api/v1/external-tasks/"+str(got[0]["id"])+"/complete", `{"workerId":"w1"}`, dev...), http.StatusConflict, "conflict")
			if !strings.Contains(str(e["message"]), "expired") {
				t.Errorf("409 message %q does not say the lock expired", e["message"])
			}
			want(t, env.do("POST", "/api/v1/external-tasks/"+str(got[0]["id"])+"/unlock", nil, dev...), http.StatusNoContent)
		})

		t.Run("FailureRetriesThenIncident", func(t *testing.T) {
			got := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, ""), dev...))
			if len(got) != 1 {
				t.Fatalf("fetched %v", got)
			}
			id := str(got[0]["id"])
			invalidField(t, env.do("POST", "/api/v1/external-tasks/"+id+"/failure", `{"workerId":"w1","errorMessage":"down"}`, dev...), "retries")
			want(t, env.do("POST", "/api/v1/external-tasks/"+id+"/failure",
				`{"workerId":"w1","errorMessage":"card service down","errorDetails":"trace","retries":1,"retryTimeout":0}`, dev...), http.StatusNoContent)
			again := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, ""), dev...))
			if len(again) != 1 || str(again[0]["id"]) != id || again[0]["errorMessage"] != "card service down" || again[0]["retries"] != 1.0 {
				t.Fatalf("fetch after a failure with a retry left: %v", again)
			}
			want(t, env.do("POST", "/api/v1/external-tasks/"+id+"/failure", `{"workerId":"w1","errorMessage":"still down","retries":0}`, dev...), http.StatusNoContent)
			if none := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, ""), dev...)); len(none) != 0 {
				t.Fatalf("fetched a task with no retries: %v", none)
			}
			left, _ := items(t, env.do("GET", "/api/v1/external-tasks?withRetriesLeft=true", nil, dev...))
			if len(left) != 0 {
				t.Fatalf("with retries left: %v", left)
			}
			incs, _ := items(t, env.do("GET", "/api/v1/incidents?state=open", nil, dev...))
			if len(incs) != 1 || str(incs[0]["jobId"]) != id {
				t.Fatalf("incidents %v", incs)
			}
			want(t, env.do("POST", "/api/v1/incidents/"+str(incs[0]["id"])+"/retry", `{"retries":1}`, as("admin")...), http.StatusNoContent)
			back := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, ""), dev...))
			if len(back) != 1 || str(back[0]["id"]) != id {
				t.Fatalf("fetch after the incident's retry: %v", back)
			}
			want(t, env.do("POST", "/api/v1/external-tasks/"+id+"/complete", `{"workerId":"w1"}`, dev...), http.StatusNoContent)
		})

		t.Run("BPMNErrorIsCaught", func(t *testing.T) {
			caught := start(nil)
			got := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, ""), dev...))
			if len(got) != 1 {
				t.Fatalf("fetched %v", got)
			}
			id := str(got[0]["id"])
			invalidField(t, env.do("POST", "/api/v1/external-tasks/"+id+"/bpmn-error", `{"workerId":"w1"}`, dev...), "errorCode")
			want(t, env.do("POST", "/api/v1/external-tasks/"+id+"/bpmn-error",
				`{"workerId":"w1","errorCode":"CARD_DECLINED","errorMessage":"insufficient funds","variables":{"reason":"funds"}}`, dev...), http.StatusNoContent)
			tasks, _ := items(t, env.do("GET", fmt.Sprintf("/api/v1/tasks?processInstanceId=%d", caught.ID), nil, as("admin")...))
			if len(tasks) != 1 || tasks[0]["elementId"] != "call" {
				t.Fatalf("user tasks after the error: %v", tasks)
			}
		})

		t.Run("PriorityOrder", func(t *testing.T) {
			for _, p := range []int64{2, 9, 5} {
				start(engine.Vars{"prio": p})
			}
			got := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 3, 60000, `,"usePriority":true`), dev...))
			var prios []any
			for _, task := range got {
				prios = append(prios, task["priority"])
			}
			if fmt.Sprint(prios) != "[9 5 2]" {
				t.Fatalf("priorities %v, want [9 5 2]", prios)
			}
			for _, task := range got {
				want(t, env.do("POST", "/api/v1/external-tasks/"+str(task["id"])+"/complete", `{"workerId":"w1"}`, dev...), http.StatusNoContent)
			}
		})

		t.Run("BadInputAndUnknownIDs", func(t *testing.T) {
			post := func(body string) *response {
				return env.do("POST", "/api/v1/external-tasks/fetch-and-lock", body, dev...)
			}
			invalidField(t, post(`{"maxTasks":1,"topics":[{"topicName":"charge","lockDuration":1000}]}`), "workerId")
			invalidField(t, post(`{"workerId":"w","topics":[{"topicName":"charge","lockDuration":1000}]}`), "maxTasks")
			invalidField(t, post(`{"workerId":"w","maxTasks":1}`), "topics")
			invalidField(t, post(`{"workerId":"w","maxTasks":1,"topics":[{"topicName":"charge"}]}`), "topics[0].lockDuration")
			invalidField(t, post(`{"workerId":"w","maxTasks":1,"topics":[{"lockDuration":1000}]}`), "topics[0].topicName")
			invalidField(t, post(`{"workerId":"w","maxTasks":1,"asyncResponseTimeout":1800001,"topics":[{"topicName":"charge","lockDuration":1000}]}`), "asyncResponseTimeout")
			wantError(t, post(`{"workerId":`), http.StatusBadRequest, "bad_request")
			invalidField(t, post(`{"workerId":"w","maxTasks":1,"sorting":[{"sortBy":"priority"}],"topics":[{"topicName":"charge","lockDuration":1000}]}`), "sorting[0].sortBy")
			invalidField(t, post(`{"workerId":"w","maxTasks":1,"sorting":[{"sortBy":"createTime","sortOrder":"up"}],"topics":[{"topicName":"charge","lockDuration":1000}]}`), "sorting[0].sortOrder")
			invalidField(t, env.do("POST", "/api/v1/external-tasks/1/extend-lock", `{"workerId":"w","newDuration":0}`, dev...), "newDuration")
			invalidField(t, env.do("GET", "/api/v1/external-tasks?locked=maybe", nil, dev...), "locked")
			for _, path := range []string{"/complete", "/failure", "/bpmn-error", "/extend-lock", "/unlock"} {
				body := `{"workerId":"w","retries":1,"errorCode":"E","newDuration":1000}`
				wantError(t, env.do("POST", "/api/v1/external-tasks/987654321"+path, body, dev...), http.StatusNotFound, "not_found")
				wantError(t, env.do("POST", "/api/v1/external-tasks/nope"+path, body, dev...), http.StatusNotFound, "not_found")
			}
		})
	})
}

func TestExternalTasksLongPoll(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			// The long polls never look again by themselves (an hourly
			// re-check): only a wake-up answers them early.
			testExternalTasksLongPoll(t, buildAuthEnv(t, context.Background(), b.open(t), engine.Config{FetchRecheck: time.Hour}))
		})
	}
}

func testExternalTasksLongPoll(t *testing.T, env *authEnv) {
	dev := as("developer")
	start := externalEnv(t, env)

	t.Run("AnswersWhenWorkArrives", func(t *testing.T) {
		// Warm up: a first fetch and completion on the fresh schema
		// (PostgreSQL prepares its statements) is not what is measured.
		start(nil)
		warm := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, ""), dev...))
		if len(warm) != 1 {
			t.Fatalf("warm-up fetched %v", warm)
		}
		want(t, env.do("POST", "/api/v1/external-tasks/"+str(warm[0]["id"])+"/complete", `{"workerId":"w1"}`, dev...), http.StatusNoContent)
		type answer struct {
			r  *response
			at time.Time
		}
		done := make(chan answer, 1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, `,"asyncResponseTimeout":20000`), dev...)
			done <- answer{r, time.Now()}
		}()
		defer wg.Wait()
		time.Sleep(300 * time.Millisecond) // let the poll find nothing and wait
		inst := start(nil)
		started := time.Now()
		select {
		case a := <-done:
			got := fetched(t, a.r)
			if len(got) != 1 || str(got[0]["processInstanceId"]) != fmt.Sprint(inst.ID) {
				t.Fatalf("long poll answered %v", got)
			}
			t.Logf("long poll answered %s after the start", a.at.Sub(started))
		case <-time.After(10 * time.Second):
			t.Fatal("long poll did not answer within 10 s of the start: nothing woke it (it re-checks only hourly)")
		}
	})

	t.Run("AnswersEmptyAfterTheTimeout", func(t *testing.T) {
		began := time.Now()
		got := fetched(t, env.do("POST", "/api/v1/external-tasks/fetch-and-lock", fetchBody("w1", 1, 60000, `,"asyncResponseTimeout":300`), dev...))
		if took := time.Since(began); len(got) != 0 || took < 300*time.Millisecond || took > 3*time.Second {
			t.Fatalf("answered %v after %s, want [] after 300 ms", got, took)
		}
	})
}
