// `lustress compare BASE NEW`: is NEW (a run, or a directory of runs) worse
// than BASE? Metric by metric and failure by failure (history/compare.ts);
// exits 1 on a regression, so a script or CI job can gate on it.

import type { Argv, CommandModule } from 'yargs';
import { EXIT, JSON_FLAG, type GlobalArgs } from '../cli-common.js';
import { ConfigError } from '../errors.js';
import { compareDirs, type CompareOptions } from '../history/compare.js';
import { compareText } from '../history/compare-text.js';
import { warnOnStderr } from '../history/runs.js';

/** The thresholds of a comparison, shared with `run --baseline`. */
export const COMPARE_OPTIONS = {
  threshold: {
    type: 'number',
    default: 5,
    describe: 'smallest change of a median, in percent, that can be a regression',
  },
  alpha: { type: 'number', default: 0.01, describe: 'significance level of each test' },
} as const;

export interface CompareArgs {
  threshold: number;
  alpha: number;
}

/** The options checked: a one-line error (exit 2) for a threshold or alpha that makes no sense. */
export function compareOptions(args: CompareArgs): CompareOptions {
  if (!(Number.isFinite(args.threshold) && args.threshold >= 0))
    throw new ConfigError(`--threshold must be a percentage >= 0, got ${args.threshold}`);
  if (!(args.alpha > 0 && args.alpha < 1)) throw new ConfigError(`--alpha must lie between 0 and 1, got ${args.alpha}`);
  return { thresholdPct: args.threshold, alpha: args.alpha };
}

interface Args extends GlobalArgs, CompareArgs {
  base: string;
  new: string;
  json: boolean;
}

export const compareCommand: CommandModule<GlobalArgs, Args> = {
  command: 'compare <base> <new>',
  describe:
    'Compare runs: medians, change and significance (Mann-Whitney) of every metric, new failures (Fisher); exit 1 on a regression',
  builder: (y) =>
    y
      .positional('base', {
        type: 'string',
        demandOption: true,
        describe: 'the baseline: a run directory or a directory of runs',
      })
      .positional('new', {
        type: 'string',
        demandOption: true,
        describe: 'what to judge: a run directory or a directory of runs',
      })
      .options(COMPARE_OPTIONS)
      .option('json', JSON_FLAG)
      .example(
        '$0 compare runs/last-week runs/tonight',
        "last night's soak against last week's",
      ) as unknown as Argv<Args>,
  handler: (args) => {
    const comparison = compareDirs([args.base], [args.new], compareOptions(args), warnOnStderr);
    process.stdout.write(
      args.json ? JSON.stringify(comparison, null, 2) + '\n' : compareText(comparison).join('\n') + '\n',
    );
    process.exitCode = comparison.regressed ? EXIT.fail : EXIT.pass;
  },
};
