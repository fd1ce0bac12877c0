// The agent: runs on the machine under test, executes one request at a time
// from the orchestrator and reports facts. It decides no policy and keeps no
// state across a reboot beyond what the kernel preserved.

import type { Logger } from '../orchestrator/log.js';
import { gatherHello, bootId } from './facts.js';
import { execCommand } from './exec.js';
import { corrupt, fill, verify } from './memory.js';
import { exec as kexecExec, load as kexecLoad } from './reboot.js';
import { AgentState } from './state.js';
import { bind, dmaInFlight, expectMsi, map, memcpyStart, memcpyWait, sendMsi } from './devices.js';
import { finish, preserve, retrieve } from './luo.js';
import { probeCapabilities } from './capabilities.js';
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
  // Tried once per boot: the answers cannot change until the next kernel.
  let capabilities: ReturnType<typeof probeCapabilities> | { error: string } | undefined;
  const hello = () => {
    if (!capabilities) {
      try {
        capabilities = probeCapabilities(state);
      } catch (e) {
        capabilities = { error: (e as Error).message };
      }
    }
    return { ...gatherHello(disposable), capabilities };
  };
  const methods: Record<string, Handler> = {
    hello,
    ping: () => ({ bootId: bootId(), time: Date.now() }),
    stats: () => ({ rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed }),
    exec: (p, ctx) => execCommand(p, ctx.deadline, disposable),
    bind: (p) => bind(state, p, disposable),
    map: (p) => map(state, p),
    'memcpy-start': (p) => memcpyStart(state, p),
    'memcpy-wait': (p, ctx) => memcpyWait(state, p, ctx.deadline),
    'send-msi': (p) => sendMsi(state, p),
    'expect-msi': (p) => expectMsi(state, p),
    preserve: (p) => preserve(state, p),
    retrieve: (p) => retrieve(state, p),
    finish: (p) => finish(state, p),
    fill: (p) => fill(state, p),
    verify: (p) => verify(state, p),
    corrupt: (p) => corrupt(state, p),
    'kexec-load': (p) => kexecLoad(p, disposable),
    // Nothing is let go first: devices may still be doing DMA, and LUO needs the session fds open.
    'kexec-exec': () => kexecExec(disposable, () => log.info('executing the loaded kernel'), (m, p) => peer?.notify(m, p), { dma: dmaInFlight(state) }),
    release: async () => {
      await state.release();
      return {};
    },
  };
  peer = new RpcPeer((line) => transport.write(line), methods, (garbage) => log.warn({ garbage: garbage.slice(0, 200) }, 'ignored a line that is not JSON-RPC'));
  const first = hello();
  log.info({ bootId: first.bootId, release: first.release, disposable, capabilities: first.capabilities }, 'agent up');
  // Announce this boot unasked: across a kexec the orchestrator waits for exactly this.
  peer.notify('hello', first);
  await transport.run((chunk) => peer.push(chunk));
  log.info('channel closed; agent exits');
}
