package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

const invoiceForm = `{
  "id": "invoice", "type": "default",
  "components": [
    {"type": "textfield", "key": "vendor", "label": "Vendor", "validate": {"required": true, "maxLength": 10}},
    {"type": "number", "key": "amount", "validate": {"min": 1, "max": 1000}},
    {"type": "select", "key": "decision", "values": [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}], "validate": {"required": true}},
    {"type": "textfield", "key": "ref", "readonly": true}
  ]
}`

// TestTaskCamundaForms deploys a model and a Camunda Form together, shows
// the form of a task that links to it with camunda:formRef, and completes
// the task with bad values (422 naming the key, nothing changes) and good ones.
func TestTaskCamundaForms(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		model := bpmntest.New("invoice").Start("s").
			Node("approve", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales"),
				bpmntest.Attr("camunda:formRef", "invoice"), bpmntest.Attr("camunda:formRefBinding", "deployment")).
			End("e").Chain("s", "approve", "e")

		// Not a form: 422 naming the file, and nothing is deployed.
		body, ct := multipartBody(t, "bad", map[string][]byte{"invoice.bpmn": model.XML(), "broken.form": []byte(`{"id":"x"}`)})
		e := wantError(t, env.do("POST", "/api/v1/deployments", body, append([]string{"Content-Type", ct}, as("analyst")...)...), http.StatusUnprocessableEntity, "invalid_model")
		if !strings.Contains(string(mustJSON(t, e)), "broken.form") {
			t.Errorf("error %v does not name broken.form", e)
		}

		body, ct = multipartBody(t, "invoices", map[string][]byte{"invoice.bpmn": model.XML(), "invoice.form": []byte(invoiceForm)})
		r := env.do("POST", "/api/v1/deployments", body, append([]string{"Content-Type", ct}, as("analyst")...)...)
		want(t, r, http.StatusCreated)
		forms, _ := r.json(t)["forms"].([]any)
		if len(forms) != 1 || forms[0].(map[string]any)["formId"] != "invoice" || fmt.Sprint(forms[0].(map[string]any)["version"]) != "1" {
			t.Fatalf("deployment %s", r.body)
		}
		// The same form alone again is nothing new.
		body, ct = multipartBody(t, "", map[string][]byte{"invoice.form": []byte(invoiceForm)})
		want(t, env.do("POST", "/api/v1/deployments", body, append([]string{"Content-Type", ct}, as("analyst")...)...), http.StatusOK)

		r = env.do("POST", "/api/v1/process-definitions/key/invoice/start", `{"variables":{"ref":"R-1"}}`, as("analyst")...)
		want(t, r, http.StatusCreated)
		inst := str(r.json(t)["id"])
		list, _ := items(t, env.do("GET", "/api/v1/tasks?processInstanceId="+inst, nil, as("sam")...))
		if len(list) != 1 {
			t.Fatalf("sam sees %v", list)
		}
		base := "/api/v1/tasks/" + str(list[0]["id"])

		r = env.do("GET", base+"/form", nil, as("sam")...)
		want(t, r, http.StatusOK)
		v := r.json(t)
		schema, _ := v["schema"].(map[string]any)
		values, _ := v["values"].(map[string]any)
		if v["formId"] != "invoice" || fmt.Sprint(v["formVersion"]) != "1" || schema["id"] != "invoice" || len(schema["components"].([]any)) != 4 || values["ref"] != "R-1" {
			t.Fatalf("form %s", r.body)
		}

		for body, key := range map[string]string{
			`{"variables":{"vendor":"ACME","amount":5000,"decision":"yes"}}`:  "amount",
			`{"variables":{"vendor":"ACME","amount":5,"decision":"maybe"}}`:   "decision",
			`{"variables":{"amount":5,"decision":"no"}}`:                      "vendor",
			`{"variables":{"vendor":"ACME Corporation","decision":"no"}}`:     "vendor",
			`{"variables":{"vendor":"ACME","decision":"no","ref":"R-2"}}`:     "ref",
			`{"variables":{"vendor":"ACME","amount":"lots","decision":"no"}}`: "amount",
		} {
			e := wantError(t, env.do("POST", base+"/complete", body, as("sam")...), http.StatusUnprocessableEntity, "invalid")
			details := string(mustJSON(t, e))
			if !strings.Contains(details, `"field":"`+key+`"`) {
				t.Errorf("%s: error %s does not name %s", body, details, key)
			}
		}
		if tv := taskJSON(t, env, str(list[0]["id"])); tv["state"] != "created" || tv["assignee"] != "" {
			t.Fatalf("after refused completions the task is %v", tv)
		}
		r = env.do("GET", "/api/v1/process-instances/"+inst, nil, as("admin")...)
		if strings.Contains(string(r.body), "ACME") {
			t.Fatalf("a refused completion wrote variables: %s", r.body)
		}

		want(t, env.do("POST", base+"/complete", `{"variables":{"vendor":"ACME","amount":50,"decision":"yes","ref":"R-1"}}`, as("sam")...), http.StatusNoContent)
		r = env.do("GET", "/api/v1/process-instances/"+inst, nil, as("admin")...)
		want(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), "ACME") || !strings.Contains(string(r.body), `"completed"`) {
			t.Errorf("instance after completion: %s", r.body)
		}
	})
}

