// The orchestrator's command line: one yargs command per file in ./commands.
// (`lustress agent` is the agent's own entry, agents/main.ts; it is listed
// here so that `lustress --help` shows it.)

import type { Argv } from 'yargs';
import { EXIT, type GlobalArgs } from './cli-common.js';
import { BISECT_EXIT } from './bisect.js';
import { exitCodeOf } from './errors.js';
import { LOG_LEVELS } from './log.js';
import { endStatusLine } from './progress.js';

export async function cli(argv: string[]) {
  const [
    validate,
    plan,
    run,
    resume,
    report,
    history,
    compare,
    bisect,
    setup,
    boot,
    drivers,
    kernel,
    { default: yargs },
  ] = await Promise.all([
    import('./commands/validate.js'),
    import('./commands/plan.js'),
    import('./commands/run.js'),
    import('./commands/resume.js'),
    import('./commands/report.js'),
    import('./commands/history.js'),
    import('./commands/compare.js'),
    import('./commands/bisect.js'),
    import('./commands/setup.js'),
    import('./commands/boot.js'),
    import('./commands/drivers.js'),
    import('./commands/kernel.js'),
    import('yargs'),
  ]);
  // yargs adds the camel-case `logLevel` the commands read at run time; its types know only "log-level".
  const root = yargs(argv)
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
      'Exit codes: 0 pass, 1 fail, 2 usage or configuration error, 3 disk full (125 with --bisect when the target could not be tested).',
    )
    .fail((msg, err) => {
      if (err) endWith(err, argv);
      process.stderr.write(`lustress: ${msg}\nRun "lustress --help" for usage.\n`);
      process.exit(EXIT.usage);
    }) as unknown as Argv<GlobalArgs>;
  return (
    root
      .command(validate.validateCommand)
      .command(plan.planCommand)
      .command(run.runCommand)
      .command(resume.resumeCommand)
      .command(report.reportCommand)
      .command(history.historyCommand)
      .command(compare.compareCommand)
      .command(bisect.bisectCommand)
      .command(bisect.bisectStepCommand)
      .command(setup.setupCommand)
      .command(boot.bootCommand)
      .command(drivers.driversCommand)
      .command(kernel.kernelCommand)
      // Only listed: bin/lustress.ts hands `lustress agent …` to the agent before yargs sees it.
      .command(
        'agent',
        'Run the agent on the machine under test (started by lustress; JSON-RPC, one message a line); see lustress agent --help',
      )
  );
}

/**
 * A command that ends in an error: one line saying what and where, the stack
 * only with --log-level debug or trace, and the documented exit code.
 */
function endWith(e: unknown, argv: string[]): never {
  const level = argv[argv.indexOf('--log-level') + 1];
  const verbose = argv.includes('--log-level') && (level === 'debug' || level === 'trace');
  endStatusLine();
  process.stderr.write(`lustress: ${e instanceof Error ? e.message : String(e)}\n`);
  if (verbose && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  const code = exitCodeOf(e);
  // git bisect run must not read a usage error as "bad": it aborts instead.
  process.exit(code === EXIT.usage && argv.includes('--bisect') ? BISECT_EXIT.abort : code);
}

export async function orchestratorMain(argv: string[]): Promise<void> {
  try {
    await (await cli(argv)).parseAsync();
  } catch (e) {
    endWith(e, argv);
  }
}
