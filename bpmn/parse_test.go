package bpmn

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const ptNS = `xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" ` +
	`xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ` +
	`xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ` +
	`xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" ` +
	`xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`

// doc wraps root elements in bpmn:definitions.
func ptDoc(body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ` + ptNS + ` id="defs" targetNamespace="http://example.com">
` + body + `
</bpmn:definitions>
`)
}

// proc wraps flow elements in an executable process "p" inside definitions.
func ptProc(body string) []byte {
	return ptDoc(`<bpmn:process id="p" isExecutable="true">
` + body + `
</bpmn:process>`)
}

func ptParse(t *testing.T, data []byte) *Definitions {
	t.Helper()
	d, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if d == nil {
		t.Fatal("Parse returned nil definitions and no error")
	}
	return d
}

func ptNode(t *testing.T, d *Definitions, id string) *FlowNode {
	t.Helper()
	n := d.Node(id)
	if n == nil {
		t.Fatalf("no node %q", id)
	}
	return n
}

// hasProblem reports whether d has a problem of severity sev on element id
// whose message contains msg.
func ptHasProblem(d *Definitions, sev Severity, id, msg string) bool {
	for _, p := range d.Problems {
		if p.Severity == sev && p.ElementID == id && strings.Contains(p.Message, msg) {
			return true
		}
	}
	return false
}

func ptProblems(d *Definitions) string {
	var b strings.Builder
	for _, p := range d.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

func TestParsePrefixStyles(t *testing.T) {
	t.Parallel()
	const model = "http://www.omg.org/spec/BPMN/20100524/MODEL"
	body := func(pfx string) string {
		q := func(s string) string {
			if pfx == "" {
				return s
			}
			return pfx + ":" + s
		}
		return `<` + q("process") + ` id="p" isExecutable="true">
  <` + q("startEvent") + ` id="s"/>
  <` + q("sequenceFlow") + ` id="f" sourceRef="s" targetRef="e"/>
  <` + q("endEvent") + ` id="e"/>
</` + q("process") + `>`
	}
	tests := []struct {
		name string
		xml  string
	}{
		{"bpmn", `<bpmn:definitions xmlns:bpmn="` + model + `">` + body("bpmn") + `</bpmn:definitions>`},
		{"bpmn2", `<bpmn2:definitions xmlns:bpmn2="` + model + `">` + body("bpmn2") + `</bpmn2:definitions>`},
		{"semantic", `<semantic:definitions xmlns:semantic="` + model + `">` + body("semantic") + `</semantic:definitions>`},
		{"model", `<model:definitions xmlns:model="` + model + `">` + body("model") + `</model:definitions>`},
		{"default namespace", `<definitions xmlns="` + model + `">` + body("") + `</definitions>`},
		{"prefix declared on the process", `<x:definitions xmlns:x="` + model + `"><y:process xmlns:y="` + model + `" id="p"><y:startEvent id="s"/><x:sequenceFlow id="f" sourceRef="s" targetRef="e"/><y:endEvent id="e"/></y:process></x:definitions>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := ptParse(t, []byte(tt.xml))
			if len(d.Processes) != 1 || !d.Processes[0].IsExecutable {
				t.Fatalf("processes = %+v", d.Processes)
			}
			f := d.Flow("f")
			if f == nil || f.Source != d.Node("s") || f.Target != d.Node("e") || f.Source == nil {
				t.Fatalf("flow f not linked: %+v", f)
			}
			if d.Node("s").Kind != KindStartEvent || d.Node("e").Kind != KindEndEvent {
				t.Errorf("kinds: %s, %s", d.Node("s").Kind, d.Node("e").Kind)
			}
		})
	}

	t.Run("PrefixBoundToAnotherURI", func(t *testing.T) {
		t.Parallel()
		// bpmn: is only a name: bound to another URI it is not BPMN.
		_, err := Parse([]byte(`<bpmn:definitions xmlns:bpmn="http://example.com/not-bpmn"><bpmn:process id="p"/></bpmn:definitions>`))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "root element") {
			t.Fatalf("err = %v, want a ParseError about the root", err)
		}
	})
	t.Run("ForeignElementsIgnored", func(t *testing.T) {
		t.Parallel()
		// A startEvent in another namespace is not a BPMN start event.
		d := ptParse(t, []byte(`<definitions xmlns="`+model+`" xmlns:o="urn:other"><process id="p"><o:startEvent id="x"/><startEvent id="s"/></process></definitions>`))
		if d.Node("x") != nil || d.Node("s") == nil {
			t.Fatalf("nodes: %v", d.Processes[0].Nodes)
		}
	})
}

func TestParseIsExecutable(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptDoc(`<bpmn:process id="a"/><bpmn:process id="b" isExecutable="false"/><bpmn:process id="c" isExecutable="true"/>`))
	got := fmt.Sprint(d.Process("a").IsExecutable, d.Process("b").IsExecutable, d.Process("c").IsExecutable)
	if got != "true false true" {
		t.Errorf("IsExecutable of a, b, c = %s, want true false true (absent counts as executable)", got)
	}
	if len(d.ExecutableProcesses()) != 2 {
		t.Errorf("ExecutableProcesses = %d, want 2", len(d.ExecutableProcesses()))
	}
}

func TestParseKinds(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for name := range flowNodeKinds {
		fmt.Fprintf(&b, "<bpmn:%s id=\"n_%s\" name=\"N %s\"/>\n", name, name, name)
	}
	b.WriteString(`<bpmn:subProcess id="esp" triggeredByEvent="true"><bpmn:startEvent id="esp_start" isInterrupting="false"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent></bpmn:subProcess>`)
	d := ptParse(t, ptDoc(`<bpmn:message id="m" name="M"/><bpmn:process id="p">`+b.String()+`</bpmn:process>`))
	for name, kind := range flowNodeKinds {
		n := ptNode(t, d, "n_"+name)
		if n.Kind != kind || n.Name != "N "+name {
			t.Errorf("n_%s: kind %s name %q", name, n.Kind, n.Name)
		}
		if kind.IsSubProcess() && n.Children == nil {
			t.Errorf("%s has no Children container", name)
		}
	}
	esp := ptNode(t, d, "esp")
	if esp.Kind != KindEventSubProcess {
		t.Fatalf("esp kind = %s", esp.Kind)
	}
	st := ptNode(t, d, "esp_start")
	if st.Parent != esp || st.Process != d.Process("p") || st.Interrupting || st.Event().Message == nil {
		t.Errorf("esp_start: parent %v interrupting %v event %+v", st.Parent, st.Interrupting, st.Event())
	}
	if len(d.Process("p").EventSubProcesses()) != 1 {
		t.Errorf("EventSubProcesses = %v", d.Process("p").EventSubProcesses())
	}
}

