// The run engine against a real agent on this machine (the local target):
// verdicts, expectations, deadlines, the journal, the KTAP report. Nothing
// here can reboot or rebind: the local agent is not disposable and refuses.

import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkScenarioText } from '../../orchestrator/scenario/load.js';
import { createLogger } from '../../orchestrator/log.js';
import { runScenario } from '../../orchestrator/run/run.js';
import { readJournal } from '../../orchestrator/run/journal.js';
import type { StepOutcome } from '../../orchestrator/run/outcome.js';

async function run(yaml: string, opts: { iterations?: number; keepGoing?: boolean } = {}) {
  const loaded = checkScenarioText('engine-test.yaml', yaml);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => p.message).join('\n'));
  const runDir = mkdtempSync(join(tmpdir(), 'lustress-engine-'));
  let ktap = '';
  const steps: StepOutcome[] = [];
  const summary = await runScenario(loaded.scenario, {
    runDir,
    log: createLogger({ level: 'silent' }),
    out: (text) => (ktap += text),
    scenarioText: yaml,
    keepGoing: opts.keepGoing ?? false,
    hooks: { step: (o) => steps.push(o) },
    ...(opts.iterations ? { iterations: opts.iterations } : {}),
  });
  return { summary, ktap, steps, runDir };
}

const header = `version: 1
targets:
  here: { local: {} }
buffers:
  a: { size: 2MiB }
  b: { size: 64KiB }
`;

t.test('patterns verify, corruption is caught where expected, kexec is refused here', async (t) => {
  const { summary, steps, ktap } = await run(
    header +
      `steps:
  - fill: { buffers: [a, b] }
  - verify: { buffers: [a, b] }
  - verify: { buffers: [b], pattern: a }
    expect: error
  - kexec-load: { kernel: /no/such/kernel }
    expect: error
`,
    { iterations: 2 },
  );
  t.equal(summary.verdict, 'pass');
  t.equal(summary.iterations.length, 2);
  t.same(
    steps.map((s) => s.verdict),
    ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass'],
  );
  t.match(steps[2]!.reason, /failed as expected: buffer b: \d+ corrupt byte\(s\) in 16 page\(s\); first at offset 4/);
  t.match(steps[3]!.reason, /refusing to load a kernel for kexec: this machine is not marked disposable/);
  t.ok(
    summary.iterations.every((i) => (i.metrics.verifiedBytes ?? 0) > 2 * 2 ** 20),
    'verified bytes are counted per iteration',
  );
  t.match(
    ktap,
    /^KTAP version 1\n1\.\.1\n# seed \d+ \(--seed \d+ replays this run.s jitter\)\n {2}KTAP version 1\n {2}1\.\.2\n/,
  );
  t.match(ktap, /\n {4}ok 3 1\.3 verify b as a # failed as expected: /);
  t.match(ktap, /\nok 1 here\n$/);
});

t.test('a copy canary over a buffer no copy reached cannot tell, and says so', async (t) => {
  const { summary, steps } = await run(
    header +
      `steps:
  - fill: { buffers: [a, b] }
  - verify: { buffers: [b], copy-of: a }
    expect: error
`,
  );
  t.equal(summary.verdict, 'pass');
  t.match(
    steps[1]!.reason,
    /failed as expected: buffer b: no page holds a copy of a \(16 untouched\): the canary cannot tell whether DMA came late/,
  );
  t.match(steps[1]!.detail, { reports: { b: { copy: { untouchedPages: 16, copiedPages: 0, latePages: 0 } } } });
});

t.test('an unexpected failure fails the iteration, skips the rest of it, and stops the run', async (t) => {
  const { summary, steps } = await run(
    header +
      `steps:
  - fill: { buffers: [b] }
  - verify: { buffers: [b], pattern: a }
  - verify: { buffers: [b] }
`,
    { iterations: 3 },
  );
  t.equal(summary.verdict, 'fail');
  t.equal(summary.iterations.length, 1, 'stops after the first failing iteration');
  t.same(
    steps.map((s) => s.verdict),
    ['pass', 'fail', 'skip'],
  );
  t.match(steps[2]!.reason, /not reached: step 2 failed/);
});

t.test('--keep-going runs every iteration', async (t) => {
  const { summary } = await run(
    header + `steps:\n  - fill: { buffers: [b] }\n  - verify: { buffers: [b], pattern: a }\n`,
    { iterations: 3, keepGoing: true },
  );
  t.equal(summary.iterations.length, 3);
  t.equal(summary.targets[0]!.failures, 3);
});

t.test('an expected error that does not come is a failure', async (t) => {
  const { steps } = await run(
    header + `steps:\n  - fill: { buffers: [b] }\n  - verify: { buffers: [b] }\n    expect: error\n`,
  );
  t.equal(steps[1]!.verdict, 'fail');
  t.match(steps[1]!.reason, /expected an error, but the step succeeded/);
});

t.test('a step past its deadline fails with the deadline, and the run goes on', async (t) => {
  const { steps } = await run(
    `version: 1
targets:
  here: { local: {} }
buffers:
  big: { size: 256MiB }
steps:
  - fill: { buffers: [big] }
    timeout: 1ms
  - verify: { buffers: [big] }
`,
    { keepGoing: true },
  );
  t.equal(steps[0]!.verdict, 'fail');
  t.match(steps[0]!.reason, /timed out after 1 ms/);
  t.equal(steps[1]!.verdict, 'skip', 'the rest of the iteration is not run');
});

t.test('the journal holds every record, in order, and the summary agrees', async (t) => {
  const { summary, runDir } = await run(header + `steps:\n  - fill: { buffers: [a] }\n  - verify: { buffers: [a] }\n`, {
    iterations: 2,
  });
  const records = readJournal(runDir);
  t.same(
    records.map((r) => r.type),
    ['run', 'boot', 'step', 'step', 'iteration', 'step', 'step', 'iteration', 'target', 'end'],
  );
  t.same(JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')).verdict, summary.verdict);
  const run0 = records[0] as { text: string };
  t.match(run0.text, /targets:/, 'the scenario text is kept, so the run can be replayed');
});
