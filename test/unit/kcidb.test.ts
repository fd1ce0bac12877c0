// The KCIDB report: what it writes from a journal validates against
// kcidb-io's published schema (shipped in orchestrator/reports/kcidb-schema/),
// says what each step did, and is what `lustress report --kcidb` writes; a
// journal of 200k steps converts in a 64 MiB heap.

import t, { type Test } from 'tap';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { KCIDB_VERSION, LOG_EXCERPT_MAX, writeKcidb, type KcidbTest } from '../../orchestrator/reports/kcidb.js';
import { Journal, JOURNAL_FILE, JOURNAL_FORMAT, type JournalRecord } from '../../orchestrator/run/journal.js';
import type { StepOutcome } from '../../orchestrator/run/outcome.js';
import { kcidbValidator } from './helpers/kcidb-schema.js';
import { localScenario } from './helpers/local-scenario.js';

const SCENARIO_FILE = 'kcidb.demo.yaml';
const SCENARIO = localScenario({ size: '4MiB', sleep: '1ms' });
const T0 = Date.UTC(2026, 11, 2, 12, 0, 0);

interface Kcidb {
  version: { major: number; minor: number };
  checkouts: { id: string; origin: string; comment: string; misc: { release: string } }[];
  builds: { id: string; checkout_id: string; misc: { release: string } }[];
  tests: KcidbTest[];
}

const runRecord = (): JournalRecord => ({
  type: 'run',
  at: T0,
  format: JOURNAL_FORMAT,
  scenario: 'kcidb.demo',
  file: SCENARIO_FILE,
  text: SCENARIO,
  options: { iterations: 4, keepGoing: true, seed: 7 },
  version: '0.1.0',
});

const KINDS = ['fill', 'sleep', 'verify'];

/** A step record of target "here", started `n` seconds into the run. */
function step(iteration: number, n: number, o: Partial<StepOutcome> = {}): JournalRecord {
  return {
    type: 'step',
    at: T0 + n * 1000 + 500,
    target: 'here',
    iteration,
    step: n,
    kind: KINDS[n - 1] ?? 'boot',
    label: `${KINDS[n - 1] ?? 'boot'} a`,
    verdict: 'pass',
    reason: '',
    startedAt: T0 + iteration * 10_000 + n * 1000,
    ms: 250 * n,
    ...o,
  };
}

const LONG_LINE = `[ 2.0] ${'x'.repeat(990)}`;

