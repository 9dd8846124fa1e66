package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine"
)

// camundaRouteAccess says who may call each /engine-rest route (see
// routeAccess); init adds a row for it under both prefixes.
var camundaRouteAccess = map[string]string{
	"GET /version":                                 "analyst staff developer auditor",
	"GET /engine":                                  "analyst staff developer auditor",
	"POST /deployment/create":                      "analyst",
	"GET /deployment":                              "analyst auditor",
	"GET /deployment/count":                        "analyst auditor",
	"GET /process-definition":                      "analyst auditor",
	"GET /process-definition/count":                "analyst auditor",
	"GET /process-definition/key/:key":             "analyst auditor",
	"GET /process-definition/key/:key/xml":         "analyst auditor",
	"POST /process-definition/key/:key/start":      "analyst developer",
	"GET /process-definition/:id":                  "analyst auditor",
	"GET /process-definition/:id/xml":              "analyst auditor",
	"POST /process-definition/:id/start":           "analyst developer",
	"GET /process-instance":                        "analyst auditor",
	"GET /process-instance/count":                  "analyst auditor",
	"GET /process-instance/:id":                    "analyst auditor",
	"DELETE /process-instance/:id":                 "",
	"GET /process-instance/:id/variables":          "analyst developer auditor",
	"POST /process-instance/:id/variables":         "developer",
	"GET /process-instance/:id/variables/:varName": "analyst developer auditor",
	"PUT /process-instance/:id/variables/:varName": "developer",
	"GET /task":                            "staff auditor",
	"GET /task/count":                      "staff auditor",
	"GET /task/:id":                        "staff auditor",
	"GET /task/:id/form-variables":         "staff auditor",
	"POST /task/:id/claim":                 "staff",
	"POST /task/:id/unclaim":               "staff",
	"POST /task/:id/assignee":              "staff", // the handler lets only managers and admins
	"POST /task/:id/delegate":              "staff",
	"POST /task/:id/resolve":               "staff",
	"POST /task/:id/complete":              "staff",
	"POST /message":                        "developer",
	"POST /signal":                         "developer",
	"GET /incident":                        "developer auditor",
	"GET /incident/count":                  "developer auditor",
	"GET /history/process-instance":        "analyst auditor",
	"GET /history/process-instance/count":  "analyst auditor",
	"GET /history/activity-instance":       "analyst auditor",
	"GET /history/activity-instance/count": "analyst auditor",
	"GET /external-task":                   "developer auditor",
	"GET /external-task/count":             "developer auditor",
	"POST /external-task/fetchAndLock":     "developer",
	"POST /external-task/:id/complete":     "developer",
	"POST /external-task/:id/failure":      "developer",
	"POST /external-task/:id/bpmnError":    "developer",
	"POST /external-task/:id/extendLock":   "developer",
	"POST /external-task/:id/lock":         "developer",
	"POST /external-task/:id/unlock":       "developer",
}

func init() {
	for route, roles := range camundaRouteAccess {
		method, path, _ := strings.Cut(route, " ")
		routeAccess[method+" /engine-rest"+path] = roles
		routeAccess[method+" /engine-rest/engine/:engine"+path] = roles
	}
}

// wantCamundaError checks Camunda's error shape, {"type":…,"message":…},
// with Content-Type exactly application/json.
func wantCamundaError(t *testing.T, r *response, status int, typ string) map[string]any {
	t.Helper()
	want(t, r, status)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want exactly application/json", ct)
	}
	m := r.json(t)
	if m["type"] != typ || str(m["message"]) == "" {
		t.Fatalf("want a %s error with a message, got %s", typ, r.body)
	}
	return m
}

// list decodes a JSON array answer.
func list(t *testing.T, r *response) []map[string]any {
	t.Helper()
	want(t, r, http.StatusOK)
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return out
}

// modelerDeploy posts files as the Camunda Modeler's CamundaAPI.js does:
// deployment-name, deployment-source "Camunda Modeler",
// enable-duplicate-filtering, and each file as a part whose field name and
// file name are the file's name, of type text/xml, with accept:
// application/json.
func modelerDeploy(env *authEnv, name string, files map[string][]byte, header ...string) *response {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range [][2]string{{"deployment-name", name}, {"deployment-source", "Camunda Modeler"}, {"enable-duplicate-filtering", "true"}} {
		if err := w.WriteField(f[0], f[1]); err != nil {
			env.t.Fatal(err)
		}
	}
	for fname, data := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, fname, fname))
		h.Set("Content-Type", "text/xml")
		part, err := w.CreatePart(h)
		if err != nil {
			env.t.Fatal(err)
		}
		part.Write(data)
	}
	w.Close()
	hdr := append([]string{"Content-Type", w.FormDataContentType(), "Accept", "application/json"}, header...)
	return env.do("POST", "/engine-rest/deployment/create", buf.Bytes(), hdr...)
}

// invoiceModel has a user task for group sales.
func invoiceModel() []byte {
	return bpmntest.New("invoice").Start("s").
		Node("approve", "userTask", bpmntest.Attr("name", "Approve invoice"), bpmntest.Attr("camunda:candidateGroups", "sales")).
		End("e").Chain("s", "approve", "e").XML()
}

