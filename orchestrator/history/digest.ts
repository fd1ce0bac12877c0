// A run in a few kilobytes, for history and comparisons over hundreds of
// runs: per target, what ran on which kernels, how many iterations, the steps
// and failures of each step kind, and each metric's p50/p95/max with a
// bounded seeded sample of its values for the statistical tests. The journal
// is streamed (reports/rebuild.ts's viewRun keeps every iteration, which a
// history of long soaks cannot afford); a run still going, or whose
// orchestrator was killed, is digested as far as it got and marked unfinished.

import { ConfigError } from '../errors.js';
import { scanJournal } from '../run/journal.js';
import { SUMMARISED, type IterationMetrics } from '../run/outcome.js';
import { distribution, targetSeed, type Distribution } from '../run/stats.js';
import { Reservoir } from './reservoir.js';

/** Values of a metric kept per target and run for statistics; p50/p95 are exact up to this many iterations. */
const SAMPLE_SIZE = 2000;

export type MetricKey = keyof IterationMetrics;

/** The steps of one kind a target ran (passed or failed: skipped ones did not run), and which failed. */
export interface StepTally {
  steps: number;
  failures: number;
  /** Failures by step label. */
  labels: Record<string, number>;
}

export interface MetricDigest extends Distribution {
  /** At most SAMPLE_SIZE of the n values, chosen at random (seeded). */
  sample: number[];
}

export interface TargetDigest {
  target: string;
  /** Kernel images booted (as recorded, and --kernel). */
  kernels: string[];
  /** `uname -r` of every boot. */
  releases: string[];
  iterations: number;
  failedIterations: number;
  /** By step kind. */
  steps: Record<string, StepTally>;
  metrics: Partial<Record<MetricKey, MetricDigest>>;
}

export interface RunDigest {
  runDir: string;
  scenario: string;
  /** When the run started (ms since the epoch). */
  at: number;
  version: string;
  /** The journal has its end record: the run was not killed or still going. */
  finished: boolean;
  targets: TargetDigest[];
}

/** One target's figures as the journal streams past. */
class TargetTally {
  readonly kernels = new Set<string>();
  readonly releases = new Set<string>();
  iterations = 0;
  failedIterations = 0;
  readonly steps: Record<string, StepTally> = {};
  private readonly metrics = new Map<MetricKey, { reservoir: Reservoir; max: number }>();

  constructor(readonly target: string) {}

  /** Keeps one iteration's metric values. */
  addMetrics(m: IterationMetrics): void {
    for (const key of SUMMARISED) {
      const v = m[key];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      let kept = this.metrics.get(key);
      if (!kept) {
        kept = { reservoir: new Reservoir(SAMPLE_SIZE, targetSeed(0, `${this.target}/${key}`)), max: -Infinity };
        this.metrics.set(key, kept);
      }
      kept.reservoir.add(v);
      kept.max = Math.max(kept.max, v);
    }
  }

  /** The compact digest: percentiles from the sample, count and maximum exact. */
  digest(): TargetDigest {
    const metrics: Partial<Record<MetricKey, MetricDigest>> = {};
    for (const [key, { reservoir, max }] of this.metrics) {
      const d = distribution(reservoir.values)!;
      metrics[key] = { ...d, n: reservoir.seen, max, sample: reservoir.values };
    }
    return {
      target: this.target,
      kernels: [...this.kernels],
      releases: [...this.releases],
      iterations: this.iterations,
      failedIterations: this.failedIterations,
      steps: this.steps,
      metrics,
    };
  }
}

/** Digests one run directory; throws (a ConfigError for a damaged journal) when it cannot be read. */
export function digestRun(runDir: string): RunDigest {
  let run: { scenario: string; at: number; version: string; kernel?: string } | undefined;
  let finished = false;
  const targets = new Map<string, TargetTally>();
  const tally = (target: string) => targets.get(target) ?? targets.set(target, new TargetTally(target)).get(target)!;
  scanJournal(runDir, (r) => {
    switch (r.type) {
      case 'run': {
        const kernel = r.options.kernelOverride;
        run ??= {
          scenario: r.scenario,
          at: r.at,
          version: r.version,
          ...(typeof kernel === 'string' ? { kernel } : {}),
        };
        break;
      }
      case 'boot': {
        const t = tally(r.target);
        if (r.kernel) t.kernels.add(r.kernel);
        else if (run?.kernel) t.kernels.add(run.kernel);
        if (r.release) t.releases.add(r.release);
        break;
      }
      case 'step': {
        if (r.verdict === 'skip') break;
        const steps = tally(r.target).steps;
        const s = (steps[r.kind] ??= { steps: 0, failures: 0, labels: {} });
        s.steps++;
        if (r.verdict === 'fail') {
          s.failures++;
          s.labels[r.label] = (s.labels[r.label] ?? 0) + 1;
        }
        break;
      }
      case 'iteration': {
        const t = tally(r.target);
        t.iterations++;
        if (r.verdict === 'fail') t.failedIterations++;
        t.addMetrics(r.metrics);
        break;
      }
      case 'end':
        finished = true;
        break;
    }
  });
  // scanJournal refuses a journal whose first record is not the run's; an empty file has none at all.
  if (!run) throw new ConfigError(`${runDir}: the journal is empty`);
  return {
    runDir,
    scenario: run.scenario,
    at: run.at,
    version: run.version,
    finished,
    targets: [...targets.values()].map((t) => t.digest()),
  };
}
