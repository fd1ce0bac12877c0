// Every report from the journal alone: what `lustress report RUN_DIR` prints
// and writes, and what a run writes when it ends, so the two always agree.
// The journal is streamed, never held: the view keeps one compact outcome per
// iteration and the first failures in full, and the per-step reports (KTAP,
// JUnit, KCIDB) read the journal again as they write.

import { scanJournal, type JournalRecord } from '../run/journal.js';
import {
  combine,
  summariseMetrics,
  type IterationOutcome,
  type RunSummary,
  type StepOutcome,
  type TargetOutcome,
} from '../run/outcome.js';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import { checkScenarioText } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { htmlTimeline } from './html.js';
import { writeKcidb } from './kcidb.js';
import { addToCounts, junitClose, junitOpen, suiteClose, suiteOpen, testcase, type SuiteCounts } from './junit.js';
import { KtapReporter } from './ktap.js';

type RunRecord = Extract<JournalRecord, { type: 'run' }>;

/** Failing steps kept whole (with their console excerpts); beyond them only counted. */
export const KEPT_FAILURES = 1000;

export interface RunView {
  runDir: string;
  run: RunRecord;
  scenario: Scenario;
  iterations: IterationOutcome[];
  targets: TargetOutcome[];
  /** The first KEPT_FAILURES failing steps, without their details; `failedSteps` counts them all. */
  failures: StepOutcome[];
  failedSteps: number;
  /**
   * Per target, the steps recorded after its last finished iteration (one its orchestrator was killed in), without
   * their details.
   */
  unfinished: Map<string, StepOutcome[]>;
  /** Per target, the JUnit counts of its steps. */
  counts: Map<string, SuiteCounts>;
  ended: boolean;
  /** When the last record was written. */
  lastAt: number;
}

const strip = <T>(r: JournalRecord): T => {
  const { type: _type, at: _at, ...rest } = r as JournalRecord & { at: number };
  return rest as T;
};

export function viewRun(runDir: string): RunView {
  let run: RunRecord | undefined;
  const iterations: IterationOutcome[] = [];
  const targets: TargetOutcome[] = [];
  const failures: StepOutcome[] = [];
  const unfinished = new Map<string, StepOutcome[]>();
  const counts = new Map<string, SuiteCounts>();
  let failedSteps = 0;
  let ended = false;
  let lastAt = 0;
  scanJournal(runDir, (r) => {
    lastAt = r.at;
    switch (r.type) {
      case 'run':
        run ??= r;
        break;
      case 'step': {
        // Without its detail (an agent's whole answer): the view stays small however long the run.
        const { detail: _detail, ...step } = strip<StepOutcome>(r);
        const c =
          counts.get(step.target) ??
          counts.set(step.target, { tests: 0, failures: 0, skipped: 0, ms: 0 }).get(step.target)!;
        addToCounts(c, step);
        if (step.verdict === 'fail' && failedSteps++ < KEPT_FAILURES) failures.push(step);
        (unfinished.get(step.target) ?? unfinished.set(step.target, []).get(step.target)!).push(step);
        break;
      }
      case 'iteration':
        iterations.push(strip<IterationOutcome>(r));
        unfinished.delete(r.target);
        break;
      case 'target':
        targets.push(strip<TargetOutcome>(r));
        unfinished.delete(r.target);
        break;
      case 'end':
        ended = true;
        break;
    }
  });
  if (!run) throw new ConfigError(`${runDir}: the journal has no run record`);
  const loaded = checkScenarioText(run.file, run.text);
  if (!loaded.ok) {
    throw new ConfigError(
      `${runDir}: the scenario kept in the journal no longer validates: ${loaded.problems[0]?.message}`,
    );
  }
  return {
    runDir,
    run,
    scenario: loaded.scenario,
    iterations,
    targets,
    failures,
    failedSteps,
    unfinished,
    counts,
    ended,
    lastAt,
  };
}

export function summaryOf(view: RunView): RunSummary {
  const targets = view.targets.length
    ? view.targets
    : [...new Set(view.iterations.map((i) => i.target))].map((target): TargetOutcome => {
        // A run still going (or killed) has no target records yet: derive them.
        const mine = view.iterations.filter((i) => i.target === target);
        const failures = mine.filter((i) => i.verdict === 'fail').length;
        return { target, verdict: failures ? 'fail' : 'pass', iterations: mine.length, failures };
      });
  return {
    scenario: view.run.scenario,
    file: view.run.file,
    runDir: view.runDir,
    startedAt: new Date(view.run.at).toISOString(),
    ms: view.lastAt - view.run.at,
    verdict: combine(targets.map((t) => t.verdict)),
    seed: Number(view.run.options.seed),
    targets: targets.map((t) => ({
      ...t,
      metrics: summariseMetrics(view.iterations.filter((i) => i.target === t.target)),
    })),
    iterations: view.iterations,
  };
}

/** A KTAP reporter for the view's targets (or one of them) that writes to `out`. */
export function ktapReporter(
  view: RunView,
  out: (text: string) => void,
  targets: string[],
  grouped: boolean,
): KtapReporter {
  const iterations = view.run.options.iterations;
  return new KtapReporter(
    out,
    targets,
    typeof iterations === 'number' ? iterations : Infinity,
    view.scenario.steps.length,
    Number(view.run.options.seed),
    grouped,
  );
}

/** Feeds a target's records to a reporter, in journal order. */
export function replay(view: RunView, reporter: KtapReporter, target: string): void {
  scanJournal(view.runDir, (r) => {
    if (!('target' in r) || r.target !== target) return;
    if (r.type === 'boot') reporter.boot(r.target, r);
    else if (r.type === 'step') reporter.step(r);
    else if (r.type === 'iteration') reporter.iteration(r);
    else if (r.type === 'target') reporter.target(r);
  });
}

/** The KTAP report (of one target, or all), replayed record by record, one target at a time. */
export function writeKtap(view: RunView, out: (text: string) => void, only?: string): void {
  const targets = view.scenario.targets.map((t) => t.name).filter((t) => !only || t === only);
  const reporter = ktapReporter(view, out, targets, true);
  for (const t of targets) replay(view, reporter, t);
}

export interface ReportFiles {
  junit?: string;
  json?: string;
  html?: string;
  kcidb?: string;
}

export function writeReports(view: RunView, files: ReportFiles): void {
  if (files.junit) writeFileAtomic(files.junit, (chunk) => writeJunit(view, chunk));
  if (files.json) writeFileAtomic(files.json, JSON.stringify(summaryOf(view), null, 2) + '\n');
  if (files.html) {
    writeFileAtomic(
      files.html,
      htmlTimeline(view.scenario.name, view.iterations, view.failures, Number(view.run.options.seed)),
    );
  }
  if (files.kcidb) {
    writeFileAtomic(files.kcidb, (chunk) => writeKcidb({ runDir: view.runDir, scenario: view.scenario.name }, chunk));
  }
}

function writeJunit(view: RunView, out: (text: string) => void): void {
  const name = view.scenario.name;
  out(junitOpen(name));
  for (const [target, counts] of view.counts) {
    out(suiteOpen(name, target, counts));
    scanJournal(view.runDir, (r) => {
      if (r.type === 'step' && r.target === target) out(testcase(name, strip<StepOutcome>(r)));
    });
    out(suiteClose());
  }
  out(junitClose());
}