const orderStartForm = `{
  "id": "order-start", "type": "default",
  "components": [
    {"type": "textfield", "key": "customer", "label": "Customer", "validate": {"required": true}},
    {"type": "number", "key": "amount", "validate": {"min": 1, "max": 1000}},
    {"type": "select", "key": "priority", "values": [{"label": "High", "value": "high"}, {"label": "Low", "value": "low"}]}
  ]
}`

// TestStartForms shows the start form of a process whose start event links
// to a Camunda Form deployed beside it, of a version given and of processes
// with a camunda:formData start form or none, and starts with bad values
// (422 naming the key, no instance) and good ones.
func TestStartForms(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		model := bpmntest.New("purchase").
			Start("s", bpmntest.Attr("camunda:formRef", "order-start"), bpmntest.Attr("camunda:formRefBinding", "deployment")).
			Node("approve", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales")).
			End("e").Chain("s", "approve", "e")
		body, ct := multipartBody(t, "purchases", map[string][]byte{"purchase.bpmn": model.XML(), "order-start.form": []byte(orderStartForm)})
		r := env.do("POST", "/api/v1/deployments", body, append([]string{"Content-Type", ct}, as("analyst")...)...)
		want(t, r, http.StatusCreated)
		def := str(r.json(t)["definitions"].([]any)[0].(map[string]any)["id"])

		for _, who := range []string{"analyst", "developer", "auditor", "admin"} {
			r = env.do("GET", "/api/v1/process-definitions/key/purchase/start-form", nil, as(who)...)
			want(t, r, http.StatusOK)
			v := r.json(t)
			schema, _ := v["schema"].(map[string]any)
			fields, ok := v["fields"].([]any)
			if v["definitionId"] != def || v["key"] != "purchase" || fmt.Sprint(v["version"]) != "1" || !ok || len(fields) != 0 ||
				v["formId"] != "order-start" || fmt.Sprint(v["formVersion"]) != "1" || schema["id"] != "order-start" || len(schema["components"].([]any)) != 3 {
				t.Fatalf("start form as %s: %s", who, r.body)
			}
		}
		for _, who := range []string{"staff", "sam", "stranger"} {
			wantError(t, env.do("GET", "/api/v1/process-definitions/key/purchase/start-form", nil, as(who)...), http.StatusForbidden, "forbidden")
		}
		wantError(t, env.do("GET", "/api/v1/process-definitions/key/nope/start-form", nil, as("analyst")...), http.StatusNotFound, "not_found")
		wantError(t, env.do("GET", "/api/v1/process-definitions/key/purchase/start-form?version=2", nil, as("analyst")...), http.StatusNotFound, "not_found")
		invalidField(t, env.do("GET", "/api/v1/process-definitions/key/purchase/start-form?version=x", nil, as("analyst")...), "version")

		// Bad start values: 422 naming the component's key, and no instance.
		start := "/api/v1/process-definitions/key/purchase/start"
		for body, key := range map[string]string{
			`{"variables":{"amount":5}}`:                                       "customer",
			`{"variables":{"customer":"","amount":5}}`:                         "customer",
			`{"variables":{"customer":"ACME","amount":5000}}`:                  "amount",
			`{"variables":{"customer":"ACME","amount":"lots"}}`:                "amount",
			`{"variables":{"customer":"ACME","amount":5,"priority":"urgent"}}`: "priority",
		} {
			e := wantError(t, env.do("POST", start, body, as("analyst")...), http.StatusUnprocessableEntity, "invalid")
			if details := string(mustJSON(t, e)); !strings.Contains(details, `"field":"`+key+`"`) {
				t.Errorf("%s: error %s does not name %s", body, details, key)
			}
		}
		if list, _ := items(t, env.do("GET", "/api/v1/process-instances?key=purchase", nil, as("admin")...)); len(list) != 0 {
			t.Fatalf("refused starts created instances: %v", list)
		}
		r = env.do("POST", start, `{"variables":{"customer":"ACME","amount":500,"priority":"high"}}`, as("developer")...)
		want(t, r, http.StatusCreated)
		if vars := r.json(t)["variables"].(map[string]any); vars["customer"] != "ACME" || fmt.Sprint(vars["amount"]) != "500" || vars["priority"] != "high" {
			t.Fatalf("started %s", r.body)
		}

		// Version 2 links no form: the latest has none, version 1 keeps its own.
		plain := bpmntest.New("purchase").Start("s").
			Node("approve", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales")).
			End("e").Chain("s", "approve", "e")
		want(t, env.do("POST", "/api/v1/deployments", plain.XML(), append([]string{"Content-Type", "application/xml"}, as("analyst")...)...), http.StatusCreated)
		r = env.do("GET", "/api/v1/process-definitions/key/purchase/start-form", nil, as("analyst")...)
		want(t, r, http.StatusOK)
		if v := r.json(t); fmt.Sprint(v["version"]) != "2" || len(v["fields"].([]any)) != 0 || v["formId"] != nil || v["schema"] != nil {
			t.Fatalf("start form of version 2: %s", r.body)
		}
		r = env.do("GET", "/api/v1/process-definitions/key/purchase/start-form?version=1", nil, as("analyst")...)
		want(t, r, http.StatusOK)
		if v := r.json(t); v["definitionId"] != def || v["formId"] != "order-start" {
			t.Fatalf("start form of version 1: %s", r.body)
		}
		want(t, env.do("POST", start, `{"variables":{"amount":5000}}`, as("analyst")...), http.StatusCreated)
		wantError(t, env.do("POST", start, `{"version":1,"variables":{"amount":5000}}`, as("analyst")...), http.StatusUnprocessableEntity, "invalid")

		// A camunda:formData start form: its fields with their defaults.
		if _, err := env.eng.Deploy(context.Background(), &engine.DeployParams{Resources: []engine.Resource{{Name: "order.bpmn", Data: []byte(formModel)}}}); err != nil {
			t.Fatal(err)
		}
		r = env.do("GET", "/api/v1/process-definitions/key/order/start-form", nil, as("developer")...)
		want(t, r, http.StatusOK)
		v := r.json(t)
		fields, _ := v["fields"].([]any)
		if len(fields) != 1 || v["schema"] != nil {
			t.Fatalf("formData start form %s", r.body)
		}
		if f := fields[0].(map[string]any); f["id"] != "customer" || f["type"] != "string" || f["value"] != nil || f["constraints"].(map[string]any)["required"] != "" {
			t.Errorf("customer field %v", f)
		}
	})
}
