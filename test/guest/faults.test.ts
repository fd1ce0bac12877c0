// Faults a live-update run must catch and report clearly: a byte flipped in
// preserved memory between preserve and exec, a kexec of a kernel file that
// does not exist, and a next kernel that panics after the kexec.

import t, { type Test } from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../orchestrator/log.js';
import { runScenario } from '../../orchestrator/run/run.js';
import type { RunSummary, StepOutcome } from '../../orchestrator/run/outcome.js';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { guestPrerequisites, testRunDir } from './guest.js';

async function run(
  t: Test,
  yaml: string,
): Promise<{ summary: RunSummary; steps: StepOutcome[]; runDir: string } | undefined> {
  if (!(await guestPrerequisites(t, ['live-update']))) return undefined;
  const loaded = checkScenarioText('fault.yaml', yaml);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('; '));
  const runDir = join(testRunDir(t), 'run');
  mkdirSync(runDir);
  const steps: StepOutcome[] = [];
  const summary = await runScenario(loaded.scenario, {
    runDir,
    log: createLogger({ level: 'info', file: join(runDir, 'lustress.log'), pretty: false }),
    out: () => {},
    scenarioText: yaml,
    keepGoing: false,
    hooks: { step: (o) => steps.push(o) },
  });
  return { summary, steps, runDir };
}

const byKind = (steps: StepOutcome[], kind: string) => steps.find((s) => s.kind === kind)!;

t.test('a byte flipped in a preserved page between preserve and exec is caught at its exact offset', async (t) => {
  const offset = 123_457;
  const r = await run(
    t,
    `version: 1
buffers:
  a: { size: 1MiB }
steps:
  - fill: { buffers: [a] }
  - preserve: { session: s, buffers: [a] }
  - corrupt: { buffer: a, offset: ${offset} }
  - kexec-load:
  - kexec-exec:
  - retrieve: { session: s }
  - verify: { buffers: [a] }
  - finish: { session: s }
`,
  );
  if (!r) return;
  t.equal(byKind(r.steps, 'kexec-exec').verdict, 'pass', 'the live update itself went through');
  const verify = byKind(r.steps, 'verify');
  t.equal(verify.verdict, 'fail');
  t.match(
    verify.reason,
    `buffer a: 1 corrupt byte(s) in 1 page(s); first at offset ${offset} (0x${offset.toString(16)})`,
  );
  const report = (
    verify.detail as {
      reports: Record<string, { mismatches: { offset: number; length: number; expected: string; actual: string }[] }>;
    }
  ).reports.a!;
  t.equal(report.mismatches.length, 1);
  const m = report.mismatches[0]!;
  t.same([m.offset, m.length], [offset, 1], 'exactly one byte, where it was flipped');
  t.equal(parseInt(m.expected, 16) ^ parseInt(m.actual, 16), 0x40, 'expected and actual differ by the flipped bit');
  t.equal(r.summary.verdict, 'fail');
});

t.test('a kexec of a kernel file that does not exist fails with a clear error', async (t) => {
  const r = await run(
    t,
    `version: 1
buffers:
  a: { size: 64KiB }
steps:
  - fill: { buffers: [a] }
  - kexec-load: { kernel: /no/such/dir/bzImage }
  - kexec-exec:
  - fill: { buffers: [a] }
`,
  );
  if (!r) return;
  const load = byKind(r.steps, 'kexec-load');
  t.equal(load.verdict, 'fail');
  t.match(load.reason, /\/no\/such\/dir\/bzImage does not exist/);
  t.equal(byKind(r.steps, 'kexec-exec').verdict, 'skip', 'nothing is executed after a failed load');
  t.equal(r.summary.verdict, 'fail');
});

t.test('a kernel that panics after the kexec is reported with its console excerpt', async (t) => {
  const r = await run(
    t,
    `version: 1
reboot: kexec
timeouts: { reboot: 120s }
buffers:
  a: { size: 64KiB }
steps:
  - fill: { buffers: [a] }
  - kexec-load: { cmdline: "rdinit=/no/such/init root=/dev/nothing" }
  - kexec-exec:
  - fill: { buffers: [a] }
`,
  );
  if (!r) return;
  const exec = byKind(r.steps, 'kexec-exec');
  t.equal(exec.verdict, 'fail');
  t.match(exec.reason, /kernel panic: .*Kernel panic - not syncing/);
  t.ok(
    exec.excerpt?.some((l) => /Kernel panic - not syncing/.test(l)),
    'the excerpt holds the panic',
  );
  t.ok(exec.ms < 120_000, `reported within the reboot deadline (${exec.ms} ms)`);
  t.match(
    readFileSync(join(r.runDir, 'console-default.log'), 'utf8'),
    /Kernel panic - not syncing/,
    'the console log keeps it',
  );
  t.equal(r.summary.targets[0]!.verdict, 'fail');
});