// TestCamundaModelerDeploy deploys as the Camunda Modeler does, checks the
// Modeler's connection check, starts the definition by id with typed
// variables, claims and completes its task through /engine-rest/task and
// sees the instance completed in the history, with its activities.
func TestCamundaModelerDeploy(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		analyst := as("analyst")
		r := modelerDeploy(env, "Invoice", map[string][]byte{"invoice.bpmn": invoiceModel()}, analyst...)
		want(t, r, http.StatusOK)
		dep := r.json(t)
		defs, ok := dep["deployedProcessDefinitions"].(map[string]any)
		if str(dep["id"]) == "" || dep["name"] != "Invoice" || dep["source"] != "Camunda Modeler" || !ok || len(defs) != 1 {
			t.Fatalf("deployment %s: want id, name, source and one definition keyed by id", r.body)
		}
		var defID string
		for id, d := range defs {
			def := d.(map[string]any)
			if def["id"] != id || def["key"] != "invoice" || def["version"] != json.Number("1") || def["resource"] != "invoice.bpmn" || def["deploymentId"] != dep["id"] {
				t.Fatalf("definition %v under %s", def, id)
			}
			defID = id
		}
		// The Modeler's connection check, and its version probe.
		if got := list(t, env.do("GET", "/engine-rest/deployment?maxResults=0", nil, analyst...)); len(got) != 0 {
			t.Fatalf("maxResults=0 answered %v", got)
		}
		if got := list(t, env.do("GET", "/engine-rest/deployment", nil, analyst...)); len(got) != 1 || got[0]["id"] != dep["id"] {
			t.Fatalf("deployments %v", got)
		}
		v := env.do("GET", "/engine-rest/version", nil, as("staff")...)
		want(t, v, http.StatusOK)
		if v.json(t)["version"] != "7.24.0" {
			t.Fatalf("version %s", v.body)
		}
		// Deploying the same model again creates nothing.
		again := modelerDeploy(env, "Invoice", map[string][]byte{"invoice.bpmn": invoiceModel()}, analyst...)
		want(t, again, http.StatusOK)
		if m := again.json(t); m["id"] != dep["id"] || m["deployedProcessDefinitions"] != nil {
			t.Fatalf("redeploy %s: want the first deployment without new definitions", again.body)
		}

		start := env.do("POST", "/engine-rest/process-definition/"+defID+"/start",
			`{"businessKey":"INV-1","variables":{"amount":{"value":30000000000,"type":"Long"},"customer":{"value":"Acme","type":"String"}}}`, analyst...)
		want(t, start, http.StatusOK)
		inst := start.json(t)
		if str(inst["id"]) == "" || inst["definitionId"] != defID || inst["businessKey"] != "INV-1" || inst["ended"] != false {
			t.Fatalf("started %s", start.body)
		}
		id := str(inst["id"])

		tasks := list(t, env.do("GET", "/engine-rest/task?processInstanceId="+id, nil, as("sam")...))
		if len(tasks) != 1 || tasks[0]["taskDefinitionKey"] != "approve" || tasks[0]["name"] != "Approve invoice" ||
			tasks[0]["assignee"] != nil || tasks[0]["processDefinitionId"] != defID {
			t.Fatalf("tasks %v", tasks)
		}
		task := str(tasks[0]["id"])
		if got := list(t, env.do("GET", "/engine-rest/task?processInstanceId="+id, nil, as("sue")...)); len(got) != 0 {
			t.Fatalf("sue (hr) sees %v", got)
		}
		r = env.do("POST", "/engine-rest/task/"+task+"/claim", `{"userId":"sam"}`, as("sam")...)
		want(t, r, http.StatusNoContent)
		if len(r.body) != 0 {
			t.Fatalf("claim answered a body: %s", r.body)
		}
		// Claimed by sam: an admin claiming it for someone else is Camunda's 500.
		wantCamundaError(t, env.do("POST", "/engine-rest/task/"+task+"/claim", `{"userId":"sue"}`, as("admin")...),
			http.StatusInternalServerError, "TaskAlreadyClaimedException")
		if got := list(t, env.do("GET", "/engine-rest/task?assignee=sam", nil, as("sam")...)); len(got) != 1 {
			t.Fatalf("assignee=sam lists %v", got)
		}
		r = env.do("POST", "/engine-rest/task/"+task+"/complete",
			`{"variables":{"approved":{"value":true,"type":"Boolean"}},"withVariablesInReturn":true}`, as("sam")...)
		want(t, r, http.StatusOK)
		vs := r.json(t)
		if a, _ := vs["approved"].(map[string]any); a["type"] != "Boolean" || a["value"] != true {
			t.Fatalf("variables returned %s", r.body)
		}
		if a, _ := vs["amount"].(map[string]any); a["type"] != "Long" || a["value"] != json.Number("30000000000") {
			t.Fatalf("variables returned %s", r.body)
		}

		hist := list(t, env.do("GET", "/engine-rest/history/process-instance?processInstanceId="+id, nil, as("auditor")...))
		if len(hist) != 1 || hist[0]["state"] != "COMPLETED" || hist[0]["endTime"] == nil || hist[0]["businessKey"] != "INV-1" ||
			hist[0]["processDefinitionKey"] != "invoice" || hist[0]["startUserId"] != "analyst" {
			t.Fatalf("history %v", hist)
		}
		acts := list(t, env.do("GET", "/engine-rest/history/activity-instance?processInstanceId="+id+"&sortBy=startTime&sortOrder=asc", nil, as("auditor")...))
		var types []string
		for _, a := range acts {
			types = append(types, str(a["activityType"]))
			if a["activityId"] == "approve" && a["assignee"] != "sam" {
				t.Errorf("activity %v: want assignee sam", a)
			}
		}
		if strings.Join(types, ",") != "startEvent,userTask,noneEndEvent" {
			t.Errorf("activity types %v", types)
		}
		// The instance left the runtime API.
		wantCamundaError(t, env.do("GET", "/engine-rest/process-instance/"+id, nil, as("auditor")...), http.StatusNotFound, "InvalidRequestException")
		// The same under the named engine's prefix.
		if got := list(t, env.do("GET", "/engine-rest/engine/default/history/process-instance?finished=true", nil, as("auditor")...)); len(got) != 1 {
			t.Fatalf("finished instances %v", got)
		}
	})
}

