// `lustress history` through the real CLI over a synthetic history: 300
// nightly runs, one of them killed mid-record, one damaged, and a soak of
// 100 000 iterations, read by a child with a 32 MiB heap (history needs less
// than 16; reading the soak with viewRun, which keeps every iteration, runs
// out in 32); the flakiness of each step kind checked against Wilson bounds
// computed independently; the trend page rendered by headless Chromium.

import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { JOURNAL_FILE } from '../../orchestrator/run/journal.js';
import { seededRandom } from '../../orchestrator/run/stats.js';
import type { History } from '../../orchestrator/history/history.js';
import { haveChromium, renderedDom, screenshot } from './helpers/chromium.js';
import { countColour } from './helpers/png.js';
import { gaussian, writeRun } from './helpers/runs.js';

const DAY0 = Date.UTC(2026, 10, 1, 22, 0);
const HOUR = 3_600_000;
const BIG = 100_000;

const lustress = (args: string[]) =>
  execa(process.execPath, ['--max-old-space-size=32', LUSTRESS_BIN, ...args], {
    reject: false,
    stdin: 'ignore',
    maxBuffer: 64 << 20,
  });

/**
 * The history: runs 0…299 an hour apart, 20 iterations each of kexec-exec and verify (runs 0–2 also expect-msi);
 * verify fails in runs 100 and 200 (2 in 6000), expect-msi in runs 1 and 2 (2 in 60, "1 in 30"); run 299 was killed
 * mid-record. Then a soak of 100 000 iterations of memcpy-wait alone, never failing, and a damaged run.
 */
function makeHistory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-history-'));
  for (let r = 0; r < 300; r++) {
    const random = seededRandom(r + 1);
    const failing: Record<number, [number, string]> = {
      1: [3, 'expect-msi vec0'],
      2: [10, 'expect-msi vec0'],
      100: [5, 'verify a'],
      200: [7, 'verify a'],
    };
    // Nightly dirs, several levels down, as runs/<night>/<run> is laid out.
    writeRun(join(dir, `night-${String(Math.floor(r / 10)).padStart(2, '0')}`, `run-${r}`), {
      at: DAY0 + r * HOUR,
      iterations: 20,
      steps: [
        { kind: 'kexec-exec', label: 'kexec-exec' },
        { kind: 'verify', label: 'verify a' },
        ...(r < 3 ? [{ kind: 'expect-msi', label: 'expect-msi vec0' }] : []),
      ],
      failing: (i) => (failing[r]?.[0] === i ? failing[r][1] : undefined),
      metrics: () => ({
        blackoutMs: Math.round(9000 + r * 5 + 400 * Math.abs(gaussian(random))),
        verifyGBps: 4 + random(),
        dmaBytes: 1 << 30,
        msiLatencyMs: 0.05 + random() / 100,
      }),
      release: r < 150 ? '6.18.0' : '6.19.0-rc1',
      finished: r !== 299,
    });
  }
  writeRun(join(dir, 'soak'), {
    at: DAY0 - 48 * HOUR,
    iterations: BIG,
    steps: [{ kind: 'memcpy-wait', label: 'memcpy-wait a' }],
    metrics: (i) => ({ blackoutMs: 8000 + (i % 1000) }),
  });
  const damaged = join(dir, 'night-03', 'damaged');
  mkdirSync(damaged);
  writeFileSync(join(damaged, JOURNAL_FILE), '{"type":"run","at":1,\n');
  return dir;
}

const dir = makeHistory();
// The soak's journal alone is 30 MB: not left behind.
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('history: one row per run in date order, from 100 000 iterations in a 32 MiB heap', async (t) => {
  const r = await lustress(['history', dir, '--json']);
  t.equal(r.exitCode, 0, r.stderr.slice(-500));
  const h = JSON.parse(r.stdout) as History;
  t.equal(h.rows.length, 301, 'every readable run, the damaged one skipped');
  t.match(
    r.stderr,
    new RegExp(`lustress: warning: skipping ${join(dir, 'night-03', 'damaged')}: .*corrupt journal record`),
  );
  t.equal(r.stderr.trim().split('\n').length, 1, 'one warning line');
  t.ok(
    h.rows.every((row, i) => i === 0 || h.rows[i - 1]!.at <= row.at),
    'sorted by date',
  );
  const soak = h.rows[0]!;
  t.equal(soak.runDir, join(dir, 'soak'), 'the oldest first');
  t.equal(soak.iterations, BIG);
  t.equal(soak.metrics.blackoutMs!.n, BIG, 'every iteration counted');
  t.equal(soak.metrics.blackoutMs!.max, 8999, 'the maximum is exact');
  t.ok(Math.abs(soak.metrics.blackoutMs!.p50 - 8500) < 50, `p50 from the sample: ${soak.metrics.blackoutMs!.p50}`);
  t.same(soak.steps, { 'memcpy-wait': BIG });
  const row = (n: number) => h.rows.find((x) => x.runDir.endsWith(`/run-${n}`))!;
  t.same(row(100).failures, { 'kexec-exec': 0, verify: 1 });
  t.equal(row(100).failedIterations, 1);
  t.same(row(1).failures, { 'kexec-exec': 0, verify: 0, 'expect-msi': 1 });
  t.same(row(7).releases, ['6.18.0']);
  t.same(row(170).releases, ['6.19.0-rc1']);
  t.equal(row(299).finished, false, 'the killed run is there, marked unfinished');
  t.equal(row(299).iterations, 20);
  t.equal(h.rows.filter((x) => !x.finished).length, 1);
  t.equal(row(5).metrics.dmaBytes!.p50, 1 << 30);
  t.notOk('sample' in row(5).metrics.blackoutMs!, 'no samples in the output');
});

