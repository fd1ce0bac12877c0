// Kill the orchestrator in the middle of a run (kill -9), resume it, and check
// that no recorded step is lost or repeated and the run ends complete.

import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { readJournal } from '../../orchestrator/run/journal.js';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';

const CLI = LUSTRESS_BIN;
const ITERATIONS = 10;
const SCENARIO = `version: 1
targets:
  here: { local: {} }
buffers:
  a: { size: 16MiB }
steps:
  - fill: { buffers: [a] }
  - verify: { buffers: [a] }
  - sleep: 200ms
`;

type StepRecord = { type: 'step'; iteration: number; step: number; verdict: string; reason: string };

const stepRecords = (runDir: string) => readJournal(runDir).filter((r) => r.type === 'step') as unknown as StepRecord[];

t.test('a killed run resumes after its last recorded step', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-resume-'));
  const file = join(dir, 'soak.yaml');
  writeFileSync(file, SCENARIO);
  const runDir = join(dir, 'run');
  const first = execa(process.execPath, [CLI, 'run', file, '--run-dir', runDir, '--iterations', String(ITERATIONS)], {
    reject: false,
  });
  // Wait until some iterations are recorded, then kill -9 in the middle of one.
  for (let i = 0; i < 200 && !(existsSync(join(runDir, 'journal.jsonl')) && stepRecords(runDir).length >= 10); i++)
    await sleep(50);
  first.kill('SIGKILL');
  await first;
  const before = stepRecords(runDir);
  t.ok(before.length >= 10 && before.length < ITERATIONS * 3, `killed part way (${before.length} steps recorded)`);
  t.notOk(
    readJournal(runDir).some((r) => r.type === 'end'),
    'the killed run has no end record',
  );

  const resumed = await execa(process.execPath, [CLI, 'resume', runDir, '--junit', join(dir, 'junit.xml')], {
    reject: false,
  });
  t.equal(resumed.exitCode, 0, resumed.stderr);
  const after = stepRecords(runDir);
  t.same(after.slice(0, before.length), before, 'every step recorded before the kill is still there, unchanged');
  const keys = after.map((s) => `${s.iteration}.${s.step}`);
  t.equal(new Set(keys).size, keys.length, 'no step is recorded twice');
  const expected = Array.from({ length: ITERATIONS }, (_, i) => [1, 2, 3].map((s) => `${i + 1}.${s}`)).flat();
  t.same([...keys].sort(), [...expected].sort(), 'every step of every iteration is recorded once');
  const interrupted = after.filter((s) => /orchestrator stopped during this iteration/.test(s.reason));
  t.ok(
    interrupted.every((s) => s.verdict === 'skip'),
    'steps the killed run never ran are skips, not passes',
  );
  const types = readJournal(runDir).map((r) => r.type);
  t.ok(types.includes('resume') && types[types.length - 1] === 'end', 'the journal records the resume and ends');
  t.match(resumed.stdout, /^KTAP version 1\n/, 'the resumed report starts from the beginning of the run');
  t.equal(
    readFileSync(join(dir, 'junit.xml'), 'utf8').match(/<testcase /g)?.length,
    ITERATIONS * 3,
    'the JUnit report covers the whole run',
  );

  const again = await execa(process.execPath, [CLI, 'resume', runDir], { reject: false });
  t.match(again.stdout, /had already ended: nothing to resume/);
  t.equal(stepRecords(runDir).length, after.length, 'resuming a finished run records nothing');
});
