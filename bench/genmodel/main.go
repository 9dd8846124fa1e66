// Command genmodel writes a synthetic, valid BPMN 2.0 model to stdout, in the
// shape Camunda Modeler 5.x writes (bpmn: prefix, camunda: extensions, ids like
// Activity_0k4y7dw, BPMNDI laid out left to right). The parser and engine
// benchmarks read its output.
//
// Usage:
//
//	genmodel [-n 2000] [-id generated] > model.bpmn
//	genmodel -chain 500 [-id chain] > chain.bpmn
//
// The default mode writes exactly n flow nodes: a start event, a chain of
// service, user and manual tasks with exclusive diamonds (condition
// ${x > 5}, the other flow is the default) and parallel diamonds sprinkled in,
// and an end event. Its user tasks wait, so it is meant for parsing, not for
// running to completion.
//
// -chain n writes start → n-2 manual tasks → end, which an engine runs to
// completion without any handler.
//
// The output is deterministic: the same flags always give the same bytes.
package main

import (
	"bufio"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

func main() {
	n := flag.Int("n", 2000, "number of flow nodes in the generated model (at least 2)")
	chain := flag.Int("chain", 0, "if > 0, write start → chain-2 manual tasks → end instead (at least 2)")
	id := flag.String("id", "", `process id (default "generated", or "chain" with -chain)`)
	flag.Parse()

	var m *model
	var err error
	if *chain > 0 {
		m, err = chainModel(*chain, orDefault(*id, "chain"))
	} else {
		m, err = mixedModel(*n, orDefault(*id, "generated"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genmodel:", err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	m.write(w)
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genmodel: write:", err)
		os.Exit(1)
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Layout: the main row is centred on mainY; diamond branches sit one row above
// and one below. gap is the horizontal space between two shapes.
const (
	mainY  = 227
	rowGap = 110
	gap    = 50
)

type kind string

const (
	kindStart     kind = "startEvent"
	kindEnd       kind = "endEvent"
	kindService   kind = "serviceTask"
	kindUser      kind = "userTask"
	kindManual    kind = "manualTask"
	kindExclusive kind = "exclusiveGateway"
	kindParallel  kind = "parallelGateway"
)

type node struct {
	id, name string
	kind     kind
	attrs    string // extra attributes, already escaped, each with a leading space
	ext      string // extensionElements content, already escaped
	x, y     int    // top-left corner
	w, h     int
	in, out  []*flow
}

func (n *node) cx() int { return n.x + n.w/2 }
func (n *node) cy() int { return n.y + n.h/2 }

type flow struct {
	id, name, cond string
	src, dst       *node
	points         [][2]int
}

type model struct {
	processID string
	nodes     []*node
	flows     []*flow
	ids       map[string]bool
	rng       *rand.Rand
	x         int // left edge of the next column
}

func newModel(processID string) *model {
	return &model{
		processID: processID,
		ids:       map[string]bool{},
		rng:       rand.New(rand.NewPCG(20240524, 5230)),
		x:         179,
	}
}

// newID returns a Modeler-style id: prefix, '_', then 7 base-36 characters
// starting with 0 or 1.
func (m *model) newID(prefix string) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	for {
		b := []byte{digits[m.rng.IntN(2)]}
		for range 6 {
			b = append(b, digits[m.rng.IntN(len(digits))])
		}
		id := prefix + "_" + string(b)
		if !m.ids[id] {
			m.ids[id] = true
			return id
		}
	}
}

// add places a node with its centre on row cy at column left edge x.
func (m *model) add(k kind, name string, x, cy int) *node {
	n := &node{kind: k, name: name}
	switch k {
	case kindStart, kindEnd:
		n.w, n.h = 36, 36
	case kindExclusive, kindParallel:
		n.w, n.h = 50, 50
	default:
		n.w, n.h = 100, 80
	}
	n.x, n.y = x, cy-n.h/2
	switch k {
	case kindStart:
		n.id = "StartEvent_1"
		m.ids[n.id] = true
	case kindEnd:
		n.id = m.newID("Event")
	case kindExclusive, kindParallel:
		n.id = m.newID("Gateway")
	default:
		n.id = m.newID("Activity")
	}
	m.nodes = append(m.nodes, n)
	return n
}

// connect adds a sequence flow with orthogonal waypoints the way bpmn-js
// routes them: straight when both centres share a row, otherwise out of the
// gateway's top or bottom corner, or into it.
func (m *model) connect(a, b *node, name, cond string) *flow {
	f := &flow{id: m.newID("Flow"), name: name, cond: cond, src: a, dst: b}
	switch {
	case a.cy() == b.cy():
		f.points = [][2]int{{a.x + a.w, a.cy()}, {b.x, b.cy()}}
	case a.kind == kindExclusive || a.kind == kindParallel:
		edge := a.y + a.h // leave from the bottom corner
		if b.cy() < a.cy() {
			edge = a.y // or the top one
		}
		f.points = [][2]int{{a.cx(), edge}, {a.cx(), b.cy()}, {b.x, b.cy()}}
	default:
		edge := b.y + b.h
		if a.cy() < b.cy() {
			edge = b.y
		}
		f.points = [][2]int{{a.x + a.w, a.cy()}, {b.cx(), a.cy()}, {b.cx(), edge}}
	}
	a.out = append(a.out, f)
	b.in = append(b.in, f)
	m.flows = append(m.flows, f)
	return f
}

// next places a node on the main row after the previous column and returns it.
func (m *model) next(k kind, name string) *node {
	n := m.add(k, name, m.x, mainY)
	m.x += n.w + gap
	return n
}

func chainModel(n int, processID string) (*model, error) {
	if n < 2 {
		return nil, errors.New("-chain needs at least 2 flow nodes (start and end)")
	}
	m := newModel(processID)
	prev := m.next(kindStart, "Start")
	for i := 1; i <= n-2; i++ {
		t := m.next(kindManual, fmt.Sprintf("Task %d", i))
		m.connect(prev, t, "", "")
		prev = t
	}
	end := m.next(kindEnd, "End")
	m.connect(prev, end, "", "")
	return m, nil
}

func mixedModel(n int, processID string) (*model, error) {
	if n < 2 {
		return nil, errors.New("-n needs at least 2 flow nodes (start and end)")
	}
	m := newModel(processID)
	prev := m.next(kindStart, "Start")
	left := n - 2
	tasks := 0
	task := func(x, cy int) *node {
		tasks++
		name := fmt.Sprintf("Task %d", tasks)
		var t *node
		switch tasks % 3 {
		case 0:
			t = m.add(kindService, name, x, cy)
			t.attrs = ` camunda:type="external" camunda:topic="noop"`
		case 1:
			t = m.add(kindUser, name, x, cy)
			t.attrs = ` camunda:assignee="demo"`
			if tasks%9 == 1 {
				t.ext = formData
			}
		default:
			t = m.add(kindManual, name, x, cy)
		}
		return t
	}
	for i := 0; left > 0; i++ {
		if left < 4 || i%5 < 3 {
			t := task(m.x, mainY)
			m.x += t.w + gap
			m.connect(prev, t, "", "")
			prev = t
			left--
			continue
		}
		// A diamond: split, one task above and one below, join (4 nodes).
		k := kindParallel
		if i%5 == 3 {
			k = kindExclusive
		}
		split := m.next(k, "")
		m.connect(prev, split, "", "")
		up := task(m.x, mainY-rowGap)
		down := task(m.x, mainY+rowGap)
		m.x += up.w + gap
		join := m.next(k, "")
		if k == kindExclusive {
			split.name = "x > 5?"
			m.connect(split, up, "yes", "${x > 5}")
			def := m.connect(split, down, "no", "")
			split.attrs = fmt.Sprintf(` default="%s"`, def.id)
		} else {
			m.connect(split, up, "", "")
			m.connect(split, down, "", "")
		}
		m.connect(up, join, "", "")
		m.connect(down, join, "", "")
		prev = join
		left -= 4
	}
	end := m.next(kindEnd, "End")
	m.connect(prev, end, "", "")
	return m, nil
}

const formData = `
        <camunda:formData>
          <camunda:formField id="amount" label="Amount" type="long">
            <camunda:validation>
              <camunda:constraint name="required" />
            </camunda:validation>
          </camunda:formField>
        </camunda:formData>
      `

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder never fail
	return b.String()
}

func (m *model) write(w *bufio.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:modeler="http://camunda.org/schema/modeler/1.0" id="Definitions_%s" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.23.0" modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.21.0">`+"\n", strings.TrimPrefix(m.newID("x"), "x_"))
	p(`  <bpmn:process id="%s" name="%s" isExecutable="true" camunda:historyTimeToLive="180">`+"\n", esc(m.processID), esc(m.processID))
	for _, n := range m.nodes {
		p(`    <bpmn:%s id="%s"`, n.kind, n.id)
		if n.name != "" {
			p(` name="%s"`, esc(n.name))
		}
		p("%s>\n", n.attrs)
		if n.ext != "" {
			p("      <bpmn:extensionElements>%s</bpmn:extensionElements>\n", n.ext)
		}
		for _, f := range n.in {
			p("      <bpmn:incoming>%s</bpmn:incoming>\n", f.id)
		}
		for _, f := range n.out {
			p("      <bpmn:outgoing>%s</bpmn:outgoing>\n", f.id)
		}
		p("    </bpmn:%s>\n", n.kind)
		for _, f := range n.out {
			p(`    <bpmn:sequenceFlow id="%s"`, f.id)
			if f.name != "" {
				p(` name="%s"`, esc(f.name))
			}
			p(` sourceRef="%s" targetRef="%s"`, f.src.id, f.dst.id)
			if f.cond == "" {
				p(" />\n")
				continue
			}
			p(">\n      <bpmn:conditionExpression xsi:type=\"bpmn:tFormalExpression\">%s</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>\n", esc(f.cond))
		}
	}
	p("  </bpmn:process>\n")
	p(`  <bpmndi:BPMNDiagram id="BPMNDiagram_1">` + "\n")
	p(`    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="%s">`+"\n", esc(m.processID))
	for _, n := range m.nodes {
		shapeID := n.id + "_di"
		if n.kind == kindStart {
			shapeID = "_BPMNShape_StartEvent_2"
		}
		p(`      <bpmndi:BPMNShape id="%s" bpmnElement="%s"`, shapeID, n.id)
		if n.kind == kindExclusive {
			p(` isMarkerVisible="true"`)
		}
		p(">\n        <dc:Bounds x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" />\n", n.x, n.y, n.w, n.h)
		if n.name != "" && n.kind != kindService && n.kind != kindUser && n.kind != kindManual {
			// Events carry their label below, gateways above.
			lw := 7*len(n.name) + 2
			ly := n.y + n.h + 7
			if n.kind == kindExclusive {
				ly = n.y - 30
			}
			p("        <bpmndi:BPMNLabel>\n          <dc:Bounds x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" />\n        </bpmndi:BPMNLabel>\n", n.cx()-lw/2, ly, lw)
		}
		p("      </bpmndi:BPMNShape>\n")
	}
	for _, f := range m.flows {
		p(`      <bpmndi:BPMNEdge id="%s_di" bpmnElement="%s">`+"\n", f.id, f.id)
		for _, pt := range f.points {
			p("        <di:waypoint x=\"%d\" y=\"%d\" />\n", pt[0], pt[1])
		}
		if f.name != "" {
			lw := 7*len(f.name) + 2
			mid := f.points[len(f.points)/2]
			p("        <bpmndi:BPMNLabel>\n          <dc:Bounds x=\"%d\" y=\"%d\" width=\"%d\" height=\"14\" />\n        </bpmndi:BPMNLabel>\n", mid[0]+6, mid[1]-18, lw)
		}
		p("      </bpmndi:BPMNEdge>\n")
	}
	p("    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n</bpmn:definitions>\n")
}
