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
import { execa } from 'execa';
import { Journal, readJournal } from '../../orchestrator/run/journal.js';
import { runTarget } from '../../orchestrator/run/engine.js';
import type { QemuTargetSpec } from '../../orchestrator/scenario/spec.js';
import type { QemuTarget } from '../../orchestrator/targets/qemu/qemu.js';
import { BOOT_DEADLINE_MS, guestPrerequisites, guestSpec, qemuTarget, testRunDir } from './guest.js';

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

/** A scenario's runs on a guest the test holds, so it can reach into the guest while the engine runs. */
async function runHeld(
  t: Test,
  yaml: string,
  onStep: (o: StepOutcome, held: { target: QemuTarget; runDir: string }) => void,
) {
  if (!(await guestPrerequisites(t, ['live-update']))) return undefined;
  const loaded = checkScenarioText('held.yaml', yaml);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('; '));
  const scenario = loaded.scenario;
  const runDir = testRunDir(t);
  const journal = Journal.create(runDir);
  journal.append({
    type: 'run',
    at: Date.now(),
    scenario: 'held',
    file: 'held.yaml',
    text: yaml,
    options: {},
    version: '0',
  });
  const target = qemuTarget(t, { runDir, spec: scenario.targets[0] as QemuTargetSpec });
  const steps: StepOutcome[] = [];
  const outcome = await runTarget({
    scenario,
    spec: scenario.targets[0]!,
    target,
    journal,
    log: createLogger({ level: 'info', file: join(runDir, 'lustress.log'), pretty: false }),
    hooks: {
      boot: () => {},
      step: (o) => {
        steps.push(o);
        onStep(o, { target, runDir });
      },
      iteration: () => {},
    },
    settings: { iterations: scenario.iterations, keepGoing: true, seed: 1 },
    random: Math.random,
  });
  journal.close();
  return { outcome, steps, runDir };
}

const EDU_COPIES = `version: 1
iterations: 2
devices:
  dev: { id: "1234:11e8", driver: edu }
buffers:
  a: { size: 4KiB }
  b: { size: 4KiB }
steps:
  - bind: { device: dev }
  - map: { device: dev, buffers: [a, b] }
  - fill: { buffers: [a] }
  - memcpy-start: { device: dev, from: a, to: b, count: 40 }
  - memcpy-wait: { device: dev }
    timeout: 90s
  - verify: { buffers: [b], pattern: a }
`;

t.test('the agent killed mid-step: the step fails saying so at once, and the run goes on', async (t) => {
  let killed = false;
  const r = await runHeld(t, EDU_COPIES, (o, { target }) => {
    if (killed || o.kind !== 'memcpy-start') return;
    killed = true;
    // While memcpy-wait waits for the copies (about 8 s of them), the agent is killed from inside the guest.
    setTimeout(() => {
      void target.rpc.request('exec', { argv: ['/bin/sh', '-c', 'kill -9 $PPID'] }, 10_000).catch(() => undefined);
    }, 2000);
  });
  if (!r) return;
  const wait = r.steps.find((s) => s.kind === 'memcpy-wait')!;
  t.equal(wait.verdict, 'fail');
  t.match(
    wait.reason,
    /memcpy-wait: the agent died during this request \(pid \d+; the machine started agent pid \d+\)/,
  );
  t.ok(wait.ms < 30_000, `reported when the new agent said hello (${wait.ms} ms), not at the step's 90 s deadline`);
  const second = r.steps.filter((s) => s.iteration === 2);
  t.same(
    second.map((s) => s.verdict),
    ['pass', 'pass', 'pass', 'pass', 'pass', 'pass'],
    'the next iteration runs whole on the new agent',
  );
  t.equal(r.outcome.failures, 1, 'one failed iteration');
});

