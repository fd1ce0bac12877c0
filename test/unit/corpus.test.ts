// Malformed scenarios: every file in test/corpus states its problems in
// "# expect: line:col text" comments, and hostile inputs made here at run time
// (never committed) must be refused with one positioned message, quickly.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { checkScenarioFile, checkScenarioText } from '../../orchestrator/scenario/load.js';
import { MAX_ALIASES, MAX_DEPTH } from '../../orchestrator/scenario/source.js';
import { compareProblems, type ExpectedProblem } from './helpers/problems.js';
import { yamlFiles } from './helpers/repo.js';

const EXPECT = /^# expect: (\d+:\d+) (.+)$/;

/** The expectations in a file's leading comment lines. */
function expectationsOf(text: string): ExpectedProblem[] {
  const expected: ExpectedProblem[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) break;
    const m = EXPECT.exec(line);
    if (m) expected.push({ at: m[1]!, text: m[2]! });
  }
  return expected;
}

const corpus = yamlFiles('test/corpus');

t.test('the corpus has at least 50 files', async (t) => {
  t.ok(corpus.length >= 50, `${corpus.length} files`);
});

for (const { file, text } of corpus) {
  t.test(basename(file), async (t) => {
    const expected = expectationsOf(text);
    t.ok(expected.length > 0, 'the file states the problems it must produce');
    const { actual, wanted } = compareProblems(checkScenarioFile(file), expected);
    t.same(actual, wanted);
  });
}

/** Generous: a hang fails, nothing about speed is measured beyond that. */
const HANG_MS = 5000;
const TOO_DEEP = `nesting deeper than ${MAX_DEPTH} levels; a scenario never needs that`;

/** Billion laughs: nine levels of ten aliases each, a billion strings if expanded. */
function aliasBomb(): string {
  const levels = 'abcdefghi'.split('');
  const out = ['version: 1', `a: &a [${Array(10).fill('"lol"').join(',')}]`];
  for (let i = 1; i < levels.length; i++)
    out.push(
      `${levels[i]}: &${levels[i]} [${Array(10)
        .fill(`*${levels[i - 1]}`)
        .join(',')}]`,
    );
  out.push('steps:', '  - sleep: 1s');
  return out.join('\n') + '\n';
}

/** Mappings nested `depth` levels under steps, one level per line, indented by two more each time. */
function blockNesting(depth: number): string {
  const out = ['version: 1', 'steps:'];
  for (let level = 1; level <= depth; level++) out.push(`${'  '.repeat(level)}k:`);
  return out.join('\n') + '\n';
}

/** Bytes from a fixed-seed xorshift, so the junk and where it is refused are the same every run. */
function junk(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = 0x2545f491;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

interface Hostile {
  name: string;
  content: () => string | Uint8Array;
  problem: ExpectedProblem;
}

const HOSTILE: Hostile[] = [
  {
    name: 'a 10 MiB file',
    content: () => 'version: 1\n' + '#'.repeat(10 * 2 ** 20),
    problem: { at: '1:1', text: 'file is larger than 1 MiB, the limit for scenario files' },
  },
  {
    name: 'flow nesting 100000 deep',
    content: () => 'version: 1\nsteps: ' + '['.repeat(100_000),
    problem: { at: `2:${'steps: '.length + MAX_DEPTH + 1}`, text: TOO_DEEP },
  },
  {
    name: 'block nesting 200 deep',
    content: () => blockNesting(200),
    // The mapping at depth 33 is the value of the key on line 34, so on line 35, indented 66.
    problem: { at: '35:67', text: TOO_DEEP },
  },
  {
    name: 'an alias bomb',
    content: aliasBomb,
    // The first alias: "*a" on line 3.
    problem: { at: '3:8', text: `aliases expand too far (over ${MAX_ALIASES} copies): refused as an alias bomb` },
  },
  {
    name: 'random binary junk',
    content: () => junk(64 * 1024),
    problem: { at: '1:2', text: 'not a text file: invalid UTF-8 at byte 1' },
  },
  {
    name: 'a NUL byte',
    content: () => 'version: 1\nsteps:\0\n  - sleep: 1s\n',
    problem: { at: '2:7', text: 'not a text file: control byte 0x00' },
  },
  {
    name: 'invalid UTF-8',
    content: () =>
      Buffer.concat([
        Buffer.from('version: 1\nname: caf'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('\nsteps:\n  - sleep: 1s\n'),
      ]),
    problem: { at: '2:10', text: 'not a text file: invalid UTF-8 at byte 20' },
  },
];

t.test('hostile inputs are refused with one positioned message', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-hostile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const hostile of HOSTILE) {
    const file = join(dir, `${hostile.name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, hostile.content());
    const started = Date.now();
    const result = checkScenarioFile(file);
    const elapsed = Date.now() - started;
    const { actual, wanted } = compareProblems(result, [hostile.problem]);
    t.same(actual, wanted, hostile.name);
    t.ok(elapsed < HANG_MS, `${hostile.name}: returned (in ${elapsed} ms)`);
  }
});

t.test('nesting deep enough to exhaust the parser is refused as nesting', async (t) => {
  // Where the parser runs out of stack depends on the stack size, so only the line is fixed.
  const result = checkScenarioText('deep.yaml', 'version: 1\nsteps:\n' + '- '.repeat(100_000) + 'x\n');
  t.same(result.ok ? [] : result.problems.map((p) => `${p.line} ${p.message}`), [`3 ${TOO_DEEP}`]);
});
