// `lustress agent`: the agent's command line, without yargs (after every
// kexec the agent's start is part of the blackout, and yargs costs a second
// of it under TCG). Usage errors exit 2, as the orchestrator's commands do.

import { parseArgs } from 'node:util';
import { LOG_LEVELS, agentLogger, type LogLevel } from './log.js';

const LEVELS = Object.keys(LOG_LEVELS);

const OPTIONS = {
  stdio: { type: 'boolean', default: false, describe: 'talk over stdin/stdout (ssh and local targets)' },
  port: { type: 'string', describe: 'talk over this virtio-serial port device (QEMU targets)' },
  log: { type: 'string', describe: 'append JSON log lines to this file (default: stderr)' },
  'log-level': { type: 'string', default: 'info', describe: `log verbosity: ${LEVELS.join(', ')}` },
  disposable: {
    type: 'boolean',
    default: false,
    describe: 'allow kexec, driver rebinding and SR-IOV changes on this machine; never on a machine you work on',
  },
  help: { type: 'boolean', default: false, describe: 'show this help' },
} as const;

export const AGENT_USAGE = [
  'lustress agent (--stdio | --port DEVICE) [options]',
  '',
  'Run the agent on the machine under test (started by lustress; JSON-RPC, one message a line)',
  '',
  'Options:',
  ...Object.entries(OPTIONS).map(
    ([name, o]) =>
      `  --${`${name}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(18)} ${o.describe}${'default' in o && o.default !== false ? ` [default: ${o.default}]` : ''}`,
  ),
].join('\n');

function usageError(message: string): never {
  process.stderr.write(`lustress agent: ${message}\nRun "lustress agent --help" for usage.\n`);
  process.exit(2);
}

export async function agentMain(argv: string[]): Promise<void> {
  let values: { stdio: boolean; port?: string; log?: string; 'log-level': string; disposable: boolean; help: boolean };
  try {
    values = parseArgs({ args: argv, strict: true, options: OPTIONS }).values as typeof values;
  } catch (e) {
    usageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${AGENT_USAGE}\n`);
    return;
  }
  if (!LEVELS.includes(values['log-level']))
    usageError(`--log-level must be one of ${LEVELS.join(', ')}, not "${values['log-level']}"`);
  if (values.stdio === Boolean(values.port)) usageError('give exactly one of --stdio or --port DEVICE');
  // Loaded here, not at the top: --help and usage errors need none of the VFIO and kexec bindings.
  const [{ runAgent }, { machineIsDisposable }, { portTransport, stdioTransport }] = await Promise.all([
    import('./agent.js'),
    import('./safety.js'),
    import('./transport.js'),
  ]);
  const log = agentLogger(values['log-level'] as LogLevel, values.log);
  const transport = values.port ? portTransport(values.port) : stdioTransport();
  await runAgent({ transport, log, disposable: machineIsDisposable(values.disposable) });
}