func TestParseSubProcesses(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptProc(`
<bpmn:adHocSubProcess id="ah" ordering="Sequential" cancelRemainingInstances="false">
  <bpmn:task id="a1"/>
  <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">${done}</bpmn:completionCondition>
</bpmn:adHocSubProcess>
<bpmn:transaction id="tx"><bpmn:task id="t1" isForCompensation="true"/></bpmn:transaction>
<bpmn:subProcess id="outer"><bpmn:subProcess id="inner"><bpmn:task id="deep"/></bpmn:subProcess></bpmn:subProcess>
`))
	ah := ptNode(t, d, "ah")
	if ah.AdHoc == nil || ah.AdHoc.Ordering != "Sequential" || ah.AdHoc.CancelRemainingInstances || ah.AdHoc.CompletionCondition.String() != "${done}" || len(ah.Children.Nodes) != 1 {
		t.Errorf("adHoc = %+v", ah.AdHoc)
	}
	if tx := ptNode(t, d, "tx"); tx.Kind != KindTransaction || !ptNode(t, d, "t1").IsForCompensation || ptNode(t, d, "t1").Parent != tx {
		t.Errorf("transaction = %+v", tx)
	}
	if deep := ptNode(t, d, "deep"); deep.Parent != ptNode(t, d, "inner") || deep.Parent.Parent != ptNode(t, d, "outer") || deep.Process != d.Process("p") {
		t.Errorf("deep parent = %v", deep.Parent)
	}
}

func TestParseGateways(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptProc(`
<bpmn:exclusiveGateway id="x" default="f2" gatewayDirection="Diverging"/>
<bpmn:sequenceFlow id="f1" sourceRef="x" targetRef="a"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${ok}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="a"/>
<bpmn:task id="a"/>
<bpmn:eventBasedGateway id="ebg" instantiate="true" eventGatewayType="Parallel"/>
<bpmn:complexGateway id="cx"><bpmn:activationCondition xsi:type="bpmn:tFormalExpression">${n &gt; 1}</bpmn:activationCondition></bpmn:complexGateway>
`))
	x := ptNode(t, d, "x")
	if x.Default != d.Flow("f2") || !d.Flow("f2").IsDefault() || x.GatewayDirection != "Diverging" {
		t.Errorf("x: default %v direction %q", x.Default, x.GatewayDirection)
	}
	if c := d.Flow("f1").Condition; c == nil || c.Source != "${ok}" || c.Program == nil {
		t.Errorf("f1 condition = %+v", c)
	}
	if len(x.Outgoing) != 2 || x.Outgoing[0].ID != "f1" || len(ptNode(t, d, "a").Incoming) != 2 {
		t.Errorf("x outgoing %v", x.Outgoing)
	}
	ebg := ptNode(t, d, "ebg")
	if !ebg.Instantiate || ebg.EventGatewayType != "Parallel" {
		t.Errorf("ebg = %+v", ebg)
	}
	if c := ptNode(t, d, "cx").ActivationCondition; c == nil || c.Source != "${n > 1}" {
		t.Errorf("cx activation = %+v", c)
	}
}

