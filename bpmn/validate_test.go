package bpmn

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// defs wraps root elements in a <definitions> with the BPMN and Camunda namespaces.
func defs(root string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
` + root + `
</bpmn:definitions>`)
}

// proc wraps a process body in an executable process "P" inside definitions.
func proc(body string) []byte {
	return defs(`<bpmn:process id="P" isExecutable="true">` + body + `</bpmn:process>`)
}

// docProc is like proc for a process that is not executable.
func docProc(body string) []byte {
	return defs(`<bpmn:process id="P" isExecutable="false">` + body + `</bpmn:process>`)
}

// want is one expected problem: its element, severity and a piece of its message.
type want struct {
	id  string
	sev Severity
	msg string
}

func errs(id, msg string) want  { return want{id, SeverityError, msg} }
func warns(id, msg string) want { return want{id, SeverityWarning, msg} }

// Common fragments.
const (
	startToA = `<bpmn:startEvent id="S"/><bpmn:sequenceFlow id="F0" sourceRef="S" targetRef="A"/>`
	aToEnd   = `<bpmn:task id="A"/><bpmn:sequenceFlow id="F9" sourceRef="A" targetRef="E"/><bpmn:endEvent id="E"/>`
)

func cond(id, src, tgt, expr string) string {
	return fmt.Sprintf(`<bpmn:sequenceFlow id="%s" sourceRef="%s" targetRef="%s"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">%s</bpmn:conditionExpression></bpmn:sequenceFlow>`, id, src, tgt, expr)
}

func flow(id, src, tgt string) string {
	return fmt.Sprintf(`<bpmn:sequenceFlow id="%s" sourceRef="%s" targetRef="%s"/>`, id, src, tgt)
}

