// `lustress compare` and `run --baseline`: the Mann–Whitney and Fisher tests
// against values computed independently, then through the real CLI an
// injected regression caught (exit 1), runs drawn from one distribution left
// alone (exit 0, fixed seeds), failures new in NEW flagged, and a bad
// directory refused in one line (exit 2).

import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { LUSTRESS_BIN } from '../../orchestrator/project.js';
import { seededRandom } from '../../orchestrator/run/stats.js';
import type { IterationMetrics } from '../../orchestrator/run/outcome.js';
import type { Comparison } from '../../orchestrator/history/compare.js';
import { fisherGreater } from '../../orchestrator/history/fisher.js';
import { mannWhitney } from '../../orchestrator/history/mann-whitney.js';
import { COMPARE_FILE } from '../../orchestrator/history/baseline.js';
import { gaussian, writeRun, type SyntheticRun } from './helpers/runs.js';
import { localScenario } from './helpers/local-scenario.js';

const lustress = (args: string[]) =>
  execa(process.execPath, [LUSTRESS_BIN, ...args], { reject: false, stdin: 'ignore' });

const within = (actual: number, expected: number, rel = 1e-6) => Math.abs(actual - expected) <= rel * expected;

t.test('Mann-Whitney U against known values', async (t) => {
  // Complete separation, counted by hand: 1 of the C(6,3) = 20 orderings is as extreme on each side, p = 2/20;
  // and of C(8,4) = 70, p = 2/70.
  t.same(mannWhitney([1, 2, 3], [4, 5, 6]), { u: 0, p: 0.1, exact: true });
  t.ok(within(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4])!.p, 2 / 70));
  // Hollander & Wolfe's example in R's ?wilcox.test: W = 35, one-sided p 0.1272 ("greater"), so 0.2544 two-sided
  // (SciPy 1.17 mannwhitneyu(x, y, method='exact'): 0.2544122544122544).
  const hw = mannWhitney([0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46], [1.15, 0.88, 0.9, 0.74, 1.21])!;
  t.equal(hw.u, 35);
  t.ok(hw.exact && within(hw.p, 0.2544122544122544, 1e-12), `exact p ${hw.p}`);
  // The rest from SciPy 1.17's mannwhitneyu, two-sided: method='exact', or 'asymptotic' with use_continuity=True.
  const shifted = mannWhitney(
    Array.from({ length: 20 }, (_, i) => i + 1),
    Array.from({ length: 20 }, (_, i) => i + 8.25),
  )!;
  t.ok(shifted.exact && shifted.u === 78 && within(shifted.p, 0.0006675619675571311, 1e-9), 'exact at n = 20');
  const x12 = Array.from({ length: 12 }, (_, i) => (((i + 1) * 7) % 29) + 0.5);
  const y15 = Array.from({ length: 15 }, (_, i) => ((i + 1) * 11) % 31);
  t.ok(within(mannWhitney(x12, y15)!.p, 0.7188962635456108, 1e-9), 'exact, 12 against 15');
  const ties = mannWhitney([1, 2, 2, 3, 4, 5, 5, 6], [3, 4, 4, 5, 6, 7, 8, 8, 9])!;
  t.ok(!ties.exact && ties.u === 14 && within(ties.p, 0.03714012623439529, 1e-6), `ties: normal, p ${ties.p}`);
  const x25 = Array.from({ length: 25 }, (_, i) => ((i + 1) * 37) % 101);
  const y22 = Array.from({ length: 22 }, (_, i) => (((i + 1) * 53) % 103) + 10);
  const large = mannWhitney(x25, y22)!;
  t.ok(!large.exact && large.u === 251.5 && within(large.p, 0.6238077866147078, 1e-6), `n > 20: p ${large.p}`);
  t.equal(mannWhitney([1, 1, 1], [1, 1])!.p, 1, 'all tied: nothing to tell');
  t.equal(mannWhitney([], [1]), undefined);
});

t.test("Fisher's exact test, one-sided, against known values", async (t) => {
  // Fisher's lady tasting tea: 3 of 4 right, P = (16 + 1)/70.
  t.ok(within(fisherGreater(1, 4, 3, 4), 17 / 70, 1e-12));
  // SciPy 1.17 fisher_exact(..., alternative='greater').
  t.ok(within(fisherGreater(1, 1000, 8, 1000), 0.019320577475911215, 1e-9));
  t.ok(within(fisherGreater(1, 200, 12, 200), 0.0014801669495898928, 1e-9));
  t.equal(fisherGreater(0, 0, 1, 20), 1, 'nothing to compare with');
});

/** Twenty iterations of a steady machine, from a seed; `slower` scales the blackout. */
function steady(seed: number, slower = 1): (i: number) => IterationMetrics {
  const random = seededRandom(seed);
  return () => ({
    blackoutMs: Math.round((9000 + 600 * Math.abs(gaussian(random))) * slower),
    kernelBlackoutMs: Math.round(3000 + 200 * Math.abs(gaussian(random))),
    verifyGBps: 4 + random() / 2,
    dmaBytes: 1 << 30,
    msiLatencyMs: 0.05 * Math.exp(0.3 * gaussian(random)),
    agentRssBytes: 60e6 + Math.round(random() * 2e6),
    jitterMs: Math.round(random() * 500),
  });
}