/** A fresh run directory, removed when the test `t` ends. */
function tempRunDir(t: Test, prefix = 'lustress-kcidb-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A run on target "here", written with the Journal class: iteration 1 passes on 7.2.0; a kexec to 7.3.0-rc1, where 2
 * loses the target at step 2 (a panic) and 3 fails step 2 on a kernel warning whose console excerpt is longer than
 * KCIDB takes; then, resumed twice, a boot that fails twice.
 */
function demoRun(t: Test): string {
  const runDir = tempRunDir(t);
  const journal = Journal.create(runDir);
  const records: JournalRecord[] = [
    runRecord(),
    { type: 'boot', at: T0 + 1, target: 'here', bootId: 'b1', release: '7.2.0' },
    step(1, 1),
    step(1, 2),
    step(1, 3),
    {
      type: 'iteration',
      at: T0 + 9000,
      target: 'here',
      iteration: 1,
      verdict: 'pass',
      ms: 3000,
      metrics: { dmaBytes: 4 << 20, verifiedBytes: 4 << 20, verifyMs: 2, verifyGBps: 2.1 },
    },
    { type: 'boot', at: T0 + 9500, target: 'here', bootId: 'b2', release: '7.3.0-rc1' },
    step(2, 1),
    step(2, 2, {
      verdict: 'fail',
      reason: 'here: the kernel panicked',
      detail: { reason: 'panic' },
      excerpt: ['[ 1.0] Kernel panic - not syncing: Fatal exception', '[ 1.1] ---[ end Kernel panic ]---'],
    }),
    step(2, 3, { verdict: 'skip', reason: 'not reached: step 2 failed', ms: 0 }),
    { type: 'iteration', at: T0 + 19_000, target: 'here', iteration: 2, verdict: 'fail', ms: 500, metrics: {} },
    step(3, 1),
    step(3, 2, {
      verdict: 'fail',
      reason: 'kernel WARNING during this step: WARNING: CPU: 0 PID: 1 at mm/x.c:1',
      excerpt: Array.from({ length: 40 }, () => LONG_LINE),
    }),
    step(3, 3, { verdict: 'skip', reason: 'not reached: step 2 failed', ms: 0 }),
    {
      type: 'iteration',
      at: T0 + 29_000,
      target: 'here',
      iteration: 3,
      verdict: 'fail',
      ms: 1500,
      metrics: { blackoutMs: 8000 },
    },
    // Killed here; resumed, the boot fails; killed again before the end, resumed, and the boot fails again.
    { type: 'resume', at: T0 + 40_000 },
    step(4, 0, { kind: 'boot', label: 'boot', verdict: 'fail', reason: 'cannot start: no such kernel' }),
    { type: 'target', at: T0 + 41_000, target: 'here', verdict: 'fail', iterations: 3, failures: 3 },
    { type: 'resume', at: T0 + 50_000 },
    step(4, 0, { kind: 'boot', label: 'boot', verdict: 'fail', reason: 'cannot start: still no such kernel' }),
    { type: 'target', at: T0 + 51_000, target: 'here', verdict: 'fail', iterations: 3, failures: 4 },
    { type: 'end', at: T0 + 52_000, verdict: 'fail' },
  ];
  for (const r of records) journal.append(r);
  journal.close();
  return runDir;
}

/** The report of a run directory, in memory. */
function kcidbOf(runDir: string): { text: string; data: Kcidb } {
  let text = '';
  writeKcidb({ runDir, scenario: 'kcidb.demo' }, (chunk) => (text += chunk));
  return { text, data: JSON.parse(text) as Kcidb };
}

t.test('the shipped schema is kcidb-io v5.3, and it rejects what it should', async (t) => {
  const validate = kcidbValidator();
  t.same(KCIDB_VERSION, { major: 5, minor: 3 });
  const ok = {
    version: { major: 5, minor: 3 },
    tests: [{ id: 'lustress:r-1', origin: 'lustress', build_id: 'lustress:b', path: 'a.b', status: 'PASS' }],
  };
  t.ok(validate(ok), `a minimal report is valid ${JSON.stringify(validate.errors ?? [])}`);
  const broken: [string, unknown][] = [
    ['an unknown status', { ...ok, tests: [{ ...ok.tests[0], status: 'PASSED' }] }],
    ['no build_id', { ...ok, tests: [{ ...ok.tests[0], build_id: undefined }] }],
    ['an id without its origin', { ...ok, tests: [{ ...ok.tests[0], id: 'r-1' }] }],
    ['a path with a space', { ...ok, tests: [{ ...ok.tests[0], path: 'a.b c' }] }],
    ['a start_time that is no date-time', { ...ok, tests: [{ ...ok.tests[0], start_time: 'yesterday' }] }],
    ['a log_excerpt over the limit', { ...ok, tests: [{ ...ok.tests[0], log_excerpt: 'x'.repeat(16385) }] }],
    ['an unknown property', { ...ok, tests: [{ ...ok.tests[0], verdict: 'pass' }] }],
    ['another major version', { ...ok, version: { major: 4, minor: 3 } }],
    ['a newer minor version', { ...ok, version: { major: 5, minor: 4 } }],
    ['no version', { tests: ok.tests }],
  ];
  for (const [what, data] of broken) t.notOk(validate(JSON.parse(JSON.stringify(data))), `refused: ${what}`);
});

t.test('a run as KCIDB: valid, one test per step, statuses, paths, ids, times, excerpts, metrics', async (t) => {
  const runDir = demoRun(t);
  const runId = basename(runDir);
  const { data } = kcidbOf(runDir);
  const validate = kcidbValidator();
  t.ok(validate(data), `valid against the schema ${JSON.stringify(validate.errors?.slice(0, 3) ?? [])}`);
  t.same(data.version, KCIDB_VERSION);

  t.same(
    data.checkouts.map((c) => [c.id, c.origin, c.misc.release]),
    [
      [`lustress:${runId}-7.2.0`, 'lustress', '7.2.0'],
      [`lustress:${runId}-7.3.0-rc1`, 'lustress', '7.3.0-rc1'],
      [`lustress:${runId}-unknown`, 'lustress', 'unknown'],
    ],
    'one checkout per kernel, and one for the boots that never said hello',
  );
  t.equal(data.checkouts[0]!.comment, 'Linux 7.2.0');
  t.same(
    data.builds.map((b) => [b.id, b.checkout_id]),
    data.checkouts.map((c) => [c.id, c.id]),
    'one build per kernel, of its checkout',
  );

  const tests = data.tests;
  t.equal(tests.length, 11, 'every step of every iteration, and both boots');
  t.same(
    tests.map((x) => x.status),
    ['PASS', 'PASS', 'PASS', 'PASS', 'FAIL', 'ERROR', 'PASS', 'FAIL', 'SKIP', 'FAIL', 'FAIL'],
    'pass, fail, skip; a step not reached after its target was lost is an ERROR, after another failure a SKIP',
  );
  t.same(
    tests.map((x) => x.id),
    [
      ...[1, 2, 3].flatMap((i) => [1, 2, 3].map((s) => `lustress:${runId}-here-${i}-${s}`)),
      `lustress:${runId}-here-4-0`,
      `lustress:${runId}-here-4-0.2`,
    ],
  );
  t.equal(new Set(tests.map((x) => x.id)).size, tests.length, 'ids are unique');
  t.same(kcidbOf(runDir).data, data, 'and stable: the same journal gives the same report');
  t.same(
    tests.map((x) => x.path),
    [
      ...[1, 2, 3].flatMap(() => KINDS.map((k) => `lustress.kcidb_demo.${k}`)),
      'lustress.kcidb_demo.boot',
      'lustress.kcidb_demo.boot',
    ],
    'lustress.<scenario>.<kind>, the scenario name made a path node',
  );
  t.same(
    tests.map((x) => x.build_id),
    [
      ...Array(3).fill(`lustress:${runId}-7.2.0`),
      ...Array(6).fill(`lustress:${runId}-7.3.0-rc1`),
      ...Array(2).fill(`lustress:${runId}-unknown`),
    ],
    'each step is on the kernel its target last booted; a failed boot on none',
  );

  const first = tests[0]!;
  t.equal(first.start_time, new Date(T0 + 11_000).toISOString());
  t.equal(first.duration, 0.25);
  t.equal(tests[2]!.duration, 0.75);
  t.equal(first.origin, 'lustress');
  t.same(first.environment, { comment: 'here' });
  t.same(first.misc, {
    target: 'here',
    iteration: 1,
    step: 1,
    kind: 'fill',
    label: 'fill a',
    metrics: { dmaBytes: 4 << 20, verifiedBytes: 4 << 20, verifyMs: 2, verifyGBps: 2.1 },
  });
  t.same(tests[8]!.misc.metrics, { blackoutMs: 8000 }, "every step carries its iteration's metrics");
  t.notOk('metrics' in tests[9]!.misc, 'a boot that never began an iteration has none');

  const panic = tests[4]!;
  t.equal(panic.log_excerpt, '[ 1.0] Kernel panic - not syncing: Fatal exception\n[ 1.1] ---[ end Kernel panic ]---');
  t.equal(panic.comment, 'sleep a: here: the kernel panicked');
  t.equal(panic.misc.reason, 'here: the kernel panicked');
  t.notOk('log_excerpt' in first, 'no excerpt where the step had none');

  const long = tests[7]!.log_excerpt!;
  t.ok([...long].length <= LOG_EXCERPT_MAX, `a long excerpt is cut to the schema's limit (${[...long].length})`);
  t.ok(long.startsWith(`${LONG_LINE}\n${LONG_LINE}\n`), 'from its start');
  t.match(long, /\n\[cut by lustress: the excerpt is longer than KCIDB takes\]$/, 'at a line, and says so');
});

t.test('an empty run: valid, with no tests', async (t) => {
  const runDir = tempRunDir(t);
  const journal = Journal.create(runDir);
  journal.append(runRecord());
  journal.close();
  const { data } = kcidbOf(runDir);
  t.same(data, { version: KCIDB_VERSION, checkouts: [], builds: [], tests: [] });
  t.ok(kcidbValidator()(data));
});

t.test('lustress report RUN_DIR --kcidb FILE writes the same report', async (t) => {
  const runDir = demoRun(t);
  const file = join(runDir, 'kcidb.json');
  const r = await execa(process.execPath, [LUSTRESS_BIN, 'report', runDir, '--kcidb', file], {
    reject: false,
    stdin: 'ignore',
  });
  t.equal(r.exitCode, 0, r.stderr);
  const written = readFileSync(file, 'utf8');
  t.equal(written, kcidbOf(runDir).text);
  t.ok(kcidbValidator()(JSON.parse(written)));
});

t.test('200k steps convert with a 64 MiB heap (the journal is streamed, not held)', async (t) => {
  const ITERATIONS = 66_667;
  const runDir = tempRunDir(t, 'lustress-kcidb-big-');
  // Written directly, a MiB at a time: the Journal class would fsync each of the 270k records.
  const fd = openSync(join(runDir, JOURNAL_FILE), 'w');
  let batch = '';
  const add = (r: JournalRecord) => {
    batch += JSON.stringify(r) + '\n';
    if (batch.length < 1 << 20) return;
    writeSync(fd, batch);
    batch = '';
  };
  add(runRecord());
  add({ type: 'boot', at: T0, target: 'here', bootId: 'b1', release: '7.2.0' });
  for (let i = 1; i <= ITERATIONS; i++) {
    for (let s = 1; s <= 3; s++) add(step(i, s));
    add({
      type: 'iteration',
      at: T0,
      target: 'here',
      iteration: i,
      verdict: 'pass',
      ms: 1500,
      metrics: { dmaBytes: i },
    });
  }
  add({ type: 'target', at: T0, target: 'here', verdict: 'pass', iterations: ITERATIONS, failures: 0 });
  add({ type: 'end', at: T0, verdict: 'pass' });
  writeSync(fd, batch);
  closeSync(fd);
  const file = join(runDir, 'kcidb.json');
  const r = await execa(
    process.execPath,
    ['--max-old-space-size=64', LUSTRESS_BIN, 'report', runDir, '--kcidb', file],
    { reject: false, stdin: 'ignore', stdout: 'ignore' },
  );
  t.equal(r.exitCode, 0, r.stderr);
  const lines = readFileSync(file, 'utf8').split('\n');
  // One object a line: the tests are the lines that name a build.
  const tests = lines.filter((l) => l.includes('"build_id":')).map((l) => JSON.parse(l.replace(/,$/, '')));
  t.equal(tests.length, ITERATIONS * 3, 'every step');
  t.equal(new Set(tests.map((x: KcidbTest) => x.id)).size, tests.length, 'ids unique');
  t.same(tests.at(-1).misc.metrics, { dmaBytes: ITERATIONS }, 'the last iteration with its metrics');
});
