#!/usr/bin/env node
// lustress command line: one yargs command per file in ./commands.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { LOG_LEVELS } from './log.js';
import { EXIT } from './cli-common.js';
import { validateCommand } from './commands/validate.js';
import { planCommand } from './commands/plan.js';
import { agentCommand } from './commands/agent.js';
import { bootCommand } from './commands/boot.js';
import { setupCommand } from './commands/setup.js';
import { runCommand } from './commands/run.js';
import { reportCommand } from './commands/report.js';
import { resumeCommand } from './commands/resume.js';
import { bisectCommand, bisectStepCommand } from './commands/bisect.js';

export function cli(argv: string[]) {
  return yargs(argv)
    .scriptName('lustress')
    .usage('$0 <command> [options]\n\nLive-update stress: DMA through userspace VFIO drivers, kexec or LUO live update, then memory and MSI verification.')
    .option('log-level', { choices: LOG_LEVELS, default: 'info' as const, describe: 'log verbosity (logs go to the run directory, and to stderr on a terminal)' })
    .command(validateCommand as any)
    .command(planCommand as any)
    .command(runCommand as any)
    .command(resumeCommand as any)
    .command(bisectCommand as any)
    .command(bisectStepCommand as any)
    .command(reportCommand as any)
    .command(setupCommand as any)
    .command(bootCommand as any)
    .command(agentCommand as any)
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
}

// `lustress report … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

await cli(hideBin(process.argv)).parseAsync();
