// What every command shares: global options and exit codes.

import type { LogLevel } from './log.js';

/** Exit codes: 0 pass, 1 fail, 2 usage or configuration error; --bisect maps onto git bisect's. */
export const EXIT = { pass: 0, fail: 1, usage: 2, bisectSkip: 125 } as const;

export interface GlobalArgs {
  logLevel: LogLevel;
  json: boolean;
}
