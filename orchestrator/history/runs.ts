// Where the runs are: a run directory is one that holds a journal; a
// directory of runs (./runs, a night's soaks, an archive) is searched a few
// levels down for them. A directory that cannot be listed is skipped with a
// warning that names it; only a directory named on the command line that
// does not exist, or holds no run at all, is an error.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { JOURNAL_FILE } from '../run/journal.js';
import { digestRun, type RunDigest } from './digest.js';

/** How deep below a named directory runs are looked for (runs/<night>/<scenario>/<run> is three). */
const RUN_SEARCH_DEPTH = 4;

/** Says what was skipped and why; the commands print it on stderr. */
export type Warn = (message: string) => void;

/** The run directories in or below `dir` (itself, if it is one), in name order. */
export function findRuns(dir: string, warn: Warn, depth = RUN_SEARCH_DEPTH): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new ConfigError(
      `${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`,
    );
  }
  if (!isDir) throw new ConfigError(`${dir} is not a directory (give a run directory or a directory of runs)`);
  const found: string[] = [];
  walk(dir, depth, found, warn);
  if (!found.length)
    throw new ConfigError(`${dir} holds no lustress run (no ${JOURNAL_FILE} in it or ${depth} levels below)`);
  return found;
}

/** Collects run directories depth-first; a run's own subdirectories (consoles, kernels) are not searched. */
function walk(dir: string, left: number, found: string[], warn: Warn): void {
  if (existsSync(join(dir, JOURNAL_FILE))) {
    found.push(dir);
    return;
  }
  if (left === 0) return;
  let names: string[];
  try {
    // Symbolic links are not followed: a link back up would loop.
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (e) {
    warn(`skipping ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return;
  }
  for (const name of names) walk(join(dir, name), left - 1, found, warn);
}

/**
 * Every run found under the directories, digested one at a time so a caller that keeps less than the digest (history)
 * holds one run's samples at most; a run that cannot be read is skipped with a warning. Throws when none could be.
 */
export function* readRuns(dirs: string[], warn: Warn): Generator<RunDigest> {
  // A run named twice (runs and ./runs, or a run and its parent) is read once.
  const runs = new Map(dirs.flatMap((d) => findRuns(d, warn)).map((r) => [resolve(r), r]));
  let read = 0;
  for (const runDir of runs.values()) {
    let digest: RunDigest;
    try {
      digest = digestRun(runDir);
    } catch (e) {
      warn(`skipping ${runDir}: ${(e as Error).message}`);
      continue;
    }
    read++;
    yield digest;
  }
  if (!read) throw new ConfigError(`no readable run in ${dirs.join(', ')}`);
}

/** The commands' warning: one line on stderr, the run or directory it is about named in it. */
export const warnOnStderr: Warn = (message) => process.stderr.write(`lustress: warning: ${message}\n`);
