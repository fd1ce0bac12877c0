// Soaks on QEMU: 50 short live-update iterations alternating two kernels
// (A→B→A…) with seeded jitter before each exec; and a run whose
// orchestrator is killed mid-way, resumed without losing or repeating a step.

import t from 'tap';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { liveUpdateVariant } from '../../orchestrator/kernels/kernels.js';
import { createLogger } from '../../orchestrator/log.js';
import { readJournal } from '../../orchestrator/run/journal.js';
import { runScenario } from '../../orchestrator/run/run.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { examplePath, exampleText } from '../../orchestrator/scenario/examples.js';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { guestPrerequisites, testRunDir } from './guest.js';

const ITERATIONS = 50;
const JITTER_MS = 300;
const CLI = LUSTRESS_BIN;

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
  t.equal(
    summary.verdict,
    'pass',
    `${summary.iterations.filter((i) => i.verdict === 'pass').length} of ${ITERATIONS} iterations passed`,
  );
  t.equal(summary.iterations.length, ITERATIONS);
  const releases = readJournal(runDir)
    .filter((r) => r.type === 'boot')
    .map((r) => (r as { release: string }).release);
  t.equal(releases.length, ITERATIONS + 1, 'a boot per kexec, plus the first');
  t.same(
    releases.slice(0, 4),
    ['7.2.13-lustress', '7.2.13-lustress-b', '7.2.13-lustress', '7.2.13-lustress-b'],
    'kernels alternate A→B→A',
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

t.test('a QEMU run killed mid-way resumes without losing or repeating a recorded step', async (t) => {
  if (!(await guestPrerequisites(t, ['live-update']))) return;
  const file = examplePath('memfd-round-trip');
  const runDir = join(testRunDir(t), 'run');
  const steps = () =>
    existsSync(join(runDir, 'journal.jsonl')) ? readJournal(runDir).filter((r) => r.type === 'step') : [];
  const first = execa(process.execPath, [CLI, 'run', file, '--iterations', '4', '--run-dir', runDir], {
    reject: false,
  });
  // Kill it in its second iteration, after the kexec (the guest is mid-live-update).
  for (let i = 0; i < 2400 && steps().length < 7 + 4; i++) await sleep(100);
  first.kill('SIGKILL');
  await first;
  const before = steps();
  t.ok(before.length >= 11 && before.length < 28, `killed part way (${before.length} steps recorded)`);
  await sleep(1000);
  const stale = await execa('pgrep', ['-f', `lustress.run=${runDir}`], { reject: false });
  t.equal(stale.stdout.trim(), '', 'the guest died with its orchestrator');

  const resumed = await execa(process.execPath, [CLI, 'resume', runDir], { reject: false });
  t.equal(
    resumed.exitCode,
    0,
    'the resumed run passes',
    resumed.exitCode === 0 ? {} : { stdout: resumed.stdout.slice(-4000) },
  );
  const after = steps() as unknown as { iteration: number; step: number; verdict: string }[];
  t.same(after.slice(0, before.length), before, 'every step recorded before the kill is still there, unchanged');
  const keys = after.map((s) => `${s.iteration}.${s.step}`);
  t.equal(new Set(keys).size, keys.length, 'no step is recorded twice');
  t.equal(keys.length, 4 * 7, 'every step of every iteration is recorded once');
  t.ok(
    readJournal(runDir).some((r) => r.type === 'resume'),
    'the journal records the resume',
  );
});
