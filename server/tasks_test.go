package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
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

// TestTaskDiagramVariablesHistory reads what the web UI shows beside a
// task: the diagram of its instance's process version (not the latest),
// the variables it sees, and its own history, including the variable
// writes of its completion but no event of the task that follows it.
func TestTaskDiagramVariablesHistory(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		ctx := context.Background()
		model := func(name string) *bpmntest.Builder {
			return bpmntest.New("claim").Start("s").
				Node("check", "userTask", bpmntest.Attr("name", name), bpmntest.Attr("camunda:candidateGroups", "sales"),
					bpmntest.Input("note", "urgent"), bpmntest.Output("checked", "${decision}")).
				Node("approve", "userTask", bpmntest.Attr("camunda:candidateGroups", "sales")).
				End("e").Chain("s", "check", "approve", "e")
		}
		v1 := model("Check").XML()
		if _, err := env.eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "claim.bpmn", Data: v1}}}); err != nil {
			t.Fatal(err)
		}
		r := env.do("POST", "/api/v1/process-definitions/key/claim/start", `{"variables":{"customer":"ACME","amount":42}}`, as("analyst")...)
		want(t, r, http.StatusCreated)
		inst := str(r.json(t)["id"])
		// A second version: the task's diagram stays the first.
		if _, err := env.eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: "claim.bpmn", Data: model("Check the claim").XML()}}}); err != nil {
			t.Fatal(err)
		}
		list, _ := items(t, env.do("GET", "/api/v1/tasks?processInstanceId="+inst, nil, as("sam")...))
		if len(list) != 1 || list[0]["elementId"] != "check" {
			t.Fatalf("sam sees %v", list)
		}
		check := str(list[0]["id"])
		ei := str(list[0]["elementInstanceId"])
		base := "/api/v1/tasks/" + check

		r = env.do("GET", base+"/diagram", nil, as("sam")...)
		want(t, r, http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "application/xml" || !bytes.Equal(r.body, v1) {
			t.Fatalf("diagram: Content-Type %q, body %s", ct, r.body)
		}

		r = env.do("GET", base+"/variables", nil, as("sam")...)
		want(t, r, http.StatusOK)
		vars, _ := r.json(t)["variables"].(map[string]any)
		if len(vars) != 3 || vars["customer"] != "ACME" || vars["amount"] != json.Number("42") || vars["note"] != "urgent" {
			t.Fatalf("variables %s", r.body)
		}

		// sue (hr) and the auditor do not see the task: 404 as for no task;
		// roles without the routes are refused before that.
		for _, route := range []string{"/diagram", "/variables", "/history"} {
			for _, who := range []string{"sue", "auditor"} {
				wantError(t, env.do("GET", base+route, nil, as(who)...), http.StatusNotFound, "not_found")
			}
			for _, who := range []string{"analyst", "developer", "stranger"} {
				wantError(t, env.do("GET", base+route, nil, as(who)...), http.StatusForbidden, "forbidden")
			}
			wantError(t, env.do("GET", "/api/v1/tasks/999999"+route, nil, as("sam")...), http.StatusNotFound, "not_found")
			want(t, env.do("GET", base+route, nil, as("admin")...), http.StatusOK)
		}

		want(t, env.do("POST", base+"/claim", nil, as("sam")...), http.StatusNoContent)
		want(t, env.do("POST", base+"/comments", `{"text":"checked twice"}`, as("sam")...), http.StatusCreated)
		want(t, env.do("POST", base+"/complete", `{"variables":{"amount":50,"decision":"yes"}}`, as("sam")...), http.StatusNoContent)

		rows, _ := items(t, env.do("GET", base+"/history", nil, as("sam")...))
		var got []string
		for _, row := range rows {
			s := str(row["type"])
			if v, ok := row["variable"].(map[string]any); ok {
				s += ":" + str(v["name"]) + "=" + fmt.Sprint(v["new"])
				if v["name"] == "amount" && v["old"] != json.Number("42") {
					t.Errorf("amount written over %v, want 42", v["old"])
				}
			} else if row["elementInstanceId"] != ei || row["elementId"] != "check" {
				t.Errorf("history row %v is not of element instance %s of check", row, ei)
			}
			got = append(got, s)
		}
		wantSeq := "variableSet:note=urgent activated userTaskCreated userTaskClaimed userTaskCommented " +
			"variableSet:amount=50 variableSet:decision=yes userTaskCompleted variableSet:checked=yes completed"
		if strings.Join(got, " ") != wantSeq {
			t.Errorf("history of check:\n  %s\nwant\n  %s", strings.Join(got, " "), wantSeq)
		}
		if rows[len(rows)-1]["actor"] != "sam" {
			t.Errorf("last row %v, want actor sam", rows[len(rows)-1])
		}
		// An ended task sees its instance's variables as they are now; its
		// local ones ended with it.
		r = env.do("GET", base+"/variables", nil, as("sam")...)
		want(t, r, http.StatusOK)
		if vars, _ := r.json(t)["variables"].(map[string]any); len(vars) != 4 || vars["amount"] != json.Number("50") || vars["checked"] != "yes" || vars["note"] != nil {
			t.Errorf("variables of the completed task: %s", r.body)
		}

		// The next task, created by the same command, has only its own events.
		list, _ = items(t, env.do("GET", "/api/v1/tasks?processInstanceId="+inst, nil, as("sam")...))
		if len(list) != 1 || list[0]["elementId"] != "approve" {
			t.Fatalf("sam sees %v", list)
		}
		rows, _ = items(t, env.do("GET", "/api/v1/tasks/"+str(list[0]["id"])+"/history", nil, as("sam")...))
		got = got[:0]
		for _, row := range rows {
			got = append(got, str(row["elementId"])+":"+str(row["type"]))
		}
		if strings.Join(got, " ") != "approve:activated approve:userTaskCreated" {
			t.Errorf("history of approve: %v", got)
		}
		r = env.do("GET", "/api/v1/tasks/"+str(list[0]["id"])+"/variables", nil, as("sam")...)
		want(t, r, http.StatusOK)
		if vars, _ := r.json(t)["variables"].(map[string]any); len(vars) != 4 || vars["amount"] != json.Number("50") || vars["checked"] != "yes" {
			t.Errorf("variables of approve: %s", r.body)
		}
	})
}
