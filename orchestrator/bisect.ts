// Regression bisects: a run's outcome as `git bisect run` reads exit codes,
// and the driver that bisects a kernel tree with a build step per revision.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { RunSummary } from './run/outcome.js';
import { LUSTRESS_BIN } from './project.js';

/** git bisect run: 0 good, 1-124 bad, 125 cannot test this revision, >127 abort the bisect. */
export const BISECT_EXIT = { good: 0, bad: 1, skip: 125, abort: 128 } as const;

/** Good when it passed; skip when the kernel never booted (nothing was tested); bad otherwise. */
export function bisectExitCode(summary: RunSummary): number {
  if (summary.targets.some((t) => t.untestable)) return BISECT_EXIT.skip;
  return summary.verdict === 'fail' ? BISECT_EXIT.bad : BISECT_EXIT.good;
}

export const DEFAULT_BUILD = 'make olddefconfig && make -j"$(nproc)" bzImage';
export const DEFAULT_IMAGE = 'arch/x86/boot/bzImage';

export interface BisectRequest {
  tree: string;
  good: string;
  bad: string;
  scenario: string;
  build: string;
  image: string;
  runsDir: string;
  logLevel: string;
  /** Lines of git's own output, as they come. */
  onOutput(line: string): void;
}

export interface BisectResult {
  firstBad?: string;
  /** git's verdict line, e.g. "1a2b3c is the first bad commit". */
  summary: string;
  log: string;
}

/** Runs `git bisect run` with a step that builds the revision and runs the scenario on it. */
export async function bisect(req: BisectRequest): Promise<BisectResult> {
  const tree = resolve(req.tree);
  const git = (args: string[], reject = true) => execa('git', ['-C', tree, ...args], { reject, stdin: 'ignore' });
  mkdirSync(req.runsDir, { recursive: true });
  await git(['bisect', 'start', req.bad, req.good]);
  try {
    const step = [
      process.execPath,
      LUSTRESS_BIN,
      '--log-level',
      req.logLevel,
      'bisect-step',
      '--scenario',
      resolve(req.scenario),
      '--build',
      req.build,
      '--image',
      req.image,
      '--runs-dir',
      resolve(req.runsDir),
    ];
    const run = execa('git', ['-C', tree, 'bisect', 'run', ...step], {
      reject: false,
      all: true,
      buffer: true,
      stdin: 'ignore',
    });
    run.all!.on('data', (c: Buffer) => String(c).split('\n').filter(Boolean).forEach(req.onOutput));
    const result = await run;
    const output = String(result.all ?? '');
    const log = (await git(['bisect', 'log'], false)).stdout;
    writeFileSync(join(req.runsDir, 'bisect.log'), log + '\n');
    const verdict = /^(\S+) is the first bad commit$/m.exec(output);
    if (result.exitCode !== 0 && !verdict)
      throw new Error(
        `git bisect run stopped (status ${result.exitCode}):\n${output.split('\n').slice(-15).join('\n')}`,
      );
    return {
      ...(verdict ? { firstBad: verdict[1]! } : {}),
      summary: verdict?.[0] ?? output.split('\n').filter(Boolean).pop() ?? '',
      log,
    };
  } finally {
    await git(['bisect', 'reset'], false);
  }
}
