package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
	"github.com/batonbpm/baton/engine/sqlstore/dbtest"
)

// TestServeCamundaModeler drives a real `baton serve`, on SQLite and on
// PostgreSQL, as the Camunda Modeler and a Camunda 7 script do: the
// Modeler's version probe and connection check, its multipart deploy to
// /engine-rest/deployment/create and its start by definition id with
// typed variables; then a staff user lists the task, claims it, reads its
// form variables and completes it through /engine-rest/task (first
// without the form's required field: a 400), and the instance is
// completed in /engine-rest/history.
func TestServeCamundaModeler(t *testing.T) {
	t.Parallel()
	model := bpmntest.New("invoice").Start("s").
		Node("approve", "userTask", bpmntest.Attr("name", "Approve"), bpmntest.Attr("camunda:candidateGroups", "sales"),
			bpmntest.Inner(`<bpmn:extensionElements><camunda:formData><camunda:formField id="approved" label="Approved" type="boolean">`+
				`<camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField></camunda:formData></bpmn:extensionElements>`)).
		End("e").Chain("s", "approve", "e").XML()
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "baton.db") },
		"postgres": func(t *testing.T) string { return dbtest.PostgresSchemaURL(t, "modeler") },
	}
	for name, dbURL := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := dbURL(t)
			seedTestAdmin(t, db)
			for _, u := range [][]string{{"ana", "analyst", ""}, {"alice", "staff", "sales"}} {
				if code, out, errOut := baton(t, "user", "add", u[0], "--password", "password-"+u[0], "--role", u[1], "--groups", u[2], "--database-url", db); code != 0 {
					t.Fatalf("baton user add %s: exit %d\n%s%s", u[0], code, out, errOut)
				}
			}
			b := serveBaton(t, db, nil)
			call := func(user, method, path, contentType string, body []byte, status int) []byte {
				t.Helper()
				req, _ := http.NewRequest(method, b.URL+"/engine-rest"+path, bytes.NewReader(body))
				pw := "password-" + user
				if user == testAdminUser {
					pw = testAdminPassword
				}
				req.SetBasicAuth(user, pw)
				req.Header.Set("Accept", "application/json")
				if contentType != "" {
					req.Header.Set("Content-Type", contentType)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				data, _ := io.ReadAll(res.Body)
				if res.StatusCode != status {
					t.Fatalf("%s %s: %d, want %d: %s\n%s", method, path, res.StatusCode, status, data, b.Logs())
				}
				if len(data) > 0 && res.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s %s: Content-Type %q, want exactly application/json", method, path, res.Header.Get("Content-Type"))
				}
				return data
			}
			decode := func(data []byte, v any) {
				t.Helper()
				if err := json.Unmarshal(data, v); err != nil {
					t.Fatalf("decode %s: %v", data, err)
				}
			}

			var version struct{ Version string }
			decode(call("ana", "GET", "/version", "", nil, http.StatusOK), &version)
			if !strings.HasPrefix(version.Version, "7.") {
				t.Fatalf("version %q", version.Version)
			}
			if got := call("ana", "GET", "/deployment?maxResults=0", "", nil, http.StatusOK); strings.TrimSpace(string(got)) != "[]" {
				t.Fatalf("connection check answered %s", got)
			}

			// The Modeler's deploy: its fields, and the diagram as a part
			// whose field name and file name are the file's name.
			var form bytes.Buffer
			w := multipart.NewWriter(&form)
			w.WriteField("deployment-name", "invoice")
			w.WriteField("deployment-source", "Camunda Modeler")
			w.WriteField("enable-duplicate-filtering", "true")
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="invoice.bpmn"; filename="invoice.bpmn"`)
			h.Set("Content-Type", "text/xml")
			part, _ := w.CreatePart(h)
			part.Write(model)
			w.Close()
			var dep struct {
				ID                         string
				DeployedProcessDefinitions map[string]struct{ ID, Key string }
			}
			decode(call("ana", "POST", "/deployment/create", w.FormDataContentType(), form.Bytes(), http.StatusOK), &dep)
			var defID string
			for id, d := range dep.DeployedProcessDefinitions {
				if d.ID != id || d.Key != "invoice" {
					t.Fatalf("deployed %v", dep.DeployedProcessDefinitions)
				}
				defID = id
			}
			if dep.ID == "" || defID == "" {
				t.Fatalf("deployment %+v", dep)
			}

			var inst struct {
				ID, DefinitionID string
				Ended            bool
			}
			decode(call("ana", "POST", "/process-definition/"+defID+"/start", "application/json",
				[]byte(`{"businessKey":"INV-7","variables":{"amount":{"value":120,"type":"Integer"}}}`), http.StatusOK), &inst)
			if inst.ID == "" || inst.DefinitionID != defID || inst.Ended {
				t.Fatalf("started %+v", inst)
			}

			var tasks []struct{ ID, TaskDefinitionKey string }
			decode(call("alice", "GET", "/task?processInstanceId="+inst.ID+"&candidateUser=alice", "", nil, http.StatusOK), &tasks)
			if len(tasks) != 1 || tasks[0].TaskDefinitionKey != "approve" {
				t.Fatalf("tasks %+v", tasks)
			}
			task := tasks[0].ID
			call("alice", "POST", "/task/"+task+"/claim", "application/json", []byte(`{"userId":"alice"}`), http.StatusNoContent)
			var fv map[string]struct {
				Value any
				Type  string
			}
			decode(call("alice", "GET", "/task/"+task+"/form-variables", "", nil, http.StatusOK), &fv)
			if f, ok := fv["approved"]; !ok || f.Type != "Boolean" {
				t.Fatalf("form variables %+v", fv)
			}
			var e struct{ Type, Message string }
			decode(call("alice", "POST", "/task/"+task+"/complete", "application/json", []byte(`{"variables":{}}`), http.StatusBadRequest), &e)
			if e.Type == "" || !strings.Contains(e.Message, "approved") {
				t.Fatalf("completing without the required field: %+v", e)
			}
			call("alice", "POST", "/task/"+task+"/complete", "application/json", []byte(`{"variables":{"approved":{"value":true,"type":"Boolean"}}}`), http.StatusNoContent)

			var hist []struct{ ID, State, BusinessKey string }
			decode(call(testAdminUser, "GET", "/history/process-instance?processInstanceId="+inst.ID, "", nil, http.StatusOK), &hist)
			if len(hist) != 1 || hist[0].State != "COMPLETED" || hist[0].BusinessKey != "INV-7" {
				t.Fatalf("history %+v", hist)
			}
			var acts []struct{ ActivityID, Assignee, EndTime string }
			decode(call(testAdminUser, "GET", "/history/activity-instance?processInstanceId="+inst.ID+"&activityType=userTask", "", nil, http.StatusOK), &acts)
			if len(acts) != 1 || acts[0].ActivityID != "approve" || acts[0].Assignee != "alice" || acts[0].EndTime == "" {
				t.Fatalf("user task activities %+v", acts)
			}
		})
	}
}
