// The orchestrator's command line: one yargs command per file in ./commands.
// (`lustress agent` is the agent's own entry, agents/main.ts; it is listed
// here so that `lustress --help` shows it.)

import type { CommandModule } from 'yargs';
import { EXIT } from './cli-common.js';
import { LOG_LEVELS } from './log.js';

async function commands(): Promise<CommandModule<any, any>[]> {
  const m = await Promise.all([
    import('./commands/validate.js'),
    import('./commands/plan.js'),
    import('./commands/run.js'),
    import('./commands/resume.js'),
    import('./commands/report.js'),
    import('./commands/bisect.js'),
    import('./commands/setup.js'),
    import('./commands/boot.js'),
  ]);
  return [
    m[0].validateCommand,
    m[1].planCommand,
    m[2].runCommand,
    m[3].resumeCommand,
    m[4].reportCommand,
    m[5].bisectCommand,
    m[5].bisectStepCommand,
    m[6].setupCommand,
    m[7].bootCommand,
  ];
}

export async function cli(argv: string[]) {
  const [all, { default: yargs }] = await Promise.all([commands(), import('yargs')]);
  const y = yargs(argv)
    .scriptName('lustress')
    .usage(
      '$0 <command> [options]\n\nLive-update stress: DMA through userspace VFIO drivers, kexec or LUO live update, then memory and MSI verification.',
    )
    .option('log-level', {
      choices: LOG_LEVELS,
      default: 'info' as const,
      describe: 'log verbosity (logs go to the run directory, and to stderr on a terminal)',
    })
    .demandCommand(1, 'Name a command; see lustress --help.')
    .strict()
    .recommendCommands()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue(
      'Exit codes: 0 pass, 1 fail, 2 usage or configuration error (125 with --bisect when the target could not be tested).',
    )
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`lustress: ${msg}\nRun "lustress --help" for usage.\n`);
      process.exit(EXIT.usage);
    });
  for (const c of all) y.command(c);
  // Only listed: bin/lustress.ts hands `lustress agent …` to the agent before yargs sees it.
  y.command(
    'agent',
    'Run the agent on the machine under test (started by lustress; JSON-RPC, one message a line); see lustress agent --help',
  );
  return y;
}

export async function orchestratorMain(argv: string[]): Promise<void> {
  await (await cli(argv)).parseAsync();
}
