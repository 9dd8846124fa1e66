package bpmn

import "testing"

// TestParseCallActivity checks what a call activity calls and how
// variables pass, in both dialects and in plain BPMN.
func TestParseCallActivity(t *testing.T) {
	t.Parallel()
	d := ptParse(t, ptProc(`
<bpmn:startEvent id="s"/>
<bpmn:callActivity id="plain" calledElement="child"/>
<bpmn:callActivity id="c7" calledElement="${childKey}" camunda:calledElementBinding="version" camunda:calledElementVersion="2">
  <bpmn:extensionElements>
    <camunda:in businessKey="#{execution.processBusinessKey}"/>
    <camunda:in source="order" target="o"/>
    <camunda:in variables="all" local="true"/>
    <camunda:out sourceExpression="${total * 2}" target="double"/>
    <camunda:out variables="all"/>
    <camunda:inputOutput><camunda:inputParameter name="x">${1}</camunda:inputParameter></camunda:inputOutput>
  </bpmn:extensionElements>
</bpmn:callActivity>
<bpmn:callActivity id="c8">
  <bpmn:extensionElements>
    <zeebe:calledElement processId="=childId" propagateAllParentVariables="false" bindingType="versionTag" versionTag="v3"/>
    <zeebe:ioMapping><zeebe:input source="=order.id" target="id"/><zeebe:output source="=result" target="r"/></zeebe:ioMapping>
  </bpmn:extensionElements>
</bpmn:callActivity>
<bpmn:callActivity id="c8default"><bpmn:extensionElements><zeebe:calledElement processId="child"/></bpmn:extensionElements></bpmn:callActivity>`))
	if err := d.Err(); err != nil {
		t.Fatalf("problems: %v%s", err, ptProblems(d))
	}

	plain := ptNode(t, d, "plain").Call
	if plain.CalledElement.String() != "child" || plain.Binding != "" || plain.Zeebe || plain.PropagateAllParentVariables || plain.PropagateAllChildVariables || len(plain.In)+len(plain.Out) != 0 {
		t.Errorf("plain = %+v", plain)
	}

	c7n := ptNode(t, d, "c7")
	c7 := c7n.Call
	if c7.CalledElement.String() != "${childKey}" || c7.CalledElement.Program == nil || c7.Binding != "version" || c7.Version != "2" || c7.Zeebe {
		t.Errorf("c7 = %+v", c7)
	}
	if c7.BusinessKey.String() != "#{execution.processBusinessKey}" || c7.BusinessKey.Program == nil {
		t.Errorf("c7 business key = %+v", c7.BusinessKey)
	}
	if len(c7.In) != 2 || c7.In[0].Source != "order" || c7.In[0].Target != "o" || !c7.In[1].All || !c7.In[1].Local {
		t.Errorf("c7 in = %+v %+v", c7.In[0], c7.In[1])
	}
	if len(c7.Out) != 2 || c7.Out[0].SourceExpression.String() != "${total * 2}" || c7.Out[0].Target != "double" || !c7.Out[1].All || c7.Out[1].Local {
		t.Errorf("c7 out = %+v", c7.Out)
	}
	if len(c7n.Inputs) != 1 || c7n.Inputs[0].Target != "x" {
		t.Errorf("c7 input parameters = %+v", c7n.Inputs)
	}

	c8n := ptNode(t, d, "c8")
	c8 := c8n.Call
	if c8.CalledElement.String() != "=childId" || !c8.Zeebe || c8.PropagateAllParentVariables || !c8.PropagateAllChildVariables ||
		c8.Binding != "versionTag" || c8.VersionTag != "v3" {
		t.Errorf("c8 = %+v", c8)
	}
	if len(c8n.Inputs) != 1 || c8n.Inputs[0].Target != "id" || len(c8n.Outputs) != 1 || c8n.Outputs[0].Source.String() != "=result" {
		t.Errorf("c8 mappings = %+v %+v", c8n.Inputs, c8n.Outputs)
	}
	if def := ptNode(t, d, "c8default").Call; !def.Zeebe || !def.PropagateAllParentVariables || !def.PropagateAllChildVariables || def.Binding != "" {
		t.Errorf("c8 defaults = %+v", def)
	}
}
