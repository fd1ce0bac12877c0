// `lustress history RUNS_DIR...`: every run found, one row per run and
// target in date order, and each step kind's flakiness over all of them; as
// a table, as JSON, or as a page of trend plots.

import type { Argv, CommandModule } from 'yargs';
import { JSON_FLAG, type GlobalArgs } from '../cli-common.js';
import { writeFileAtomic } from '../files.js';
import type { MetricKey } from '../history/digest.js';
import { readHistory, type History, type HistoryRow } from '../history/history.js';
import { warnOnStderr } from '../history/runs.js';
import { figure, rate, table } from '../history/text.js';
import { htmlTrend } from '../history/trend.js';

interface Args extends GlobalArgs {
  runsDir: string[];
  json: boolean;
  html?: string;
}

/** A metric's p50 (or p50/p95/max) in a cell; "-" when the run did not measure it. */
function cell(r: HistoryRow, metric: MetricKey, all = false): string {
  const d = r.metrics[metric];
  if (!d) return '-';
  return all ? [d.p50, d.p95, d.max].map((v) => figure(metric, v)).join('/') : figure(metric, d.p50);
}

/** The history as two tables: the runs, then flakiness by step kind. */
function historyText(h: History): string {
  const runs = table(
    ['started', 'scenario', 'target', 'kernel', 'iter', 'failures', 'blackout p50/p95/max', 'verify', 'DMA', 'MSI'],
    h.rows.map((r) => [
      r.date.slice(0, 16).replace('T', ' ') + (r.finished ? '' : '*'),
      r.scenario,
      r.target,
      r.releases.join(',') || '-',
      String(r.iterations),
      Object.entries(r.failures)
        .filter(([, n]) => n)
        .map(([k, n]) => `${k}:${n}`)
        .join(' ') || '-',
      cell(r, 'blackoutMs', true),
      cell(r, 'verifyGBps'),
      cell(r, 'dmaBytes'),
      cell(r, 'msiLatencyMs'),
    ]),
  );
  const unfinished = h.rows.some((r) => !r.finished)
    ? '* unfinished: still going, or its orchestrator was killed\n'
    : '';
  const flaky = table(
    ['step kind', 'failed', 'steps', 'failure rate (Wilson 95% interval)'],
    h.flakiness.map((f) => [f.kind, String(f.failures), String(f.steps), rate(f.failures, f.steps, f)]),
  );
  return `${runs}${unfinished}\n${flaky}`;
}

export const historyCommand: CommandModule<GlobalArgs, Args> = {
  command: 'history <runs-dir..>',
  describe: 'Every run under the directories, in date order, and how often each step kind fails (Wilson 95% interval)',
  builder: (y) =>
    y
      .positional('runs-dir', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'run directories, or directories holding runs (searched a few levels down)',
      })
      .option('json', JSON_FLAG)
      .option('html', { type: 'string', describe: 'write a self-contained HTML page of trend plots here' })
      .example('$0 history runs', 'every run so far, oldest first')
      .example(
        '$0 history runs --html trend.html',
        'blackout, verify, DMA and MSI trends over the runs',
      ) as unknown as Argv<Args>,
  handler: (args) => {
    const history = readHistory(args.runsDir, warnOnStderr);
    if (args.html) writeFileAtomic(args.html, htmlTrend(history));
    process.stdout.write(args.json ? JSON.stringify(history, null, 2) + '\n' : historyText(history));
  },
};