func TestParseEventDefinitions(t *testing.T) {
	t.Parallel()
	roots := `<bpmn:message id="m" name="Order"/><bpmn:signal id="s" name="Alarm"/>
<bpmn:error id="err" name="E" errorCode="E42"/><bpmn:escalation id="esc" name="Esc" escalationCode="ESC1"/>
<bpmn:timerEventDefinition id="rootTimer"><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>`
	tests := []struct {
		name  string
		event string // the node, id "n"
		check func(t *testing.T, n *FlowNode)
	}{
		{"Message", `<bpmn:intermediateCatchEvent id="n"><bpmn:messageEventDefinition id="ed" messageRef="m"/></bpmn:intermediateCatchEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); n.EventKind() != EventMessage || e.Message == nil || e.Message.Name != "Order" || e.ID != "ed" {
					t.Errorf("%+v", e)
				}
			}},
		{"TimerDate", `<bpmn:startEvent id="n"><bpmn:timerEventDefinition><bpmn:timeDate xsi:type="bpmn:tFormalExpression">2026-01-01T09:00:00Z</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:startEvent>`,
			func(t *testing.T, n *FlowNode) {
				if tm := n.Event().Timer; tm == nil || tm.Type != TimerDate || tm.Value.Source != "2026-01-01T09:00:00Z" {
					t.Errorf("%+v", tm)
				}
			}},
		{"TimerDuration", `<bpmn:boundaryEvent id="n" attachedToRef="t" cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent><bpmn:task id="t"/>`,
			func(t *testing.T, n *FlowNode) {
				if tm := n.Event().Timer; tm == nil || tm.Type != TimerDuration || tm.Value.Source != "PT5M" {
					t.Errorf("%+v", tm)
				}
				if n.Interrupting || n.AttachedTo == nil || n.AttachedTo.ID != "t" || len(n.AttachedTo.Boundaries) != 1 {
					t.Errorf("boundary: interrupting %v attached %v", n.Interrupting, n.AttachedTo)
				}
			}},
		{"TimerCycle", `<bpmn:startEvent id="n"><bpmn:timerEventDefinition><bpmn:timeCycle>R5/PT10M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>`,
			func(t *testing.T, n *FlowNode) {
				if tm := n.Event().Timer; tm == nil || tm.Type != TimerCycle || tm.Value.Source != "R5/PT10M" {
					t.Errorf("%+v", tm)
				}
			}},
		{"Signal", `<bpmn:intermediateThrowEvent id="n"><bpmn:signalEventDefinition signalRef="s"/></bpmn:intermediateThrowEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e.Kind != EventSignal || e.Signal == nil || e.Signal.Name != "Alarm" {
					t.Errorf("%+v", e)
				}
			}},
		{"Error", `<bpmn:endEvent id="n"><bpmn:errorEventDefinition errorRef="err" camunda:errorCodeVariable="code" camunda:errorMessageVariable="msg"/></bpmn:endEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e.Kind != EventError || e.ErrorCode() != "E42" || e.ErrorCodeVariable != "code" || e.ErrorMessageVariable != "msg" {
					t.Errorf("%+v", e)
				}
			}},
		{"ErrorRefIsCode", `<bpmn:endEvent id="n"><bpmn:errorEventDefinition errorRef="NOT_FOUND"/></bpmn:endEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e.Error != nil || e.ErrorCode() != "NOT_FOUND" {
					t.Errorf("%+v", e)
				}
			}},
		{"Escalation", `<bpmn:intermediateThrowEvent id="n"><bpmn:escalationEventDefinition escalationRef="esc" camunda:escalationCodeVariable="ec"/></bpmn:intermediateThrowEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e.Kind != EventEscalation || e.EscalationCode() != "ESC1" || e.EscalationCodeVariable != "ec" {
					t.Errorf("%+v", e)
				}
			}},
		{"Conditional", `<bpmn:intermediateCatchEvent id="n"><bpmn:conditionalEventDefinition camunda:variableName="x" camunda:variableEvents="create, update"><bpmn:condition xsi:type="bpmn:tFormalExpression">${x &gt; 5}</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e.Kind != EventConditional || e.Condition.String() != "${x > 5}" || e.VariableName != "x" || e.VariableEvents != "create, update" {
					t.Errorf("%+v", e)
				}
			}},
		{"Link", `<bpmn:intermediateCatchEvent id="n"><bpmn:linkEventDefinition name="L1"/></bpmn:intermediateCatchEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e.Kind != EventLink || e.LinkName != "L1" {
					t.Errorf("%+v", e)
				}
			}},
		{"Compensate", `<bpmn:intermediateThrowEvent id="n"><bpmn:compensateEventDefinition activityRef="t" waitForCompletion="false"/></bpmn:intermediateThrowEvent><bpmn:task id="t"/>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e.Kind != EventCompensation || e.Activity == nil || e.Activity.ID != "t" || e.WaitForCompletion {
					t.Errorf("%+v", e)
				}
			}},
		{"Terminate", `<bpmn:endEvent id="n"><bpmn:terminateEventDefinition/></bpmn:endEvent>`,
			func(t *testing.T, n *FlowNode) {
				if n.EventKind() != EventTerminate {
					t.Errorf("%s", n.EventKind())
				}
			}},
		{"Cancel", `<bpmn:endEvent id="n"><bpmn:cancelEventDefinition/></bpmn:endEvent>`,
			func(t *testing.T, n *FlowNode) {
				if n.EventKind() != EventCancel {
					t.Errorf("%s", n.EventKind())
				}
			}},
		{"EventDefinitionRef", `<bpmn:intermediateCatchEvent id="n"><bpmn:eventDefinitionRef>rootTimer</bpmn:eventDefinitionRef></bpmn:intermediateCatchEvent>`,
			func(t *testing.T, n *FlowNode) {
				if e := n.Event(); e == nil || e.Kind != EventTimer || e.Timer.Value.Source != "PT1H" {
					t.Errorf("%+v", e)
				}
			}},
		{"Multiple", `<bpmn:startEvent id="n" parallelMultiple="true"><bpmn:messageEventDefinition messageRef="m"/><bpmn:signalEventDefinition signalRef="s"/></bpmn:startEvent>`,
			func(t *testing.T, n *FlowNode) {
				if n.EventKind() != EventMultiple || !n.ParallelMultiple {
					t.Errorf("%s %v", n.EventKind(), n.ParallelMultiple)
				}
			}},
		{"None", `<bpmn:startEvent id="n"/>`,
			func(t *testing.T, n *FlowNode) {
				if n.EventKind() != EventNone || n.Event() != nil || !n.Interrupting {
					t.Errorf("%s", n.EventKind())
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := ptParse(t, ptDoc(roots+`<bpmn:process id="p">`+tt.event+`</bpmn:process>`))
			for _, p := range d.Problems {
				if p.Severity == SeverityError && strings.Contains(p.Message, "names no") {
					t.Errorf("unexpected problem: %s", p)
				}
			}
			tt.check(t, ptNode(t, d, "n"))
		})
	}
}

