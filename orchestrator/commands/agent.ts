import type { CommandModule } from 'yargs';
import { createLogger } from '../log.js';
import type { GlobalArgs } from '../cli-common.js';

interface Args extends GlobalArgs {
  stdio: boolean;
  port?: string;
  log?: string;
  disposable: boolean;
}

export const agentCommand: CommandModule<GlobalArgs, Args> = {
  command: 'agent',
  describe: 'Run the agent on the machine under test (started by lustress; JSON-RPC, one message a line)',
  builder: (y) =>
    y
      .option('stdio', { type: 'boolean', default: false, describe: 'talk over stdin/stdout (ssh and local targets)' })
      .option('port', { type: 'string', describe: 'talk over this virtio-serial port device (QEMU targets)' })
      .option('log', { type: 'string', describe: 'append JSON log lines to this file (default: stderr)' })
      .option('disposable', {
        type: 'boolean',
        default: false,
        describe: 'allow kexec, driver rebinding and SR-IOV changes on this machine; never on a machine you work on',
      })
      .check((a) => {
        if (a.stdio === Boolean(a.port)) throw new Error('give exactly one of --stdio or --port DEVICE');
        return true;
      }) as any,
  handler: async (args) => {
    // Loaded here, not at the top: only the agent needs the VFIO and kexec bindings.
    const [{ runAgent }, { machineIsDisposable }, { portTransport, stdioTransport }] = await Promise.all([
      import('../../agents/agent.js'),
      import('../../agents/safety.js'),
      import('../../agents/transport.js'),
    ]);
    const log = createLogger({ level: args.logLevel, ...(args.log ? { file: args.log } : {}), pretty: false, name: 'agent' });
    const transport = args.port ? portTransport(args.port) : stdioTransport();
    await runAgent({ transport, log, disposable: machineIsDisposable(args.disposable) });
  },
};