const STEPS = [
  { kind: 'kexec-exec', label: 'kexec-exec' },
  { kind: 'verify', label: 'verify a' },
];

function run(dir: string, name: string, opts: Partial<SyntheticRun> & { metrics: SyntheticRun['metrics'] }): string {
  return writeRun(join(dir, name), { at: Date.UTC(2026, 10, 21, 22), iterations: 20, steps: STEPS, ...opts });
}

t.test('compare flags a blackout 30% longer, and only that (exit 1)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-compare-'));
  const base = run(dir, 'base', { metrics: steady(1) });
  const slow = run(dir, 'slow', { metrics: steady(2, 1.3) });
  const r = await lustress(['compare', base, slow, '--json']);
  t.equal(r.exitCode, 1, r.stderr);
  const c = JSON.parse(r.stdout) as Comparison;
  t.same(
    c.metrics.filter((m) => m.verdict !== 'same').map((m) => [m.metric, m.verdict]),
    [['blackoutMs', 'regressed']],
  );
  const blackout = c.metrics.find((m) => m.metric === 'blackoutMs')!;
  t.ok(blackout.change > 0.2 && blackout.change < 0.4, `change ${blackout.change}`);
  t.ok(blackout.exact && blackout.p < 1e-4, `p ${blackout.p}`);
  t.same(c.failures, []);
  const text = await lustress(['compare', base, slow]);
  t.equal(text.exitCode, 1);
  t.match(
    text.stdout,
    /vm\s+blackoutMs \(lower is better\)\s+\d+ms\s+\d+ms\s+\+\d\d\.\d%\s+[\d.e-]+ exact\s+20\/20\s+REGRESSED\n/,
  );
  t.match(text.stdout, /verdict: REGRESSION \(1 finding\(s\)\)$/);
  const lenient = await lustress(['compare', base, slow, '--threshold', '50']);
  t.equal(lenient.exitCode, 0, 'a threshold past the change: no regression');
  t.match(lenient.stdout, /verdict: no regression/);
});

t.test('compare stays quiet on runs drawn from one distribution (exit 0)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-compare-'));
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const base = run(dir, `base-${seed}`, { metrics: steady(seed) });
    const next = run(dir, `new-${seed}`, { metrics: steady(seed + 100) });
    const r = await lustress(['compare', base, next, '--json']);
    t.equal(r.exitCode, 0, `seed ${seed}`);
    t.equal((JSON.parse(r.stdout) as Comparison).regressed, false);
  }
});

t.test('compare takes directories of runs as sets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-compare-'));
  for (const seed of [21, 22, 23]) run(join(dir, 'base'), `night-${seed}`, { metrics: steady(seed) });
  run(join(dir, 'new'), 'night', { metrics: steady(24, 1.3) });
  const r = await lustress(['compare', join(dir, 'base'), join(dir, 'new'), '--json']);
  t.equal(r.exitCode, 1);
  const c = JSON.parse(r.stdout) as Comparison;
  t.equal(c.base.length, 3);
  const blackout = c.metrics.find((m) => m.metric === 'blackoutMs')!;
  t.same([blackout.base.n, blackout.new.n, blackout.exact, blackout.verdict], [60, 20, false, 'regressed']);
  const around = await lustress(['compare', dir, join(dir, 'new'), '--json']);
  t.equal((JSON.parse(around.stdout) as Comparison).base.length, 3, 'a NEW run inside BASE is not its own baseline');
});

t.test('compare pairs the one target of each side when their names differ', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-compare-'));
  const base = run(dir, 'soak', { metrics: steady(51), target: 'vm' });
  const quiet = await lustress(['compare', base, run(dir, 'example', { metrics: steady(52), target: 'default' })]);
  t.equal(quiet.exitCode, 0, 'compared, and the same machine: no regression', { stderr: quiet.stderr });
  const slow = await lustress([
    'compare',
    base,
    run(dir, 'example-slow', { metrics: steady(53, 1.3), target: 'default' }),
    '--json',
  ]);
  t.equal(slow.exitCode, 1, 'a slower one is flagged');
  const c = JSON.parse(slow.stdout) as Comparison;
  t.equal(c.metrics.find((m) => m.metric === 'blackoutMs')?.target, 'default (base: vm)', 'the pairing is named');
  t.same(c.unmatched, [], 'neither target is left out');
});

