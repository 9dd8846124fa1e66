package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// baton runs the command line in-process and returns its exit code and output.
func baton(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeModel(t *testing.T, xml string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "model.bpmn")
	if err := os.WriteFile(f, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

const header = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
`

func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob("examples/*.bpmn")
	if len(files) < 3 {
		t.Fatalf("want at least 3 example models, found %v", files)
	}
	code, out, errOut := baton(t, append([]string{"validate"}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if out != "" || !strings.Contains(errOut, fmt.Sprintf("%d file(s) valid", len(files))) {
		t.Fatalf("examples have problems:\n%s%s", out, errOut)
	}
}

func TestValidateReportsProblemsWithLines(t *testing.T) {
	f := writeModel(t, header+`<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:exclusiveGateway id="Gateway_1"/>
  <bpmn:endEvent id="a"/>
  <bpmn:endEvent id="b"/>
  <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Gateway_1"/>
  <bpmn:sequenceFlow id="Flow_3" sourceRef="Gateway_1" targetRef="a"/>
  <bpmn:sequenceFlow id="f2" sourceRef="Gateway_1" targetRef="b"><bpmn:conditionExpression>${x &gt; 1}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="nowhere"/>
</bpmn:process>
</bpmn:definitions>`)
	code, out, _ := baton(t, "validate", f)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		f + ":5: Gateway_1 (exclusiveGateway): outgoing flow Flow_3",
		f + ":11: f4 (sequenceFlow): targetRef names no flow node: nowhere",
		f + ":7: b (endEvent): outgoing sequence flow f4 is not allowed",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = baton(t, "validate", "--json", f)
	var found []finding
	if err := json.Unmarshal([]byte(out), &found); err != nil || code != 1 {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	if len(found) < 2 || found[0].ElementID == "" || found[0].Line == 0 || found[0].Severity != "error" {
		t.Fatalf("--json findings %+v", found)
	}
}

func TestValidateHostileAndMissingFiles(t *testing.T) {
	f := writeModel(t, `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&a;</bpmn:definitions>`)
	code, out, _ := baton(t, "validate", f, filepath.Join(t.TempDir(), "missing.bpmn"))
	if code != 1 || !strings.Contains(out, "DOCTYPE") || !strings.Contains(out, "missing.bpmn") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// pathOf returns the "element:state" lines of simulate's JSON output and its final line.
func pathOf(t *testing.T, out string) ([]string, map[string]any) {
	t.Helper()
	var path []string
	var final map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if _, ok := m["variables"]; ok {
			final = m
			continue
		}
		path = append(path, m["element"].(string)+":"+m["state"].(string))
	}
	return path, final
}

func TestSimulateOrder(t *testing.T) {
	t.Run("LargeOrderIsApproved", func(t *testing.T) {
		code, out, errOut := baton(t, "simulate", "examples/order.bpmn", "--complete", `Activity_0k4y7dw={"amount": 1500, "customer": "ACME"}`)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errOut)
		}
		path, final := pathOf(t, out)
		if !strings.Contains(strings.Join(path, " "), "Activity_1w6x0pn:completed") {
			t.Fatalf("path %v does not pass the approval", path)
		}
		vars := final["variables"].(map[string]any)
		if final["state"] != "completed" || vars["amount"] != float64(1500) || vars["customer"] != "ACME" {
			t.Fatalf("final %v", final)
		}
	})
	t.Run("SmallOrderSkipsApproval", func(t *testing.T) {
		code, out, _ := baton(t, "simulate", "examples/order.bpmn", "--vars", `{"amount": 10}`)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		path, _ := pathOf(t, out)
		if strings.Contains(strings.Join(path, " "), "Activity_1w6x0pn") {
			t.Fatalf("path %v passes the approval", path)
		}
		if path[0] != "order:activated" || path[len(path)-1] != "order:completed" {
			t.Fatalf("path %v", path)
		}
	})
	t.Run("IncidentExitsTwoAndSaysWhere", func(t *testing.T) {
		code, out, errOut := baton(t, "simulate", "examples/order.bpmn")
		if code != 2 || !strings.Contains(errOut, "incident") || !strings.Contains(errOut, "Gateway_1q3m8fz") {
			t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
		}
		path, _ := pathOf(t, out)
		if !strings.Contains(strings.Join(path, " "), "Gateway_1q3m8fz:incidentCreated") {
			t.Fatalf("path %v does not show the incident", path)
		}
	})
	t.Run("BadFlags", func(t *testing.T) {
		if code, _, errOut := baton(t, "simulate", "examples/order.bpmn", "--vars", "[1]"); code != 2 || !strings.Contains(errOut, "--vars") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if code, _, errOut := baton(t, "simulate", "examples/order.bpmn", "--complete", "nojson"); code != 2 || !strings.Contains(errOut, "ELEMENT=JSON") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}

func TestSimulateWaitingReceiveTask(t *testing.T) {
	f := writeModel(t, header+`<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:receiveTask id="wait"/>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
  <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
</bpmn:process>
</bpmn:definitions>`)
	code, out, errOut := baton(t, "simulate", f)
	if code != 2 || !strings.Contains(errOut, "waits at wait (receiveTask)") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}