// orderModel is a Camunda-Modeler-style order process with a default flow,
// a timer boundary, a message catch, a call activity and a multi-instance task.
var orderModel = defs(`
  <bpmn:message id="Message_paid" name="payment received"/>
  <bpmn:error id="Error_stock" name="Out of stock" errorCode="OUT_OF_STOCK"/>
  <bpmn:process id="order" name="Order" isExecutable="true" camunda:versionTag="1">
    <bpmn:startEvent id="StartEvent_1" name="Order received" camunda:initiator="starter">
      <bpmn:outgoing>Flow_1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_check"/>
    <bpmn:userTask id="Activity_check" name="Check order" camunda:assignee="${starter}" camunda:candidateGroups="sales">
      <bpmn:incoming>Flow_1</bpmn:incoming>
      <bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_check" targetRef="Gateway_ok"/>
    <bpmn:exclusiveGateway id="Gateway_ok" name="Order OK?" default="Flow_no">
      <bpmn:incoming>Flow_2</bpmn:incoming>
      <bpmn:outgoing>Flow_yes</bpmn:outgoing>
      <bpmn:outgoing>Flow_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="Flow_yes" name="yes" sourceRef="Gateway_ok" targetRef="Activity_ship">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${approved}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_no" name="no" sourceRef="Gateway_ok" targetRef="Event_rejected"/>
    <bpmn:endEvent id="Event_rejected" name="Order rejected"/>
    <bpmn:serviceTask id="Activity_ship" name="Ship" camunda:type="external" camunda:topic="ship">
      <bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}" camunda:elementVariable="item"/>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="Event_late" name="2 days" attachedToRef="Activity_ship">
      <bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">P2D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="Event_stock" attachedToRef="Activity_ship">
      <bpmn:errorEventDefinition errorRef="Error_stock"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_late" sourceRef="Event_late" targetRef="Activity_escalate"/>
    <bpmn:sequenceFlow id="Flow_stock" sourceRef="Event_stock" targetRef="Activity_escalate"/>
    <bpmn:userTask id="Activity_escalate" name="Handle delay"/>
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Activity_ship" targetRef="Event_paid"/>
    <bpmn:intermediateCatchEvent id="Event_paid" name="Paid">
      <bpmn:messageEventDefinition messageRef="Message_paid"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="Flow_4" sourceRef="Event_paid" targetRef="Activity_invoice"/>
    <bpmn:callActivity id="Activity_invoice" name="Invoice" calledElement="invoice"/>
    <bpmn:sequenceFlow id="Flow_5" sourceRef="Activity_invoice" targetRef="Event_done"/>
    <bpmn:endEvent id="Event_done" name="Order done"/>
  </bpmn:process>`)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  []byte
		want []want
	}{
		// Valid models.
		{"OrderModel", orderModel, nil},
		{"Straight", proc(startToA + aToEnd), nil},
		{"NotExecutableNoStart", docProc(`<bpmn:task id="A"/>`), nil},
		{"MixedParallelGateway", proc(`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G1") +
			`<bpmn:parallelGateway id="G1"/>` + flow("F1", "G1", "A") + flow("F2", "G1", "B") +
			`<bpmn:task id="A"/><bpmn:task id="B"/>` + flow("F3", "A", "G2") + flow("F4", "B", "G2") +
			`<bpmn:parallelGateway id="G2"/>` + flow("F5", "G2", "C") + flow("F6", "G2", "D") +
			`<bpmn:task id="C"/><bpmn:task id="D"/>`), nil},
		{"ConvergingExclusive", proc(`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G") + flow("F1", "A", "G") +
			`<bpmn:task id="A"/><bpmn:exclusiveGateway id="G"/>` + flow("F2", "G", "E") + `<bpmn:endEvent id="E"/>`), nil},
		{"ExclusiveSingleConditioned", proc(startToA + aToEnd + `<bpmn:exclusiveGateway id="G"/>` + flow("F1", "S", "G") +
			cond("F2", "G", "A", "${ok}")), nil},
		{"TimerExpression", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A">
			<bpmn:timerEventDefinition><bpmn:timeDate>${due}</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>`), nil},
		{"TimerQuartzCycle", proc(`<bpmn:startEvent id="S"><bpmn:timerEventDefinition>
			<bpmn:timeCycle>0 0/5 * * * ?</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>`), nil},
		{"LinkPair", proc(startToA + aToEnd + flow("F1", "A", "LT") + `<bpmn:intermediateThrowEvent id="LT">
			<bpmn:linkEventDefinition name="go"/></bpmn:intermediateThrowEvent>
			<bpmn:intermediateCatchEvent id="LC"><bpmn:linkEventDefinition name="go"/></bpmn:intermediateCatchEvent>` +
			flow("F2", "LC", "E")), nil},
		{"EventGatewayOK", defs(`<bpmn:message id="M" name="go"/><bpmn:process id="P" isExecutable="true">` +
			`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G") + `<bpmn:eventBasedGateway id="G"/>` +
			flow("F1", "G", "T") + flow("F2", "G", "R") +
			`<bpmn:intermediateCatchEvent id="T"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>` +
			`<bpmn:receiveTask id="R" messageRef="M"/></bpmn:process>`), nil},
		{"CompensationWithHandler", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
			<bpmn:task id="H" isForCompensation="true"/><bpmn:association id="As" associationDirection="One" sourceRef="B" targetRef="H"/>`), nil},
		{"ExternalScript", proc(startToA + aToEnd + `<bpmn:scriptTask id="X" scriptFormat="groovy" camunda:type="external" camunda:topic="x"/>`), nil},
		{"EventSubProcessOK", proc(startToA + aToEnd + `<bpmn:subProcess id="ESP" triggeredByEvent="true">
			<bpmn:startEvent id="ES"><bpmn:errorEventDefinition/></bpmn:startEvent>` + flow("EF", "ES", "EE") + `<bpmn:endEvent id="EE"/></bpmn:subProcess>`), nil},

		// Sequence flows.
		{"FlowIntoStart", proc(startToA + aToEnd + flow("F1", "A", "S")), []want{errs("S", "incoming sequence flow F1 is not allowed")}},
		{"FlowOutOfEnd", proc(startToA + aToEnd + `<bpmn:task id="B"/>` + flow("F1", "E", "B")), []want{errs("E", "outgoing sequence flow F1 is not allowed")}},
		{"FlowIntoBoundary", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>` +
			flow("F1", "A", "B")), []want{errs("B", "incoming sequence flow F1 is not allowed")}},
		{"FlowCrossesSubProcess", proc(startToA + aToEnd + flow("F1", "A", "Sub") + `<bpmn:subProcess id="Sub" name="Pack">
			<bpmn:startEvent id="SS"/>` + flow("SF", "SS", "ST") + `<bpmn:task id="ST" name="Box it"/></bpmn:subProcess>` + flow("Fx", "ST", "E")),
			[]want{errs("Fx", `connects ST "Box it" (inside sub-process Sub "Pack") with E (at process level), crossing a sub-process boundary`)}},
		{"FlowIntoCompensationHandler", proc(startToA + aToEnd + `<bpmn:task id="H" isForCompensation="true"/>` + flow("F1", "A", "H")),
			[]want{errs("H", "incoming sequence flow F1 is not allowed: a compensation handler")}},

		// Defaults and conditions.
		{"DefaultNotOutgoing", proc(startToA + aToEnd + `<bpmn:exclusiveGateway id="G" default="F0"/>` + flow("F1", "A", "G") +
			cond("F2", "G", "E", "${a}") + cond("F3", "G", "E", "${b}")),
			[]want{errs("G", "the default flow F0 is not one of its outgoing flows")}},
		{"DefaultWithCondition", proc(startToA + aToEnd + `<bpmn:exclusiveGateway id="G" default="F3"/>` + flow("F1", "A", "G") +
			cond("F2", "G", "E", "${a}") + cond("F3", "G", "E", "${b}")),
			[]want{warns("F3", "default flow F3 has a condition, which is ignored")}},
		{"ActivityDefault", proc(startToA + `<bpmn:task id="A" default="F2"/>` + cond("F1", "A", "E", "${a}") + flow("F2", "A", "E") + `<bpmn:endEvent id="E"/>`), nil},
		{"ExclusiveUnconditioned", proc(startToA + aToEnd + `<bpmn:exclusiveGateway id="Gateway_1" default="F3"/>` + flow("F1", "A", "Gateway_1") +
			cond("F2", "Gateway_1", "E", "${a}") + `<bpmn:sequenceFlow id="Flow_3" name="maybe" sourceRef="Gateway_1" targetRef="E"/>` + flow("F3", "Gateway_1", "E")),
			[]want{errs("Gateway_1", `outgoing flow Flow_3 "maybe" has no condition and is not the default`)}},
		{"InclusiveUnconditioned", proc(startToA + aToEnd + `<bpmn:inclusiveGateway id="G"/>` + flow("F1", "A", "G") +
			cond("F2", "G", "E", "${a}") + flow("F3", "G", "E")),
			[]want{errs("G", "outgoing flow F3 has no condition and is not the default")}},
		{"EmptyConditionIsNone", proc(startToA + aToEnd + `<bpmn:exclusiveGateway id="G"/>` + flow("F1", "A", "G") +
			cond("F2", "G", "E", "${a}") + cond("F3", "G", "E", "  ")),
			[]want{errs("G", "outgoing flow F3 has no condition and is not the default")}},
		{"UnconditionedNotExecutable", docProc(startToA + aToEnd + `<bpmn:exclusiveGateway id="G"/>` + flow("F1", "A", "G") +
			flow("F2", "G", "E") + flow("F3", "G", "E")), nil},
		{"ParallelCondition", proc(startToA + aToEnd + `<bpmn:parallelGateway id="G"/>` + flow("F1", "A", "G") +
			cond("F2", "G", "E", "${a}") + flow("F3", "G", "E")),
			[]want{warns("F2", "condition on sequence flow F2 is ignored: parallel gateway G")}},
		{"ParallelDefault", proc(startToA + aToEnd + `<bpmn:parallelGateway id="G" default="F3"/>` + flow("F1", "A", "G") +
			flow("F2", "G", "E") + flow("F3", "G", "E")),
			[]want{warns("G", "the default flow F3 is ignored")}},

		// Event-based gateways.
		{"EventGatewayCondition", defs(`<bpmn:message id="M" name="go"/><bpmn:process id="P" isExecutable="true">` +
			`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G") + `<bpmn:eventBasedGateway id="G"/>` +
			cond("F1", "G", "T", "${x}") + flow("F2", "G", "R") +
			`<bpmn:intermediateCatchEvent id="T"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>` +
			`<bpmn:receiveTask id="R" messageRef="M"/></bpmn:process>`),
			[]want{errs("F1", "out of event-based gateway G has a condition")}},
		{"EventGatewayOneFlow", proc(`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G") + `<bpmn:eventBasedGateway id="G"/>` + flow("F1", "G", "T") +
			`<bpmn:intermediateCatchEvent id="T"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>`),
			[]want{errs("G", "event-based gateway has 1 outgoing flow(s)")}},
		{"EventGatewayToTask", proc(`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G") + `<bpmn:eventBasedGateway id="G"/>` +
			flow("F1", "G", "T") + flow("F2", "G", "A") + `<bpmn:task id="A" name="Wait"/>` +
			`<bpmn:intermediateCatchEvent id="T"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>`),
			[]want{errs("G", `outgoing flow F2 leads to A "Wait" (task)`)}},

		{"EventGatewayReceiveTaskBoundary", defs(`<bpmn:message id="M" name="go"/><bpmn:process id="P" isExecutable="true">` +
			`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G") + `<bpmn:eventBasedGateway id="G"/>` +
			flow("F1", "G", "T") + flow("F2", "G", "R") +
			`<bpmn:intermediateCatchEvent id="T"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>` +
			`<bpmn:receiveTask id="R" messageRef="M"/><bpmn:boundaryEvent id="RB" attachedToRef="R"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent></bpmn:process>`),
			[]want{errs("G", "leads to receive task R, which has boundary events")}},

		// Boundary events.
		{"BoundaryNoDefinition", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"/>`),
			[]want{errs("B", "boundary event has no trigger")}},
		{"BoundaryTerminate", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:terminateEventDefinition/></bpmn:boundaryEvent>`),
			[]want{errs("B", "a boundary event cannot have a terminate trigger")}},
		{"BoundaryLink", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:linkEventDefinition name="x"/></bpmn:boundaryEvent>`),
			[]want{errs("B", "a boundary event cannot have a link trigger")}},
		{"CancelBoundaryNotTransaction", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>`),
			[]want{errs("B", "a cancel boundary event can only be attached to a transaction")}},
		{"ErrorBoundaryNonInterrupting", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A" cancelActivity="false"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>`),
			[]want{warns("B", "an error boundary event always interrupts")}},
		{"CompensationNoHandler", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>`),
			[]want{warns("B", "compensation boundary event has no compensation handler")}},
		{"CompensationHandlerNotMarked", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
			<bpmn:task id="H"/><bpmn:association id="As" sourceRef="B" targetRef="H"/>`),
			[]want{warns("B", "the compensation handler H is not marked for compensation")}},

		// Timers.
		{"TimerBad", proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A">
			<bpmn:timerEventDefinition><bpmn:timeCycle>R3/PX</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>`),
			[]want{errs("B", `timer cannot be read: timeCycle "R3/PX": invalid duration "PX"`)}},
		{"TimerBadDate", proc(`<bpmn:startEvent id="S"><bpmn:timerEventDefinition><bpmn:timeDate>next monday</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:startEvent>`),
			[]want{errs("S", `timer cannot be read: timeDate "next monday"`)}},
		{"TimerEmpty", proc(startToA + aToEnd + `<bpmn:intermediateCatchEvent id="T"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>`),
			[]want{errs("T", "timer has no value")}},
		{"TimerBadNotExecutable", docProc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A">
			<bpmn:timerEventDefinition><bpmn:timeCycle>R3/PX</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>`), nil},

		// Start events.
		{"NoStartEvent", proc(aToEnd), []want{errs("P", "process P has no start event")}},
		{"TwoNoneStarts", proc(startToA + aToEnd + `<bpmn:startEvent id="S2"/>` + flow("F1", "S2", "A")),
			[]want{errs("S2", "has 2 start events without a trigger (S, S2)")}},
		{"TwoNoneStartsNotExecutable", docProc(startToA + aToEnd + `<bpmn:startEvent id="S2"/>` + flow("F1", "S2", "A")), nil},
		{"ErrorStartAtTop", proc(startToA + aToEnd + `<bpmn:startEvent id="S2"><bpmn:errorEventDefinition/></bpmn:startEvent>`),
			[]want{errs("S2", "a start event of a process cannot have an error trigger")}},
		{"SubProcessStartWithTrigger", proc(startToA + aToEnd + `<bpmn:subProcess id="Sub"><bpmn:startEvent id="SS">
			<bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent></bpmn:subProcess>`),
			[]want{errs("SS", "the start event of embedded sub-process Sub has a timer trigger")}},
		{"SubProcessTwoStarts", proc(startToA + aToEnd + `<bpmn:subProcess id="Sub"><bpmn:startEvent id="SS1"/><bpmn:startEvent id="SS2"/></bpmn:subProcess>`),
			[]want{errs("SS2", "sub-process Sub has more than one start event")}},
		{"EventSubProcessNoneStart", proc(startToA + aToEnd + `<bpmn:subProcess id="ESP" triggeredByEvent="true"><bpmn:startEvent id="ES"/></bpmn:subProcess>`),
			[]want{errs("ES", "the start event of event sub-process ESP has no trigger")}},
		{"EventSubProcessNoStart", proc(startToA + aToEnd + `<bpmn:subProcess id="ESP" triggeredByEvent="true"><bpmn:task id="T"/></bpmn:subProcess>`),
			[]want{errs("ESP", "event sub-process has no start event")}},
		{"EventSubProcessTwoStarts", proc(startToA + aToEnd + `<bpmn:subProcess id="ESP" triggeredByEvent="true">
			<bpmn:startEvent id="ES1"><bpmn:errorEventDefinition/></bpmn:startEvent><bpmn:startEvent id="ES2"><bpmn:escalationEventDefinition/></bpmn:startEvent></bpmn:subProcess>`),
			[]want{errs("ES2", "event sub-process ESP has more than one start event")}},
		{"EventSubProcessFlows", proc(startToA + aToEnd + flow("F1", "A", "ESP") + `<bpmn:subProcess id="ESP" triggeredByEvent="true">
			<bpmn:startEvent id="ES"><bpmn:errorEventDefinition/></bpmn:startEvent></bpmn:subProcess>`),
			[]want{errs("ESP", "incoming sequence flow F1 is not allowed: an event sub-process")}},
		{"EventSubProcessLinkStart", proc(startToA + aToEnd + `<bpmn:subProcess id="ESP" triggeredByEvent="true">
			<bpmn:startEvent id="ES"><bpmn:linkEventDefinition name="x"/></bpmn:startEvent></bpmn:subProcess>`),
			[]want{errs("ES", "a start event of an event sub-process cannot have a link trigger")}},
		{"DuplicateMessageStarts", defs(`<bpmn:message id="M" name="go"/><bpmn:process id="P" isExecutable="true">
			<bpmn:startEvent id="S1"><bpmn:messageEventDefinition messageRef="M"/></bpmn:startEvent>
			<bpmn:startEvent id="S2"><bpmn:messageEventDefinition messageRef="M"/></bpmn:startEvent></bpmn:process>`),
			[]want{errs("S2", `waits for message "go" like start event S1`)}},

		// Intermediate and end events.
		{"CatchNoDefinition", proc(startToA + aToEnd + `<bpmn:intermediateCatchEvent id="C"/>`),
			[]want{errs("C", "intermediate catch event has nothing to wait for")}},
		{"ThrowTimer", proc(startToA + aToEnd + `<bpmn:intermediateThrowEvent id="T"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateThrowEvent>`),
			[]want{errs("T", "an intermediate throw event cannot have a timer trigger")}},
		{"LinkNoCatch", proc(startToA + aToEnd + `<bpmn:intermediateThrowEvent id="LT"><bpmn:linkEventDefinition name="go"/></bpmn:intermediateThrowEvent>`),
			[]want{errs("LT", `jumps to link "go", but there is no catch link event with that name`)}},
		{"LinkNameSpacing", proc(startToA + aToEnd + `<bpmn:intermediateThrowEvent id="LT"><bpmn:linkEventDefinition name="Go &#10;on"/></bpmn:intermediateThrowEvent>
			<bpmn:intermediateCatchEvent id="LC"><bpmn:linkEventDefinition name="Go&#10;on"/></bpmn:intermediateCatchEvent>`),
			[]want{errs("LT", `but catch link event LC is named "Go\non", which differs in spaces or line breaks`)}},
		{"LinkDuplicateCatch", proc(startToA + aToEnd + `<bpmn:intermediateThrowEvent id="LT"><bpmn:linkEventDefinition name="go"/></bpmn:intermediateThrowEvent>
			<bpmn:intermediateCatchEvent id="LC1"><bpmn:linkEventDefinition name="go"/></bpmn:intermediateCatchEvent>
			<bpmn:intermediateCatchEvent id="LC2"><bpmn:linkEventDefinition name="go"/></bpmn:intermediateCatchEvent>`),
			[]want{errs("LC2", `catch link events LC1 and LC2 have the same link name "go"`)}},
		{"ErrorEndNoCode", defs(`<bpmn:error id="Err" name="Broken"/><bpmn:process id="P" isExecutable="true">` +
			startToA + `<bpmn:task id="A"/>` + flow("F1", "A", "E") + `<bpmn:endEvent id="E"><bpmn:errorEventDefinition errorRef="Err"/></bpmn:endEvent></bpmn:process>`),
			[]want{warns("E", `error Err "Broken" has no error code, so it will be thrown with its id "Err"`)}},
		{"CancelEndOutsideTransaction", proc(startToA + `<bpmn:task id="A"/>` + flow("F1", "A", "E") + `<bpmn:endEvent id="E"><bpmn:cancelEventDefinition/></bpmn:endEvent>`),
			[]want{errs("E", "a cancel end event can only be used inside a transaction")}},
		{"CancelEndInTransaction", proc(startToA + aToEnd + `<bpmn:transaction id="Tx"><bpmn:startEvent id="TS"/>` + flow("TF", "TS", "TE") +
			`<bpmn:endEvent id="TE"><bpmn:cancelEventDefinition/></bpmn:endEvent></bpmn:transaction>
			<bpmn:boundaryEvent id="TB" attachedToRef="Tx"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>`), nil},

		// Messages and signals.
		{"MessageNoName", defs(`<bpmn:message id="M"/><bpmn:process id="P" isExecutable="true">` + startToA + aToEnd +
			`<bpmn:intermediateCatchEvent id="C"><bpmn:messageEventDefinition messageRef="M"/></bpmn:intermediateCatchEvent></bpmn:process>`),
			[]want{errs("C", "message M has no name")}},
		{"MessageMissing", proc(startToA + aToEnd + `<bpmn:intermediateCatchEvent id="C"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>`),
			[]want{errs("C", "an intermediate catch event waits for a message but does not say which")}},
		{"ReceiveTaskMessageNoName", defs(`<bpmn:message id="M"/><bpmn:process id="P" isExecutable="true">` + startToA + aToEnd +
			`<bpmn:receiveTask id="R" messageRef="M"/></bpmn:process>`),
			[]want{errs("R", "message M has no name")}},
		{"SignalNoName", defs(`<bpmn:signal id="Sig"/><bpmn:process id="P" isExecutable="true">` + startToA + aToEnd +
			`<bpmn:intermediateThrowEvent id="T"><bpmn:signalEventDefinition signalRef="Sig"/></bpmn:intermediateThrowEvent></bpmn:process>`),
			[]want{errs("T", "signal Sig has no name")}},

		// Activities.
		{"CallActivityNoElement", proc(startToA + aToEnd + `<bpmn:callActivity id="C"/>`),
			[]want{errs("C", "call activity does not say which process to call")}},
		{"MultiInstanceNoData", proc(startToA + aToEnd + `<bpmn:task id="M"><bpmn:multiInstanceLoopCharacteristics/></bpmn:task>`),
			[]want{errs("M", "multi-instance activity says neither how many instances")}},
		{"MultiInstanceCardinality", proc(startToA + aToEnd + `<bpmn:task id="M"><bpmn:multiInstanceLoopCharacteristics>
			<bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>`), nil},
		{"MultiInstanceElementNoCollection", proc(startToA + aToEnd + `<bpmn:task id="M"><bpmn:multiInstanceLoopCharacteristics camunda:elementVariable="item">
			<bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>`),
			[]want{errs("M", `multi-instance element variable "item" has no input collection`)}},
		{"ScriptGroovy", proc(startToA + aToEnd + `<bpmn:scriptTask id="X" scriptFormat="groovy"><bpmn:script>println "hi"</bpmn:script></bpmn:scriptTask>`),
			[]want{warns("X", `Baton does not run embedded groovy scripts; the task is treated as an external task with topic "X" (the task id)`)}},
		{"JavaClass", proc(startToA + aToEnd + `<bpmn:serviceTask id="J" camunda:class="com.acme.Ship"/>`),
			[]want{warns("J", `camunda:class "com.acme.Ship" is a Java delegate, which Baton does not execute; the task waits for an external worker on topic "J" (the task id)`)}},
		{"DelegateExpression", proc(startToA + aToEnd + `<bpmn:serviceTask id="J" camunda:delegateExpression="${shipper}"/>`),
			[]want{warns("J", `camunda:delegateExpression "${shipper}" is a Java delegate`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse(tt.doc)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkProblems(t, d.Problems, tt.want)
		})
	}
}