// TestCamundaErrors checks Camunda's error shapes and statuses.
func TestCamundaErrors(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		deployTaskModel(t, env)
		for _, tc := range []struct {
			name, method, path string
			body               any
			hdr                []string
			status             int
			typ, message       string
		}{
			{"UnknownTask", "GET", "/engine-rest/task/999999", nil, as("sam"), http.StatusNotFound, "InvalidRequestException", "No matching task with id 999999"},
			{"UnknownTaskAction", "POST", "/engine-rest/task/999999/complete", "{}", as("sam"), http.StatusNotFound, "InvalidRequestException", "No matching task with id 999999"},
			{"BadValue", "POST", "/engine-rest/process-definition/key/review/start", `{"variables":{"n":{"value":"abc","type":"Integer"}}}`, as("analyst"),
				http.StatusBadRequest, "InvalidRequestException", "Cannot convert value 'abc' of type 'Integer' to java type java.lang.Integer"},
			{"IntegerOutOfRange", "POST", "/engine-rest/process-definition/key/review/start", `{"variables":{"n":{"value":3000000000,"type":"Integer"}}}`, as("analyst"),
				http.StatusBadRequest, "InvalidRequestException", "Cannot convert value '3000000000' of type 'Integer' to java type java.lang.Integer"},
			{"UnsupportedType", "POST", "/engine-rest/process-definition/key/review/start", `{"variables":{"f":{"value":"aGk=","type":"File"}}}`, as("analyst"),
				http.StatusBadRequest, "InvalidRequestException", "Unsupported value type 'File'"},
			{"UpperCaseType", "POST", "/engine-rest/process-definition/key/review/start", `{"variables":{"s":{"value":"x","type":"STRING"}}}`, as("analyst"),
				http.StatusBadRequest, "InvalidRequestException", "Unsupported value type 'STRING'"},
			{"UnknownKey", "POST", "/engine-rest/process-definition/key/nope/start", "{}", as("analyst"),
				http.StatusNotFound, "RestException", "No matching process definition with key: nope and no tenant-id"},
			{"SortByAlone", "GET", "/engine-rest/task?sortBy=created", nil, as("sam"), http.StatusBadRequest, "InvalidRequestException", "Only a single sorting parameter specified. sortBy and sortOrder required"},
			{"NoCredentials", "GET", "/engine-rest/task", nil, nil, http.StatusUnauthorized, "AuthenticationException", ""},
			{"WrongPassword", "GET", "/engine-rest/task", nil, basic("sam", "wrong-password"), http.StatusUnauthorized, "AuthenticationException", ""},
			{"Forbidden", "POST", "/engine-rest/process-definition/key/review/start", "{}", as("staff"), http.StatusForbidden, "AuthorizationException", ""},
			{"OtherEngine", "GET", "/engine-rest/engine/other/task", nil, as("sam"), http.StatusNotFound, "RestException", ""},
			{"NoRoute", "GET", "/engine-rest/nothing-here", nil, as("admin"), http.StatusNotFound, "RestException", ""},
			{"NoResources", "POST", "/engine-rest/deployment/create", nil, as("analyst"), http.StatusBadRequest, "InvalidRequestException", ""},
			{"MessageNobodyWaitsFor", "POST", "/engine-rest/message", `{"messageName":"nobody"}`, as("developer"),
				http.StatusBadRequest, "MismatchingMessageCorrelationException", "Cannot correlate message 'nobody': No process definition or execution matches the parameters"},
			{"SignalWithoutName", "POST", "/engine-rest/signal", `{}`, as("developer"), http.StatusBadRequest, "InvalidRequestException", "No signal name given"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := env.do(tc.method, tc.path, tc.body, tc.hdr...)
				e := wantCamundaError(t, r, tc.status, tc.typ)
				if tc.message != "" && e["message"] != tc.message {
					t.Errorf("message %q, want %q", e["message"], tc.message)
				}
				switch tc.status {
				case http.StatusUnauthorized:
					if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
						t.Errorf("401 without WWW-Authenticate: %v", r.header)
					}
				case http.StatusForbidden:
					if e["userId"] != "staff" {
						t.Errorf("403 userId %v, want staff", e["userId"])
					}
				}
			})
		}
		// A model that does not parse: a ParseException the Modeler recognises.
		r := modelerDeploy(env, "broken", map[string][]byte{"broken.bpmn": []byte(brokenModel)}, as("analyst")...)
		e := wantCamundaError(t, r, http.StatusBadRequest, "ParseException")
		if !strings.HasPrefix(str(e["message"]), "ENGINE-09005 Could not parse BPMN process.") {
			t.Errorf("message %q lacks the ENGINE-09005 prefix", e["message"])
		}
		det, _ := e["details"].(map[string]any)["broken.bpmn"].(map[string]any)
		if errs, _ := det["errors"].([]any); len(errs) == 0 {
			t.Errorf("details %v: want the errors of broken.bpmn", e["details"])
		}
		// A part without a file name is not a resource.
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("deployment-name", "x")
		w.WriteField("order.bpmn", "<definitions/>")
		w.Close()
		e = wantCamundaError(t, env.do("POST", "/engine-rest/deployment/create", buf.Bytes(), append([]string{"Content-Type", w.FormDataContentType()}, as("analyst")...)...),
			http.StatusBadRequest, "InvalidRequestException")
		if e["message"] != "No file name found in the deployment resource described by form parameter 'order.bpmn'." {
			t.Errorf("message %q", e["message"])
		}
	})
}

