// Whatever the input, checkScenarioText returns: a scenario, or problems that
// each name the file, a line and column inside the text, and a message.

import fc from 'fast-check';
import t, { type Test } from 'tap';
import { parse, stringify } from 'yaml';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { scenarioSchema } from '../../orchestrator/scenario/schema.js';
import { yamlFiles } from './helpers/repo.js';

const FILE = 'property.yaml';

/** Runs a property as one assertion; on failure the message holds fast-check's counterexample. */
function holds<T>(t: Test, arbitrary: fc.Arbitrary<T>, predicate: (value: T) => void, numRuns: number): void {
  const details = fc.check(fc.property(arbitrary, predicate), { numRuns });
  t.notOk(details.failed, fc.defaultReportMessage(details) ?? `${numRuns} runs`);
}

/** Throws (failing the property) unless the result is ok or a list of well-formed problems. */
function checkWellFormed(input: string | Uint8Array): void {
  const result = checkScenarioText(FILE, input);
  if (result.ok) return;
  if (result.problems.length === 0) throw new Error('not ok, yet no problems');
  // A position past the last line points nowhere; only text has lines to count (CRLF, CR and LF each end one).
  const lastLine = typeof input === 'string' ? input.split(/\r\n|\r|\n/).length : Infinity;
  for (const p of result.problems) {
    const positioned =
      Number.isInteger(p.line) && Number.isInteger(p.col) && p.line! >= 1 && p.col! >= 1 && p.line! <= lastLine;
    if (p.file !== FILE || !positioned || p.message.trim() === '')
      throw new Error(`malformed problem ${JSON.stringify(p)}`);
  }
}

const TOP_KEYS = Object.keys(scenarioSchema().properties);
/** Step kinds and the keys beside them. */
const STEP_KEYS = Object.keys(scenarioSchema().definitions.step.properties);

/** Pieces of YAML syntax and of scenarios, so random text often gets past the parser. */
const yamlPiece = fc.constantFrom(
  'version: 1\n',
  'steps:\n',
  '  - ',
  '- ',
  'sleep: 1s',
  'bind: { device: nic }',
  'buffers:\n',
  '  src: { size: 4KiB }\n',
  'devices:\n',
  '  nic: { id: "8086:10c9", driver: igb }\n',
  'kexec-load:',
  'kexec-exec:',
  '{',
  '}',
  '[',
  ']',
  ',',
  ': ',
  ':',
  '&a ',
  '*a',
  '!!binary ',
  '!!int ',
  '!x ',
  '? ',
  '---\n',
  '...\n',
  '%YAML 1.2\n',
  '"',
  "'",
  '#',
  '\t',
  '\n',
  '  ',
  '|\n',
  '>-\n',
  '~',
  'null',
  '0x1F',
  '1e400',
  '-1',
  '<<: *a',
  '\u00e9',
  '\ufeff',
  '\r\n',
);

t.test('the example scenarios are accepted', async (t) => {
  for (const { file, text } of yamlFiles('scenarios')) t.ok(checkScenarioText(file, text).ok, file);
});

t.test('random text never makes the checker throw', async (t) => {
  holds(t, fc.string({ unit: 'binary', maxLength: 200 }), checkWellFormed, 300);
});

t.test('random YAML-like text never makes the checker throw', async (t) => {
  holds(t, fc.array(yamlPiece, { maxLength: 40 }), (pieces) => checkWellFormed(pieces.join('')), 500);
});

t.test('random bytes never make the checker throw', async (t) => {
  holds(t, fc.uint8Array({ maxLength: 300 }), checkWellFormed, 300);
});

t.test('random JSON values dumped to YAML never make the checker throw', async (t) => {
  holds(t, fc.jsonValue({ maxDepth: 4 }), (value) => checkWellFormed(stringify(value)), 200);
});

t.test('random scenario-shaped mappings never make the checker throw', async (t) => {
  const anyValue = fc.jsonValue({ maxDepth: 3 });
  const step = fc.dictionary(fc.constantFrom(...STEP_KEYS), anyValue, { maxKeys: 3 });
  const scenario = fc.record(
    {
      version: fc.oneof(fc.constant(1), anyValue),
      steps: fc.oneof(fc.array(step, { maxLength: 6 }), anyValue),
      extra: fc.dictionary(fc.constantFrom(...TOP_KEYS), anyValue, { maxKeys: 4 }),
    },
    { requiredKeys: [] },
  );
  holds(t, scenario, ({ extra, ...core }) => checkWellFormed(stringify({ ...extra, ...core })), 300);
});

type Container = Record<string, unknown> | unknown[];

/** Every mapping and list in a parsed document, the root first. */
function containers(root: unknown): Container[] {
  const found: Container[] = [];
  const visit = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    found.push(node as Container);
    Object.values(node).forEach(visit);
  };
  visit(root);
  return found;
}

const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v);
/** Replacements of every kind; a retype picks one whose kind differs from the value it replaces. */
const REPLACEMENTS: unknown[] = [
  null,
  false,
  7,
  -1,
  2.5,
  2 ** 60,
  '',
  'text',
  '4KiB',
  '1s',
  [],
  ['src'],
  {},
  { device: 'nic' },
];

const mutation = fc.record({
  example: fc.nat(),
  container: fc.nat(),
  kind: fc.constantFrom('delete', 'rename', 'retype', 'swap'),
  i: fc.nat(),
  j: fc.nat(),
  newKey: fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(...TOP_KEYS, ...STEP_KEYS, 'size', 'device', 'buffers', 'session'),
  ),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/**
 * A copy of the document with one change: a key or item deleted, a key renamed, a value's type changed, or two items
 * swapped.
 */
function mutate(document: unknown, m: Mutation): unknown {
  const copy = structuredClone(document);
  const all = containers(copy);
  const pool =
    m.kind === 'swap'
      ? all.filter((c) => Array.isArray(c) && c.length >= 2)
      : m.kind === 'rename'
        ? all.filter((c) => !Array.isArray(c))
        : all;
  const target = pool[m.container % pool.length];
  if (!target) return copy;
  if (Array.isArray(target)) {
    const i = m.i % Math.max(1, target.length);
    if (m.kind === 'delete') target.splice(i, 1);
    else if (m.kind === 'retype') target[i] = retyped(target[i], m.j);
    else if (m.kind === 'swap') {
      const j = m.j % target.length;
      [target[i], target[j]] = [target[j], target[i]];
    }
    return copy;
  }
  const keys = Object.keys(target);
  const key = keys[m.i % Math.max(1, keys.length)];
  if (key === undefined) return copy;
  if (m.kind === 'delete') delete target[key];
  else if (m.kind === 'retype') target[key] = retyped(target[key], m.j);
  else if (m.kind === 'rename') {
    const value = target[key];
    delete target[key];
    target[m.newKey] = value;
  }
  return copy;
}

function retyped(old: unknown, choice: number): unknown {
  const others = REPLACEMENTS.filter((r) => kindOf(r) !== kindOf(old));
  return structuredClone(others[choice % others.length]);
}

t.test('mutated example scenarios never make the checker throw', async (t) => {
  const examples = yamlFiles('scenarios').map(({ text }) => parse(text) as unknown);
  const mutated = (mutations: Mutation[]) => {
    let document = examples[mutations[0]!.example % examples.length];
    for (const m of mutations) document = mutate(document, m);
    checkWellFormed(stringify(document));
  };
  holds(t, fc.array(mutation, { minLength: 1, maxLength: 3 }), mutated, 400);
});
