// How often each kind of step fails over a whole history, with a 95% Wilson
// interval (see wilson.ts for why Wilson): the number a nightly soak exists
// to estimate.

import type { StepTally } from './digest.js';
import { wilson, type RateInterval } from './wilson.js';

export interface Flakiness extends RateInterval {
  kind: string;
  steps: number;
  failures: number;
}

/** Adds one target's step tallies into running totals by kind (labels are merged too). */
export function addTallies(into: Record<string, StepTally>, from: Record<string, StepTally>): void {
  for (const [kind, s] of Object.entries(from)) {
    const t = (into[kind] ??= { steps: 0, failures: 0, labels: {} });
    t.steps += s.steps;
    t.failures += s.failures;
    for (const [label, n] of Object.entries(s.labels)) t.labels[label] = (t.labels[label] ?? 0) + n;
  }
}

/** Per step kind (in name order), its failure rate over all tallied steps and the rate's 95% interval. */
export function flakiness(totals: Record<string, StepTally>): Flakiness[] {
  return Object.entries(totals)
    .filter(([, s]) => s.steps > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, s]) => ({ kind, steps: s.steps, failures: s.failures, ...wilson(s.failures, s.steps)! }));
}