// TestCamundaVariables starts an instance with variables of every type
// the engine keeps and reads them back, then sets each one again with PUT
// and reads it back: Camunda's type names, Baton's values.
func TestCamundaVariables(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string // VariableValueDto
		typ  string
		want any // the value read back, JSON-decoded with UseNumber
	}{
		{"str", `{"value":"text","type":"String"}`, "String", "text"},
		{"strLower", `{"value":"text","type":"string","valueInfo":{}}`, "String", "text"},
		{"int", `{"value":42,"type":"Integer"}`, "Integer", json.Number("42")},
		{"intFromString", `{"value":"42","type":"integer"}`, "Integer", json.Number("42")},
		{"short", `{"value":7,"type":"Short"}`, "Integer", json.Number("7")},
		{"long", `{"value":30000000000,"type":"Long"}`, "Long", json.Number("30000000000")},
		{"double", `{"value":1.5,"type":"Double"}`, "Double", json.Number("1.5")},
		{"bool", `{"value":true,"type":"Boolean"}`, "Boolean", true},
		{"date", `{"value":"2024-05-01T10:00:00.000+0000","type":"Date"}`, "Date", "2024-05-01T10:00:00.000+0000"},
		{"dateOffset", `{"value":"2024-05-01T12:00:00.000+0200","type":"date"}`, "Date", "2024-05-01T10:00:00.000+0000"},
		{"json", `{"value":"{\"a\":1,\"b\":[true,\"x\"]}","type":"json"}`, "Json", `{"a":1,"b":[true,"x"]}`},
		{"object", `{"value":"{\"x\":\"y\"}","type":"Object","valueInfo":{"objectTypeName":"java.util.HashMap","serializationDataFormat":"application/json"}}`, "Json", `{"x":"y"}`},
		{"null", `{"value":null,"type":"Null"}`, "Null", nil},
		{"untyped", `{"value":7}`, "Integer", json.Number("7")},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			c := newClient(t, st)
			eng := engine.New(st, engine.Config{})
			if _, err := eng.Deploy(context.Background(), &engine.DeployParams{Resources: []engine.Resource{{Name: "invoice.bpmn", Data: invoiceModel()}}}); err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, tc := range cases {
				parts = append(parts, fmt.Sprintf("%q:%s", tc.name, tc.in))
			}
			r := c.do("POST", "/engine-rest/process-definition/key/invoice/start", `{"variables":{`+strings.Join(parts, ",")+`},"withVariablesInReturn":true}`)
			want(t, r, http.StatusOK)
			id := str(r.json(t)["id"])
			check := func(t *testing.T, name string, got map[string]any, typ string, value any) {
				t.Helper()
				if got["type"] != typ || fmt.Sprint(got["value"]) != fmt.Sprint(value) {
					t.Errorf("%s: got %v, want type %s value %v", name, got, typ, value)
				}
				if _, ok := got["valueInfo"].(map[string]any); !ok {
					t.Errorf("%s: got %v without valueInfo {}", name, got)
				}
			}
			all := c.do("GET", "/engine-rest/process-instance/"+id+"/variables", nil)
			want(t, all, http.StatusOK)
			vs := all.json(t)
			for _, tc := range cases {
				got, _ := vs[tc.name].(map[string]any)
				check(t, tc.name, got, tc.typ, tc.want)
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					want(t, c.do("PUT", "/engine-rest/process-instance/"+id+"/variables/put_"+tc.name, tc.in), http.StatusNoContent)
					r := c.do("GET", "/engine-rest/process-instance/"+id+"/variables/put_"+tc.name, nil)
					want(t, r, http.StatusOK)
					check(t, tc.name, r.json(t), tc.typ, tc.want)
				})
			}
			// The task's form variables are every variable it sees (it has no form).
			tasks := list(t, c.do("GET", "/engine-rest/task?processInstanceId="+id, nil))
			if len(tasks) != 1 {
				t.Fatalf("tasks %v", tasks)
			}
			fv := c.do("GET", "/engine-rest/task/"+str(tasks[0]["id"])+"/form-variables?variableNames=long,date", nil)
			want(t, fv, http.StatusOK)
			if m := fv.json(t); len(m) != 2 || m["long"].(map[string]any)["type"] != "Long" {
				t.Errorf("form variables %s", fv.body)
			}
			wantCamundaError(t, c.do("GET", "/engine-rest/process-instance/"+id+"/variables/nope", nil), http.StatusNotFound, "InvalidRequestException")
		})
	}
}

