// Synthetic runs for the history and compare tests: journals written line by
// line in the Journal's own format (each record typed as a JournalRecord, so
// the format cannot drift from it), fast enough for hundreds of runs and a
// run of 100 000 iterations (the Journal class fsyncs every record).

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE, JOURNAL_FORMAT, type JournalRecord } from '../../../orchestrator/run/journal.js';
import type { IterationMetrics } from '../../../orchestrator/run/outcome.js';

export const SCENARIO_TEXT = `version: 1
name: synthetic
targets:
  vm: { local: {} }
buffers:
  a: { size: 1MiB }
steps:
  - fill: { buffers: [a] }
  - verify: { buffers: [a] }
`;

export interface SyntheticStep {
  kind: string;
  label: string;
}

export interface SyntheticRun {
  /** When the run started (ms since the epoch). */
  at: number;
  iterations: number;
  metrics: (iteration: number) => IterationMetrics;
  /** Steps of every iteration. */
  steps: SyntheticStep[];
  /** The label of the step that fails in an iteration, if one does. */
  failing?: (iteration: number) => string | undefined;
  target?: string;
  release?: string;
  /** false: no end record, and a torn last line, as a killed orchestrator leaves it. */
  finished?: boolean;
}

/** Writes a run's journal into `runDir` (created); returns `runDir`. */
export function writeRun(runDir: string, run: SyntheticRun): string {
  mkdirSync(runDir, { recursive: true });
  const target = run.target ?? 'vm';
  const fd = openSync(join(runDir, JOURNAL_FILE), 'w');
  let block: string[] = [];
  const put = (r: JournalRecord) => {
    block.push(JSON.stringify(r));
    if (block.length >= 4096) flush();
  };
  const flush = () => {
    if (block.length) writeSync(fd, block.join('\n') + '\n');
    block = [];
  };
  let at = run.at;
  put({
    type: 'run',
    at,
    format: JOURNAL_FORMAT,
    scenario: 'synthetic',
    file: 'synthetic.yaml',
    text: SCENARIO_TEXT,
    options: { iterations: run.iterations, keepGoing: true, seed: 1 },
    version: '0.1.0',
  });
  put({ type: 'boot', at, target, bootId: 'b0', release: run.release ?? '6.18.0' });
  for (let i = 1; i <= run.iterations; i++) {
    const failing = run.failing?.(i);
    run.steps.forEach((s, n) => {
      const fail = s.label === failing;
      put({
        type: 'step',
        at: ++at,
        target,
        iteration: i,
        step: n + 1,
        kind: s.kind,
        label: s.label,
        verdict: fail ? 'fail' : 'pass',
        reason: fail ? 'injected' : '',
        startedAt: at,
        ms: 1,
      });
    });
    put({
      type: 'iteration',
      at: ++at,
      target,
      iteration: i,
      verdict: failing ? 'fail' : 'pass',
      ms: 10,
      metrics: run.metrics(i),
    });
  }
  if (run.finished === false) {
    flush();
    writeSync(fd, '{"type":"step","at":1,"target"');
  } else {
    put({ type: 'target', at: ++at, target, verdict: 'pass', iterations: run.iterations, failures: 0 });
    put({ type: 'end', at: ++at, verdict: 'pass' });
    flush();
  }
  closeSync(fd);
  return runDir;
}

/** A standard normal draw from a uniform stream (Box–Muller). */
export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
