package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
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
