// The agent: runs on the machine under test, executes one request at a time
// from the orchestrator and reports facts. It decides no policy and keeps no
// state across a reboot beyond what the kernel preserved.

import type { Logger } from '../orchestrator/log.js';
import { gatherHello, bootId } from './facts.js';
import { execCommand } from './exec.js';
import { RpcPeer, type Handler } from './protocol.js';
import type { Transport } from './transport.js';

export interface AgentOptions {
  transport: Transport;
  log: Logger;
  disposable: boolean;
}

export async function runAgent(opts: AgentOptions): Promise<void> {
  const { transport, log, disposable } = opts;
  const methods: Record<string, Handler> = {
    hello: () => gatherHello(disposable),
    ping: () => ({ bootId: bootId(), time: Date.now() }),
    exec: (p, ctx) => execCommand(p, ctx.deadline, disposable),
  };
  const peer = new RpcPeer((line) => transport.write(line), methods, (garbage) => log.warn({ garbage: garbage.slice(0, 200) }, 'ignored a line that is not JSON-RPC'));
  const hello = gatherHello(disposable);
  log.info({ bootId: hello.bootId, release: hello.release, disposable }, 'agent up');
  // Announce this boot unasked: across a kexec the orchestrator waits for exactly this.
  peer.notify('hello', hello);
  await transport.run((chunk) => peer.push(chunk));
  log.info('channel closed; agent exits');
}
