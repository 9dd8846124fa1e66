package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// TestHistoryTraceID: the trace id of a request's traceparent is stored
// with the history rows its command writes and read back by the API, on
// both databases, with tracing off.
func TestHistoryTraceID(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			c := newClient(t, st)
			m := bpmntest.New("traced").Start("s").Node("work", "serviceTask", bpmntest.Topic("traced-work")).End("e").Chain("s", "work", "e")
			if _, err := engine.New(st, engine.Config{}).Deploy(context.Background(), &engine.DeployParams{Resources: []engine.Resource{{Name: "traced.bpmn", Data: m.XML()}}}); err != nil {
				t.Fatal(err)
			}
			const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
			r := c.do("POST", "/api/v1/process-definitions/key/traced/start", "{}", "traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
			want(t, r, http.StatusCreated)
			id := str(r.json(t)["id"])
			evs, _ := items(t, c.do("GET", "/api/v1/process-instances/"+id+"/history", nil))
			if len(evs) == 0 {
				t.Fatal("no history")
			}
			for _, ev := range evs {
				if ev["traceId"] != trace {
					t.Fatalf("history row %v: traceId %v, want %s", ev["type"], ev["traceId"], trace)
				}
			}
			// The external task the start created carries the trace to its worker.
			f := c.do("POST", "/api/v1/external-tasks/fetch-and-lock", `{"workerId":"w","maxTasks":1,"topics":[{"topicName":"traced-work","lockDuration":10000}]}`)
			want(t, f, http.StatusOK)
			var tasks []map[string]any
			if err := json.Unmarshal(f.body, &tasks); err != nil || len(tasks) != 1 {
				t.Fatalf("fetch-and-lock: %s %v", f.body, err)
			}
			if tp, _ := tasks[0]["traceparent"].(string); !strings.HasPrefix(tp, "00-"+trace+"-") {
				t.Errorf("the external task's traceparent is %q, want one of trace %s", tp, trace)
			}
		})
	}
}
