package bpmn

import "strings"

// extensions reads the extensionElements of a flow node: camunda: (Camunda 7,
// also under the old Activiti namespace) and zeebe: (Camunda 8) elements.
// Everything else is kept out of the model and ignored.
func (p *parser) extensions(n *FlowNode, o owner, e int32) {
	p.children(e, func(c int32, el *xelem) {
		switch el.ns {
		case nsCamunda:
			p.camundaExtension(n, o, c, el)
		case nsZeebe:
			p.zeebeExtension(n, o, c, el)
		}
	})
}

func (p *parser) camundaExtension(n *FlowNode, o owner, e int32, el *xelem) {
	x := p.x
	switch el.local {
	case "inputOutput":
		p.children(e, func(c int32, cel *xelem) {
			if cel.ns != nsCamunda {
				return
			}
			switch cel.local {
			case "inputParameter":
				n.Inputs = append(n.Inputs, p.camundaParameter(o, c))
			case "outputParameter":
				n.Outputs = append(n.Outputs, p.camundaParameter(o, c))
			}
		})
	case "in", "out":
		if n.Call == nil {
			n.Call = &CallActivity{}
		}
		line := p.line(e)
		if bk, ok := x.attr(e, nsNone, "businessKey"); ok && el.local == "in" {
			n.Call.BusinessKey = p.expr(bk, line, o, "camunda:in businessKey")
			return
		}
		m := &CallMapping{
			Source: strings.TrimSpace(x.get(e, "source")),
			Target: strings.TrimSpace(x.get(e, "target")),
			All:    strings.TrimSpace(x.get(e, "variables")) == "all",
			Local:  p.boolAttr(e, nsNone, "local", false),
		}
		if se := x.get(e, "sourceExpression"); se != "" {
			m.SourceExpression = p.expr(se, line, o, "camunda:"+el.local+" sourceExpression")
		}
		if el.local == "in" {
			n.Call.In = append(n.Call.In, m)
		} else {
			n.Call.Out = append(n.Call.Out, m)
		}
	case "formData":
		if n.Human == nil {
			n.Human = &HumanTask{}
		}
		p.children(e, func(c int32, cel *xelem) {
			if cel.ns == nsCamunda && cel.local == "formField" {
				n.Human.FormFields = append(n.Human.FormFields, p.formField(c))
			}
		})
	case "failedJobRetryTimeCycle":
		if t := p.text(e); t != "" {
			n.Async.RetryTimeCycle = t
		}
	}
}

// camundaParameter reads a camunda:inputParameter or outputParameter.
func (p *parser) camundaParameter(o owner, e int32) *Mapping {
	m := &Mapping{Target: strings.TrimSpace(p.x.get(e, "name"))}
	nested := false
	p.children(e, func(c int32, el *xelem) {
		if nested {
			return
		}
		nested = true
		switch {
		case el.ns == nsCamunda && el.local == "script":
			format := p.x.get(c, "scriptFormat")
			if format == "" {
				format = "unknown language"
			}
			m.Unsupported = "camunda:script parameter (" + format + ") is not supported"
		case el.ns == nsCamunda && (el.local == "list" || el.local == "map"):
			m.Unsupported = "camunda:" + el.local + " parameter is not supported"
		default:
			m.Unsupported = "parameter content <" + qname(el.prefix, el.local) + "> is not supported"
		}
	})
	if !nested {
		m.Source = p.expr(p.x.elems[e].text, p.line(e), o, "camunda parameter "+m.Target)
	}
	return m
}

func (p *parser) formField(e int32) *FormField {
	x := p.x
	f := &FormField{
		ID:           strings.TrimSpace(x.get(e, "id")),
		Label:        x.get(e, "label"),
		Type:         strings.TrimSpace(x.get(e, "type")),
		DatePattern:  x.get(e, "datePattern"),
		DefaultValue: x.get(e, "defaultValue"),
	}
	p.children(e, func(c int32, el *xelem) {
		if el.ns != nsCamunda {
			return
		}
		switch el.local {
		case "value":
			f.Values = append(f.Values, FormValue{ID: strings.TrimSpace(x.get(c, "id")), Name: x.get(c, "name")})
		case "validation":
			p.children(c, func(z int32, zel *xelem) {
				if zel.ns == nsCamunda && zel.local == "constraint" {
					f.Constraints = append(f.Constraints, FormConstraint{Name: strings.TrimSpace(x.get(z, "name")), Config: x.get(z, "config")})
				}
			})
		case "properties":
			p.children(c, func(z int32, zel *xelem) {
				if zel.ns == nsCamunda && zel.local == "property" {
					if f.Properties == nil {
						f.Properties = map[string]string{}
					}
					f.Properties[strings.TrimSpace(x.get(z, "id"))] = x.get(z, "value")
				}
			})
		}
	})
	return f
}
