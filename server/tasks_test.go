package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/batonbpm/baton/engine"
	"github.com/batonbpm/baton/server/auth"
)

// startReview starts an instance of deployTaskModel's review process and
// returns its task's id.
func startReview(t *testing.T, env *authEnv) string {
	t.Helper()
	r := env.do("POST", "/api/v1/process-definitions/key/review/start", "{}", as("analyst")...)
	want(t, r, http.StatusCreated)
	list, _ := items(t, env.do("GET", "/api/v1/tasks?processInstanceId="+str(r.json(t)["id"]), nil, as("admin")...))
	if len(list) != 1 {
		t.Fatalf("tasks %v, want 1", list)
	}
	return str(list[0]["id"])
}

func taskJSON(t *testing.T, env *authEnv, id string) map[string]any {
	t.Helper()
	r := env.do("GET", "/api/v1/tasks/"+id, nil, as("admin")...)
	want(t, r, http.StatusOK)
	return r.json(t)
}

func TestTaskLifecycleRoutes(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		ctx := context.Background()
		for _, u := range []auth.UserAddParams{
			{Name: "max", Password: "password-max", Role: auth.RoleStaff, Groups: []string{"sales"}},
			{Name: "mia", Password: "password-mia", Role: auth.RoleStaff, Groups: []string{"sales", "managers"}},
		} {
			if err := env.auth.UserAdd(ctx, &u); err != nil {
				t.Fatal(err)
			}
		}
		deployTaskModel(t, env)
		task := startReview(t, env)
		base := "/api/v1/tasks/" + task

		// sam claims; max cannot claim it too, nor complete it.
		want(t, env.do("POST", base+"/claim", nil, as("sam")...), http.StatusNoContent)
		if a := taskJSON(t, env, task)["assignee"]; a != "sam" {
			t.Fatalf("assignee %v, want sam", a)
		}
		e := wantError(t, env.do("POST", base+"/claim", nil, as("max")...), http.StatusConflict, "conflict")
		if !strings.Contains(e["message"].(string), "claimed by sam") {
			t.Errorf("claim conflict says %q", e["message"])
		}
		e = wantError(t, env.do("POST", base+"/complete", `{"variables":{"x":1}}`, as("max")...), http.StatusConflict, "conflict")
		if !strings.Contains(e["message"].(string), "claimed by sam") {
			t.Errorf("complete conflict says %q", e["message"])
		}
		// Only the assignee or a manager unclaims; sue (hr) does not even see it.
		wantError(t, env.do("POST", base+"/unclaim", nil, as("max")...), http.StatusForbidden, "forbidden")
		wantError(t, env.do("POST", base+"/unclaim", nil, as("sue")...), http.StatusNotFound, "not_found")
		// Assign: managers and admins only.
		wantError(t, env.do("POST", base+"/assign", `{"assignee":"max"}`, as("sam")...), http.StatusForbidden, "forbidden")
		want(t, env.do("POST", base+"/assign", `{"assignee":"max"}`, as("mia")...), http.StatusNoContent)
		want(t, env.do("POST", base+"/assign", `{"assignee":"sam"}`, as("admin")...), http.StatusNoContent)
		// Delegate to max and resolve: sam gets it back.
		wantError(t, env.do("POST", base+"/delegate", `{"to":"max"}`, as("max")...), http.StatusForbidden, "forbidden")
		want(t, env.do("POST", base+"/delegate", `{"to":"max"}`, as("sam")...), http.StatusNoContent)
		if v := taskJSON(t, env, task); v["assignee"] != "max" || v["owner"] != "sam" || v["delegation"] != "pending" {
			t.Fatalf("delegated task %v", v)
		}
		wantError(t, env.do("POST", base+"/complete", "{}", as("max")...), http.StatusConflict, "conflict")
		want(t, env.do("POST", base+"/resolve", nil, as("max")...), http.StatusNoContent)
		if v := taskJSON(t, env, task); v["assignee"] != "sam" || v["delegation"] != "resolved" {
			t.Fatalf("resolved task %v", v)
		}
		// Comments.
		r := env.do("POST", base+"/comments", `{"text":"looks fine"}`, as("max")...)
		want(t, r, http.StatusCreated)
		if c := r.json(t); c["author"] != "max" || c["text"] != "looks fine" {
			t.Errorf("comment %v", c)
		}
		wantError(t, env.do("POST", base+"/comments", `{"text":""}`, as("max")...), http.StatusUnprocessableEntity, "invalid")
		list, _ := items(t, env.do("GET", base+"/comments", nil, as("sam")...))
		if len(list) != 1 || list[0]["author"] != "max" {
			t.Errorf("comments %v", list)
		}
		wantError(t, env.do("GET", base+"/comments", nil, as("sue")...), http.StatusNotFound, "not_found")
		// sam completes; twice is a 409.
		want(t, env.do("POST", base+"/complete", "{}", as("sam")...), http.StatusNoContent)
		e = wantError(t, env.do("POST", base+"/complete", "{}", as("sam")...), http.StatusConflict, "conflict")
		if !strings.Contains(e["message"].(string), "already completed") {
			t.Errorf("second complete says %q", e["message"])
		}
		// History names the actors.
		inst := str(taskJSON(t, env, task)["processInstanceId"])
		rows, _ := items(t, env.do("GET", "/api/v1/process-instances/"+inst+"/history", nil, as("auditor")...))
		var got []string
		for _, row := range rows {
			if typ := str(row["type"]); strings.HasPrefix(typ, "userTask") && typ != "userTaskCreated" {
				got = append(got, typ+"@"+str(row["actor"]))
			}
		}
		wantSeq := "userTaskClaimed@sam userTaskAssigned@mia userTaskAssigned@admin userTaskDelegated@sam userTaskResolved@max userTaskCommented@max userTaskCompleted@sam"
		if strings.Join(got, " ") != wantSeq {
			t.Errorf("history %v, want %s", got, wantSeq)
		}
	})
}

