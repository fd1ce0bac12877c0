// Errors a user can act on, each with the exit code the README documents:
// the command line prints their one-line message (no stack trace unless
// --log-level debug) and exits with it.

import { EXIT } from './cli-common.js';

/**
 * Something about the command's input or its environment is wrong: a missing run directory, a corrupt journal, a busy
 * lock.
 */
export class ConfigError extends Error {
  readonly exitCode: number = EXIT.usage;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The disk took no more: what was recorded so far is safe, the run stops here. */
export class DiskFull extends Error {
  readonly exitCode: number = EXIT.diskFull;
  constructor(
    readonly file: string,
    readonly safeRecords: number,
    cause: unknown,
  ) {
    super(
      `disk full (${(cause as NodeJS.ErrnoException).code ?? String(cause)}): ${safeRecords} records safe in ${file}`,
    );
    this.name = 'DiskFull';
  }
}

/** The exit code for an error a command ended with: its own, or 1 for one nobody foresaw. */
export function exitCodeOf(e: unknown): number {
  return e instanceof ConfigError || e instanceof DiskFull ? e.exitCode : EXIT.fail;
}
