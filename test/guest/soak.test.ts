// Soaks on QEMU: 50 short live-update iterations alternating two kernels
// (A→B→A…) with seeded jitter before each exec; a run whose orchestrator is
// killed mid-way, resumed without losing or repeating a step; and the
// morning-after tools (history, compare, KCIDB) on the runs those two left.

import t from 'tap';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { BootFacts } from '../../contract/facts.js';
import { liveUpdateVariant } from '../../orchestrator/kernels/kernels.js';
import { createLogger } from '../../orchestrator/log.js';
import { readJournal } from '../../orchestrator/run/journal.js';
import { seededRandom } from '../../orchestrator/run/stats.js';
import { runScenario } from '../../orchestrator/run/run.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { examplePath, exampleText } from '../../orchestrator/scenario/examples.js';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { guestPrerequisites, testRunDir } from './guest.js';
import { kcidbValidator } from '../unit/helpers/kcidb-schema.js';

const ITERATIONS = 50;
const JITTER_MS = 300;
const CLI = LUSTRESS_BIN;

/** The run directories the tests above leave, for the morning-after tools. */
const produced: { soak?: string; resumed?: string } = {};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

t.test(`a ${ITERATIONS}-iteration soak alternating two kernels, with jitter`, async (t) => {
  if (!(await guestPrerequisites(t, ['live-update']))) return;
  // Kernel B: the live-update kernel under another release name, so the journal shows which booted.
  const b = await liveUpdateVariant('CONFIG_LOCALVERSION="-lustress-b"');
  const yaml = exampleText(
    'memfd-round-trip',
    `iterations: ${ITERATIONS}
jitter: ${JITTER_MS}ms
seed: 7
targets:
  vm:
    qemu: { kernel: live-update, next: [${b.image}, live-update] }`,
  );
  const loaded = checkScenarioText('soak.yaml', yaml);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('; '));
  const runDir = join(testRunDir(t), 'run');
  mkdirSync(runDir);
  const rssBefore = process.memoryUsage().rss;
  const summary = await runScenario(loaded.scenario, {
    runDir,
    log: createLogger({ level: 'info', file: join(runDir, 'lustress.log'), pretty: false }),
    out: () => {},
    scenarioText: yaml,
    keepGoing: true,
    reports: { html: join(runDir, 'soak.html'), junit: join(runDir, 'soak.xml') },
  });
  const orchestratorGrowth = process.memoryUsage().rss - rssBefore;
  produced.soak = runDir;
  t.equal(
    summary.verdict,
    'pass',
    `${summary.iterations.filter((i) => i.verdict === 'pass').length} of ${ITERATIONS} iterations passed`,
  );
  t.equal(summary.iterations.length, ITERATIONS);
  const boots = readJournal(runDir).filter((r) => r.type === 'boot') as unknown as BootFacts[];
  const releases = boots.map((b) => b.release);
  t.equal(releases.length, ITERATIONS + 1, 'a boot per kexec, plus the first');
  t.same(
    releases.slice(0, 4),
    ['7.2.13-lustress', '7.2.13-lustress-b', '7.2.13-lustress', '7.2.13-lustress-b'],
    'kernels alternate A→B→A',
  );
  t.same(
    boots.slice(0, 2).map((b) => [b.luoPreserves?.memfd, b.sameBuildAs]),
    [
      ['ok', undefined],
      ['ok', undefined],
    ],
    "each kernel build's first boot is probed (its LUO preserves a memfd)",
  );
  t.same(
    boots.slice(2).map((b) => [b.luoPreserves, b.sameBuildAs]),
    boots.slice(2).map((_, i) => [undefined, boots[i % 2]!.bootId]),
    'a later boot of a build is not probed again, and names the boot that was',
  );
  const jitters = summary.iterations.map((i) => i.metrics.jitterMs!);
  t.ok(
    jitters.every((j) => j >= 0 && j <= JITTER_MS),
    'every jitter lies within its bound',
  );
  t.ok(new Set(jitters).size > ITERATIONS / 2, 'and they vary');
  const blackout = summary.targets[0]!.metrics.blackoutMs!;
  t.equal(blackout.n, ITERATIONS, `blackout p50 ${blackout.p50} p95 ${blackout.p95} max ${blackout.max} ms`);
  const rss = summary.iterations.map((i) => i.metrics.agentRssBytes!);
  const first = median(rss.slice(0, 10));
  const last = median(rss.slice(-10));
  t.ok(
    last < first * 1.25,
    `the agent's memory stays flat (median RSS ${(first / 2 ** 20).toFixed(1)} → ${(last / 2 ** 20).toFixed(1)} MiB)`,
  );
  t.ok(
    orchestratorGrowth < 100 * 2 ** 20,
    `the orchestrator's memory stays flat (grew ${(orchestratorGrowth / 2 ** 20).toFixed(1)} MiB over the soak)`,
  );
  t.match(readFileSync(join(runDir, 'soak.html'), 'utf8'), `${ITERATIONS} iterations: ${ITERATIONS} passed`);
  t.equal(readFileSync(join(runDir, 'soak.xml'), 'utf8').match(/<testcase /g)?.length, ITERATIONS * 7);
});

