// What every command shares: global options and exit codes.

import type { LogLevel } from './log.js';

/** Exit codes: 0 pass, 1 fail, 2 usage or configuration error, 3 disk full; --bisect maps onto git bisect's. */
export const EXIT = { pass: 0, fail: 1, usage: 2, diskFull: 3, bisectSkip: 125 } as const;

export interface GlobalArgs {
  logLevel: LogLevel;
}

/** `--json` on commands whose output is data: print it as JSON. */
export const JSON_FLAG = { type: 'boolean', default: false, describe: 'print the data as JSON' } as const;

/** Report files `run` and `report` can write, all built from the run's journal. */
export const REPORT_OPTIONS = {
  junit: { type: 'string', describe: 'write JUnit XML here (one testcase per step per iteration)' },
  json: { type: 'string', describe: 'write the JSON summary (verdicts, metrics with p50/p95/max) here' },
  html: { type: 'string', describe: 'write a self-contained HTML timeline of the run here' },
  kcidb: { type: 'string', describe: "write the run as KCIDB JSON (KernelCI's results database) here" },
} as const;

export interface ReportArgs {
  junit?: string;
  json?: string;
  html?: string;
  kcidb?: string;
}

/** The report files asked for on the command line. */
export function reportFiles(args: ReportArgs): ReportArgs {
  return {
    ...(args.junit ? { junit: args.junit } : {}),
    ...(args.json ? { json: args.json } : {}),
    ...(args.html ? { html: args.html } : {}),
    ...(args.kcidb ? { kcidb: args.kcidb } : {}),
  };
}
