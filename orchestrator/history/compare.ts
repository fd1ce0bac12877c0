// Is NEW worse than BASE? For every metric of every target both sides ran,
// the medians, their relative change, and the Mann–Whitney test on the
// sampled values (mann-whitney.ts): a regression needs both a significant
// test (p < alpha) and a change in the metric's bad direction larger than
// the threshold, so a real but negligible shift among thousands of values is
// not one, and neither is a large change seen in too few iterations. Then
// failures: a step label failing in NEW that never failed in BASE is a
// regression outright; a kind failing in both is one when Fisher's exact test
// (fisher.ts) says its failure rate rose.

import { resolve } from 'node:path';
import { distribution } from '../run/stats.js';
import { SUMMARISED } from '../run/outcome.js';
import { ConfigError } from '../errors.js';
import type { MetricKey, RunDigest, StepTally } from './digest.js';
import { addTallies } from './flakiness.js';
import { fisherGreater } from './fisher.js';
import { mannWhitney } from './mann-whitney.js';
import { readRuns, type Warn } from './runs.js';

/** Which way a metric goes when things get worse; jitter is the scenario's own random wait, never a verdict. */
const WORSE: Record<MetricKey, 'up' | 'down' | 'none'> = {
  blackoutMs: 'up',
  kernelBlackoutMs: 'up',
  userspaceMs: 'up',
  firstAnswerMs: 'up',
  verifyGBps: 'down',
  verifiedBytes: 'down',
  verifyMs: 'up',
  dmaBytes: 'down',
  msiLatencyMs: 'up',
  agentRssBytes: 'up',
  jitterMs: 'none',
};

export interface CompareOptions {
  /** Smallest relative change of the median that counts, in percent. */
  thresholdPct: number;
  /** Significance level of each test. */
  alpha: number;
}

export type Finding = 'regressed' | 'improved' | 'same';

export interface MetricComparison {
  target: string;
  metric: MetricKey;
  worse: 'up' | 'down' | 'none';
  base: { n: number; median: number };
  new: { n: number; median: number };
  /** (new - base) / |base|; ±Infinity when the base median is 0 (null in JSON). */
  change: number;
  /** Two-sided Mann–Whitney p-value, and whether it is exact. */
  p: number;
  exact: boolean;
  verdict: Finding;
}

export interface FailureComparison {
  target: string;
  kind: string;
  base: { steps: number; failures: number };
  new: { steps: number; failures: number };
  /** One-sided Fisher exact p-value that NEW's failure rate is higher. */
  p: number;
  /** Labels of this kind failing in NEW and never in BASE. */
  newLabels: string[];
  verdict: Finding;
}

export interface Comparison {
  base: string[];
  new: string[];
  thresholdPct: number;
  alpha: number;
  metrics: MetricComparison[];
  failures: FailureComparison[];
  /** Targets only one side ran: not compared. */
  unmatched: string[];
  regressed: boolean;
}

/** One target over a set of runs: pooled metric samples and summed step tallies. */
interface Side {
  samples: Map<MetricKey, number[]>;
  steps: Record<string, StepTally>;
}

/** Pools each target's digests over the runs of one side. */
function pool(runs: RunDigest[]): Map<string, Side> {
  const sides = new Map<string, Side>();
  for (const run of runs) {
    for (const t of run.targets) {
      const side = sides.get(t.target) ?? sides.set(t.target, { samples: new Map(), steps: {} }).get(t.target)!;
      addTallies(side.steps, t.steps);
      for (const [key, m] of Object.entries(t.metrics) as [MetricKey, { sample: number[] }][]) {
        const into = side.samples.get(key) ?? side.samples.set(key, []).get(key)!;
        for (const v of m.sample) into.push(v);
      }
    }
  }
  return sides;
}

/** A metric's verdict: significant and past the threshold in its bad (or good) direction. */
function metricVerdict(change: number, p: number, worse: 'up' | 'down' | 'none', opts: CompareOptions): Finding {
  if (worse === 'none' || !(p < opts.alpha) || !(Math.abs(change) * 100 > opts.thresholdPct)) return 'same';
  return change > 0 === (worse === 'up') ? 'regressed' : 'improved';
}