t.test('a QEMU run killed at random points resumes without losing or repeating a recorded step', async (t) => {
  if (!(await guestPrerequisites(t, ['live-update']))) return;
  const file = examplePath('memfd-round-trip');
  const runDir = join(testRunDir(t), 'run');
  const steps = () =>
    existsSync(join(runDir, 'journal.jsonl')) ? readJournal(runDir).filter((r) => r.type === 'step') : [];
  const random = seededRandom(7);
  let child = execa(process.execPath, [CLI, 'run', file, '--iterations', '4', '--run-dir', runDir], { reject: false });
  const kills: number[] = [];
  const histories: unknown[][] = [];
  for (let k = 0; k < 2; k++) {
    // Somewhere in the next one to six recorded steps: before, during or after a live update.
    const at = steps().length + 1 + Math.floor(random() * 6);
    for (let i = 0; i < 3000 && steps().length < at; i++) await sleep(100);
    child.kill('SIGKILL');
    const r = await child;
    if (r.exitCode === 0) break;
    const before = steps();
    kills.push(before.length);
    await sleep(1000);
    const stale = await execa('pgrep', ['-f', `lustress.run=${runDir}`], { reject: false });
    t.equal(
      stale.stdout.trim(),
      '',
      `kill ${k + 1} (${before.length} steps recorded): the guest died with its orchestrator`,
    );
    histories.push(before);
    child = execa(process.execPath, [CLI, 'resume', runDir], { reject: false });
  }
  const resumed = await child;
  produced.resumed = runDir;
  t.equal(
    resumed.exitCode,
    0,
    'the resumed run passes',
    resumed.exitCode === 0 ? {} : { stdout: resumed.stdout.slice(-4000) },
  );
  const after = steps() as unknown as { iteration: number; step: number; verdict: string; reason: string }[];
  for (const before of histories) {
    t.same(after.slice(0, before.length), before, 'every step recorded before a kill is still there, unchanged');
  }
  const keys = after.map((s) => `${s.iteration}.${s.step}`);
  t.equal(new Set(keys).size, keys.length, 'no step is recorded twice');
  t.equal(keys.length, 4 * 7, 'every step of every iteration is recorded once');
  t.ok(
    after.every((s) => s.verdict === 'pass' || (s.verdict === 'skip' && /orchestrator stopped/.test(s.reason))),
    'every verdict is what a run never killed gives, but for the steps of the iterations the kills cut short',
  );
  t.equal(
    readJournal(runDir).filter((r) => r.type === 'resume').length,
    kills.length,
    `killed at ${kills.join(' and ')} steps; one resume per kill`,
  );
});

