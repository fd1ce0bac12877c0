// The journal under hostile conditions, through the real CLI on a local
// target: a torn last line, a second writer, a journal in a newer format, a
// line that is JSON but no record, a directory that holds no run, and a
// journal larger than any string V8 can hold, read in bounded memory.

import t from 'tap';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { JOURNAL_FILE, readJournal } from '../../orchestrator/run/journal.js';
import { localScenario } from './helpers/local-scenario.js';

const SCENARIO = localScenario({ size: '1MiB' });

const lustress = (args: string[], opts: { nodeArgs?: string[] } = {}) =>
  execa(process.execPath, [...(opts.nodeArgs ?? []), LUSTRESS_BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
  });

function scenario(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-journal-'));
  const file = join(dir, 'j.yaml');
  writeFileSync(file, SCENARIO);
  return { dir, file };
}

/** A run's journal with its last few bytes cut off, as a writer killed mid-record leaves it (no end record). */
async function tornRun(iterations: number): Promise<{ dir: string; runDir: string; wholeRecords: number }> {
  const { dir, file } = scenario();
  const runDir = join(dir, 'run');
  const r = await lustress(['run', file, '--run-dir', runDir, '--iterations', String(iterations)]);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  const journal = join(runDir, JOURNAL_FILE);
  const lines = readFileSync(journal, 'utf8').split('\n');
  // Keep the records before the first iteration's end, then half of the next one: a torn line.
  const keep = lines.findIndex((l) => l.includes('"type":"iteration"'));
  writeFileSync(journal, lines.slice(0, keep).join('\n') + '\n' + lines[keep]!.slice(0, 25));
  return { dir, runDir, wholeRecords: keep };
}

t.test('a torn last line is cut away before a resume appends, and report and resume both read the run', async (t) => {
  const { runDir, wholeRecords } = await tornRun(2);
  const before = readJournal(runDir);
  t.equal(before.length, wholeRecords, 'reading skips the torn line');
  const resumed = await lustress(['resume', runDir]);
  t.equal(resumed.exitCode, 0, resumed.stderr);
  const after = readJournal(runDir);
  t.same(after.slice(0, before.length), before, 'nothing recorded is lost or changed');
  t.equal(after.at(-1)?.type, 'end', 'the resumed run ends');
  t.match(
    readFileSync(join(runDir, 'lustress.log'), 'utf8'),
    /cut a torn last line off the journal/,
    'the cut is logged',
  );
  const report = await lustress(['report', runDir]);
  t.equal(report.exitCode, 0, report.stderr);
  t.match(report.stdout, /^ok 1 here/m);
});

t.test(
  'one writer at a time: a second resume is refused with the holder, and a run never appends to another',
  async (t) => {
    const { dir, file } = scenario();
    const runDir = join(dir, 'run');
    writeFileSync(file, SCENARIO.replace('steps:\n', 'steps:\n  - sleep: 300ms\n'));
    const first = lustress(['run', file, '--run-dir', runDir, '--iterations', '20']);
    const recorded = () => {
      try {
        return readJournal(runDir).length;
      } catch {
        return 0; // not created yet
      }
    };
    for (let i = 0; i < 200 && recorded() < 4; i++) await sleep(50);
    const second = await lustress(['resume', runDir]);
    t.equal(second.exitCode, 2, 'refused as a usage error');
    t.match(
      second.stderr,
      new RegExp(`^lustress: ${runDir} is being written by lustress pid \\d+; one run or resume at a time\\n$`),
    );
    first.kill('SIGKILL');
    await first;
    const again = await lustress(['run', file, '--run-dir', runDir]);
    t.equal(again.exitCode, 2);
    t.match(
      again.stderr,
      /already holds a run \(journal\.jsonl\): resume it with lustress resume, or give another --run-dir/,
    );
    const resumed = await lustress(['resume', runDir]);
    t.equal(resumed.exitCode, 0, `the lock of a killed writer is taken over: ${resumed.stderr}`);
    const runs = readJournal(runDir).filter((r) => r.type === 'run');
    t.equal(runs.length, 1, 'one run in the journal');
  },
);

