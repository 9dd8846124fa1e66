// check-models.js FILE... parses each BPMN file with bpmn-moddle (with the
// camunda extension, as Camunda Modeler and bpmn-js read it) and checks what
// bpmn-js needs to draw it: every flow node and sequence flow has a DI element,
// and every <incoming>/<outgoing> agrees with the flows' sourceRef/targetRef.
// It prints one line per problem and exits 1 if there was any, including any
// warning from bpmn-moddle.
//
//   node bench/peer/check-models.js examples/*.bpmn bench/models/*.bpmn
import fs from 'node:fs';
import { createRequire } from 'node:module';

import { BpmnModdle } from 'bpmn-moddle';

const require = createRequire(import.meta.url);
const camunda = require('camunda-bpmn-moddle/resources/camunda.json');

const files = process.argv.slice(2);
if (!files.length) {
  console.error('usage: node check-models.js FILE...');
  process.exit(2);
}

let problems = 0;
const report = (file, msg) => {
  problems++;
  console.log(`${file}: ${msg}`);
};

for (const file of files) {
  const xml = fs.readFileSync(file, 'utf8');
  let result;
  try {
    result = await new BpmnModdle({ camunda }).fromXML(xml);
  } catch (err) {
    report(file, `parse error: ${err.message}`);
    continue;
  }
  for (const w of result.warnings) report(file, `moddle warning: ${w.message}`);

  const { rootElement: defs } = result;
  const diElements = new Set();
  for (const diagram of defs.diagrams ?? []) {
    for (const el of diagram.plane?.planeElement ?? []) {
      if (el.bpmnElement) diElements.add(el.bpmnElement.id);
    }
  }

  let nodes = 0;
  let flows = 0;
  for (const proc of defs.rootElements.filter((e) => e.$type === 'bpmn:Process')) {
    if (!proc.isExecutable) report(file, `process ${proc.id} is not executable`);
    for (const el of proc.flowElements ?? []) {
      if (!diElements.has(el.id)) report(file, `${el.id} (${el.$type}) has no BPMNShape/BPMNEdge`);
      if (el.$type === 'bpmn:SequenceFlow') {
        flows++;
        if (!el.sourceRef || !el.targetRef) {
          report(file, `${el.id}: unresolved sourceRef or targetRef`);
          continue;
        }
        if (!(el.sourceRef.outgoing ?? []).includes(el)) report(file, `${el.id} is missing from ${el.sourceRef.id}'s <outgoing>`);
        if (!(el.targetRef.incoming ?? []).includes(el)) report(file, `${el.id} is missing from ${el.targetRef.id}'s <incoming>`);
        continue;
      }
      nodes++;
      for (const f of el.incoming ?? []) if (f.targetRef !== el) report(file, `${el.id} lists incoming ${f.id}, whose target is ${f.targetRef?.id}`);
      for (const f of el.outgoing ?? []) if (f.sourceRef !== el) report(file, `${el.id} lists outgoing ${f.id}, whose source is ${f.sourceRef?.id}`);
    }
  }
  console.log(`${file}: ${nodes} flow nodes, ${flows} sequence flows, ${result.warnings.length} warnings`);
}

process.exit(problems ? 1 : 0);
