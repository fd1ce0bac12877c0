// `run --baseline DIR`: the run just finished, compared with its baseline as
// `lustress compare DIR RUN_DIR` would, the verdict in the KTAP report as
// "# compare:" lines and kept beside summary.json as compare.json.

import { join } from 'node:path';
import { writeFileAtomic } from '../files.js';
import { compareDirs, type CompareOptions } from './compare.js';
import { compareText } from './compare-text.js';
import { findRuns, warnOnStderr } from './runs.js';

/** Where `run --baseline` keeps its comparison. */
export const COMPARE_FILE = 'compare.json';

export interface Baseline {
  dir: string;
  opts: CompareOptions;
}

/** The baseline checked before the run starts: a missing or empty one is a usage error now, not after an 8 h soak. */
export function baselineOf(dir: string, opts: CompareOptions): Baseline {
  findRuns(dir, () => {});
  return { dir, opts };
}

/** Compares the run with its baseline, writes compare.json and the KTAP lines; true on a regression. */
export function judgeRun(runDir: string, baseline: Baseline, out: (text: string) => void): boolean {
  const comparison = compareDirs([baseline.dir], [runDir], baseline.opts, warnOnStderr);
  writeFileAtomic(join(runDir, COMPARE_FILE), JSON.stringify(comparison, null, 2) + '\n');
  out(
    compareText(comparison)
      .map((line) => `# compare: ${line}\n`)
      .join(''),
  );
  return comparison.regressed;
}