t.test('QEMU killed mid-DMA: the step fails with how, and the run ends cleanly', async (t) => {
  let killed = false;
  const r = await runHeld(t, EDU_COPIES.replace('iterations: 2', 'iterations: 3'), (o, { runDir }) => {
    if (killed || o.kind !== 'memcpy-start') return;
    killed = true;
    setTimeout(() => void execa('pkill', ['-KILL', '-f', `lustress.run=${runDir}`], { reject: false }), 2000);
  });
  if (!r) return;
  const wait = r.steps.find((s) => s.kind === 'memcpy-wait')!;
  t.equal(wait.verdict, 'fail');
  t.match(wait.reason, /QEMU was killed by SIGKILL/);
  t.same([...new Set(r.steps.map((s) => s.iteration))], [1], 'no iteration starts on a machine that is gone');
  t.equal(r.outcome.verdict, 'fail');
  t.equal(readJournal(r.runDir).at(-1)?.type, 'target', 'the target ends recorded');
});

t.test(
  'a guest that hangs after the kexec (its new kernel never starts the agent) fails the kexec, cleanly',
  async (t) => {
    const r = await run(
      t,
      `version: 1
reboot: kexec
timeouts: { reboot: 45s }
buffers:
  a: { size: 64KiB }
steps:
  - fill: { buffers: [a] }
  - kexec-load: { cmdline: "rdinit=/bin/busybox init=/bin/busybox -- sleep 3600" }
  - kexec-exec:
  - fill: { buffers: [a] }
`,
    );
    if (!r) return;
    const exec = byKind(r.steps, 'kexec-exec');
    t.equal(exec.verdict, 'fail');
    t.match(exec.reason, /no hello from a new boot within 45 s/);
    t.ok(exec.ms >= 45_000 && exec.ms < 90_000, `at its deadline (${exec.ms} ms)`);
    t.ok((exec.excerpt ?? []).length > 0, 'with the console excerpt');
    t.equal(byKind(r.steps, 'fill').verdict, 'pass');
    t.equal(readJournal(r.runDir).at(-1)?.type, 'end', 'the run ends with its end record');
  },
);

t.test('through the agent: a failed bind gives the device back; LUO is held only for its calls', async (t) => {
  if (!(await guestPrerequisites(t, ['live-update']))) return;
  const target = qemuTarget(t, { spec: guestSpec() });
  await target.start(BOOT_DEADLINE_MS);
  const driverOf = async (id: string) => {
    const facts = await target.rpc.request('facts', {}, 60_000);
    return facts.pci.find((f) => `${f.vendor}:${f.device}` === id)?.driver ?? 'none';
  };
  const before = await driverOf('8086:10c9');
  const wrong = { name: 'nic', id: '8086:10c9', index: 0, driver: 'edu', iommu: 'iommufd' as const, force: false };
  const e = await target.rpc.request('bind', { device: wrong }, 60_000).catch((x: unknown) => x);
  t.match(e, { message: /edu: does not drive/ }, 'binding igb to the edu driver fails');
  t.equal(await driverOf('8086:10c9'), before, `the device is back where it was (${before}), not left on vfio-pci`);

  const openLuo = ['/bin/sh', '-c', `exec ${process.execPath} -e "require('fs').openSync('/dev/liveupdate','r+')"`];
  const free = async (when: string) => {
    const r = await target.rpc.request('exec', { argv: openLuo }, 30_000);
    t.equal(r.exitCode, 0, `another process can open /dev/liveupdate ${when}`, { stderr: r.stderr });
  };
  await free('after the capability probe at hello');
  const buffer = { name: 'a', sizeBytes: 4096, backing: 'memfd' as const };
  await target.rpc.request('fill', { buffers: [{ ...buffer, pattern: { seed: 1, generation: 1 } }] }, 30_000);
  const kept = await target.rpc.request('preserve', { session: 's', buffers: [buffer], devices: [] }, 30_000);
  t.same(Object.keys(kept.tokens), ['a'], 'the buffer is preserved');
  await free('while a session is open');
});
