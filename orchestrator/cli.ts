#!/usr/bin/env node
// lustress command line: one yargs command per file in ./commands, each loaded on demand.

import type { CommandModule } from 'yargs';
import { LOG_LEVELS } from './log.js';
import { EXIT } from './cli-common.js';

/** Every command, loaded on demand: the agent (in a guest, over 9p) should not load what only the orchestrator uses. */
async function commands(argv: string[]): Promise<CommandModule<any, any>[]> {
  if (argv[0] === 'agent') return [(await import('./commands/agent.js')).agentCommand];
  const m = await Promise.all([
    import('./commands/validate.js'),
    import('./commands/plan.js'),
    import('./commands/run.js'),
    import('./commands/resume.js'),
    import('./commands/report.js'),
    import('./commands/bisect.js'),
    import('./commands/setup.js'),
    import('./commands/boot.js'),
    import('./commands/agent.js'),
  ]);
  return [m[0].validateCommand, m[1].planCommand, m[2].runCommand, m[3].resumeCommand, m[4].reportCommand, m[5].bisectCommand, m[5].bisectStepCommand, m[6].setupCommand, m[7].bootCommand, m[8].agentCommand];
}

export async function cli(argv: string[]) {
  // yargs too is loaded on demand: the agent's fast path (below) does without it.
  const [all, { default: yargs }] = await Promise.all([commands(argv), import('yargs')]);
  const y = yargs(argv)
    .scriptName('lustress')
    .usage('$0 <command> [options]\n\nLive-update stress: DMA through userspace VFIO drivers, kexec or LUO live update, then memory and MSI verification.')
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as const, describe: 'log verbosity (logs go to the run directory, and to stderr on a terminal)' })
    .demandCommand(1, 'Name a command; see lustress --help.')
    .strict()
    .recommendCommands()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 pass, 1 fail, 2 usage or configuration error (125 with --bisect when the target could not be tested).')
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`lustress: ${msg}\nRun "lustress --help" for usage.\n`);
      process.exit(EXIT.usage);
    });
  for (const c of all) y.command(c);
  return y;
}

// `lustress report … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const argv = process.argv.slice(2);
if (argv[0] === 'agent' && !argv.some((a) => a === '--help' || a === '--version')) await (await import('./commands/agent.js')).agentFastPath(argv.slice(1));
else await (await cli(argv)).parseAsync();
