// A whole run: the journal opened, every target run at once (one's failure
// never stops another), KTAP streamed to stdout, the JSON summary written.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_VERSION } from '../../agents/facts.js';
import type { Logger } from '../log.js';
import { KtapReporter } from '../reports/ktap.js';
import type { Scenario } from '../scenario/model.js';
import { makeTarget } from '../targets/factory.js';
import { runTarget, type RunHooks } from './engine.js';
import { Journal } from './journal.js';
import { combine, type IterationOutcome, type RunSummary } from './outcome.js';

export const SUMMARY_FILE = 'summary.json';

export interface RunOptions {
  runDir: string;
  log: Logger;
  /** Where the KTAP report goes (stdout). */
  out: (text: string) => void;
  scenarioText: string;
  iterations?: number;
  durationMs?: number;
  keepGoing: boolean;
  kernelOverride?: string;
  agentLogLevel?: string;
  /** Extra observers (progress line, tests). */
  hooks?: Partial<RunHooks>;
}

export async function runScenario(scenario: Scenario, opts: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const iterations = opts.iterations ?? scenario.iterations;
  const durationMs = opts.durationMs ?? scenario.durationMs;
  const journal = new Journal(opts.runDir);
  journal.append({
    type: 'run',
    at: started,
    scenario: scenario.name,
    file: scenario.file,
    text: opts.scenarioText,
    options: { iterations: Number.isFinite(iterations) ? iterations : null, durationMs, keepGoing: opts.keepGoing, kernelOverride: opts.kernelOverride },
    version: AGENT_VERSION,
  });
  const reporter = new KtapReporter(opts.out, scenario.targets.map((t) => t.name), iterations, scenario.steps.length);
  const collected: IterationOutcome[] = [];
  const hooks: RunHooks = {
    boot: (t, h) => {
      reporter.boot(t, h);
      opts.hooks?.boot?.(t, h);
    },
    step: (o) => {
      reporter.step(o);
      opts.hooks?.step?.(o);
    },
    iteration: (o) => {
      collected.push(o);
      reporter.iteration(o);
      opts.hooks?.iteration?.(o);
    },
  };
  const outcomes = await Promise.all(
    scenario.targets.map(async (spec) => {
      const target = makeTarget(spec, {
        runDir: opts.runDir,
        log: opts.log,
        ...(opts.kernelOverride ? { kernelOverride: opts.kernelOverride } : {}),
        ...(opts.agentLogLevel ? { agentLogLevel: opts.agentLogLevel } : {}),
      });
      const outcome = await runTarget({
        scenario,
        spec,
        target,
        journal,
        log: opts.log,
        hooks,
        iterations,
        ...(durationMs !== undefined ? { durationMs } : {}),
        keepGoing: opts.keepGoing,
        ...(opts.kernelOverride ? { kernelOverride: opts.kernelOverride } : {}),
      });
      reporter.target(outcome);
      return outcome;
    }),
  );
  const summary: RunSummary = {
    scenario: scenario.name,
    file: scenario.file,
    runDir: opts.runDir,
    startedAt: new Date(started).toISOString(),
    ms: Date.now() - started,
    verdict: combine(outcomes.map((o) => o.verdict)),
    targets: outcomes,
    iterations: collected,
  };
  journal.append({ type: 'end', at: Date.now(), verdict: summary.verdict });
  journal.close();
  writeFileSync(join(opts.runDir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
