import type { Argv, CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { bisect, BISECT_EXIT, DEFAULT_BUILD, DEFAULT_IMAGE } from '../bisect.js';
import { checkScenarioFile } from '../scenario/load.js';
import { formatProblem } from '../scenario/errors.js';
import { createRunDir } from '../rundir.js';
import { LUSTRESS_BIN } from '../project.js';
import { EXIT, type GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  good: string;
  bad: string;
  kernelTree: string;
  scenario: string;
  build: string;
  image: string;
}

export const bisectCommand: CommandModule<GlobalArgs, Args> = {
  command: 'bisect',
  describe: 'Find the first bad kernel commit: git bisect run, building each revision and running a scenario on it',
  builder: (y) =>
    y
      .option('good', { type: 'string', demandOption: true, describe: 'a revision where the scenario passes' })
      .option('bad', { type: 'string', demandOption: true, describe: 'a revision where it fails' })
      .option('kernel-tree', {
        type: 'string',
        demandOption: true,
        describe: 'the kernel git tree (it needs a .config)',
      })
      .option('scenario', { type: 'string', demandOption: true, describe: 'the scenario that tells good from bad' })
      .option('build', {
        type: 'string',
        default: DEFAULT_BUILD,
        describe: 'shell command that builds a revision in the tree',
      })
      .option('image', {
        type: 'string',
        default: DEFAULT_IMAGE,
        describe: 'the kernel image the build leaves, relative to the tree',
      })
      .example(
        '$0 bisect --good v7.1 --bad v7.2 --kernel-tree ~/linux --scenario scenarios/live-update-memfd.yaml',
        'which commit broke memfd preservation',
      ) as unknown as Argv<Args>,
  handler: async (args) => {
    const loaded = checkScenarioFile(args.scenario);
    if (!loaded.ok) {
      process.stderr.write(loaded.problems.map(formatProblem).join('\n') + '\n');
      process.exitCode = EXIT.usage;
      return;
    }
    if (!existsSync(join(args.kernelTree, '.git'))) {
      process.stderr.write(`lustress: --kernel-tree ${args.kernelTree} is not a git tree\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    const runsDir = createRunDir(`bisect-${loaded.scenario.name}`);
    const result = await bisect({
      tree: args.kernelTree,
      good: args.good,
      bad: args.bad,
      scenario: args.scenario,
      build: args.build,
      image: args.image,
      runsDir,
      logLevel: args.logLevel,
      onOutput: (line) => process.stderr.write(`git: ${line}\n`),
    });
    process.stdout.write(`${result.summary}\nruns and bisect.log in ${runsDir}\n`);
    process.exitCode = result.firstBad ? EXIT.pass : EXIT.fail;
  },
};

interface StepArgs extends GlobalArgs {
  scenario: string;
  build: string;
  image: string;
  runsDir: string;
}

/** One revision of a bisect, run by git bisect run in the kernel tree (its working directory). */
export const bisectStepCommand: CommandModule<GlobalArgs, StepArgs> = {
  command: 'bisect-step',
  describe: false,
  builder: (y) =>
    y
      .option('scenario', { type: 'string', demandOption: true })
      .option('build', { type: 'string', demandOption: true })
      .option('image', { type: 'string', demandOption: true })
      .option('runs-dir', { type: 'string', demandOption: true }) as unknown as Argv<StepArgs>,
  handler: async (args) => {
    const rev = (await execa('git', ['rev-parse', '--short', 'HEAD'])).stdout.trim();
    const built = await execa('sh', ['-c', args.build], { reject: false, all: true, stdin: 'ignore' });
    if (built.exitCode !== 0) {
      process.stderr.write(
        `lustress bisect: ${rev} does not build: skipping it\n${String(built.all).split('\n').slice(-10).join('\n')}\n`,
      );
      process.exitCode = BISECT_EXIT.skip;
      return;
    }
    const image = resolve(args.image);
    const run = await execa(
      process.execPath,
      [
        LUSTRESS_BIN,
        '--log-level',
        args.logLevel,
        'run',
        args.scenario,
        '--bisect',
        '--kernel',
        image,
        '--run-dir',
        join(args.runsDir, rev),
      ],
      {
        reject: false,
        stdin: 'ignore',
        stdout: 'inherit',
        stderr: 'inherit',
      },
    );
    process.exitCode = run.exitCode ?? BISECT_EXIT.abort;
  },
};