// checkProblems asserts that problems and wants match one to one.
func checkProblems(t *testing.T, problems []Problem, wants []want) {
	t.Helper()
	used := make([]bool, len(problems))
	ok := true
	for _, w := range wants {
		found := false
		for i, p := range problems {
			if !used[i] && p.ElementID == w.id && p.Severity == w.sev && strings.Contains(p.Message, w.msg) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing %s on %s: %q", w.sev, w.id, w.msg)
			ok = false
		}
	}
	for i, p := range problems {
		if !used[i] {
			t.Errorf("unexpected problem: %s", p)
			ok = false
		}
	}
	if !ok {
		for _, p := range problems {
			t.Logf("got: %s", p)
		}
	}
}

func TestValidateBoundaryOnGateway(t *testing.T) {
	t.Parallel()
	d, err := Parse(proc(startToA + aToEnd + `<bpmn:exclusiveGateway id="G"/><bpmn:boundaryEvent id="B" attachedToRef="G">
		<bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>`))
	if err != nil {
		t.Fatal(err)
	}
	checkProblems(t, d.Problems, []want{errs("B", "boundary event is attached to G (exclusiveGateway), which is not an activity")})
}

// TestValidateHalfResolved runs validate over a model with what resolve
// leaves nil when references dangle; it must not panic.
func TestValidateHalfResolved(t *testing.T) {
	t.Parallel()
	gw := &FlowNode{ID: "G", Kind: KindExclusiveGateway, DefaultRef: "nowhere"}
	b := &FlowNode{ID: "B", Kind: KindBoundaryEvent, AttachedToRef: "missing", EventDefinitions: []*EventDefinition{nil, {Kind: EventTimer}}}
	ebg := &FlowNode{ID: "EBG", Kind: KindEventBasedGateway}
	sub := &FlowNode{ID: "Sub", Kind: KindSubProcess} // Children nil
	esp := &FlowNode{ID: "ESP", Kind: KindEventSubProcess, Children: &Container{Nodes: []*FlowNode{nil}}}
	f1 := &SequenceFlow{ID: "F1", SourceRef: "x", TargetRef: "G"}
	f2 := &SequenceFlow{ID: "F2", Source: gw, TargetRef: "y", Condition: &Expression{}}
	f3 := &SequenceFlow{ID: "F3", Source: ebg}
	gw.Outgoing = []*SequenceFlow{f2, nil, {ID: "F4", Source: gw}}
	ebg.Outgoing = []*SequenceFlow{f3, nil}
	catch := &FlowNode{ID: "C", Kind: KindIntermediateCatchEvent, EventDefinitions: []*EventDefinition{
		{Kind: EventMessage, MessageRef: "gone"}, {Kind: EventSignal, SignalRef: "gone"}, {Kind: EventTimer, Timer: &Timer{Type: TimerCycle}},
		{Kind: EventLink}, {Kind: EventConditional}}}
	task := &FlowNode{ID: "T", Kind: KindReceiveTask, Loop: &Loop{MultiInstance: true}, Boundaries: []*FlowNode{nil}}
	call := &FlowNode{ID: "CA", Kind: KindCallActivity, Call: &CallActivity{CalledElement: &Expression{}}}
	end := &FlowNode{ID: "E", Kind: KindEndEvent, EventDefinitions: []*EventDefinition{{Kind: EventError, ErrorRef: "e"}, {Kind: EventCancel}}}
	p := &Process{ID: "P", IsExecutable: true, Container: Container{
		Nodes: []*FlowNode{gw, b, ebg, sub, esp, catch, task, call, end, nil, {ID: "", Kind: ""}},
		Flows: []*SequenceFlow{f1, f2, f3, nil},
	}}
	d := &Definitions{Processes: []*Process{p, nil}}
	validate(d)
	validate(nil)
	validate(&Definitions{})
	for _, pr := range d.Problems {
		if pr.Message == "" || pr.Kind == "" {
			t.Errorf("problem without message or kind: %#v", pr)
		}
	}
	if len(d.Problems) == 0 {
		t.Error("no problems reported")
	}
}

