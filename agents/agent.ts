// The agent: runs on the machine under test, executes one request at a time
// from the orchestrator and reports facts. It decides no policy and keeps no
// state across a reboot beyond what the kernel preserved. Its method table is
// the contract's (contract/agent.ts), checked by the compiler.

import { AGENT_METHODS, type AgentMethods, type AgentNotifications, type MachineFacts } from '../contract/agent.js';
import { RpcPeer, type Handlers, type None } from '../contract/rpc.js';
import { probeCapabilities } from './capabilities.js';
import { deviceMethods, dmaInFlight } from './devices.js';
import { toRpcError } from './errors.js';
import { execCommand } from './exec.js';
import { bootId, gatherFacts, gatherHello } from './facts.js';
import type { Logger } from './log.js';
import { luoMethods } from './luo.js';
import { fill, memoryMethods } from './memory.js';
import { exec as kexecExec, load as kexecLoad } from './reboot.js';
import { permitFor } from './safety.js';
import { AgentState } from './state.js';
import type { Transport } from './transport.js';

export interface AgentOptions {
  transport: Transport;
  log: Logger;
  disposable: boolean;
}

export async function runAgent(opts: AgentOptions): Promise<void> {
  const { transport, log, disposable } = opts;
  const state = new AgentState();
  const permit = permitFor(disposable);
  // Tried once per boot, when first asked: the answers cannot change until the next kernel.
  let capabilities: MachineFacts['capabilities'] | undefined;
  const facts = () => {
    if (!capabilities) {
      try {
        capabilities = probeCapabilities(state);
      } catch (e) {
        capabilities = { error: (e as Error).message };
      }
      log.info({ capabilities }, 'probed what this kernel offers');
    }
    return gatherFacts(capabilities);
  };
  const peer: RpcPeer<None, None, AgentNotifications> = new RpcPeer(
    (line) => transport.write(line),
    {
      spec: AGENT_METHODS,
      handlers: methods(),
      toError: toRpcError,
    },
    (garbage) => log.warn({ garbage: garbage.slice(0, 200) }, 'ignored a line that is not JSON-RPC'),
  );
  function methods(): Handlers<AgentMethods> {
    return {
      hello: () => gatherHello(disposable),
      facts,
      ping: () => ({ bootId: bootId(), time: Date.now() }),
      stats: () => ({ rssBytes: process.memoryUsage().rss, heapUsedBytes: process.memoryUsage().heapUsed }),
      exec: (p, ctx) => execCommand(p, ctx.deadline, permit),
      ...deviceMethods(state, permit),
      ...memoryMethods(state),
      ...luoMethods(state, permit),
      'kexec-load': (p) => kexecLoad(p, permit),
      // Nothing is let go first: devices may still be doing DMA, and LUO needs the session fds open.
      'kexec-exec': (p) => {
        // Refused now, while the answer can still say so: the rewrite itself runs after the answer.
        for (const b of p.rewrite) state.existing(b.name);
        // The uAPI: a preserved device's interrupts are off before the kexec (its DMA may go on).
        const interruptsOff = [...state.preservedDevices];
        return kexecExec(
          permit,
          dmaInFlight(state),
          interruptsOff,
          () => {
            for (const name of interruptsOff) state.devices.get(name)?.disableInterrupts();
            const written = fill(state, { buffers: p.rewrite });
            log.info({ rewritten: p.rewrite.map((b) => b.name), ...written }, 'executing the loaded kernel');
          },
          (failure) => peer.notify('kexec-failed', failure),
        );
      },
      release: async () => {
        await state.release();
        return {};
      },
    };
  }
  const first = gatherHello(disposable);
  // Reading starts first: its first read starts libuv's thread pool, which is then done while the log line below
  // waits on 9p, instead of after it, when the orchestrator's first request has already arrived.
  const running = transport.run((chunk) => peer.push(chunk));
  // Announce this boot unasked: across a kexec the orchestrator waits for exactly this. Before the log line (a
  // synchronous write over 9p in a guest): the time from the hello's uptime to its arrival counts as the kernel's.
  peer.notify('hello', first);
  log.info({ bootId: first.bootId, release: first.release, disposable }, 'agent up');
  await running;
  log.info('channel closed; agent exits');
}
