// A corpus of hostile scenario inputs (test/hostile): encodings, line
// endings, YAML directives and tags, aliases, numeric edge cases, durations
// past what timers hold, sizes past what targets hold, huge values, and the
// ways a scenario could try to make a machine disposable or reach ssh as an
// option. Each file's exact messages and positions are in expect.json; the
// special files (FIFOs, devices, /proc) are made here. Every input is
// refused with its message, at its place, quickly.

import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { formatProblem } from '../../orchestrator/scenario/errors.js';
import { checkScenarioFile, checkScenarioText } from '../../orchestrator/scenario/load.js';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { repoPath } from './helpers/repo.js';

const DIR = repoPath('test/hostile');
const expected = JSON.parse(readFileSync(join(DIR, 'expect.json'), 'utf8')) as Record<
  string,
  { at: string; text: string }[]
>;
/** Generous: a hang or a read without end fails; speed is the benchmarks' business. */
const HANG_MS = 5000;

const shown = (file: string) => {
  const r = checkScenarioFile(file);
  return r.ok
    ? []
    : r.problems.map((p) => ({ at: `${p.line}:${p.col}`, text: formatProblem(p).replace(/^.*?:\d+:\d+: /, '') }));
};

t.test('the corpus covers every class, each file with its problems stated', async (t) => {
  const names = Object.keys(expected);
  t.ok(names.length >= 60, `${names.length} files`);
  for (const prefix of [
    'enc-',
    'eol-',
    'dir-',
    'tag-',
    'alias-',
    'num-',
    'dur-',
    'size-',
    'huge-',
    'safety-',
    'name-',
  ]) {
    t.ok(
      names.some((n) => n.startsWith(prefix)),
      `inputs of the class ${prefix}`,
    );
  }
  for (const problems of Object.values(expected)) t.ok(problems.length > 0);
});

for (const [name, problems] of Object.entries(expected)) {
  t.test(name, async (t) => {
    const started = Date.now();
    t.same(shown(join(DIR, name)), problems);
    t.ok(Date.now() - started < HANG_MS, 'refused quickly');
  });
}

t.test('the same text means the same under every line-ending convention', async (t) => {
  const text = readFileSync(join(DIR, 'eol-crlf.yaml'), 'utf8').replace(/\r\n/g, '\n');
  const lf = checkScenarioText('x.yaml', text);
  const cr = checkScenarioText('x.yaml', text.replace(/\n/g, '\r'));
  const crlf = checkScenarioText('x.yaml', text.replace(/\n/g, '\r\n'));
  t.same(cr, lf, 'CR alone');
  t.same(crlf, lf, 'CRLF');
});

t.test('special files are refused without reading them whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-special-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo.yaml');
  await execa('mkfifo', [fifo]);
  const big = join(dir, 'sparse.yaml');
  writeFileSync(big, 'version: 1\n');
  truncateSync(big, 8 * 2 ** 30);
  const link = join(dir, 'zero.yaml');
  symlinkSync('/dev/zero', link);
  const folder = join(dir, 'folder.yaml');
  mkdirSync(folder);
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '');
  const cases: [string, string, string][] = [
    ['a FIFO (opening it would block)', fifo, `${fifo}:1:1: not a regular file`],
    ['/dev/zero through a symlink', link, `${link}:1:1: not a regular file`],
    ['a directory', folder, `${folder}:1:1: not a regular file`],
    [
      '/proc/self/pagemap (stat says 0 bytes; it holds gigabytes)',
      '/proc/self/pagemap',
      '/proc/self/pagemap:1:1: file is larger than 1 MiB, the limit for scenario files',
    ],
    ['an 8 GiB sparse file', big, `${big}:1:1: file is larger than 1 MiB, the limit for scenario files`],
    [
      'an empty file',
      empty,
      `${empty}:1:1: a scenario is a mapping with "version" and "steps"; this file holds nothing`,
    ],
    ['a file that does not exist', join(dir, 'nope.yaml'), `${join(dir, 'nope.yaml')}:1:1: cannot read: ENOENT`],
  ];
  for (const [what, file, message] of cases) {
    const started = Date.now();
    const r = checkScenarioFile(file);
    t.match(r.ok ? 'ok' : formatProblem(r.problems[0]!), message, what);
    t.ok(Date.now() - started < HANG_MS, `${what}: refused in ${Date.now() - started} ms`);
  }
});

t.test('validate fails the file (exit 1) and prints file:line:col for each problem', async (t) => {
  const file = join(DIR, 'dur-rounds-to-zero.yaml');
  const r = await execa(process.execPath, [LUSTRESS_BIN, 'validate', file], { reject: false });
  t.equal(r.exitCode, 1);
  t.equal(
    r.stderr.trim() || r.stdout.trim(),
    `${file}:4:14: steps[0].timeout: a duration is at least 1 ms, got "0.4ms"`,
  );
});
