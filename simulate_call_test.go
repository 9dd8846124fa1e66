package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// callFile holds process p, whose call activity ca calls child, in the
// same file; the child waits at user task review and hands back approved.
const callFile = header + `<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:callActivity id="ca" calledElement="child">
    <bpmn:extensionElements><camunda:in source="amount" target="amount"/><camunda:out source="approved" target="approved"/></bpmn:extensionElements>
  </bpmn:callActivity>
  <bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ca"/>
  <bpmn:sequenceFlow id="f2" sourceRef="ca" targetRef="e"/>
</bpmn:process>
<bpmn:process id="child" isExecutable="true">
  <bpmn:startEvent id="cs"/>
  <bpmn:userTask id="review"/>
  <bpmn:endEvent id="ce"/>
  <bpmn:sequenceFlow id="c1" sourceRef="cs" targetRef="review"/>
  <bpmn:sequenceFlow id="c2" sourceRef="review" targetRef="ce"/>
</bpmn:process>
</bpmn:definitions>`

func TestSimulateCallActivity(t *testing.T) {
	f := writeModel(t, callFile)
	t.Run("TheChildRunsInsideTheCallActivity", func(t *testing.T) {
		code, out, errOut := baton(t, "simulate", f, "--process", "p", "--vars", `{"amount": 5}`, "--complete", `review={"approved": true}`)
		if code != 0 {
			t.Fatalf("exit %d: %s%s", code, out, errOut)
		}
		var lines []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if _, final := m["variables"]; final {
				if vs, _ := m["variables"].(map[string]any); vs["approved"] != true || m["state"] != "completed" {
					t.Fatalf("final line %s, want completed with approved", line)
				}
				continue
			}
			el, st := m["element"].(string), m["state"].(string)
			if in, _ := m["instance"].(string); in != "" {
				el = in + "/" + el
			}
			lines = append(lines, el+":"+st)
		}
		got := strings.Join(lines, " ")
		want := "ca:activated child/child:activated child/cs:activated child/cs:completed child/review:activated child/review:completed " +
			"child/ce:activated child/ce:completed child/child:completed ca:completed"
		if !strings.Contains(got, want) || !strings.HasSuffix(got, "p:completed") {
			t.Fatalf("path %s\nwant it to hold %s", got, want)
		}
	})
	t.Run("HeldChildTaskSaysWhere", func(t *testing.T) {
		code, _, errOut := baton(t, "simulate", f, "--process", "p", "--hold", "review")
		if code != 2 || !strings.Contains(errOut, "review (userTask) in called child") {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
	})
}