func TestParseCamunda(t *testing.T) {
	t.Parallel()
	for _, uri := range []string{NamespaceCamunda, NamespaceActiviti} {
		t.Run(uri, func(t *testing.T) {
			t.Parallel()
			d := ptParse(t, []byte(`<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:c="`+uri+`">
<process id="p" c:versionTag="v1" c:candidateStarterGroups="sales" c:candidateStarterUsers="ann">
<startEvent id="start" c:initiator="starter" c:formKey="embedded:start.html" c:asyncBefore="true"/>
<userTask id="ut" c:assignee="${owner}" c:candidateUsers="a,b" c:candidateGroups="g" c:dueDate="${due}" c:followUpDate="P1D" c:priority="50"
  c:formRef="f1" c:formRefBinding="version" c:formRefVersion="3" c:async="true" c:exclusive="false">
  <extensionElements>
    <c:failedJobRetryTimeCycle>R3/PT1M</c:failedJobRetryTimeCycle>
    <c:inputOutput>
      <c:inputParameter name="in1">${x}</c:inputParameter>
      <c:inputParameter name="in2"><c:list><c:value>a</c:value></c:list></c:inputParameter>
      <c:inputParameter name="in3"><c:script scriptFormat="groovy">1+1</c:script></c:inputParameter>
      <c:outputParameter name="out1">${y}</c:outputParameter>
    </c:inputOutput>
  </extensionElements>
</userTask>
<serviceTask id="st" c:type="external" c:topic="charge" c:asyncAfter="true" c:failedJobRetryTimeCycle="R5/PT10M"/>
<serviceTask id="java" c:class="com.x.A" c:resultVariable="r"/>
<serviceTask id="expr" c:expression="${svc.run()}"/>
<serviceTask id="deleg" c:delegateExpression="${bean}"/>
<businessRuleTask id="brt" c:decisionRef="dish" c:resultVariable="dish"/>
<callActivity id="ca" calledElement="child" c:calledElementBinding="versionTag" c:calledElementVersionTag="v2" c:calledElementVersion="7">
  <extensionElements>
    <c:in businessKey="${bk}"/>
    <c:in source="a" target="b"/>
    <c:in sourceExpression="${a + 1}" target="c" local="true"/>
    <c:in variables="all"/>
    <c:out source="r" target="result"/>
    <c:out variables="all" local="true"/>
  </extensionElements>
</callActivity>
<scriptTask id="js" scriptFormat="javascript" c:resultVariable="v"><script>x + 1</script></scriptTask>
<scriptTask id="juel" scriptFormat="juel"><script><![CDATA[${a < b}]]></script></scriptTask>
</process></definitions>`))
			p := d.Process("p")
			if p.VersionTag != "v1" || p.CandidateStarterGroups != "sales" || p.CandidateStarterUsers != "ann" {
				t.Errorf("process = %+v", p)
			}
			start := ptNode(t, d, "start")
			if start.Human == nil || start.Human.Initiator != "starter" || start.Human.FormKey != "embedded:start.html" || !start.Async.Before {
				t.Errorf("start = %+v / %+v", start.Human, start.Async)
			}
			ut := ptNode(t, d, "ut")
			h := ut.Human
			got := fmt.Sprint(h.Assignee, "|", h.CandidateUsers, "|", h.CandidateGroups, "|", h.DueDate, "|", h.FollowUpDate, "|", h.Priority, "|", h.FormRef, "|", h.FormRefBinding, "|", h.FormRefVersion)
			if got != "${owner}|a,b|g|${due}|P1D|50|f1|version|3" {
				t.Errorf("human = %s", got)
			}
			if h.Assignee.Program == nil {
				t.Error("assignee not compiled")
			}
			if ut.Async != (Async{Before: true, Exclusive: false, RetryTimeCycle: "R3/PT1M"}) {
				t.Errorf("async = %+v", ut.Async)
			}
			if len(ut.Inputs) != 3 || len(ut.Outputs) != 1 {
				t.Fatalf("inputs %d outputs %d", len(ut.Inputs), len(ut.Outputs))
			}
			if in := ut.Inputs[0]; in.Target != "in1" || in.Source.String() != "${x}" || in.Unsupported != "" {
				t.Errorf("in1 = %+v", in)
			}
			if in := ut.Inputs[1]; in.Target != "in2" || in.Source != nil || !strings.Contains(in.Unsupported, "list") {
				t.Errorf("in2 = %+v", in)
			}
			if in := ut.Inputs[2]; !strings.Contains(in.Unsupported, "groovy") {
				t.Errorf("in3 = %+v", in)
			}
			if out := ut.Outputs[0]; out.Target != "out1" || out.Source.String() != "${y}" {
				t.Errorf("out1 = %+v", out)
			}
			st := ptNode(t, d, "st")
			if st.Task.Type != "external" || st.Task.Topic.String() != "charge" || !st.Async.After || st.Async.Before || st.Async.RetryTimeCycle != "R5/PT10M" || !st.Async.Exclusive {
				t.Errorf("st = %+v %+v", st.Task, st.Async)
			}
			if j := ptNode(t, d, "java").Task; j.JavaClass != "com.x.A" || j.ResultVariable != "r" {
				t.Errorf("java = %+v", j)
			}
			if j := ptNode(t, d, "expr").Task; j.JavaExpression != "${svc.run()}" {
				t.Errorf("expr = %+v", j)
			}
			if j := ptNode(t, d, "deleg").Task; j.DelegateExpression != "${bean}" {
				t.Errorf("deleg = %+v", j)
			}
			if j := ptNode(t, d, "brt").Task; j.DecisionRef != "dish" || j.ResultVariable != "dish" {
				t.Errorf("brt = %+v", j)
			}
			ca := ptNode(t, d, "ca").Call
			if ca.CalledElement.String() != "child" || ca.Binding != "versionTag" || ca.VersionTag != "v2" || ca.Version != "7" || ca.BusinessKey.String() != "${bk}" {
				t.Errorf("call = %+v", ca)
			}
			if len(ca.In) != 3 || len(ca.Out) != 2 {
				t.Fatalf("in %d out %d", len(ca.In), len(ca.Out))
			}
			if m := ca.In[0]; m.Source != "a" || m.Target != "b" {
				t.Errorf("in0 = %+v", m)
			}
			if m := ca.In[1]; m.SourceExpression.String() != "${a + 1}" || m.Target != "c" || !m.Local {
				t.Errorf("in1 = %+v", m)
			}
			if !ca.In[2].All || !ca.Out[1].All || !ca.Out[1].Local {
				t.Errorf("variables=all not read")
			}
			js := ptNode(t, d, "js").Task
			if js.ScriptFormat != "javascript" || js.Script.Source != "x + 1" || js.Script.Language != "javascript" || js.Script.Program != nil || js.ResultVariable != "v" {
				t.Errorf("js = %+v %+v", js, js.Script)
			}
			if s := ptNode(t, d, "juel").Task.Script; s.Source != "${a < b}" || s.Program == nil {
				t.Errorf("juel script = %+v", s)
			}
		})
	}
}

func TestParseCamundaFormData(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptProc(`<bpmn:userTask id="ut"><bpmn:extensionElements><camunda:formData>
  <camunda:formField id="amount" label="Amount" type="long" defaultValue="10">
    <camunda:validation>
      <camunda:constraint name="required"/>
      <camunda:constraint name="min" config="1"/>
    </camunda:validation>
    <camunda:properties><camunda:property id="unit" value="EUR"/></camunda:properties>
  </camunda:formField>
  <camunda:formField id="color" label="Colour" type="enum">
    <camunda:value id="r" name="Red"/><camunda:value id="g" name="Green"/>
  </camunda:formField>
  <camunda:formField id="when" type="date" datePattern="dd/MM/yyyy"/>
</camunda:formData></bpmn:extensionElements></bpmn:userTask>`))
	ff := ptNode(t, d, "ut").Human.FormFields
	if len(ff) != 3 {
		t.Fatalf("%d fields", len(ff))
	}
	a := ff[0]
	if a.ID != "amount" || a.Label != "Amount" || a.Type != "long" || a.DefaultValue != "10" || a.Properties["unit"] != "EUR" ||
		fmt.Sprint(a.Constraints) != "[{required } {min 1}]" {
		t.Errorf("amount = %+v", a)
	}
	if fmt.Sprint(ff[1].Values) != "[{r Red} {g Green}]" {
		t.Errorf("color values = %v", ff[1].Values)
	}
	if ff[2].DatePattern != "dd/MM/yyyy" {
		t.Errorf("when = %+v", ff[2])
	}
}

