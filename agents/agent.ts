// The agent: runs on the machine under test, executes one request at a time
// from the orchestrator and reports facts. It decides no policy and keeps no
// state across a reboot beyond what the kernel preserved.

import type { Logger } from '../orchestrator/log.js';
import { gatherHello, bootId } from './facts.js';
import { execCommand } from './exec.js';
import { fill, verify } from './memory.js';
import { exec as kexecExec, load as kexecLoad } from './reboot.js';
import { AgentState } from './state.js';
import { bind, expectMsi, map, memcpyStart, memcpyWait, sendMsi } from './devices.js';
import { RpcPeer, type Handler } from './protocol.js';
import type { Transport } from './transport.js';

export interface AgentOptions {
  transport: Transport;
  log: Logger;
  disposable: boolean;
}

export async function runAgent(opts: AgentOptions): Promise<void> {
  const { transport, log, disposable } = opts;
  const state = new AgentState();
  // The peer is created below; notifications sent from methods go through it.
  let peer: RpcPeer | undefined;
  const methods: Record<string, Handler> = {
    hello: () => gatherHello(disposable),
    ping: () => ({ bootId: bootId(), time: Date.now() }),
    stats: () => ({ rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed }),
    exec: (p, ctx) => execCommand(p, ctx.deadline, disposable),
    bind: (p) => bind(state, p, disposable),
    map: (p) => map(state, p),
    'memcpy-start': (p) => memcpyStart(state, p),
    'memcpy-wait': (p, ctx) => memcpyWait(state, p, ctx.deadline),
    'send-msi': (p) => sendMsi(state, p),
    'expect-msi': (p) => expectMsi(state, p),
    fill: (p) => fill(state, p),
    verify: (p) => verify(state, p),
    'kexec-load': (p) => kexecLoad(p, disposable),
    // Nothing is let go first: devices may still be doing DMA, and LUO needs the session fds open.
    'kexec-exec': () => kexecExec(disposable, () => log.info('executing the loaded kernel'), (m, p) => peer?.notify(m, p)),
    release: async () => {
      await state.release();
      return {};
    },
  };
  peer = new RpcPeer((line) => transport.write(line), methods, (garbage) => log.warn({ garbage: garbage.slice(0, 200) }, 'ignored a line that is not JSON-RPC'));
  const hello = gatherHello(disposable);
  log.info({ bootId: hello.bootId, release: hello.release, disposable }, 'agent up');
  // Announce this boot unasked: across a kexec the orchestrator waits for exactly this.
  peer.notify('hello', hello);
  await transport.run((chunk) => peer.push(chunk));
  log.info('channel closed; agent exits');
}