t.test('journals that are not what they claim are refused in one line, exit 2, no stack trace', async (t) => {
  const { runDir } = await tornRun(1);
  const journal = join(runDir, JOURNAL_FILE);
  const good = readFileSync(journal, 'utf8').split('\n').slice(0, 3).join('\n') + '\n';
  const cases: [string, string, RegExp][] = [
    ['null', good + 'null\n', /journal\.jsonl:4: not a journal record/],
    ['42', good + '42\n', /journal\.jsonl:4: not a journal record/],
    ['unknown type', good + '{"type":"party","at":1}\n', /journal\.jsonl:4: not a journal record/],
    [
      'broken JSON in the middle',
      good + '{"type":\n' + good.split('\n')[1] + '\n',
      /journal\.jsonl:4: corrupt journal record/,
    ],
    [
      'a newer format',
      good.replace('"format":1', '"format":99'),
      /written in journal format 99 by a newer lustress; this one reads format 1/,
    ],
  ];
  for (const [what, text, message] of cases) {
    writeFileSync(journal, text);
    for (const command of ['report', 'resume']) {
      const r = await lustress([command, runDir]);
      t.equal(r.exitCode, 2, `${command}, ${what}: exit 2`);
      t.match(r.stderr, message, `${command}, ${what}: ${r.stderr.trim()}`);
      t.notMatch(r.stderr, /\n\s+at /, `${command}, ${what}: no stack trace`);
    }
  }
  const debug = await lustress(['--log-level', 'debug', 'report', runDir]);
  t.match(debug.stderr, /\n\s+at /, 'with --log-level debug the stack is shown');
  for (const command of ['report', 'resume']) {
    const missing = join(tmpdir(), 'no-such-lustress-run');
    const r = await lustress([command, missing]);
    t.equal(r.exitCode, 2);
    t.equal(
      r.stderr,
      `lustress: ${missing} holds no journal.jsonl: not a lustress run directory\n`,
      `${command} of a mistyped directory`,
    );
    t.throws(() => statSync(missing), 'and nothing was created there');
  }
});

t.test('a journal larger than the longest string V8 holds is read in bounded memory', async (t) => {
  const { runDir } = await tornRun(1);
  const journal = join(runDir, JOURNAL_FILE);
  const lines = readFileSync(journal, 'utf8').split('\n').filter(Boolean);
  const head = lines.filter(
    (l) => !l.includes('"type":"iteration"') && !l.includes('"type":"target"') && !l.includes('"type":"end"'),
  );
  const step = JSON.parse(head.find((l) => l.includes('"type":"step"'))!);
  // 560 MiB of step records, 80 KiB each, all of one iteration, then its end.
  const RECORD = 80 << 10;
  const count = Math.ceil((560 << 20) / RECORD);
  const filler = 'x'.repeat(RECORD - 400);
  truncateSync(journal, 0);
  writeFileSync(journal, head.join('\n') + '\n');
  const fd = openSync(journal, 'a');
  const block: string[] = [];
  for (let i = 0; i < count; i++) {
    block.push(JSON.stringify({ ...step, step: 1, label: `padding ${i}`, detail: { filler } }));
    if (block.length === 256 || i === count - 1) {
      writeSync(fd, block.join('\n') + '\n');
      block.length = 0;
    }
  }
  closeSync(fd);
  appendFileSync(
    journal,
    JSON.stringify({
      type: 'iteration',
      at: step.at,
      target: 'here',
      iteration: 1,
      verdict: 'pass',
      ms: 1,
      metrics: {},
    }) + '\n',
  );
  const bytes = statSync(journal).size;
  t.ok(bytes > 0x1fffffe8, `the journal is ${(bytes / 2 ** 20).toFixed(0)} MiB, more than a string can hold`);
  const out = join(runDir, 'big');
  mkdirSync(out);
  const r = await lustress(['report', runDir, '--json', join(out, 'summary.json'), '--junit', join(out, 'junit.xml')], {
    nodeArgs: ['--max-old-space-size=256'],
  });
  t.equal(r.exitCode, 0, `read with a 256 MiB heap: ${r.stderr.slice(-500)}`);
  t.equal(r.stdout.match(/ok \d+ 1\.1 padding/g)?.length, count, 'every record is in the KTAP report');
  t.equal(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).iterations.length, 1);
  truncateSync(journal, 0);
});
