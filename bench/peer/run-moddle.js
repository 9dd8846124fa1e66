// run-moddle.js FILE ITER parses FILE ITER times with bpmn-moddle's fromXML
// (with the camunda extension, which bpmn-js and Camunda Modeler load too) and
// prints one JSON line:
//
//   {"tool":"bpmn-moddle","file":"...","bytes":B,"iterations":ITER,"secondsPerParse":S,"warmup":W}
//
// The first W = min(5, ITER) parses warm up V8's JIT and are not timed.
// The file is read once; only fromXML is timed. A parse that throws fails the
// run (exit 1).
import fs from 'node:fs';
import { createRequire } from 'node:module';

import { BpmnModdle } from 'bpmn-moddle';

const require = createRequire(import.meta.url);
const camunda = require('camunda-bpmn-moddle/resources/camunda.json');

const [file, iterArg] = process.argv.slice(2);
const iterations = Number.parseInt(iterArg ?? '', 10);
if (!file || !(iterations > 0)) {
  console.error('usage: node run-moddle.js FILE ITERATIONS');
  process.exit(2);
}

const buf = fs.readFileSync(file);
const xml = buf.toString('utf8');
const moddle = new BpmnModdle({ camunda });

let elements = 0;
async function parseOnce() {
  const { rootElement, elementsById } = await moddle.fromXML(xml);
  if (!rootElement) throw new Error(`${file}: bpmn-moddle returned no root element`);
  elements = Object.keys(elementsById).length;
}

const warmup = Math.min(5, iterations);
for (let i = 0; i < warmup; i++) await parseOnce();

const start = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) await parseOnce();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;

if (elements === 0) throw new Error(`${file}: bpmn-moddle found no elements with an id`);

console.log(
  JSON.stringify({
    tool: 'bpmn-moddle',
    file,
    bytes: buf.length,
    iterations,
    secondsPerParse: seconds / iterations,
    warmup,
  })
);
