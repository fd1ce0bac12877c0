// The live view through the real CLI in a pseudo-terminal (util-linux
// `script`), stdout and stderr on the same terminal as a user has them: the
// screen it leaves must hold every report line and log line whole, each on a
// line of its own, and one last status line with the right counts. A resumed
// run's line counts on from what was recorded. Without a terminal the same
// run prints the report alone, with no escape sequences.

import t from 'tap';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { JOURNAL_FILE, readJournal } from '../../orchestrator/run/journal.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';
import { renderScreen } from './helpers/screen.js';
import { localScenario } from './helpers/local-scenario.js';

const SCRIPT = '/usr/bin/script';
const COLUMNS = 160;
const ITERATIONS = 3;
const SCENARIO = localScenario({ size: '4MiB', sleep: '150ms' });
const KTAP_LINE = /^\s*(KTAP version 1|1\.\.\d+|ok \d+ |not ok \d+ |# )/;
const LOG_LINE = /^\d\d:\d\d:\d\d (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) +\S/;
const finalStatus = (n: number) => new RegExp(`^${n} iteration\\(s\\) done \\| \\d+s \\| 0 failed$`);
const FINAL_STATUS = finalStatus(ITERATIONS);

function scenarioFile(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-live-'));
  const file = join(dir, 'live.yaml');
  writeFileSync(file, SCENARIO);
  return { dir, file };
}

/** The CLI with these arguments in a pseudo-terminal of COLUMNS columns; what the terminal was sent. */
function inTerminal(args: string[]) {
  // Paths from mkdtemp and the project: no quotes in them.
  const command = `stty cols ${COLUMNS} rows 50; exec '${process.execPath}' '${LUSTRESS_BIN}' ${args.map((a) => `'${a}'`).join(' ')}`;
  return execa(SCRIPT, ['-qefc', command, '/dev/null'], { reject: false, stdin: 'ignore', timeout: 120_000 });
}

t.test('on a terminal: status line, report and logs each keep their own lines', async (t) => {
  if (!existsSync(SCRIPT)) return prerequisiteMissing(t, `${SCRIPT} (util-linux) is missing`);
  const { dir, file } = scenarioFile();
  const r = await inTerminal(['run', file, '--run-dir', join(dir, 'run'), '--iterations', String(ITERATIONS)]);
  t.equal(r.exitCode, 0, 'the run passes', { stderr: r.stderr });
  t.match(r.stdout, /\x1b\[K/, 'the live view was on (the status line was drawn)');
  t.match(r.stdout, new RegExp(`iteration ${ITERATIONS}/${ITERATIONS} \\|`), 'the status reached the last iteration');
  t.notMatch(r.stdout, new RegExp(`iteration ${ITERATIONS + 1}/`), 'the status never counts past the last iteration');
  const screen = renderScreen(r.stdout, COLUMNS).filter((row) => row !== '');
  const stray = screen.filter((row) => !KTAP_LINE.test(row) && !LOG_LINE.test(row) && !FINAL_STATUS.test(row));
  t.same(stray, [], 'every row is a whole report line, a whole log line or the last status', { screen });
  t.equal(screen.filter((row) => FINAL_STATUS.test(row)).length, 1, 'the status is left once, as the last word');
  t.notOk(
    screen.some((row) => KTAP_LINE.test(row) && / \| \d+ failed/.test(row)),
    'no report line has status text on it',
  );
  const steps = screen.filter((row) => /^ {4}ok \d+ \d+\.\d+ /.test(row)).map((row) => row.trim().split(' ')[2]);
  t.same(
    steps,
    Array.from({ length: ITERATIONS }, (_, i) => [1, 2, 3].map((s) => `${i + 1}.${s}`)).flat(),
    'every step line is there, in order',
  );
  t.equal(screen.filter((row) => /^ {2}ok \d+ iteration \d+/.test(row)).length, ITERATIONS, 'every iteration line');
  t.ok(
    screen.some((row) => / INFO +agent started target=here/.test(row)),
    'the first log line is whole',
  );
  t.ok(
    screen.some((row) => / INFO +agent exited target=here status=0$/.test(row)),
    'a log line mid-view is whole',
  );
  t.match(screen.at(-1)!, /^# pass: 3 iteration\(s\)/, 'the run ends with its verdict');
});

t.test('a resumed run on a terminal counts on from what was recorded', async (t) => {
  if (!existsSync(SCRIPT)) return prerequisiteMissing(t, `${SCRIPT} (util-linux) is missing`);
  const { dir, file } = scenarioFile();
  const runDir = join(dir, 'run');
  const total = 6;
  const child = execa(
    process.execPath,
    [LUSTRESS_BIN, 'run', file, '--run-dir', runDir, '--iterations', String(total)],
    {
      reject: false,
      stdin: 'ignore',
    },
  );
  const iterations = () =>
    existsSync(join(runDir, JOURNAL_FILE)) ? readJournal(runDir).filter((r) => r.type === 'iteration').length : 0;
  for (let i = 0; i < 400 && iterations() < 2; i++) await sleep(25);
  child.kill('SIGKILL');
  await child;
  const killedAfter = iterations();
  t.ok(killedAfter >= 2 && killedAfter < total, `killed after ${killedAfter} iterations`);
  const r = await inTerminal(['resume', runDir]);
  t.equal(r.exitCode, 0, 'the resumed run passes', { stderr: r.stderr });
  // The interrupted iteration, if any, is closed by the resume and counted with the recorded ones.
  const first = /iteration (\d+)\/(\d+) \|/.exec(r.stdout);
  t.ok(first, 'the status line was drawn');
  t.equal(Number(first?.[2]), total, 'out of all the iterations asked for');
  t.ok(Number(first?.[1]) > killedAfter, `its first count (${first?.[1]}) is past the ${killedAfter} recorded`);
  const screen = renderScreen(r.stdout, COLUMNS).filter((row) => row !== '');
  t.equal(screen.filter((row) => finalStatus(total).test(row)).length, 1, `it ends at ${total} done`, { screen });
});

t.test('without a terminal: the report alone, no escape sequences, no status', async (t) => {
  const { dir, file } = scenarioFile();
  const r = await execa(
    process.execPath,
    [LUSTRESS_BIN, 'run', file, '--run-dir', join(dir, 'run'), '--iterations', String(ITERATIONS)],
    { reject: false, stdin: 'ignore' },
  );
  t.equal(r.exitCode, 0, 'the run passes', { stderr: r.stderr });
  t.notMatch(r.stdout + r.stderr, /\x1b/, 'no escape sequences');
  t.notMatch(r.stdout + r.stderr, /iteration \d+\/\d+ \|/, 'no status line');
  t.ok(
    r.stdout.split('\n').every((line) => line === '' || KTAP_LINE.test(line)),
    'stdout is KTAP and diagnostics only',
  );
});