func TestParseZeebe(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptDoc(`
<bpmn:message id="msg" name="paid"><bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements></bpmn:message>
<bpmn:process id="p" isExecutable="true">
<bpmn:serviceTask id="st"><bpmn:extensionElements>
  <zeebe:taskDefinition type="charge-card" retries="5"/>
  <zeebe:taskHeaders><zeebe:header key="k" value="v"/></zeebe:taskHeaders>
  <zeebe:ioMapping><zeebe:input source="=order.total" target="amount"/><zeebe:output source="=result" target="paid"/></zeebe:ioMapping>
</bpmn:extensionElements></bpmn:serviceTask>
<bpmn:userTask id="ut"><bpmn:extensionElements>
  <zeebe:userTask/>
  <zeebe:assignmentDefinition assignee="=owner" candidateGroups="sales, ops" candidateUsers="ann"/>
  <zeebe:taskSchedule dueDate="=now() + duration(&quot;P1D&quot;)" followUpDate="2026-01-01T00:00:00Z"/>
  <zeebe:priorityDefinition priority="75"/>
  <zeebe:formDefinition formId="invoice-form"/>
</bpmn:extensionElements></bpmn:userTask>
<bpmn:callActivity id="ca"><bpmn:extensionElements><zeebe:calledElement processId="=childId" propagateAllChildVariables="false"/></bpmn:extensionElements></bpmn:callActivity>
<bpmn:scriptTask id="sc"><bpmn:extensionElements><zeebe:script expression="=a + b" resultVariable="sum"/></bpmn:extensionElements></bpmn:scriptTask>
<bpmn:receiveTask id="rt" messageRef="msg"/>
<bpmn:intermediateCatchEvent id="ice"><bpmn:messageEventDefinition messageRef="msg"/></bpmn:intermediateCatchEvent>
</bpmn:process>`))
	st := ptNode(t, d, "st")
	if st.Task.Topic.String() != "charge-card" || st.Task.Retries != 5 || st.Task.Headers["k"] != "v" {
		t.Errorf("st task = %+v", st.Task)
	}
	if len(st.Inputs) != 1 || st.Inputs[0].Target != "amount" || st.Inputs[0].Source.String() != "=order.total" ||
		len(st.Outputs) != 1 || st.Outputs[0].Target != "paid" || st.Outputs[0].Source.String() != "=result" {
		t.Errorf("st mappings = %+v %+v", st.Inputs, st.Outputs)
	}
	h := ptNode(t, d, "ut").Human
	got := fmt.Sprint(h.Assignee, "|", h.CandidateGroups, "|", h.CandidateUsers, "|", h.DueDate, "|", h.FollowUpDate, "|", h.Priority, "|", h.FormID)
	if got != `=owner|sales, ops|ann|=now() + duration("P1D")|2026-01-01T00:00:00Z|75|invoice-form` {
		t.Errorf("human = %s", got)
	}
	ca := ptNode(t, d, "ca").Call
	if ca.CalledElement.String() != "=childId" || ca.PropagateAllChildVariables || !ca.PropagateAllParentVariables {
		t.Errorf("call = %+v", ca)
	}
	sc := ptNode(t, d, "sc").Task
	if sc.Script.String() != "=a + b" || sc.ResultVariable != "sum" {
		t.Errorf("script = %+v", sc)
	}
	if m := d.Element("msg").(*Message); m.CorrelationKey.String() != "=orderId" {
		t.Errorf("message key = %v", m.CorrelationKey)
	}
	if rt := ptNode(t, d, "rt").Task; rt.Message == nil || rt.CorrelationKey.String() != "=orderId" {
		t.Errorf("receive task = %+v", rt)
	}
	if e := ptNode(t, d, "ice").Event(); e.Message == nil || e.CorrelationKey.String() != "=orderId" {
		t.Errorf("catch event = %+v", e)
	}
}

func TestParseMultiInstance(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptProc(`
<bpmn:userTask id="cam"><bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="${reviewers}" camunda:elementVariable="reviewer">
  <bpmn:loopCardinality>3</bpmn:loopCardinality>
  <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">${nrOfCompletedInstances &gt;= 2}</bpmn:completionCondition>
</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>
<bpmn:serviceTask id="zb"><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>
  <zeebe:loopCharacteristics inputCollection="=items" inputElement="item" outputCollection="results" outputElement="=result"/>
</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:serviceTask>
<bpmn:task id="spec"><bpmn:multiInstanceLoopCharacteristics>
  <bpmn:loopDataInputRef>orders</bpmn:loopDataInputRef>
  <bpmn:loopDataOutputRef>receipts</bpmn:loopDataOutputRef>
  <bpmn:inputDataItem id="di" name="order"/>
  <bpmn:outputDataItem id="do" name="receipt"/>
</bpmn:multiInstanceLoopCharacteristics></bpmn:task>
<bpmn:task id="std"><bpmn:standardLoopCharacteristics testBefore="true" loopMaximum="4"><bpmn:loopCondition>${again}</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:task>
`))
	l := ptNode(t, d, "cam").Loop
	if !l.MultiInstance || !l.Sequential || l.InputCollection.String() != "${reviewers}" || l.InputElement != "reviewer" ||
		l.Cardinality.String() != "3" || l.CompletionCondition.String() != "${nrOfCompletedInstances >= 2}" {
		t.Errorf("camunda loop = %+v", l)
	}
	l = ptNode(t, d, "zb").Loop
	if l.Sequential || l.InputCollection.String() != "=items" || l.InputElement != "item" || l.OutputCollection != "results" || l.OutputElement.String() != "=result" {
		t.Errorf("zeebe loop = %+v", l)
	}
	l = ptNode(t, d, "spec").Loop
	if l.InputCollection.String() != "orders" || l.InputElement != "order" || l.OutputCollection != "receipts" || l.OutputElement.String() != "receipt" {
		t.Errorf("spec loop = %+v", l)
	}
	l = ptNode(t, d, "std").Loop
	if l.MultiInstance || !l.TestBefore || l.LoopMaximum != 4 || l.LoopCondition.String() != "${again}" {
		t.Errorf("standard loop = %+v", l)
	}
}