t.test('flakiness: each kind over the whole history, with its Wilson 95% interval', async (t) => {
  const r = await lustress(['history', dir, '--json']);
  const f = new Map((JSON.parse(r.stdout) as History).flakiness.map((x) => [x.kind, x]));
  // Wilson bounds computed independently with SciPy 1.17 (from the formula, not this code):
  // binomtest(k, n).proportion_ci(confidence_level=0.95, method='wilson').
  const expected: [string, number, number, number, number][] = [
    ['expect-msi', 2, 60, 0.00918931925619787, 0.113637742743086],
    ['kexec-exec', 0, 6000, 0, 0.0006398334877831175],
    ['memcpy-wait', 0, BIG, 0, 3.841311258303963e-5],
    ['verify', 2, 6000, 9.141678295788666e-5, 0.0012146568158333754],
  ];
  t.same([...f.keys()], ['expect-msi', 'kexec-exec', 'memcpy-wait', 'verify']);
  for (const [kind, failures, steps, low, high] of expected) {
    const x = f.get(kind)!;
    t.equal(x.failures, failures, `${kind} failures`);
    t.equal(x.steps, steps, `${kind} steps`);
    t.ok(Math.abs(x.low - low) < 1e-12 && Math.abs(x.high - high) < 1e-12, `${kind}: [${x.low}, ${x.high}]`);
  }
  const text = await lustress(['history', dir]);
  t.equal(text.exitCode, 0);
  t.match(text.stdout, /expect-msi\s+2\s+60\s+1 in 30 \(95% CI 0\.92%–11%\)/, '"1 in 30" reads as it is');
  t.match(text.stdout, /verify\s+2\s+6000\s+1 in 3000 \(95% CI 0\.0091%–0\.12%\)/, '"1 in 3000" reads otherwise');
  t.match(text.stdout, /memcpy-wait\s+0\s+100000\s+0 in 100000 \(95% CI ≤ 0\.0038%\)/);
  t.match(
    text.stdout,
    /\n2026-11-14 09:00\*\s+synthetic\s+vm\s+6\.19\.0-rc1\s+20\s+-\s/,
    'the unfinished run is starred',
  );
  t.match(
    text.stdout,
    /\n2026-11-06 02:00\s+synthetic\s+vm\s+6\.18\.0\s+20\s+verify:1\s+\d+ms\/\d+ms\/\d+ms\s+4\.\d\dGB\/s\s+1GiB\s+0\.05\d+ms\n/,
  );
});

t.test('history refuses a directory that does not exist, in one line', async (t) => {
  const r = await lustress(['history', dir, join(dir, 'nope')]);
  t.equal(r.exitCode, 2);
  t.equal(r.stderr, `lustress: ${join(dir, 'nope')}: no such directory`);
  const empty = mkdtempSync(join(tmpdir(), 'lustress-history-empty-'));
  const e = await lustress(['history', empty]);
  t.equal(e.exitCode, 2);
  t.match(e.stderr, /holds no lustress run/);
});

t.test('the trend page renders in headless Chromium with its points, bands and red failures', async (t) => {
  if (!haveChromium(t)) return;
  const out = mkdtempSync(join(tmpdir(), 'lustress-trend-'));
  const page = join(out, 'trend.html');
  const r = await lustress(['history', dir, '--html', page]);
  t.equal(r.exitCode, 0, r.stderr);
  const html = readFileSync(page, 'utf8');
  t.notMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no script, nothing fetched');
  t.equal(html.match(/<svg /g)?.length, 4, 'blackout, verify, DMA and MSI');
  t.match(html, /Flakiness by step kind[\s\S]*1 in 30 \(95% CI 0\.92%–11%\)/);
  const img = await screenshot(t, page, out, 1000, 1200);
  t.equal(img.width, 1000);
  t.ok(countColour(img, [0xdd, 0x22, 0x22]) > 100, 'runs with failures are painted red');
  t.ok(countColour(img, [0x33, 0x66, 0xcc]) > 2000, 'p50 points and lines are painted');
  t.ok(countColour(img, [0xbc, 0xd3, 0xf0], 10) > 2000, 'the p95 bands are painted');
  const dom = await renderedDom(page, out);
  // Four runs failed (1, 2, 100, 200), each marked on the four charts; the soak measured blackout only.
  t.equal(dom.match(/<circle class="fail"/g)?.length, 16, 'four failed runs on each of four charts');
  t.equal(dom.match(/<circle class="pass"/g)?.length, 297 + 296 * 3, 'every other run a point');
});
