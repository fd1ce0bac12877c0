// A whole run: the journal opened, every target run at once (one's failure
// never stops another), KTAP streamed to stdout, the reports written from the
// journal when it ends. A run whose orchestrator was killed is resumed from
// its journal: what it recorded stays as it is, and it goes on from there.

import { join } from 'node:path';
import { LUSTRESS_VERSION } from '../../contract/version.js';
import { bootFacts } from '../../contract/facts.js';
import type { Logger } from '../log.js';
import { KtapReporter } from '../reports/ktap.js';
import { writeFileAtomic } from '../files.js';
import {
  replay,
  summaryOf,
  viewRun,
  writeKtap,
  writeReports,
  type ReportFiles,
  type RunView,
} from '../reports/rebuild.js';
import type { Scenario } from '../scenario/model.js';
import type { QemuTargetSpec, TargetSpec } from '../scenario/spec.js';
import { makeTarget } from '../targets/factory.js';
import { runTarget, type RunHooks, type TargetRunOptions } from './engine.js';
import { JOURNAL_FORMAT, Journal } from './journal.js';
import { guestSlots, limited } from './limit.js';
import { combine, type IterationOutcome, type RunSummary, type StepOutcome } from './outcome.js';
import {
  resolveSettings,
  settingsFromRecord,
  settingsRecord,
  type RunSettings,
  type SettingsOverrides,
} from './settings.js';
import { seededRandom, targetSeed } from './stats.js';

export const SUMMARY_FILE = 'summary.json';

export interface RunOptions extends SettingsOverrides {
  runDir: string;
  log: Logger;
  /** Where the KTAP report goes (stdout). */
  out: (text: string) => void;
  scenarioText: string;
  agentLogLevel?: string;
  /** Extra observers (progress line, tests). */
  hooks?: Partial<RunObservers>;
  /** Reports to write when the run ends (besides summary.json in the run directory). */
  reports?: ReportFiles;
}

/** What a run is about to do, for an observer that shows its progress: what is recorded already (on a resume). */
export interface RunStart {
  scenario: Scenario;
  settings: RunSettings;
  recorded: IterationOutcome[];
}

/** The engine's hooks, and the start of the run. */
export interface RunObservers extends RunHooks {
  begin(run: RunStart): void;
}

export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<RunSummary> {
  const settings = resolveSettings(scenario, opts);
  const journal = Journal.create(opts.runDir);
  journal.append({
    type: 'run',
    at: Date.now(),
    format: JOURNAL_FORMAT,
    scenario: scenario.name,
    file: scenario.file,
    text: opts.scenarioText,
    options: settingsRecord(settings),
    version: LUSTRESS_VERSION,
  });
  try {
    return await execute(scenario, settings, journal, opts);
  } finally {
    journal.close();
  }
}

export type ResumeOptions = Pick<RunOptions, 'runDir' | 'log' | 'out' | 'agentLogLevel' | 'hooks' | 'reports'>;

/** Continues a run from its journal. Returns undefined when the run had already ended. */
export async function resumeRun(opts: ResumeOptions): Promise<RunSummary | undefined> {
  // Locked (and a torn last record cut away) before anything is read for the resume.
  const journal = Journal.reopen(opts.runDir, opts.log);
  try {
    const view = viewRun(opts.runDir);
    if (view.ended) {
      journal.close();
      return undefined;
    }
    closeInterruptedIterations(view, journal);
    journal.append({ type: 'resume', at: Date.now() });
    return await execute(view.scenario, settingsFromRecord(view.run.options), journal, opts, viewRun(opts.runDir));
  } finally {
    journal.close();
  }
}

/**
 * An iteration the orchestrator died in cannot go on: its machine, devices
 * and DMA went with it. Its recorded steps stay; the rest are recorded as not
 * run, and the iteration ends there.
 */
