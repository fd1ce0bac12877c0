// Every report from the journal alone: what `lustress report RUN_DIR` prints
// and writes, and what a run writes when it ends, so the two always agree.

import { writeFileSync } from 'node:fs';
import { readJournal, type JournalRecord } from '../run/journal.js';
import {
  combine,
  summariseMetrics,
  type IterationOutcome,
  type RunSummary,
  type StepOutcome,
  type TargetOutcome,
} from '../run/outcome.js';
import { checkScenarioText } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import { htmlTimeline } from './html.js';
import { junitReport } from './junit.js';
import { KtapReporter } from './ktap.js';

type RunRecord = Extract<JournalRecord, { type: 'run' }>;

export interface RunView {
  runDir: string;
  run: RunRecord;
  scenario: Scenario;
  records: JournalRecord[];
  steps: StepOutcome[];
  iterations: IterationOutcome[];
  targets: TargetOutcome[];
}

export function viewRun(runDir: string): RunView {
  const records = readJournal(runDir);
  const run = records.find((r): r is RunRecord => r.type === 'run');
  if (!run) throw new Error(`${runDir}: the journal has no run record`);
  const loaded = checkScenarioText(run.file, run.text);
  if (!loaded.ok)
    throw new Error(`${runDir}: the scenario kept in the journal no longer validates: ${loaded.problems[0]?.message}`);
  const strip = <T>(r: JournalRecord): T => {
    const { type: _type, at: _at, ...rest } = r as JournalRecord & { at: number };
    return rest as T;
  };
  return {
    runDir,
    run,
    scenario: loaded.scenario,
    records,
    steps: records.filter((r) => r.type === 'step').map((r) => strip<StepOutcome>(r)),
    iterations: records.filter((r) => r.type === 'iteration').map((r) => strip<IterationOutcome>(r)),
    targets: records.filter((r) => r.type === 'target').map((r) => strip<TargetOutcome>(r)),
  };
}

export function summaryOf(view: RunView): RunSummary {
  const last = view.records[view.records.length - 1];
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
    ms: (last && 'at' in last ? last.at : view.run.at) - view.run.at,
    verdict: combine(targets.map((t) => t.verdict)),
    seed: Number(view.run.options.seed),
    targets: targets.map((t) => ({
      ...t,
      metrics: summariseMetrics(view.iterations.filter((i) => i.target === t.target)),
    })),
    iterations: view.iterations,
  };
}

/** The KTAP report (of one target, or all), replayed record by record through the reporter a live run uses. */
export function ktapOf(view: RunView, only?: string): string {
  let text = '';
  const options = view.run.options as { iterations: number | null; seed: number };
  const targets = view.scenario.targets.map((t) => t.name).filter((t) => !only || t === only);
  const reporter = new KtapReporter(
    (t) => (text += t),
    targets,
    options.iterations ?? Infinity,
    view.scenario.steps.length,
    options.seed,
  );
  for (const r of view.records) {
    if ('target' in r && !targets.includes(r.target)) continue;
    if (r.type === 'boot') reporter.boot(r.target, r);
    else if (r.type === 'step') reporter.step(r);
    else if (r.type === 'iteration') reporter.iteration(r);
    else if (r.type === 'target') reporter.target(r);
  }
  return text;
}

export interface ReportFiles {
  junit?: string;
  json?: string;
  html?: string;
}

export function writeReports(view: RunView, files: ReportFiles): void {
  if (files.junit) writeFileSync(files.junit, junitReport(view.scenario.name, view.steps));
  if (files.json) writeFileSync(files.json, JSON.stringify(summaryOf(view), null, 2) + '\n');
  if (files.html)
    writeFileSync(
      files.html,
      htmlTimeline(view.scenario.name, view.iterations, view.steps, Number(view.run.options.seed)),
    );
}