t.test('compare flags failures new in NEW, and a failure rate that rose (Fisher)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-compare-'));
  const base = run(dir, 'base', { metrics: steady(31) });
  const broken = run(dir, 'broken', { metrics: steady(32), failing: (i) => (i === 4 ? 'verify a' : undefined) });
  const r = await lustress(['compare', base, broken, '--json']);
  t.equal(r.exitCode, 1);
  const c = JSON.parse(r.stdout) as Comparison;
  t.same(
    c.failures.map((f) => [f.kind, f.new.failures, f.newLabels, f.verdict]),
    [['verify', 1, ['verify a'], 'regressed']],
  );
  t.ok(c.failures[0]!.p > 0.4, 'one failure in 20 is no significant rise: it is flagged for being new');
  const text = await lustress(['compare', base, broken]);
  t.match(text.stdout, /vm verify: 1\/20 failed \(base 0\/20.*never failed in base: verify a REGRESSED/);
  // 1 in 200 before, 12 in 200 now, the same label: not new, but more frequent (SciPy: p = 0.00148).
  const flaky = (n: number, name: string, seed: number) =>
    run(dir, name, {
      iterations: 200,
      metrics: steady(seed),
      failing: (i) => (i % Math.floor(200 / n) === 0 && i / Math.floor(200 / n) <= n ? 'verify a' : undefined),
    });
  const rare = await lustress(['compare', flaky(1, 'rare', 33), flaky(12, 'often', 34), '--json']);
  t.equal(rare.exitCode, 1);
  const f = (JSON.parse(rare.stdout) as Comparison).failures[0]!;
  t.same([f.base.failures, f.new.failures, f.newLabels, f.verdict], [1, 12, [], 'regressed']);
  t.ok(within(f.p, 0.0014801669495898928, 1e-9), `Fisher p ${f.p}`);
});

t.test('compare refuses a bad directory or option in one line (exit 2)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-compare-'));
  const base = run(dir, 'base', { metrics: steady(41) });
  const r = await lustress(['compare', base, join(dir, 'missing')]);
  t.equal(r.exitCode, 2);
  t.equal(r.stderr, `lustress: ${join(dir, 'missing')}: no such directory`);
  const empty = mkdtempSync(join(tmpdir(), 'lustress-compare-empty-'));
  const e = await lustress(['compare', empty, base]);
  t.equal(e.exitCode, 2);
  t.match(e.stderr, /^lustress: .* holds no lustress run \(no journal\.jsonl in it or 4 levels below\)$/);
  const a = await lustress(['compare', base, base, '--alpha', '2']);
  t.equal(a.exitCode, 2);
  t.equal(a.stderr, 'lustress: --alpha must lie between 0 and 1, got 2');
  const itself = await lustress(['compare', base, base]);
  t.equal(itself.exitCode, 2);
  t.equal(itself.stderr, `lustress: ${base} holds no run besides those being compared with it`);
  const others = join(dir, 'others');
  run(others, 'metal', { metrics: steady(42), target: 'metal' });
  run(others, 'rack', { metrics: steady(43), target: 'rack' });
  const o = await lustress(['compare', base, others]);
  t.equal(o.exitCode, 2);
  t.match(o.stderr, /share no target/, 'two targets of other names: nothing to pair');
});

const LOCAL = localScenario({ size: '1MiB' });

t.test('run --baseline: the verdict in the report and compare.json, a regression exits 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-baseline-'));
  const file = join(dir, 'local.yaml');
  writeFileSync(file, LOCAL);
  const baseline = (name: string, verifyGBps: number) =>
    run(dir, name, { target: 'here', metrics: () => ({ verifyGBps, agentRssBytes: 1e9 }) });
  // A baseline verifying at 1000 GB/s: this machine's few GB/s are a regression.
  const fast = baseline('fast', 1000);
  const r = await lustress(['run', file, '--run-dir', join(dir, 'r1'), '--iterations', '5', '--baseline', fast]);
  t.equal(r.exitCode, 1, r.stderr);
  t.match(r.stdout, /\n# pass: 5 iteration\(s\)/, 'the run itself passed');
  t.match(r.stdout, /\n# compare: here\s+verifyGBps \(higher is better\)\s+1000\.00GB\/s .* REGRESSED\n/);
  t.match(r.stdout, /\n# compare: verdict: REGRESSION \(1 finding\(s\)\)$/);
  const kept = JSON.parse(readFileSync(join(dir, 'r1', COMPARE_FILE), 'utf8')) as Comparison;
  t.same([kept.regressed, kept.base, kept.new], [true, [fast], [join(dir, 'r1')]]);
  // One at 0.001 GB/s: better now, and the RSS too; nothing regressed.
  const slow = baseline('slow', 0.001);
  const ok = await lustress(['run', file, '--run-dir', join(dir, 'r2'), '--iterations', '5', '--baseline', slow]);
  t.equal(ok.exitCode, 0, ok.stderr);
  t.match(ok.stdout, /\n# compare: verdict: no regression$/);
  const missing = await lustress(['run', file, '--run-dir', join(dir, 'r3'), '--baseline', join(dir, 'nope')]);
  t.equal(missing.exitCode, 2);
  t.equal(missing.stderr, `lustress: ${join(dir, 'nope')}: no such directory`);
  t.notOk(existsSync(join(dir, 'r3')), 'refused before the run started');
});
