// Fault injection on the control machine, through the real CLI on a local
// target: the orchestrator killed (kill -9) at random points and resumed,
// sometimes with its last record torn; and a disk that fills up mid-run.
// Nothing recorded may be lost, nothing repeated, and every verdict must be
// what a run that was never killed gives.

import t from 'tap';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { JOURNAL_FILE, readJournal, type JournalRecord } from '../../orchestrator/run/journal.js';
import { seededRandom } from '../../orchestrator/run/stats.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';
import { localScenario } from './helpers/local-scenario.js';

const ITERATIONS = 6;
const STEPS = 3;
const SCENARIO = localScenario({ size: '4MiB', sleep: '150ms' });

const lustress = (args: string[]) =>
  execa(process.execPath, [LUSTRESS_BIN, ...args], { reject: false, stdin: 'ignore', stripFinalNewline: false });
const recorded = (runDir: string): JournalRecord[] => {
  try {
    return readJournal(runDir);
  } catch {
    return [];
  }
};
type Step = Extract<JournalRecord, { type: 'step' }>;
const steps = (records: JournalRecord[]) => records.filter((r): r is Step => r.type === 'step');

t.test('kill -9 at random points, resume: no record lost, none repeated, verdicts as if never killed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-kill-'));
  const file = join(dir, 'kill.yaml');
  writeFileSync(file, SCENARIO);
  const random = seededRandom(20261201);
  const RUNS = 8;
  let lost = 0;
  let repeated = 0;
  let wrongVerdicts = 0;
  let torn = 0;
  for (let run = 0; run < RUNS; run++) {
    const runDir = join(dir, `run-${run}`);
    let child = lustress(['run', file, '--run-dir', runDir, '--iterations', String(ITERATIONS)]);
    // The kills land after the run has begun recording.
    for (let i = 0; i < 400 && !recorded(runDir).length; i++) await sleep(25);
    const kills = 1 + Math.floor(random() * 3);
    const history: Step[][] = [];
    for (let k = 0; k < kills; k++) {
      // Somewhere between the first record and the run's end (about 3 s of steps in all).
      await sleep(300 + Math.floor(random() * 2200));
      child.kill('SIGKILL');
      const r = await child;
      if (r.exitCode === 0) break; // it finished first
      if (random() < 0.5) {
        // A writer killed mid-record leaves a torn line: part of a record, without its newline.
        const journal = join(runDir, JOURNAL_FILE);
        const lastLine = readFileSync(journal, 'utf8').trimEnd().split('\n').at(-1) ?? '';
        appendFileSync(journal, lastLine.slice(0, 1 + Math.floor(random() * (lastLine.length - 1))));
        torn++;
      }
      history.push(steps(recorded(runDir)));
      child = lustress(['resume', runDir]);
    }
    const last = await child;
    t.equal(last.exitCode, 0, `run ${run} ends passing after ${history.length} kill(s): ${last.stderr.slice(-300)}`);
    const final = steps(recorded(runDir));
    for (const before of history) {
      const kept = before.filter((b) =>
        final.some((f) => f.at === b.at && f.iteration === b.iteration && f.step === b.step),
      );
      lost += before.length - kept.length;
    }
    const keys = final.map((s) => `${s.iteration}.${s.step}`);
    repeated += keys.length - new Set(keys).size;
    const missing = ITERATIONS * STEPS - new Set(keys).size;
    lost += Math.max(0, missing);
    // A never-killed run passes every step; a killed one may only skip the steps of the iteration it died in.
    for (const s of final) {
      const ok =
        s.verdict === 'pass' || (s.verdict === 'skip' && /orchestrator stopped during this iteration/.test(s.reason));
      if (!ok) wrongVerdicts++;
    }
    const report = await lustress(['report', runDir]);
    t.equal(report.exitCode, 0, `run ${run}: report reads it`);
    t.match(report.stdout, /\nok 1 here/, `run ${run}: the target passes, as a run never killed does`);
  }
  t.equal(lost, 0, `${RUNS} runs killed and resumed (${torn} with a torn last record): records lost`);
  t.equal(repeated, 0, 'records repeated');
  t.equal(wrongVerdicts, 0, 'verdicts other than a never-killed run would give');
});

t.test(
  'a disk that fills up mid-run: the run stops with how many records are safe, exit 3, and the journal reads',
  async (t) => {
    if (process.getuid?.() !== 0) {
      prerequisiteMissing(t, 'mounting a small tmpfs needs root');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'lustress-full-'));
    const mnt = join(dir, 'small');
    mkdirSync(mnt);
    const file = join(dir, 'full.yaml');
    writeFileSync(file, SCENARIO.replace('  - sleep: 150ms\n', ''));
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', mnt]);
    t.teardown(async () => {
      await execa('umount', [mnt], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    });
    const runDir = join(mnt, 'run');
    const r = await lustress(['run', file, '--run-dir', runDir, '--iterations', '100000']);
    t.equal(r.exitCode, 3, 'exit 3: disk full');
    const m = /^lustress: disk full \(ENOSPC\): (\d+) records safe in (\S+)\n$/.exec(r.stderr);
    t.ok(m, `one line says so: ${r.stderr.slice(-400)}`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const records = readJournal(runDir);
    t.equal(records.length, Number(m?.[1]), 'exactly the records it says are safe are in the journal, each whole');
    t.equal(readFileSync(join(runDir, JOURNAL_FILE), 'utf8').endsWith('\n'), true, 'the journal ends on a whole line');
    t.ok(records.length > 20, `${records.length} records were written before the disk filled`);
  },
);