function closeInterruptedIterations(view: RunView, journal: Journal): void {
  for (const target of view.scenario.targets.map((t) => t.name)) {
    if (view.targets.some((t) => t.target === target)) continue;
    const partial = view.unfinished.get(target) ?? [];
    if (!partial.length) continue;
    const done = partial[0]!.iteration - 1;
    const last = Math.max(...partial.map((s) => s.step));
    for (const step of view.scenario.steps.filter((s) => s.index + 1 > last)) {
      const outcome: StepOutcome = {
        target,
        iteration: done + 1,
        step: step.index + 1,
        kind: step.kind,
        label: step.label,
        verdict: 'skip',
        reason: 'not run: the orchestrator stopped during this iteration and its machine state was lost',
        startedAt: Date.now(),
        ms: 0,
      };
      journal.append({ type: 'step', at: Date.now(), ...outcome });
    }
    const verdict = partial.some((s) => s.verdict === 'fail') ? 'fail' : 'skip';
    journal.append({
      type: 'iteration',
      at: Date.now(),
      target,
      iteration: done + 1,
      verdict,
      ms: partial.reduce((a, s) => a + s.ms, 0),
      metrics: {},
    });
  }
}

async function execute(
  scenario: Scenario,
  settings: RunSettings,
  journal: Journal,
  opts: ResumeOptions,
  resumed?: RunView,
): Promise<RunSummary> {
  const reporter = new KtapReporter(
    opts.out,
    scenario.targets.map((t) => t.name),
    settings.iterations,
    scenario.steps.length,
    settings.seed,
  );
  // A resumed run's report starts with what was already recorded.
  if (resumed) for (const t of scenario.targets) replay(resumed, reporter, t.name);
  opts.hooks?.begin?.({ scenario, settings, recorded: resumed?.iterations ?? [] });
  const hooks: RunHooks = {
    boot: (t, h, p) => {
      reporter.boot(t, bootFacts(h, p));
      opts.hooks?.boot?.(t, h, p);
    },
    step: (o) => {
      reporter.step(o);
      opts.hooks?.step?.(o);
    },
    iteration: (o) => {
      reporter.iteration(o);
      opts.hooks?.iteration?.(o);
    },
  };
  const runOne = async (spec: TargetSpec) => {
    const target = makeTarget(spec, {
      runDir: opts.runDir,
      rebootMs: scenario.timeouts.rebootMs,
      log: opts.log,
      ...(settings.kernelOverride ? { kernelOverride: settings.kernelOverride } : {}),
      ...(opts.agentLogLevel ? { agentLogLevel: opts.agentLogLevel } : {}),
    });
    const random = seededRandom(targetSeed(settings.seed, spec.name));
    const run: TargetRunOptions = { scenario, spec, target, journal, log: opts.log, hooks, settings, random };
    if (resumed) {
      const done = resumed.iterations.filter((i) => i.target === spec.name);
      // The jitter stream goes on where the killed run left it.
      for (const i of done) if (i.metrics.jitterMs !== undefined) random();
      run.resumeAt = {
        iteration: done.length + 1,
        failures: done.filter((i) => i.verdict === 'fail').length,
        elapsedMs: resumed.lastAt - resumed.run.at,
      };
      // A run that was to stop at its first failure has nothing to resume after one.
      if (run.resumeAt.failures && !settings.keepGoing) run.settings = { ...settings, iterations: done.length };
    }
    const outcome = await runTarget(run);
    reporter.target(outcome);
    return outcome;
  };
  const guests = scenario.targets.filter((t): t is QemuTargetSpec => t.kind === 'qemu');
  const slots = guestSlots(Math.max(0, ...guests.map((g) => g.memoryBytes)));
  if (guests.length > slots)
    opts.log.info(
      { guests: guests.length, slots },
      'more guests than this machine runs well at once: the rest wait their turn',
    );
  const [outcomesOfGuests, outcomesOfOthers] = await Promise.all([
    limited(
      slots,
      guests.map((g) => () => runOne(g)),
    ),
    Promise.all(scenario.targets.filter((t) => t.kind !== 'qemu').map(runOne)),
  ]);
  const outcomes = [...outcomesOfGuests, ...outcomesOfOthers];
  journal.append({ type: 'end', at: Date.now(), verdict: combine(outcomes.map((o) => o.verdict)) });
  journal.close();
  // Built from the journal, exactly as `lustress report` would build it: the merged report and one per target.
  const view = viewRun(opts.runDir);
  writeReports(view, { json: join(opts.runDir, SUMMARY_FILE), ...opts.reports });
  writeFileAtomic(join(opts.runDir, 'report.ktap'), (chunk) => writeKtap(view, chunk));
  if (scenario.targets.length > 1) {
    for (const t of scenario.targets)
      writeFileAtomic(join(opts.runDir, `report-${t.name}.ktap`), (chunk) => writeKtap(view, chunk, t.name));
  }
  return summaryOf(view);
}
