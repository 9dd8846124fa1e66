package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
)

// TestMessagesAndSignals drives message correlation and signal broadcast
// through the API on every backend.
func TestMessagesAndSignals(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("pay").Message("m", "paid", "=orderId").Signal("sig", "stop").Start("s").
		Node("wait", "intermediateCatchEvent", bpmntest.MessageRef("m")).Node("halt", "intermediateCatchEvent", bpmntest.SignalRef("sig")).
		End("e").Chain("s", "wait", "halt", "e").XML()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, b.open(t))
			want(t, c.do("POST", "/api/v1/deployments", model, "Content-Type", "application/xml"), http.StatusCreated)
			start := func(order any) string {
				r := c.do("POST", "/api/v1/process-definitions/key/pay/start", map[string]any{"variables": map[string]any{"orderId": order}})
				want(t, r, http.StatusCreated)
				return str(r.json(t)["id"])
			}
			a, b := start("o-1"), start(42)

			e := wantError(t, c.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "correlationKey": "o-9"}), http.StatusNotFound, "not_found")
			if msg := str(e["message"]); msg == "" {
				t.Fatal("404 without a message")
			}
			wantError(t, c.do("POST", "/api/v1/messages", map[string]any{"correlationKey": "o-1"}), http.StatusUnprocessableEntity, "invalid")
			wantError(t, c.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "ttl": "P1Y"}), http.StatusUnprocessableEntity, "invalid")
			wantError(t, c.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "correlationKey": []int{1}}), http.StatusUnprocessableEntity, "invalid")

			r := c.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "correlationKey": "o-1", "messageId": "m-1", "variables": map[string]any{"amount": 10}})
			want(t, r, http.StatusOK)
			if got := r.json(t); str(got["processInstanceId"]) != a || str(got["elementId"]) != "wait" || got["started"] != false {
				t.Fatalf("result %s, want instance %s at wait", r.body, a)
			}
			wantError(t, c.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "correlationKey": "o-1", "messageId": "m-1"}), http.StatusConflict, "conflict")
			// A number as correlation key; a message buffered for later.
			want(t, c.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "correlationKey": 42}), http.StatusOK)
			r = c.do("POST", "/api/v1/messages", map[string]any{"name": "paid", "correlationKey": "o-3", "ttl": "PT1H",
				"variables": map[string]any{"amount": 12.5, "lines": []any{map[string]any{"sku": "A", "qty": 2}}}})
			want(t, r, http.StatusOK)
			if r.json(t)["buffered"] != true {
				t.Fatalf("result %s, want buffered", r.body)
			}
			third := start("o-3")
			r = c.do("GET", "/api/v1/process-instances/"+third, nil)
			want(t, r, http.StatusOK)
			if v := r.json(t)["variables"].(map[string]any); v["amount"] != json.Number("12.5") || v["lines"] == nil {
				t.Fatalf("the buffered message's variables did not arrive: %s", r.body)
			}

			r = c.do("POST", "/api/v1/signals", map[string]any{"name": "stop"})
			want(t, r, http.StatusOK)
			if got := r.json(t); got["triggered"] != json.Number("3") || got["started"] != json.Number("0") {
				t.Fatalf("signal result %s, want 3 triggered", r.body)
			}
			for _, id := range []string{a, b, third} {
				r := c.do("GET", "/api/v1/process-instances/"+id, nil)
				want(t, r, http.StatusOK)
				if st := str(r.json(t)["state"]); st != "completed" {
					t.Fatalf("instance %s is %s, want completed: %s", id, st, r.body)
				}
			}
			wantError(t, c.do("POST", "/api/v1/signals", map[string]any{}), http.StatusUnprocessableEntity, "invalid")
		})
	}
}
