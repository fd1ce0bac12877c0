// A history of runs: one row per run and target in date order, the figures
// a morning-after reader scans for, and the flakiness of each step kind over
// all of them. Rows keep percentiles only; each run's samples are dropped
// as soon as its row is made, so hundreds of runs fit in little memory.

import type { Distribution } from '../run/stats.js';
import type { MetricKey, RunDigest, StepTally } from './digest.js';
import { addTallies, flakiness, type Flakiness } from './flakiness.js';
import { readRuns, type Warn } from './runs.js';

export interface HistoryRow {
  /** ISO time the run started. */
  date: string;
  at: number;
  runDir: string;
  scenario: string;
  target: string;
  finished: boolean;
  kernels: string[];
  releases: string[];
  iterations: number;
  failedIterations: number;
  /** Failed steps by kind (kinds that ran and never failed show 0). */
  failures: Record<string, number>;
  /** Steps run by kind. */
  steps: Record<string, number>;
  metrics: Partial<Record<MetricKey, Distribution>>;
}

export interface History {
  rows: HistoryRow[];
  flakiness: Flakiness[];
}

/** A run's rows, one per target, without the samples. */
function rowsOf(run: RunDigest): HistoryRow[] {
  return run.targets.map((t) => ({
    date: new Date(run.at).toISOString(),
    at: run.at,
    runDir: run.runDir,
    scenario: run.scenario,
    target: t.target,
    finished: run.finished,
    kernels: t.kernels,
    releases: t.releases,
    iterations: t.iterations,
    failedIterations: t.failedIterations,
    failures: Object.fromEntries(Object.entries(t.steps).map(([k, s]) => [k, s.failures])),
    steps: Object.fromEntries(Object.entries(t.steps).map(([k, s]) => [k, s.steps])),
    metrics: Object.fromEntries(
      Object.entries(t.metrics).map(([k, { n, p50, p95, max }]) => [k, { n, p50, p95, max }]),
    ),
  }));
}

/** The history of every run under the directories. */
export function readHistory(dirs: string[], warn: Warn): History {
  const rows: HistoryRow[] = [];
  const totals: Record<string, StepTally> = {};
  for (const run of readRuns(dirs, warn)) {
    rows.push(...rowsOf(run));
    for (const t of run.targets) addTallies(totals, t.steps);
  }
  rows.sort((a, b) => a.at - b.at || a.runDir.localeCompare(b.runDir) || a.target.localeCompare(b.target));
  return { rows, flakiness: flakiness(totals) };
}
