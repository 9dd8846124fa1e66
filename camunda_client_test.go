package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCamundaExternalTaskClient runs Camunda's own JavaScript worker
// (examples/camunda-worker: camunda-external-task-client-js 3.1.0, which
// make test installs) unchanged against a real `baton serve`: it completes
// tasks with variables, reports a failure that is retried and then
// succeeds, and throws a BPMN error that a boundary event catches.
func TestCamundaExternalTaskClient(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: the Camunda client test needs Node.js 20")
	}
	if _, err := os.Stat("examples/camunda-worker/node_modules/camunda-external-task-client-js"); err != nil {
		t.Fatal("the Camunda client is not installed: run make test, or npm ci --prefix examples/camunda-worker")
	}
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "baton.db")
	seedTestAdmin(t, dbURL)
	if code, out, errOut := baton(t, "user", "add", "loanworker", "--password", "worker-password", "--role", "developer", "--database-url", dbURL); code != 0 {
		t.Fatalf("baton user add: exit %d\n%s%s", code, out, errOut)
	}
	b := serveBaton(t, dbURL, nil)

	// Deploy the model and start three loans.
	model, err := os.ReadFile("examples/camunda-worker/loan.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "loan.bpmn")
	fw.Write(model)
	mw.Close()
	res, err := adminPost(b.URL+"/api/v1/deployments", mw.FormDataContentType(), &body)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("deploy: %v %v", res, err)
	}
	res.Body.Close()
	loans := []struct {
		name   string
		vars   string
		id     string
		score  int
		reject bool
	}{
		{name: "small", vars: `{"amount":500,"reject":false}`, score: 90},
		{name: "large", vars: `{"amount":5000,"reject":false}`, score: 40},
		{name: "rejected", vars: `{"amount":200,"reject":true}`, score: 90, reject: true},
	}
	for i := range loans {
		res, err := adminPost(b.URL+"/api/v1/process-definitions/key/loan/start", "application/json",
			strings.NewReader(`{"businessKey":"loan-`+loans[i].name+`","variables":`+loans[i].vars+`}`))
		if err != nil || res.StatusCode != http.StatusCreated {
			t.Fatalf("start %s: %v %v", loans[i].name, res, err)
		}
		var inst struct{ ID string }
		json.NewDecoder(res.Body).Decode(&inst)
		res.Body.Close()
		loans[i].id = inst.ID
	}

	// Run the worker until every loan has ended.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	worker := exec.CommandContext(ctx, node, "worker.mjs")
	worker.Dir = "examples/camunda-worker"
	worker.Env = append(os.Environ(), "BATON_URL="+b.URL, "BATON_USER=loanworker", "BATON_PASSWORD=worker-password")
	var out, errOut syncBuffer
	worker.Stdout, worker.Stderr = &out, &errOut
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		worker.Process.Signal(os.Interrupt)
		worker.Wait()
	}()
	instance := func(id string) map[string]any {
		req, _ := http.NewRequest("GET", b.URL+"/api/v1/process-instances/"+id, nil)
		req.SetBasicAuth(testAdminUser, testAdminPassword)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]any
		data, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("instance %s: %s", id, data)
		}
		return v
	}
	for _, l := range loans {
		for {
			v := instance(l.id)
			if v["state"] == "completed" {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("loan %s did not complete: %v\nworker:\n%s%s\nbaton:\n%s", l.name, v, out.String(), errOut.String(), b.Logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	for _, l := range loans {
		v := instance(l.id)
		vars, _ := v["variables"].(map[string]any)
		if fmt.Sprint(vars["score"]) != fmt.Sprint(l.score) || vars["scoredBy"] != "camunda-js" {
			t.Errorf("loan %s: score %v by %v, want %d by camunda-js", l.name, vars["score"], vars["scoredBy"], l.score)
		}
		if fmt.Sprint(vars["attempts"]) != "2" {
			t.Errorf("loan %s: the flaky task completed with attempts %v, want 2 (after one failure)", l.name, vars["attempts"])
		}
		done := []string{}
		for _, e := range v["completedElements"].([]any) {
			done = append(done, e.(string))
		}
		end, other := "Event_0appro1", "Event_0rejend"
		if l.reject {
			end, other = other, end
			if vars["rejectedBy"] != "camunda-js" {
				t.Errorf("loan %s: rejectedBy %v, want the BPMN error's variable camunda-js", l.name, vars["rejectedBy"])
			}
			if !slices.Contains(done, "Event_0rejec1") {
				t.Errorf("loan %s: the boundary event did not catch REJECTED: %v", l.name, done)
			}
		}
		if !slices.Contains(done, end) || slices.Contains(done, other) {
			t.Errorf("loan %s ended at %v, want %s", l.name, done, end)
		}
	}
	// What the worker did: each flaky task failed once, then completed.
	// The worker prints an action once Baton has answered it, which can be
	// just after the instance ended: wait for the lines.
	want := map[string]int{"score:completed": 3, "flaky:failed": 3, "flaky:completed": 3, "check:completed": 2, "check:bpmnError": 1}
	for {
		counts := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var ev struct{ Event, Topic string }
			if json.Unmarshal([]byte(line), &ev) == nil {
				counts[ev.Topic+":"+ev.Event]++
				if strings.HasSuffix(ev.Event, ":error") {
					t.Fatalf("the worker reported %s", line)
				}
			}
		}
		if maps.Equal(counts, want) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("worker events %v, want %v", counts, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
