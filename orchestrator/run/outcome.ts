// What a run produces, step by step: the records the journal keeps and the
// reports are built from.

import { distribution, type Distribution } from './stats.js';

export type Verdict = 'pass' | 'fail' | 'skip';

export interface StepOutcome {
  target: string;
  iteration: number;
  /** 1-based position in the scenario's steps. */
  step: number;
  kind: string;
  label: string;
  verdict: Verdict;
  /** Why it failed or was skipped; empty on a pass. */
  reason: string;
  startedAt: number;
  ms: number;
  /** What the agent answered (or the error's data), for reports and replays. */
  detail?: Record<string, unknown>;
  /** Console lines around a failure that took the target with it. */
  excerpt?: string[];
}

export interface IterationMetrics {
  /** Exec to the new boot's hello, as the orchestrator saw it. */
  blackoutMs?: number;
  /** Exec to the new kernel's init: the machine's own part of the blackout (see BlackoutBreakdown). */
  kernelBlackoutMs?: number;
  /** Init to the agent's hello: user space starting (lustress's init and agent in a guest). */
  userspaceMs?: number;
  /** The hello to the answer of the first step after the reboot. */
  firstAnswerMs?: number;
  verifyGBps?: number;
  verifiedBytes?: number;
  /** Time spent verifying, from which verifyGBps is computed at the end of the iteration. */
  verifyMs?: number;
  dmaBytes?: number;
  msiLatencyMs?: number;
  agentRssBytes?: number;
  /** The random wait before this iteration's kexec-exec. */
  jitterMs?: number;
}

/** Adds to a metric that sums over the iteration (bytes copied, bytes verified, time verifying). */
export function addMetric(metrics: IterationMetrics, key: 'dmaBytes' | 'verifiedBytes' | 'verifyMs', n: number): void {
  metrics[key] = (metrics[key] ?? 0) + n;
}

export interface IterationOutcome {
  target: string;
  iteration: number;
  verdict: Verdict;
  ms: number;
  metrics: IterationMetrics;
}

export interface TargetOutcome {
  target: string;
  verdict: Verdict;
  iterations: number;
  failures: number;
  /** The target could not be tested at all (no boot): bisect's "skip". */
  untestable?: string;
}

export interface RunSummary {
  scenario: string;
  file: string;
  runDir: string;
  startedAt: string;
  ms: number;
  verdict: Verdict;
  /** The jitter seed: --seed with this value replays the run's timing. */
  seed: number;
  targets: (TargetOutcome & { metrics: Partial<Record<keyof IterationMetrics, Distribution>> })[];
  iterations: IterationOutcome[];
}

/** The verdict of a group: any failure fails it; all skipped skips it. */
export function combine(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('fail')) return 'fail';
  if (verdicts.length && verdicts.every((v) => v === 'skip')) return 'skip';
  return 'pass';
}

export const SUMMARISED: (keyof IterationMetrics)[] = [
  'blackoutMs',
  'kernelBlackoutMs',
  'userspaceMs',
  'firstAnswerMs',
  'verifyGBps',
  'dmaBytes',
  'msiLatencyMs',
  'agentRssBytes',
  'jitterMs',
];

export function summariseMetrics(
  iterations: IterationOutcome[],
): Partial<Record<keyof IterationMetrics, Distribution>> {
  const out: Partial<Record<keyof IterationMetrics, Distribution>> = {};
  for (const key of SUMMARISED) {
    const d = distribution(iterations.map((i) => i.metrics[key]).filter((v): v is number => typeof v === 'number'));
    if (d) out[key] = d;
  }
  return out;
}