// TestCamundaExternalTasks works external tasks through the Camunda API:
// long polling, fetch and lock with typed variables, the wrong worker's and
// an unknown task's errors, a failure that retries, extend lock, unlock and
// lock, completion, a BPMN error a boundary event catches, and a failure
// without retries that is an incident.
func TestCamundaExternalTasks(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("charge").Start("s").Node("pay", "serviceTask", bpmntest.Topic("payment")).
		Node("done", "userTask").End("e").Chain("s", "pay", "done", "e").XML()
	risk := bpmntest.New("risk").Error("err", "REJECTED").Start("s").Node("check", "serviceTask", bpmntest.Topic("check")).
		Node("b", "boundaryEvent", bpmntest.Boundary("check", true), bpmntest.ErrorRef("err")).Node("manual", "userTask").
		End("ok").End("no").Chain("s", "check", "ok").Chain("b", "manual", "no").XML()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			c := newClient(t, st)
			eng := engine.New(st, engine.Config{})
			for name, data := range map[string][]byte{"charge.bpmn": model, "risk.bpmn": risk} {
				if _, err := eng.Deploy(context.Background(), &engine.DeployParams{Resources: []engine.Resource{{Name: name, Data: data}}}); err != nil {
					t.Fatal(err)
				}
			}
			r := c.do("POST", "/engine-rest/process-definition/key/charge/start", `{"businessKey":"B-1","variables":{"amount":{"value":12,"type":"integer"},"note":{"value":"n","type":"string"}}}`)
			want(t, r, http.StatusOK)
			id := str(r.json(t)["id"])

			wantCamundaError(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", `{"workerId":"w","maxTasks":1,"asyncResponseTimeout":1800001,"topics":[{"topicName":"payment","lockDuration":1000}]}`),
				http.StatusBadRequest, "InvalidRequestException")
			// A long poll on a topic without work answers [] at its timeout.
			began := time.Now()
			if got := list(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", `{"workerId":"w","maxTasks":1,"asyncResponseTimeout":150,"topics":[{"topicName":"idle","lockDuration":1000}]}`)); len(got) != 0 {
				t.Fatalf("fetched %v from an idle topic", got)
			}
			if d := time.Since(began); d < 150*time.Millisecond {
				t.Fatalf("the long poll answered after %s, before its timeout of 150ms", d)
			}
			fetch := `{"workerId":"w1","maxTasks":10,"usePriority":true,"topics":[{"topicName":"payment","lockDuration":60000,"variables":["amount"]}]}`
			got := list(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", fetch))
			if len(got) != 1 || got[0]["topicName"] != "payment" || got[0]["workerId"] != "w1" || got[0]["businessKey"] != "B-1" ||
				got[0]["processInstanceId"] != id || got[0]["activityId"] != "pay" || got[0]["retries"] != nil || got[0]["lockExpirationTime"] == nil {
				t.Fatalf("fetched %v", got)
			}
			vs, _ := got[0]["variables"].(map[string]any)
			if a, _ := vs["amount"].(map[string]any); len(vs) != 1 || a["type"] != "Integer" || a["value"] != json.Number("12") {
				t.Fatalf("variables %v: want amount only, typed", vs)
			}
			task := str(got[0]["id"])
			if again := list(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", fetch)); len(again) != 0 {
				t.Fatalf("a locked task was fetched again: %v", again)
			}
			e := wantCamundaError(t, c.do("POST", "/engine-rest/external-task/"+task+"/complete", `{"workerId":"w2"}`), http.StatusBadRequest, "BadUserRequestException")
			if !strings.Contains(str(e["message"]), `locked by worker "w1"`) {
				t.Errorf("message %q does not name the lock's worker", e["message"])
			}
			e = wantCamundaError(t, c.do("POST", "/engine-rest/external-task/999999/complete", `{"workerId":"w1"}`), http.StatusNotFound, "RestException")
			if e["message"] != "External task with id 999999 does not exist" {
				t.Errorf("message %q", e["message"])
			}
			// A failure with retries left makes it fetchable again.
			want(t, c.do("POST", "/engine-rest/external-task/"+task+"/failure", `{"workerId":"w1","errorMessage":"card declined","errorDetails":"stack","retries":2,"retryTimeout":0}`), http.StatusNoContent)
			got = list(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", fetch))
			if len(got) != 1 || got[0]["retries"] != json.Number("2") || got[0]["errorMessage"] != "card declined" || got[0]["errorDetails"] != "stack" {
				t.Fatalf("refetched %v", got)
			}
			want(t, c.do("POST", "/engine-rest/external-task/"+task+"/extendLock", `{"workerId":"w1","newDuration":30000}`), http.StatusNoContent)
			if n := c.do("GET", "/engine-rest/external-task/count?locked=true", nil); !strings.Contains(string(n.body), `"count":1`) {
				t.Errorf("count of locked tasks %s", n.body)
			}
			// Unlock lets another worker lock it; the first may no longer complete it.
			wantCamundaError(t, c.do("POST", "/engine-rest/external-task/"+task+"/lock", `{"workerId":"w2","lockDuration":30000}`), http.StatusBadRequest, "BadUserRequestException")
			want(t, c.do("POST", "/engine-rest/external-task/"+task+"/unlock", nil), http.StatusNoContent)
			want(t, c.do("POST", "/engine-rest/external-task/"+task+"/lock", `{"workerId":"w2","lockDuration":30000}`), http.StatusNoContent)
			wantCamundaError(t, c.do("POST", "/engine-rest/external-task/"+task+"/complete", `{"workerId":"w1"}`), http.StatusBadRequest, "BadUserRequestException")
			want(t, c.do("POST", "/engine-rest/external-task/"+task+"/complete", `{"workerId":"w2","variables":{"paid":{"value":true,"type":"boolean"}}}`), http.StatusNoContent)
			r = c.do("GET", "/engine-rest/process-instance/"+id+"/variables/paid", nil)
			want(t, r, http.StatusOK)
			if m := r.json(t); m["type"] != "Boolean" || m["value"] != true {
				t.Errorf("paid %s", r.body)
			}
			if tasks := list(t, c.do("GET", "/engine-rest/task?processInstanceId="+id+"&taskDefinitionKey=done", nil)); len(tasks) != 1 {
				t.Errorf("after completion the instance waits at %v, want done", tasks)
			}
			if ext := list(t, c.do("GET", "/engine-rest/external-task?processInstanceId="+id, nil)); len(ext) != 0 {
				t.Errorf("external tasks left %v", ext)
			}
			// A BPMN error is caught by the boundary event, with its variables.
			r = c.do("POST", "/engine-rest/process-definition/key/risk/start", `{}`)
			want(t, r, http.StatusOK)
			risky := str(r.json(t)["id"])
			got = list(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", `{"workerId":"w1","maxTasks":1,"topics":[{"topicName":"check","lockDuration":60000}]}`))
			if len(got) != 1 {
				t.Fatalf("fetched %v", got)
			}
			want(t, c.do("POST", "/engine-rest/external-task/"+str(got[0]["id"])+"/bpmnError",
				`{"workerId":"w1","errorCode":"REJECTED","errorMessage":"too risky","variables":{"rejectedBy":{"value":"w1","type":"String"}}}`), http.StatusNoContent)
			if tasks := list(t, c.do("GET", "/engine-rest/task?processInstanceId="+risky+"&taskDefinitionKey=manual", nil)); len(tasks) != 1 {
				t.Fatalf("after the BPMN error the instance waits at %v, want manual", tasks)
			}
			r = c.do("GET", "/engine-rest/process-instance/"+risky+"/variables/rejectedBy", nil)
			want(t, r, http.StatusOK)
			if m := r.json(t); m["value"] != "w1" {
				t.Errorf("rejectedBy %s", r.body)
			}
			// A failure without retries left is an incident.
			r = c.do("POST", "/engine-rest/process-definition/key/charge/start", `{}`)
			want(t, r, http.StatusOK)
			second := str(r.json(t)["id"])
			got = list(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", fetch))
			if len(got) != 1 || got[0]["processInstanceId"] != second {
				t.Fatalf("fetched %v, want the task of %s", got, second)
			}
			want(t, c.do("POST", "/engine-rest/external-task/"+str(got[0]["id"])+"/failure", `{"workerId":"w1","errorMessage":"card declined","retries":0}`), http.StatusNoContent)
			incs := list(t, c.do("GET", "/engine-rest/incident?processInstanceId="+second, nil))
			if len(incs) != 1 || incs[0]["activityId"] != "pay" || incs[0]["incidentType"] != "failedJob" || !strings.Contains(str(incs[0]["incidentMessage"]), "card declined") {
				t.Fatalf("incidents %v", incs)
			}
			if again := list(t, c.do("POST", "/engine-rest/external-task/fetchAndLock", fetch)); len(again) != 0 {
				t.Fatalf("a task with an incident was fetched: %v", again)
			}
		})
	}
}

// TestCamundaRuntime drives the runtime routes: instance lists with
// filters, sorting and paging, messages (one, with results, and all),
// signals, the task queries and lifecycle (candidates, claim, delegate,
// resolve, unclaim, assignee), definitions, variable modifications and
// deleting an instance.
func TestCamundaRuntime(t *testing.T) {
	t.Parallel()
	pay := bpmntest.New("pay").Message("m", "paid", "").Signal("sig", "stop").Start("s").
		Node("wait", "intermediateCatchEvent", bpmntest.MessageRef("m")).Node("halt", "intermediateCatchEvent", bpmntest.SignalRef("sig")).
		End("e").Chain("s", "wait", "halt", "e").XML()
	forEachBackend(t, func(t *testing.T, env *authEnv) {
		ctx := context.Background()
		for name, data := range map[string][]byte{"pay.bpmn": pay, "invoice.bpmn": invoiceModel()} {
			if _, err := env.eng.Deploy(ctx, &engine.DeployParams{Resources: []engine.Resource{{Name: name, Data: data}}}); err != nil {
				t.Fatal(err)
			}
		}
		dev, analyst, admin, sam, sue := as("developer"), as("analyst"), as("admin"), as("sam"), as("sue")
		start := func(key, body string) string {
			t.Helper()
			r := env.do("POST", "/engine-rest/process-definition/key/"+key+"/start", body, dev...)
			want(t, r, http.StatusOK)
			return str(r.json(t)["id"])
		}
		a, b := start("pay", `{"businessKey":"A"}`), start("pay", `{"businessKey":"B"}`)

		// Instances: filters, count, sorting, paging.
		if got := list(t, env.do("GET", "/engine-rest/process-instance?processDefinitionKey=pay", nil, analyst...)); len(got) != 2 {
			t.Fatalf("instances %v", got)
		}
		if r := env.do("GET", "/engine-rest/process-instance/count?processDefinitionKey=pay", nil, analyst...); strings.TrimSpace(string(r.body)) != `{"count":2}` {
			t.Fatalf("count %s", r.body)
		}
		if got := list(t, env.do("GET", "/engine-rest/process-instance?processDefinitionKey=pay&sortBy=businessKey&sortOrder=desc", nil, analyst...)); got[0]["id"] != b {
			t.Fatalf("sorted by business key desc: %v", got)
		}
		if got := list(t, env.do("GET", "/engine-rest/process-instance?processDefinitionKey=pay&firstResult=1&maxResults=1", nil, analyst...)); len(got) != 1 || got[0]["id"] != b {
			t.Fatalf("second page of one: %v", got)
		}
		if got := list(t, env.do("GET", "/engine-rest/process-instance?businessKeyLike=%25A", nil, analyst...)); len(got) != 1 || got[0]["id"] != a {
			t.Fatalf("businessKeyLike %%A: %v", got)
		}

		// Messages: one by business key with its result, then all.
		r := env.do("POST", "/engine-rest/message", `{"messageName":"paid","businessKey":"A","processVariables":{"amount":{"value":10,"type":"Integer"}},"resultEnabled":true,"variablesInResultEnabled":true}`, dev...)
		res := list(t, r)
		if len(res) != 1 || res[0]["resultType"] != "Execution" || res[0]["execution"].(map[string]any)["processInstanceId"] != a {
			t.Fatalf("message result %s", r.body)
		}
		if amount := res[0]["variables"].(map[string]any)["amount"].(map[string]any); amount["type"] != "Integer" || amount["value"] != json.Number("10") {
			t.Fatalf("message result variables %s", r.body)
		}
		want(t, env.do("POST", "/engine-rest/message", `{"messageName":"paid","all":true}`, dev...), http.StatusNoContent)
		want(t, env.do("POST", "/engine-rest/message", `{"messageName":"paid","all":true}`, dev...), http.StatusNoContent) // nobody waits: no error with all
		want(t, env.do("POST", "/engine-rest/signal", `{"name":"stop","variables":{"by":{"value":"ops","type":"String"}}}`, dev...), http.StatusNoContent)
		if got := list(t, env.do("GET", "/engine-rest/history/process-instance?processDefinitionKey=pay&completed=true", nil, analyst...)); len(got) != 2 {
			t.Fatalf("completed pay instances %v", got)
		}

		// Tasks: queries.
		var insts []string
		for range 3 {
			insts = append(insts, start("invoice", "{}"))
		}
		tasks := list(t, env.do("GET", "/engine-rest/task?sortBy=created&sortOrder=desc", nil, sam...))
		if len(tasks) != 3 || tasks[0]["processInstanceId"] != insts[2] {
			t.Fatalf("tasks newest first %v", tasks)
		}
		for q, n := range map[string]int{"candidateGroup=sales": 3, "candidateUser=sam": 3, "candidateUser=sue": 0, "candidateGroups=hr,sales": 3,
			"firstResult=1&maxResults=1": 1, "taskDefinitionKey=approve&nameLike=%25invoice": 3, "processInstanceId=" + insts[1]: 1} {
			if got := list(t, env.do("GET", "/engine-rest/task?"+q, nil, admin...)); len(got) != n {
				t.Errorf("GET /task?%s: %d tasks, want %d", q, len(got), n)
			}
		}
		if r := env.do("GET", "/engine-rest/task/count?candidateGroup=sales", nil, sam...); strings.TrimSpace(string(r.body)) != `{"count":3}` {
			t.Errorf("count %s", r.body)
		}
		// Claim, delegate, resolve, unclaim, assignee.
		task := str(tasks[0]["id"])
		want(t, env.do("POST", "/engine-rest/task/"+task+"/claim", `{}`, sam...), http.StatusNoContent)
		for q, n := range map[string]int{"candidateGroup=sales": 2, "candidateGroup=sales&includeAssignedTasks=true": 3, "assignee=sam": 1, "assigned=true": 1, "unassigned=true": 2} {
			if got := list(t, env.do("GET", "/engine-rest/task?"+q, nil, admin...)); len(got) != n {
				t.Errorf("after the claim, GET /task?%s: %d tasks, want %d", q, len(got), n)
			}
		}
		wantCamundaError(t, env.do("GET", "/engine-rest/task/"+task, nil, sue...), http.StatusNotFound, "InvalidRequestException")
		want(t, env.do("POST", "/engine-rest/task/"+task+"/delegate", `{"userId":"sue"}`, sam...), http.StatusNoContent)
		r = env.do("GET", "/engine-rest/task/"+task, nil, sue...)
		want(t, r, http.StatusOK)
		if m := r.json(t); m["assignee"] != "sue" || m["owner"] != "sam" || m["delegationState"] != "PENDING" {
			t.Fatalf("delegated task %s", r.body)
		}
		want(t, env.do("POST", "/engine-rest/task/"+task+"/resolve", `{"variables":{"note":{"value":"checked","type":"String"}}}`, sue...), http.StatusNoContent)
		r = env.do("GET", "/engine-rest/task/"+task, nil, sam...)
		want(t, r, http.StatusOK)
		if m := r.json(t); m["assignee"] != "sam" || m["delegationState"] != "RESOLVED" {
			t.Fatalf("resolved task %s", r.body)
		}
		fv := env.do("GET", "/engine-rest/task/"+task+"/form-variables", nil, sam...)
		want(t, fv, http.StatusOK)
		if note, _ := fv.json(t)["note"].(map[string]any); note["value"] != "checked" {
			t.Fatalf("the resolve's variable is not visible: %s", fv.body)
		}
		want(t, env.do("POST", "/engine-rest/task/"+task+"/unclaim", nil, sam...), http.StatusNoContent)
		wantCamundaError(t, env.do("POST", "/engine-rest/task/"+task+"/assignee", `{"userId":"sue"}`, sam...), http.StatusForbidden, "AuthorizationException")
		want(t, env.do("POST", "/engine-rest/task/"+task+"/assignee", `{"userId":"sue"}`, admin...), http.StatusNoContent)
		r = env.do("GET", "/engine-rest/task/"+task, nil, sue...)
		want(t, r, http.StatusOK)
		if m := r.json(t); m["assignee"] != "sue" {
			t.Fatalf("assigned task %s", r.body)
		}

		// Definitions.
		defs := list(t, env.do("GET", "/engine-rest/process-definition?latestVersion=true&sortBy=key&sortOrder=asc", nil, analyst...))
		if len(defs) != 2 || defs[0]["key"] != "invoice" || defs[1]["key"] != "pay" {
			t.Fatalf("definitions %v", defs)
		}
		r = env.do("GET", "/engine-rest/process-definition/key/invoice/xml", nil, analyst...)
		want(t, r, http.StatusOK)
		if m := r.json(t); m["id"] != defs[0]["id"] || !strings.Contains(str(m["bpmn20Xml"]), `id="approve"`) {
			t.Fatalf("xml %s", r.body)
		}
		r = env.do("GET", "/engine-rest/process-definition/"+str(defs[1]["id"]), nil, analyst...)
		want(t, r, http.StatusOK)
		if r.json(t)["key"] != "pay" {
			t.Fatalf("definition by id %s", r.body)
		}

		// Variables of a running instance, then deleting it.
		inst := insts[0]
		want(t, env.do("POST", "/engine-rest/process-instance/"+inst+"/variables", `{"modifications":{"x":{"value":1,"type":"Integer"},"y":{"value":"z","type":"String"}}}`, dev...), http.StatusNoContent)
		r = env.do("GET", "/engine-rest/process-instance/"+inst+"/variables", nil, dev...)
		want(t, r, http.StatusOK)
		if m := r.json(t); len(m) != 2 || m["x"].(map[string]any)["type"] != "Integer" {
			t.Fatalf("variables %s", r.body)
		}
		wantCamundaError(t, env.do("POST", "/engine-rest/process-instance/"+inst+"/variables", `{"deletions":["x"]}`, dev...), http.StatusBadRequest, "InvalidRequestException")
		want(t, env.do("DELETE", "/engine-rest/process-instance/"+inst, nil, admin...), http.StatusNoContent)
		wantCamundaError(t, env.do("GET", "/engine-rest/process-instance/"+inst, nil, analyst...), http.StatusNotFound, "InvalidRequestException")
		if got := list(t, env.do("GET", "/engine-rest/history/process-instance?processInstanceId="+inst, nil, analyst...)); len(got) != 1 || got[0]["state"] != "EXTERNALLY_TERMINATED" {
			t.Fatalf("deleted instance in history %v", got)
		}
	})
}