// TestValidateCorpus runs validation over the MIWG reference models and
// their Camunda Modeler exports: no panic, and every problem names its
// element and says what is wrong.
func TestValidateCorpus(t *testing.T) {
	t.Parallel()
	var files []string
	for _, dir := range []string{"bpmn.io-camunda-modeler-18.6.1", "reference", "sap-signavio-process-manager-19.9.0", "trisotech-workflow-modeler-12.6.3"} {
		fs, err := filepath.Glob(filepath.Join(corpusDir, dir, "*.bpmn"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	if len(files) != 88 {
		t.Fatalf("found %d corpus files in %s, want 88", len(files), corpusDir)
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			// Validate again on its own, to check what validate reports.
			d.Problems = nil
			validate(d)
			for _, p := range d.Problems {
				if p.Message == "" || p.Kind == "" || p.ElementID == "" {
					t.Errorf("incomplete problem: %#v", p)
				}
				t.Logf("%s", p)
			}
		})
	}
}

// FuzzValidate parses mutated models: whatever resolve leaves half linked,
// validate must not panic.
func FuzzValidate(f *testing.F) {
	f.Add(orderModel)
	f.Add(proc(startToA + aToEnd + `<bpmn:subProcess id="Sub"><bpmn:startEvent id="SS"/>` + flow("SF", "SS", "ST") + `<bpmn:task id="ST"/></bpmn:subProcess>` + flow("Fx", "ST", "E")))
	f.Add(proc(startToA + aToEnd + `<bpmn:boundaryEvent id="B" attachedToRef="A"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>
		<bpmn:task id="H" isForCompensation="true"/><bpmn:association id="As" sourceRef="B" targetRef="H"/>`))
	f.Add(proc(`<bpmn:startEvent id="S"/>` + flow("F0", "S", "G") + `<bpmn:eventBasedGateway id="G" default="F1"/>` + flow("F1", "G", "T") +
		`<bpmn:intermediateCatchEvent id="T"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1M</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>` +
		`<bpmn:subProcess id="ESP" triggeredByEvent="true"><bpmn:startEvent id="ES"><bpmn:linkEventDefinition name="x"/></bpmn:startEvent></bpmn:subProcess>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		for _, p := range d.Problems {
			if p.Message == "" {
				t.Fatalf("problem without message: %#v", p)
			}
		}
	})
}
