// run-engine.js MODEL N runs N instances of the first process in MODEL with
// bpmn-engine, one at a time, and prints one JSON line:
//
//   {"tool":"bpmn-engine","model":"straight","instances":N,"seconds":S,"perSecond":R,"warmup":W}
//
// How it is made comparable with Baton's side (bench/baton):
//   - The model is parsed and serialized once (bpmn-moddle + moddle-context-
//     serializer, as bpmn-engine's API docs show for addSource); each instance
//     is a new Engine over that shared sourceContext, so no instance parses XML.
//   - Every service task with camunda:type="external" completes immediately:
//     an engine extension sets activity.behaviour.Service to a service whose
//     execute calls back at once (the documented way to give a service task its
//     behaviour). Baton runs the same tasks with a Go handler that returns nil.
//   - Instances start with variables {x: 10}. bpmn-engine's own expression
//     handler only resolves property paths, so `${x > 5}` would be undefined and
//     the gateway would always take its default flow; a small handler compiles
//     operator expressions once per distinct string (its docs suggest swapping
//     the handler for expressions with operators) and defers to the default one
//     for everything else.
//   - Logging is off: a no-op Logger factory replaces the default debug-based
//     one, which otherwise builds a logger per element per instance.
//   - The first W = min(100, N/10) instances warm up V8 and are not timed.
//
// Every instance must emit the engine's `end` event and call every external
// service task of the model once (true for straight and gateway with x = 10);
// otherwise the run fails with exit 1 and prints no result.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

import * as elements from 'bpmn-elements';
import { Engine } from 'bpmn-engine';
import { BpmnModdle } from 'bpmn-moddle';
import serialize, { TypeResolver } from 'moddle-context-serializer';

const require = createRequire(import.meta.url);
const camunda = require('camunda-bpmn-moddle/resources/camunda.json');

const [file, nArg] = process.argv.slice(2);
const instances = Number.parseInt(nArg ?? '', 10);
if (!file || !(instances > 0)) {
  console.error('usage: node run-engine.js MODEL.bpmn INSTANCES');
  process.exit(2);
}
const model = path.basename(file, '.bpmn');

function fail(msg) {
  console.error(`run-engine: ${model}: ${msg}`);
  process.exit(1);
}

// Parse and serialize once.
const moddleContext = await new BpmnModdle({ camunda }).fromXML(fs.readFileSync(file, 'utf8'));
if (moddleContext.warnings.length) {
  fail(`bpmn-moddle warnings: ${moddleContext.warnings.map((w) => w.message).join('; ')}`);
}
const sourceContext = serialize(moddleContext, TypeResolver({ ...elements }));
const externalTasks = Object.values(moddleContext.elementsById).filter(
  (e) => e.$type === 'bpmn:ServiceTask' && e.type === 'external'
).length;

let serviceCalls = 0;

// NoopService is constructed per execution (new Service(activity, message)) and
// completes at once, like Baton's "noop" Go handler.
function NoopService() {
  return {
    type: 'noop',
    execute(_message, callback) {
      serviceCalls++;
      callback(null);
    },
  };
}

const extensions = {
  noopExternalTasks(activity) {
    if (activity.type === 'bpmn:ServiceTask' && activity.behaviour.type === 'external') {
      activity.behaviour.Service = NoopService;
    }
  },
};

// expressions resolves `${a > b}`-style conditions against the instance
// variables; anything without an operator goes to bpmn-elements' default handler.
const defaultExpressions = new elements.Environment().expressions;
const wholeExpression = /^\$\{(.+)\}$/s;
const operator = /[<>]|[=!]=|&&|\|\||^\s*!/;
const compiled = new Map();
const expressions = {
  ...defaultExpressions,
  resolveExpression(template, context, fnContext) {
    const m = typeof template === 'string' && wholeExpression.exec(template);
    if (!m || !operator.test(m[1]) || m[1].includes('(')) {
      return defaultExpressions.resolveExpression(template, context, fnContext);
    }
    let fn = compiled.get(m[1]);
    if (!fn) {
      fn = new Function('vars', `with (vars) { return (${m[1]}); }`); // eslint-disable-line no-new-func
      compiled.set(m[1], fn);
    }
    return fn(context.environment.variables);
  },
};

// quietLogger is the Logger factory bpmn-elements' Environment accepts.
function quietLogger() {
  const nop = () => {};
  return { debug: nop, error: nop, warn: nop };
}

let ends = 0;

async function runInstance() {
  const engine = new Engine({ name: model, sourceContext, extensions, expressions, Logger: quietLogger });
  let ended = false;
  const end = new Promise((resolve, reject) => {
    engine.once('end', () => {
      ended = true;
      ends++;
      resolve();
    });
    engine.once('error', reject);
  });
  await engine.execute({ variables: { x: 10 } });
  if (!ended) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`instance did not end within 10s (activity status ${engine.activityStatus})`)), 10_000);
    });
    try {
      await Promise.race([end, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const warmup = Math.min(100, Math.floor(instances / 10));
try {
  for (let i = 0; i < warmup; i++) await runInstance();
  var start = process.hrtime.bigint(); // eslint-disable-line no-var
  for (let i = 0; i < instances; i++) await runInstance();
  var seconds = Number(process.hrtime.bigint() - start) / 1e9; // eslint-disable-line no-var
} catch (err) {
  fail(err.stack ?? String(err));
}

const total = warmup + instances;
if (ends !== total) fail(`expected ${total} end events, but got ${ends}`);
if (serviceCalls !== total * externalTasks) {
  fail(`expected ${total * externalTasks} service-task calls (${externalTasks} per instance), but got ${serviceCalls}`);
}

console.log(
  JSON.stringify({
    tool: 'bpmn-engine',
    model,
    instances,
    seconds,
    perSecond: instances / seconds,
    warmup,
  })
);
