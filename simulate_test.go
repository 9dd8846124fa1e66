package main

import (
	"strings"
	"testing"

	"github.com/batonbpm/baton/bpmn/bpmntest"
)

// simulateModel writes b's XML and simulates it with args; it returns the
// exit code, the path as "element:state" and stderr.
func simulateModel(t *testing.T, b *bpmntest.Builder, args ...string) (int, string, string) {
	t.Helper()
	f := writeModel(t, string(b.XML()))
	code, out, errOut := baton(t, append([]string{"simulate", f}, args...)...)
	path, _ := pathOf(t, out)
	return code, strings.Join(path, " "), errOut
}

func TestSimulateEvents(t *testing.T) {
	review := func() *bpmntest.Builder {
		return bpmntest.New("p").Message("m", "paid", "=orderId").Signal("sig", "recall").Start("s").
			Node("review", "userTask").End("done").Chain("s", "review", "done").
			Node("late", "boundaryEvent", bpmntest.Boundary("review", false), bpmntest.Timer("timeDuration", "PT1H")).
			Node("remind", "userTask").End("reminded").Chain("late", "remind", "reminded").
			Node("cancel", "boundaryEvent", bpmntest.Boundary("review", true), bpmntest.MessageRef("m")).End("cancelled").Chain("cancel", "cancelled").
			Sub("recalled", func(b *bpmntest.Builder) {
				b.Start("rs", bpmntest.SignalRef("sig")).End("re").Chain("rs", "re")
			}, bpmntest.Attr("triggeredByEvent", "true"))
	}
	t.Run("TimersFastForward", func(t *testing.T) {
		code, path, errOut := simulateModel(t, bpmntest.New("p").Start("s").Node("wait", "intermediateCatchEvent", bpmntest.Timer("timeDuration", "P3D")).
			End("e").Chain("s", "wait", "e"))
		if code != 0 || !strings.Contains(path, "wait:timerFired wait:completed") || !strings.HasSuffix(path, "p:completed") {
			t.Fatalf("exit %d, path %s, stderr %s", code, path, errOut)
		}
	})
	t.Run("HappyPathCompletesTheTask", func(t *testing.T) {
		code, path, errOut := simulateModel(t, review(), "--vars", `{"orderId":"o-1"}`)
		if code != 0 || strings.Contains(path, "timerFired") || !strings.Contains(path, "done:completed") {
			t.Fatalf("exit %d, path %s, stderr %s", code, path, errOut)
		}
	})
	t.Run("HoldAndAdvanceFiresTheBoundaryTimer", func(t *testing.T) {
		code, path, errOut := simulateModel(t, review(), "--vars", `{"orderId":"o-1"}`, "--hold", "review", "--advance", "PT1H")
		if code != 2 || !strings.Contains(path, "late:timerFired") || !strings.Contains(path, "remind:completed") ||
			!strings.Contains(errOut, "waits at review (userTask)") {
			t.Fatalf("exit %d, path %s, stderr %s", code, path, errOut)
		}
	})
	t.Run("MessageInterrupts", func(t *testing.T) {
		code, path, errOut := simulateModel(t, review(), "--vars", `{"orderId":"o-1"}`, "--hold", "review", "--message", `paid={"reason":"x"}`)
		if code != 0 || !strings.Contains(path, "cancel:messageCorrelated review:terminated") || !strings.HasSuffix(path, "p:completed") {
			t.Fatalf("exit %d, path %s, stderr %s", code, path, errOut)
		}
	})
	t.Run("SignalStartsTheEventSubProcess", func(t *testing.T) {
		code, path, errOut := simulateModel(t, review(), "--vars", `{"orderId":"o-1"}`, "--hold", "review", "--signal", "recall")
		if code != 0 || !strings.Contains(path, "review:terminated recalled:activated") || !strings.HasSuffix(path, "p:completed") {
			t.Fatalf("exit %d, path %s, stderr %s", code, path, errOut)
		}
	})
	t.Run("EventsApplyInOrder", func(t *testing.T) {
		code, path, errOut := simulateModel(t, review(), "--vars", `{"orderId":"o-1"}`, "--hold", "review",
			"--advance", "PT1H", "--advance", "PT1H", "--message", "paid")
		fired := strings.Count(path, "late:timerFired")
		if code != 0 || fired != 1 || strings.Index(path, "late:timerFired") > strings.Index(path, "cancel:messageCorrelated") {
			t.Fatalf("exit %d, path %s (timer fired %d times), stderr %s", code, path, fired, errOut)
		}
	})
	t.Run("UnknownMessageSaysSo", func(t *testing.T) {
		code, _, errOut := simulateModel(t, review(), "--vars", `{"orderId":"o-1"}`, "--hold", "review", "--message", "nobody")
		if code != 2 || !strings.Contains(errOut, "--message nobody") || !strings.Contains(errOut, "not found") {
			t.Fatalf("exit %d, stderr %s", code, errOut)
		}
	})
	t.Run("MessageStartsTheInstance", func(t *testing.T) {
		code, out, errOut := baton(t, "simulate", "examples/message-order.bpmn", "--process", "message-order",
			"--message", `order placed={"orderId":"o-7"}`, "--message", "payment received", "--complete", `Activity_0n2y8ke={"trackingNumber":"TN-7"}`)
		path, final := pathOf(t, out)
		p := strings.Join(path, " ")
		if code != 0 || final["state"] != "completed" || !strings.Contains(p, "Event_1w3e9tu:messageCorrelated") {
			t.Fatalf("exit %d, path %s, final %v, stderr %s", code, p, final, errOut)
		}
		if code, _, errOut := baton(t, "simulate", "examples/message-order.bpmn", "--process", "message-order"); code != 2 || !strings.Contains(errOut, "--message") {
			t.Fatalf("no start message: exit %d, stderr %s", code, errOut)
		}
	})
	t.Run("BadFlags", func(t *testing.T) {
		f := writeModel(t, string(review().XML()))
		for _, args := range [][]string{{"--advance", "P1Y"}, {"--advance", "soon"}, {"--message", "=x"}, {"--message", "m={"}} {
			if code, _, errOut := baton(t, append([]string{"simulate", f}, args...)...); code != 2 || errOut == "" {
				t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
			}
		}
	})
	t.Run("MultiInstanceBodyPrintsApart", func(t *testing.T) {
		f := writeModel(t, string(bpmntest.New("p").Start("s").Node("each", "userTask",
			bpmntest.Inner(`<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>`)).
			End("e").Chain("s", "each", "e").XML()))
		code, out, errOut := baton(t, "simulate", f)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		kinds := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(line, `"element":"each"`) {
				switch {
				case strings.Contains(line, `"kind":"multiInstanceBody"`):
					kinds["body"]++
				case strings.Contains(line, `"kind":"userTask"`):
					kinds["inner"]++
				}
			}
		}
		if kinds["body"] != 2 || kinds["inner"] != 4 {
			t.Fatalf("lines of each: %v, want 2 of the body (activated, completed) and 4 of its two inner tasks\n%s", kinds, out)
		}
	})
}