func TestParsePerformers(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptProc(`
<bpmn:userTask id="a"><bpmn:humanPerformer><bpmn:resourceAssignmentExpression><bpmn:formalExpression>kermit</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:humanPerformer></bpmn:userTask>
<bpmn:userTask id="b"><bpmn:potentialOwner><bpmn:resourceAssignmentExpression><bpmn:formalExpression>user(kermit), group(management), accounting, user(${boss})</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:potentialOwner></bpmn:userTask>
`))
	if h := ptNode(t, d, "a").Human; h.Assignee.String() != "kermit" {
		t.Errorf("a = %+v", h)
	}
	h := ptNode(t, d, "b").Human
	if h.CandidateUsers.String() != "kermit,${boss}" || h.CandidateGroups.String() != "management,accounting" {
		t.Errorf("b users %q groups %q", h.CandidateUsers, h.CandidateGroups)
	}
}

func TestParseStructure(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptDoc(`
<bpmn:collaboration id="collab">
  <bpmn:participant id="pool1" name="Shop" processRef="shop"/>
  <bpmn:participant id="pool2" name="Bank" processRef="bank"/>
  <bpmn:participant id="pool3" name="Customer"/>
  <bpmn:messageFlow id="mf" sourceRef="send" targetRef="recv" messageRef="m"/>
</bpmn:collaboration>
<bpmn:message id="m" name="M"/>
<bpmn:process id="shop" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Sales"><bpmn:flowNodeRef>send</bpmn:flowNodeRef>
    <bpmn:childLaneSet id="cls"><bpmn:lane id="l2"><bpmn:flowNodeRef> sub </bpmn:flowNodeRef></bpmn:lane></bpmn:childLaneSet></bpmn:lane></bpmn:laneSet>
  <bpmn:documentation>Sells things.</bpmn:documentation>
  <bpmn:sendTask id=" send " messageRef="m"><bpmn:documentation>Tell the bank &amp; wait</bpmn:documentation></bpmn:sendTask>
  <bpmn:sequenceFlow id="flow4 " sourceRef="send " targetRef=" sub"/>
  <bpmn:subProcess id="sub">
    <bpmn:startEvent id="subStart"/>
    <bpmn:sequenceFlow id="sf" sourceRef="subStart" targetRef="subEnd"/>
    <bpmn:endEvent id="subEnd"/>
  </bpmn:subProcess>
  <bpmn:sequenceFlow id="after" sourceRef="sub" targetRef="end"/>
  <bpmn:endEvent id="end"/>
  <bpmn:dataObject id="do1" name="Order"/>
  <bpmn:dataObjectReference id="dor" dataObjectRef="do1"/>
  <bpmn:textAnnotation id="ta"><bpmn:text>note</bpmn:text></bpmn:textAnnotation>
  <bpmn:association id="as" sourceRef="send" targetRef="ta"/>
</bpmn:process>
<bpmn:process id="bank" isExecutable="false"><bpmn:receiveTask id="recv" messageRef="m"/></bpmn:process>
<bpmndi:BPMNDiagram id="dia"/>
`))
	if len(d.Processes) != 2 || !d.HasDiagram {
		t.Fatalf("processes %d diagram %v", len(d.Processes), d.HasDiagram)
	}
	co := d.Collaborations[0]
	if len(co.Participants) != 3 || co.Participants[0].Process != d.Process("shop") || co.Participants[1].Process != d.Process("bank") || co.Participants[2].Process != nil {
		t.Errorf("participants = %+v", co.Participants)
	}
	if mf := co.MessageFlows[0]; mf.SourceRef != "send" || mf.TargetRef != "recv" || mf.MessageRef != "m" {
		t.Errorf("message flow = %+v", mf)
	}
	shop := d.Process("shop")
	if len(shop.Lanes) != 2 || shop.Lanes[1].Parent != shop.Lanes[0] || len(shop.Lanes[0].ChildLanes) != 1 ||
		len(shop.Lanes[0].Nodes) != 1 || shop.Lanes[0].Nodes[0].ID != "send" || shop.Lanes[1].Nodes[0].ID != "sub" {
		t.Errorf("lanes = %+v", shop.Lanes)
	}
	send := ptNode(t, d, "send")
	if send.Documentation != "Tell the bank & wait" || send.Task.Message == nil || len(send.Outgoing) != 1 || send.Outgoing[0].ID != "flow4" {
		t.Errorf("send = %+v", send)
	}
	sub := ptNode(t, d, "sub")
	if len(sub.Children.Nodes) != 2 || len(sub.Children.Flows) != 1 || ptNode(t, d, "subEnd").Parent != sub || sub.Scope() != &shop.Container {
		t.Errorf("sub = %+v", sub.Children)
	}
	if ptNode(t, d, "subStart").Scope() != sub.Children {
		t.Error("subStart scope is not sub's container")
	}
	// Index is dense in document order, for nodes and for flows.
	var order []string
	for _, n := range corpusNodes(d) {
		order = append(order, fmt.Sprint(n.Index, n.ID))
	}
	if got := strings.Join(order, " "); got != "0send 1sub 2subStart 3subEnd 4end 5recv" {
		t.Errorf("node order = %s", got)
	}
	if d.Flow("flow4").Index != 0 || d.Flow("sf").Index != 1 || d.Flow("after").Index != 2 {
		t.Errorf("flow indexes %d %d %d", d.Flow("flow4").Index, d.Flow("sf").Index, d.Flow("after").Index)
	}
	if len(shop.DataObjects) != 2 || !shop.DataObjects[1].Reference || shop.DataObjects[1].Ref != "do1" {
		t.Errorf("data objects = %+v", shop.DataObjects)
	}
	if len(shop.Associations) != 1 || shop.Associations[0].TargetRef != "ta" {
		t.Errorf("associations = %+v", shop.Associations)
	}
	if d.Node("recv").Process != d.Process("bank") {
		t.Error("recv is not in bank")
	}
}

