import { parseArgs } from 'node:util';
import type { CommandModule } from 'yargs';
import { createLogger, LOG_LEVELS, type LogLevel } from '../log.js';
import type { GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  stdio: boolean;
  port?: string;
  log?: string;
  disposable: boolean;
}

/** The agent's options: for yargs (help, people) and for the guest's init, which skips yargs. */
const OPTIONS = {
  stdio: { type: 'boolean', default: false, describe: 'talk over stdin/stdout (ssh and local targets)' },
  port: { type: 'string', describe: 'talk over this virtio-serial port device (QEMU targets)' },
  log: { type: 'string', describe: 'append JSON log lines to this file (default: stderr)' },
  disposable: {
    type: 'boolean',
    default: false,
    describe: 'allow kexec, driver rebinding and SR-IOV changes on this machine; never on a machine you work on',
  },
} as const;

function checkChannel(a: { stdio: boolean; port?: string | undefined }): true {
  if (a.stdio === Boolean(a.port)) throw new Error('give exactly one of --stdio or --port DEVICE');
  return true;
}

export const agentCommand: CommandModule<GlobalArgs, Args> = {
  command: 'agent',
  describe: 'Run the agent on the machine under test (started by lustress; JSON-RPC, one message a line)',
  builder: (y) => y.options(OPTIONS).check(checkChannel) as any,
  handler: runAgentCommand,
};

async function runAgentCommand(args: Args): Promise<void> {
  // Loaded here, not at the top: only the agent needs the VFIO and kexec bindings.
  const [{ runAgent }, { machineIsDisposable }, { portTransport, stdioTransport }] = await Promise.all([
    import('../../agents/agent.js'),
    import('../../agents/safety.js'),
    import('../../agents/transport.js'),
  ]);
  const log = createLogger({ level: args.logLevel, ...(args.log ? { file: args.log } : {}), pretty: false, name: 'agent' });
  const transport = args.port ? portTransport(args.port) : stdioTransport();
  await runAgent({ transport, log, disposable: machineIsDisposable(args.disposable) });
}

/**
 * `lustress agent …` without yargs: after every kexec the agent's start is
 * part of the blackout, and loading yargs costs a second of it under TCG.
 * Same options and checks; usage errors exit 2 as yargs' do.
 */
export async function agentFastPath(argv: string[]): Promise<void> {
  let args: Args;
  try {
    const { values } = parseArgs({ args: argv, strict: true, options: { ...OPTIONS, 'log-level': { type: 'string', default: 'info' } } });
    const logLevel = values['log-level'] as LogLevel;
    if (!LOG_LEVELS.includes(logLevel)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
    args = { stdio: values.stdio, disposable: values.disposable, logLevel, ...(values.port ? { port: values.port } : {}), ...(values.log ? { log: values.log } : {}) };
    checkChannel(args);
  } catch (e) {
    process.stderr.write(`lustress agent: ${(e as Error).message}\nRun "lustress agent --help" for usage.\n`);
    process.exit(2);
  }
  await runAgentCommand(args);
}