const formModel = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="order" isExecutable="true">
    <bpmn:startEvent id="s">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="customer" type="string"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:userTask id="approve" camunda:candidateGroups="sales">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="amount" type="long" defaultValue="10"><camunda:validation><camunda:constraint name="max" config="100"/></camunda:validation></camunda:formField>
        <camunda:formField id="decision" type="enum"><camunda:value id="yes" name="Yes"/><camunda:value id="no" name="No"/>
          <camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>`

func TestTaskForms(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		if _, err := env.eng.Deploy(context.Background(), &engine.DeployParams{Resources: []engine.Resource{{Name: "order.bpmn", Data: []byte(formModel)}}}); err != nil {
			t.Fatal(err)
		}
		start := "/api/v1/process-definitions/key/order/start"
		// The start form: customer is required.
		e := wantError(t, env.do("POST", start, `{"variables":{}}`, as("analyst")...), http.StatusUnprocessableEntity, "invalid")
		if !strings.Contains(e["message"].(string), "customer") {
			t.Errorf("start form error %v does not name customer", e)
		}
		r := env.do("POST", start, `{"variables":{"customer":"ACME"}}`, as("analyst")...)
		want(t, r, http.StatusCreated)
		list, _ := items(t, env.do("GET", "/api/v1/tasks?processInstanceId="+str(r.json(t)["id"]), nil, as("sam")...))
		if len(list) != 1 {
			t.Fatalf("sam sees %v", list)
		}
		base := "/api/v1/tasks/" + str(list[0]["id"])
		// The form with current values: amount's default, decision empty.
		r = env.do("GET", base+"/form", nil, as("sam")...)
		want(t, r, http.StatusOK)
		fields, _ := r.json(t)["fields"].([]any)
		if len(fields) != 2 {
			t.Fatalf("form %s", r.body)
		}
		if f := fields[0].(map[string]any); f["id"] != "amount" || fmt.Sprint(f["value"]) != "10" {
			t.Errorf("amount field %v", f)
		}
		if f := fields[1].(map[string]any); f["id"] != "decision" || f["value"] != nil || len(f["values"].([]any)) != 2 {
			t.Errorf("decision field %v", f)
		}
		// A bad value is a 422 naming the field, and nothing changes.
		for body, field := range map[string]string{
			`{"variables":{"amount":500,"decision":"yes"}}`:   "amount",
			`{"variables":{"amount":5,"decision":"maybe"}}`:   "decision",
			`{"variables":{"amount":"five","decision":"no"}}`: "amount",
			`{"variables":{"amount":5}}`:                      "decision",
		} {
			e := wantError(t, env.do("POST", base+"/complete", body, as("sam")...), http.StatusUnprocessableEntity, "invalid")
			if !strings.Contains(e["message"].(string), field) {
				t.Errorf("%s: error %v does not name %s", body, e, field)
			}
		}
		if v := taskJSON(t, env, str(list[0]["id"])); v["state"] != "created" || v["assignee"] != "" {
			t.Fatalf("after refused completions the task is %v", v)
		}
		want(t, env.do("POST", base+"/complete", `{"variables":{"decision":"yes"}}`, as("sam")...), http.StatusNoContent)
		inst := str(list[0]["processInstanceId"])
		r = env.do("GET", "/api/v1/process-instances/"+inst, nil, as("admin")...)
		want(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), `"amount"`) || !strings.Contains(string(r.body), `"completed"`) {
			t.Errorf("instance after completion: %s", r.body)
		}
	})
}