func TestParseLines(t *testing.T) {
	t.Parallel()
	data := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment with <tags> and
     a second line -->
<bpmn:definitions ` + ptNS + `>
  <bpmn:process id="p"><![CDATA[
  ]]>
    <bpmn:startEvent id="s"
       name="multi
line"/>
    <?pi <x> ?>
    <bpmn:task id="t"
      name="a &gt; b"/><bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t">
      <bpmn:conditionExpression>${x}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>`)
	d := ptParse(t, data)
	for id, want := range map[string]int{"p": 5, "s": 7, "t": 11, "e": 12, "f": 13} {
		var got int
		switch v := d.Element(id).(type) {
		case *FlowNode:
			got = v.Line
		case *SequenceFlow:
			got = v.Line
		case *Process:
			got = v.Line
		}
		if got != want {
			t.Errorf("%s at line %d, want %d", id, got, want)
		}
	}
	if c := d.Flow("f").Condition; c.Line != 14 {
		t.Errorf("condition at line %d, want 14", c.Line)
	}
	if n := d.Node("s"); n.Name != "multi\nline" {
		t.Errorf("name %q", n.Name)
	}
}

func TestParseEncodings(t *testing.T) {
	t.Parallel()
	latin1 := append([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p"><task id="t" name="Caf`), 0xE9, '"', '/', '>')
	latin1 = append(latin1, []byte(`</process></definitions>`)...)
	d := ptParse(t, latin1)
	if n := d.Node("t"); n.Name != "Café" {
		t.Errorf("name = %q, want Café", n.Name)
	}
	if string(d.Raw) != string(latin1) {
		t.Error("Raw is not the document as read")
	}
	bom := append([]byte{0xEF, 0xBB, 0xBF}, ptProc(`<bpmn:task id="t" name="ünï"/>`)...)
	if n := ptNode(t, ptParse(t, bom), "t"); n.Name != "ünï" {
		t.Errorf("BOM: name %q", n.Name)
	}
	_, err := Parse([]byte(`<?xml version="1.0" encoding="x-klingon"?><definitions/>`))
	if err == nil || !strings.Contains(err.Error(), "unsupported encoding") {
		t.Errorf("klingon: %v", err)
	}
}

// ptHostile are documents Parse must refuse with a ParseError; msg is
// part of the expected message.
var ptHostile = []struct {
	name string
	data []byte
	msg  string
}{
	{"Empty", nil, "empty document"},
	{"Blank", []byte("  \n "), "no root element"},
	{"DoctypeEntity", []byte(`<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x "boom">]><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</definitions>`), "DOCTYPE"},
	{"BillionLaughs", []byte(`<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" name="&lol9;"/>`), "line 2: DOCTYPE"},
	{"UndefinedEntity", []byte(`<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" name="&lol9;"/>`), "undefined entity &lol9;"},
	{"TooLarge", append(ptProc(""), make([]byte, 11<<20)...), "larger than the limit"},
	{"TooDeep", []byte(`<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">` + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + `</definitions>`), "nesting deeper than 200"},
	{"Truncated", truncated(ptProc("<bpmn:task id=\"t\"/>"), 37), "unexpected end of document: <bpmn:process> (line 3) is not closed"},
	{"TruncatedInTag", ptProc("")[:150], "unterminated value of attribute"},
	{"MismatchedTags", []byte("<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n<process>\n</task>\n</definitions>"), "line 3: malformed XML: end tag </task> does not match <process> (line 2)"},
	{"Binary", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "invalid UTF-8"},
	{"ControlCharacter", []byte("<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n\x01</definitions>"), "line 2: malformed XML: illegal character"},
	{"NotXML", []byte("hello, world"), "text outside the root element"},
	{"NotBPMN", []byte(`<html><body/></html>`), "root element is <html>"},
	{"WrongRootInBPMN", []byte(`<process xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>`), "root element is <process>"},
	{"TwoRoots", []byte(`<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>`), "more than one root"},
	{"UnquotedAttr", []byte(`<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id=x/>`), "not quoted"},
	{"InvalidUTF8", []byte("<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" name=\"\xff\"/>"), "invalid UTF-8"},
}

func truncated(b []byte, n int) []byte { return b[:len(b)-n] }