/** The metrics of one target both sides measured, compared. */
function compareMetrics(target: string, base: Side, next: Side, opts: CompareOptions): MetricComparison[] {
  const out: MetricComparison[] = [];
  for (const metric of SUMMARISED) {
    const b = base.samples.get(metric);
    const n = next.samples.get(metric);
    if (!b || !n) continue;
    // Both non-empty: a metric's sample exists once it has a value.
    const test = mannWhitney(n, b)!;
    const bm = distribution(b)!.p50;
    const nm = distribution(n)!.p50;
    const change = bm === 0 ? (nm === 0 ? 0 : Math.sign(nm) * Infinity) : (nm - bm) / Math.abs(bm);
    out.push({
      target,
      metric,
      worse: WORSE[metric],
      base: { n: b.length, median: bm },
      new: { n: n.length, median: nm },
      change,
      p: test.p,
      exact: test.exact,
      verdict: metricVerdict(change, test.p, WORSE[metric], opts),
    });
  }
  return out;
}

/** The step kinds of one target that failed in NEW, compared with BASE. */
function compareFailures(target: string, base: Side, next: Side, opts: CompareOptions): FailureComparison[] {
  return Object.entries(next.steps)
    .filter(([, s]) => s.failures > 0)
    .map(([kind, s]) => {
      const b = base.steps[kind] ?? { steps: 0, failures: 0, labels: {} };
      const newLabels = Object.keys(s.labels).filter((l) => !b.labels[l]);
      const p = fisherGreater(b.failures, b.steps, s.failures, s.steps);
      return {
        target,
        kind,
        base: { steps: b.steps, failures: b.failures },
        new: { steps: s.steps, failures: s.failures },
        p,
        newLabels,
        verdict: newLabels.length || p < opts.alpha ? ('regressed' as const) : ('same' as const),
      };
    });
}

/**
 * Which target of BASE is compared with which of NEW: those of the same name; or, where each side ran one target
 * under different names (a scenario's default against a soak's "vm"), that one with that one.
 */
function pairTargets(base: Map<string, Side>, next: Map<string, Side>): [string, string][] {
  const common = [...next.keys()].filter((t) => base.has(t)).sort();
  if (common.length) return common.map((t) => [t, t]);
  if (base.size === 1 && next.size === 1) return [[[...base.keys()][0]!, [...next.keys()][0]!]];
  throw new ConfigError(
    `BASE (targets ${[...base.keys()].join(', ') || 'none'}) and NEW (targets ${[...next.keys()].join(', ') || 'none'}) share no target to compare`,
  );
}

/** BASE against NEW, target by target; refused when no target of one side can be paired with one of the other. */
export function compareRuns(base: RunDigest[], next: RunDigest[], opts: CompareOptions): Comparison {
  const b = pool(base);
  const n = pool(next);
  const pairs = pairTargets(b, n);
  const paired = new Set(pairs.flat());
  const label = ([bt, nt]: [string, string]) => (bt === nt ? nt : `${nt} (base: ${bt})`);
  const metrics = pairs.flatMap((p) => compareMetrics(label(p), b.get(p[0])!, n.get(p[1])!, opts));
  const failures = pairs.flatMap((p) => compareFailures(label(p), b.get(p[0])!, n.get(p[1])!, opts));
  return {
    base: base.map((r) => r.runDir),
    new: next.map((r) => r.runDir),
    thresholdPct: opts.thresholdPct,
    alpha: opts.alpha,
    metrics,
    failures,
    unmatched: [...new Set([...b.keys(), ...n.keys()])].filter((t) => !paired.has(t)).sort(),
    regressed: [...metrics, ...failures].some((c) => c.verdict === 'regressed'),
  };
}

/**
 * The runs under the BASE directories against those under the NEW ones. A NEW run is never its own baseline: `run
 * --baseline runs` puts the new run under runs/ too.
 */
export function compareDirs(base: string[], next: string[], opts: CompareOptions, warn: Warn): Comparison {
  const nextRuns = [...readRuns(next, warn)];
  const judged = new Set(nextRuns.map((r) => resolve(r.runDir)));
  const baseRuns = [...readRuns(base, warn)].filter((r) => !judged.has(resolve(r.runDir)));
  if (!baseRuns.length) throw new ConfigError(`${base.join(', ')} holds no run besides those being compared with it`);
  return compareRuns(baseRuns, nextRuns, opts);
}
