package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/batonbpm/baton/engine"
)

// callModel holds a process p whose call activity ca calls child, which
// stops at an incident: its gateway reads a variable nobody set.
const callModel = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:callActivity id="ca" calledElement="child"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ca"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ca" targetRef="e"/>
  </bpmn:process>
  <bpmn:process id="child" isExecutable="true">
    <bpmn:startEvent id="cs"/>
    <bpmn:exclusiveGateway id="check"/>
    <bpmn:endEvent id="ce"/>
    <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="check"/>
    <bpmn:sequenceFlow id="c2" sourceRef="check" targetRef="ce"><bpmn:conditionExpression>${ok}</bpmn:conditionExpression></bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>`

// TestCalledInstances: an instance a call activity started names its
// parent, the parent lists it, and the parent's detail shows its incidents.
func TestCalledInstances(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			c := newClient(t, st)
			want(t, c.do("POST", "/api/v1/deployments", callModel, "Content-Type", "text/xml"), http.StatusCreated)
			r := c.do("POST", "/api/v1/process-definitions/key/p/start", map[string]any{})
			want(t, r, http.StatusCreated)
			parent := str(r.json(t)["id"])
			// Another node's job executor starts the child.
			x := engine.New(st, engine.Config{}).NewExecutor(engine.ExecutorConfig{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if n, err := x.RunDue(context.Background()); err != nil || n != 1 {
				t.Fatalf("ran %d jobs (%v), want the call's start", n, err)
			}
			r = c.do("GET", "/api/v1/process-instances?parentInstanceId="+parent, nil)
			want(t, r, http.StatusOK)
			its, _ := items(t, r)
			if len(its) != 1 || str(its[0]["key"]) != "child" || str(its[0]["parentInstanceId"]) != parent || str(its[0]["parentElementInstanceId"]) == "" {
				t.Fatalf("children of %s: %s", parent, r.body)
			}
			childID := str(its[0]["id"])
			r = c.do("GET", "/api/v1/process-instances/"+parent, nil)
			want(t, r, http.StatusOK)
			v := r.json(t)
			if _, ok := v["parentInstanceId"]; ok {
				t.Fatalf("a top-level instance names a parent: %s", r.body)
			}
			own, _ := v["incidents"].([]any)
			called, _ := v["calledIncidents"].([]any)
			if len(own) != 0 || len(called) != 1 {
				t.Fatalf("parent detail %s, want no incident of its own and one of its child", r.body)
			}
			in, _ := called[0].(map[string]any)
			if str(in["processInstanceId"]) != childID || str(in["elementId"]) != "check" {
				t.Fatalf("called incident %v, want the child's at check", in)
			}
			r = c.do("GET", "/api/v1/process-instances?parentInstanceId=x", nil)
			want(t, r, http.StatusUnprocessableEntity)
		})
	}
}