func TestParseHostile(t *testing.T) {
	t.Parallel()
	for _, tc := range ptHostile {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse(tc.data)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T), definitions %v; want a *ParseError", err, err, d != nil)
			}
			if d != nil {
				t.Error("definitions returned with an error")
			}
			if !strings.Contains(pe.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", pe.Error(), tc.msg)
			}
		})
	}
	t.Run("Limits", func(t *testing.T) {
		t.Parallel()
		data := ptProc(`<bpmn:task id="t"/>`)
		if _, err := (Options{MaxBytes: 100}).Parse(data); err == nil {
			t.Error("MaxBytes 100 accepted a larger document")
		}
		if _, err := (Options{MaxDepth: 2}).Parse(data); err == nil || !strings.Contains(err.Error(), "deeper than 2") {
			t.Errorf("MaxDepth 2: %v", err)
		}
		if _, err := (Options{MaxDepth: 3}).Parse(data); err != nil {
			t.Errorf("MaxDepth 3: %v", err)
		}
	})
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptDoc(`
<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="s"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="nowhere"/>
  <bpmn:sequenceFlow id="f2" targetRef="s"/>
  <bpmn:exclusiveGateway id="gw" default="noflow"/>
  <bpmn:boundaryEvent id="b" attachedToRef="ghost"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
  <bpmn:intermediateCatchEvent id="mc"><bpmn:messageEventDefinition messageRef="noMsg"/></bpmn:intermediateCatchEvent>
  <bpmn:intermediateThrowEvent id="sg"><bpmn:signalEventDefinition signalRef="noSig"/></bpmn:intermediateThrowEvent>
  <bpmn:intermediateThrowEvent id="es"><bpmn:escalationEventDefinition escalationRef="noEsc"/></bpmn:intermediateThrowEvent>
  <bpmn:intermediateThrowEvent id="cp"><bpmn:compensateEventDefinition activityRef="noAct"/></bpmn:intermediateThrowEvent>
  <bpmn:intermediateCatchEvent id="er"><bpmn:eventDefinitionRef>noDef</bpmn:eventDefinitionRef></bpmn:intermediateCatchEvent>
  <bpmn:receiveTask id="rt" messageRef="noMsg2"/>
  <bpmn:userTask id="ut" camunda:assignee="${unclosed"/>
  <bpmn:task id="s"/>
  <bpmn:laneSet><bpmn:lane id="lane"><bpmn:flowNodeRef>noNode</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
</bpmn:process>
<bpmn:process id="np" isExecutable="false">
  <bpmn:intermediateCatchEvent id="nmc"><bpmn:messageEventDefinition messageRef="noMsg"/></bpmn:intermediateCatchEvent>
  <bpmn:task id="nt"/>
  <bpmn:sequenceFlow id="nf" sourceRef="nt" targetRef="nt"><bpmn:conditionExpression>${unclosed</bpmn:conditionExpression></bpmn:sequenceFlow>
</bpmn:process>
<bpmn:collaboration id="c"><bpmn:participant id="pt" processRef="noProc"/></bpmn:collaboration>
`))
	tests := []struct {
		sev     Severity
		id, msg string
	}{
		{SeverityError, "f1", "targetRef names no flow node: nowhere"},
		{SeverityError, "f2", "sourceRef is missing"},
		{SeverityError, "gw", "default names no sequence flow: noflow"},
		{SeverityError, "b", "attachedToRef names no activity: ghost"},
		{SeverityError, "mc", "messageRef names no message: noMsg"},
		{SeverityError, "sg", "signalRef names no signal: noSig"},
		{SeverityError, "es", "escalationRef names no escalation: noEsc"},
		{SeverityError, "cp", "activityRef names no activity: noAct"},
		{SeverityError, "er", "eventDefinitionRef names no event definition: noDef"},
		{SeverityError, "rt", "messageRef names no message: noMsg2"},
		{SeverityError, "ut", "camunda:assignee: compile"},
		{SeverityError, "s", `duplicate id "s": also used by a startEvent at line 5`},
		{SeverityWarning, "lane", "flowNodeRef names no flow node: noNode"},
		{SeverityWarning, "nmc", "messageRef names no message: noMsg"},
		{SeverityWarning, "pt", "processRef names no process: noProc"},
	}
	for _, tt := range tests {
		if !ptHasProblem(d, tt.sev, tt.id, tt.msg) {
			t.Errorf("missing %s on %s: %q; problems:%s", tt.sev, tt.id, tt.msg, ptProblems(d))
		}
	}
	for _, p := range d.Problems {
		if p.ElementID == "nf" && strings.Contains(p.Message, "compile") {
			t.Errorf("condition in a non-executable process reported: %s", p)
		}
	}
	if f := d.Flow("nf"); f.Condition == nil || f.Condition.Program != nil {
		t.Errorf("nf condition = %+v, want kept without a program", f.Condition)
	}
	if d.Err() == nil {
		t.Error("Err() is nil")
	}
	// The problem names the line, element and kind.
	for _, p := range d.Problems {
		if p.ElementID == "mc" && p.Severity == SeverityError {
			if p.Line != 10 || p.Kind != "intermediateCatchEvent" {
				t.Errorf("mc problem %+v, want line 10 kind intermediateCatchEvent", p)
			}
		}
	}
	// Sorted by line.
	for i := 1; i < len(d.Problems); i++ {
		if d.Problems[i].Line < d.Problems[i-1].Line {
			t.Fatalf("problems not sorted by line:%s", ptProblems(d))
		}
	}
}

func TestParseNoPanicOnBrokenReferences(t *testing.T) {
	t.Parallel()
	// References to elements of the wrong type are problems, not panics.
	d := ptParse(t, ptDoc(`<bpmn:message id="m"/>
<bpmn:process id="p">
  <bpmn:sequenceFlow id="f" sourceRef="m" targetRef="p"/>
  <bpmn:boundaryEvent id="b" attachedToRef="f"><bpmn:errorEventDefinition errorRef="f"/></bpmn:boundaryEvent>
  <bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="f"/></bpmn:intermediateCatchEvent>
  <bpmn:exclusiveGateway id="g" default="b"/>
</bpmn:process>`))
	for _, id := range []string{"f", "b", "c", "g"} {
		found := false
		for _, p := range d.Problems {
			found = found || p.ElementID == id
		}
		if !found {
			t.Errorf("no problem for %s:%s", id, ptProblems(d))
		}
	}
}

// TestParseCompensationHandler checks that a compensation boundary event
// gets the activity an association connects it to as its handler, whichever
// way the association points and whichever container holds it.
func TestParseCompensationHandler(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptProc(`
  <bpmn:task id="book"/>
  <bpmn:boundaryEvent id="cb" attachedToRef="book"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
  <bpmn:task id="undoBook" isForCompensation="true"/>
  <bpmn:association id="a1" associationDirection="One" sourceRef="cb" targetRef="undoBook"/>
  <bpmn:task id="pay"/>
  <bpmn:boundaryEvent id="cbPay" attachedToRef="pay"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
  <bpmn:task id="refund" isForCompensation="true"/>
  <bpmn:association id="a2" sourceRef="refund" targetRef="cbPay"/>
  <bpmn:subProcess id="sub">
    <bpmn:task id="inner"/>
    <bpmn:boundaryEvent id="cbInner" attachedToRef="inner"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
    <bpmn:task id="undoInner" isForCompensation="true"/>
  </bpmn:subProcess>
  <bpmn:association id="a3" sourceRef="cbInner" targetRef="undoInner"/>
  <bpmn:task id="ship"/>
  <bpmn:boundaryEvent id="cbShip" attachedToRef="ship"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
  <bpmn:textAnnotation id="note"><bpmn:text>no handler</bpmn:text></bpmn:textAnnotation>
  <bpmn:association id="a4" sourceRef="cbShip" targetRef="note"/>
  <bpmn:boundaryEvent id="timer" attachedToRef="ship"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
  <bpmn:association id="a5" sourceRef="timer" targetRef="undoBook"/>`))
	for event, want := range map[string]string{"cb": "undoBook", "cbPay": "refund", "cbInner": "undoInner", "cbShip": "", "timer": ""} {
		got := ""
		if h := ptNode(t, d, event).CompensationHandler; h != nil {
			got = h.ID
		}
		if got != want {
			t.Errorf("%s: compensation handler %q, want %q", event, got, want)
		}
	}
	if ptHasProblem(d, SeverityWarning, "cb", "handler") || !ptHasProblem(d, SeverityWarning, "cbShip", "no compensation handler") {
		t.Errorf("problems:%s", ptProblems(d))
	}
}