t.test('the morning after, on those runs: history, compare and KCIDB', async (t) => {
  if (!(await guestPrerequisites(t, ['live-update']))) return;
  const { soak, resumed } = produced;
  if (!soak || !resumed) return t.fail('the soak and the resumed run above left no runs to read');
  const cli = (args: string[]) => execa(process.execPath, [CLI, ...args], { reject: false });

  const history = await cli(['history', soak, resumed, '--json']);
  t.equal(history.exitCode, 0, 'history reads both runs', { stderr: history.stderr });
  const h = JSON.parse(history.stdout) as {
    rows: {
      runDir: string;
      iterations: number;
      releases: string[];
      failedIterations: number;
      finished: boolean;
      metrics: { blackoutMs?: { n: number; p50: number } };
    }[];
    flakiness: { kind: string; steps: number; failures: number; high: number }[];
  };
  const row = (dir: string) => h.rows.find((r) => resolve(r.runDir) === resolve(dir))!;
  t.equal(h.rows.length, 2, 'one row per run (one target each)');
  t.equal(row(soak).iterations, ITERATIONS, 'the soak: every iteration');
  t.equal(row(soak).metrics.blackoutMs?.n, ITERATIONS, 'the soak: a blackout per iteration');
  t.ok(
    row(soak).releases.some((r) => r.endsWith('-lustress-b')),
    'the soak: kernel B among its releases',
    row(soak),
  );
  t.equal(row(soak).failedIterations, 0);
  t.equal(row(resumed).iterations, 4, 'the resumed run: its four iterations');
  t.ok(row(resumed).finished, 'the resumed run ended');
  const exec = h.flakiness.find((f) => f.kind === 'kexec-exec');
  t.ok(
    exec && exec.steps >= ITERATIONS && exec.failures === 0,
    'kexec-exec over the history: tried, never failed',
    exec ?? {},
  );
  t.ok(exec && exec.high > 0 && exec.high < 0.1, "the failure rate's upper bound says how sure that is", exec ?? {});

  // Both runs: the same kernel, the same scenario (the soak also through kernel B).
  const compare = await cli(['compare', soak, resumed, '--json']);
  t.ok(compare.exitCode === 0 || compare.exitCode === 1, 'compare gives a verdict', { stderr: compare.stderr });
  const c = JSON.parse(compare.stdout) as {
    regressed: boolean;
    metrics: { metric: string; base: { n: number }; new: { n: number }; p: number; verdict: string }[];
    failures: { newLabels: string[] }[];
  };
  t.equal(c.regressed, compare.exitCode === 1, 'the exit code is the verdict');
  const blackout = c.metrics.find((m) => m.metric === 'blackoutMs');
  t.equal(blackout?.base.n, ITERATIONS, "the soak's blackouts on one side");
  t.ok(blackout && blackout.new.n >= 1 && blackout.new.n <= 4, "the resumed run's on the other", blackout ?? {});
  t.ok(blackout && blackout.p > 0 && blackout.p <= 1, 'with a p-value', blackout ?? {});
  t.ok(
    c.failures.every((f) => f.newLabels.length === 0),
    'no failure is new: neither run failed',
  );
  t.comment(`compare on these two runs: ${c.regressed ? 'regression' : 'no regression'}; blackout p ${blackout?.p}`);

  const file = join(soak, 'soak.kcidb.json');
  const report = await cli(['report', soak, '--kcidb', file]);
  t.equal(report.exitCode, 0, 'report --kcidb', { stderr: report.stderr });
  const kcidb = JSON.parse(readFileSync(file, 'utf8')) as { tests: { status: string }[]; checkouts: unknown[] };
  const validate = kcidbValidator();
  t.ok(validate(kcidb), 'valid against the published KCIDB schema', { errors: validate.errors?.slice(0, 5) });
  t.equal(kcidb.tests.length, ITERATIONS * 7, 'a test per step per iteration');
  t.ok(
    kcidb.tests.every((x) => x.status === 'PASS'),
    'every one passed',
  );
  t.equal(kcidb.checkouts.length, 2, 'a checkout per kernel (A and B)');
});
