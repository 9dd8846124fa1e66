package bpmn

import (
	"strconv"
	"strings"
)

// zeebeExtension reads one zeebe: element of a flow node's extensionElements.
func (p *parser) zeebeExtension(n *FlowNode, o owner, e int32, el *xelem) {
	x := p.x
	line := p.line(e)
	human := func() *HumanTask {
		if n.Human == nil {
			n.Human = &HumanTask{}
		}
		return n.Human
	}
	task := func() *TaskDef {
		if n.Task == nil {
			n.Task = &TaskDef{}
		}
		return n.Task
	}
	switch el.local {
	case "taskDefinition":
		t := task()
		if v := x.get(e, "type"); v != "" {
			t.Topic = p.expr(v, line, o, "zeebe:taskDefinition type")
		}
		if v := strings.TrimSpace(x.get(e, "retries")); v != "" {
			t.Retries, _ = strconv.Atoi(strings.TrimPrefix(v, "="))
		}
	case "taskHeaders":
		t := task()
		p.children(e, func(c int32, cel *xelem) {
			if cel.ns == nsZeebe && cel.local == "header" {
				if t.Headers == nil {
					t.Headers = map[string]string{}
				}
				t.Headers[x.get(c, "key")] = x.get(c, "value")
			}
		})
	case "assignmentDefinition":
		h := human()
		if v, ok := x.attr(e, nsNone, "assignee"); ok {
			h.Assignee = p.expr(v, line, o, "zeebe:assignmentDefinition assignee")
		}
		if v, ok := x.attr(e, nsNone, "candidateGroups"); ok {
			h.CandidateGroups = p.expr(v, line, o, "zeebe:assignmentDefinition candidateGroups")
		}
		if v, ok := x.attr(e, nsNone, "candidateUsers"); ok {
			h.CandidateUsers = p.expr(v, line, o, "zeebe:assignmentDefinition candidateUsers")
		}
	case "taskSchedule":
		h := human()
		if v, ok := x.attr(e, nsNone, "dueDate"); ok {
			h.DueDate = p.expr(v, line, o, "zeebe:taskSchedule dueDate")
		}
		if v, ok := x.attr(e, nsNone, "followUpDate"); ok {
			h.FollowUpDate = p.expr(v, line, o, "zeebe:taskSchedule followUpDate")
		}
	case "priorityDefinition":
		if v, ok := x.attr(e, nsNone, "priority"); ok {
			human().Priority = p.expr(v, line, o, "zeebe:priorityDefinition priority")
		}
	case "formDefinition":
		h := human()
		if v := strings.TrimSpace(x.get(e, "formId")); v != "" {
			h.FormID = v
		} else if v := strings.TrimSpace(x.get(e, "formKey")); v != "" {
			h.FormID = v
		}
	case "ioMapping":
		p.children(e, func(c int32, cel *xelem) {
			if cel.ns != nsZeebe {
				return
			}
			m := &Mapping{Target: strings.TrimSpace(x.get(c, "target"))}
			switch cel.local {
			case "input":
				m.Source = p.expr(x.get(c, "source"), p.line(c), o, "zeebe:input "+m.Target)
				n.Inputs = append(n.Inputs, m)
			case "output":
				m.Source = p.expr(x.get(c, "source"), p.line(c), o, "zeebe:output "+m.Target)
				n.Outputs = append(n.Outputs, m)
			}
		})
	case "calledElement":
		if n.Call == nil {
			n.Call = &CallActivity{}
		}
		if v := x.get(e, "processId"); v != "" {
			n.Call.CalledElement = p.expr(v, line, o, "zeebe:calledElement processId")
		}
		// Zeebe propagates all variables both ways unless told otherwise.
		n.Call.PropagateAllChildVariables = p.boolAttr(e, nsNone, "propagateAllChildVariables", true)
		n.Call.PropagateAllParentVariables = p.boolAttr(e, nsNone, "propagateAllParentVariables", true)
		n.Call.Zeebe = true
		// bindingType is latest (the default), deployment or versionTag.
		if v := strings.TrimSpace(x.get(e, "bindingType")); v != "" {
			n.Call.Binding = v
		}
		if v := strings.TrimSpace(x.get(e, "versionTag")); v != "" {
			n.Call.VersionTag = v
		}
	case "script":
		t := task()
		if v := x.get(e, "expression"); v != "" {
			t.Script = p.expr(v, line, o, "zeebe:script expression")
		}
		if v := strings.TrimSpace(x.get(e, "resultVariable")); v != "" {
			t.ResultVariable = v
		}
	case "subscription":
		// On a receive task or event itself (some modelers put it here).
		if v := x.get(e, "correlationKey"); v != "" {
			ck := p.expr(v, line, o, "zeebe:subscription correlationKey")
			if n.Task != nil {
				n.Task.CorrelationKey = ck
			}
			for _, ed := range n.EventDefinitions {
				if ed.Kind == EventMessage {
					ed.CorrelationKey = ck
				}
			}
		}
	case "loopCharacteristics":
		// Normally inside multiInstanceLoopCharacteristics; read in multiInstance.
	}
}
