// Following a machine through a kexec: the exec request races the reboot
// that takes its answer away, the new boot's hello races the deadline and a
// "kexec-failed" notification. The blackout runs from the agent's answer (the
// last thing the old kernel did) to the new agent's hello, or from the request
// when the reboot won the race with the answer.

import type { AgentNotifications, AgentResult, DmaInFlight, Hello } from '../../contract/agent.js';
import { ERR, RpcError } from '../../contract/rpc.js';
import { TargetLostError } from '../targets/target.js';

/** What following a reboot needs of a target. */
export interface RebootLink {
  /** Sends kexec-exec; the agent answers before it calls reboot(2), if the reboot lets the answer out. */
  execute(timeoutMs: number): Promise<AgentResult<'kexec-exec'>>;
  onKexecFailed(fn: (failure: AgentNotifications['kexec-failed']) => void): () => void;
  /** The next hello from a boot other than `previousBootId`, or a TargetLostError. */
  waitForHello(deadlineMs: number, previousBootId: string): Promise<Hello>;
}

export interface Reboot {
  hello: Hello;
  /** When the new agent said hello (epoch ms). */
  at: number;
  blackoutMs: number;
  /**
   * Copies running at the exec; undefined when the answer never came (the blackout is then measured from the request).
   */
  dmaInFlight?: DmaInFlight[];
  /** Preserved devices whose interrupts the agent turned off before the exec (absent with the answer). */
  interruptsOff?: string[];
  /** Where the blackout went, where the new boot could say. */
  breakdown?: BlackoutBreakdown;
}

/**
 * A blackout taken apart, in ms. `kernelMs` is the figure to quote for "how long was the machine gone": from the exec
 * to the new kernel's init, lustress's own start-up left out. The rest is whose it says.
 */
export interface BlackoutBreakdown {
  /** Exec to init: the old kernel's shutdown, the jump, the new kernel's boot. The kernel's part. */
  kernelMs: number;
  /** Exec to the new kernel's clock starting (shutdown, kexec jump, decompression; and the hello's transit). */
  shutdownMs: number;
  /** The new kernel's clock start to init. */
  bootMs: number;
  /** Init to the agent's process: the init script (lustress's in a guest, the distribution's on a host). */
  initMs: number;
  /** The agent's process to its hello: Node starting and loading the agent. lustress's part. */
  agentMs: number;
  /** Of agentMs: Node's own bootstrap (the binary, over 9p in a guest), where the hello says. */
  nodeMs?: number;
}

/** The breakdown from the new boot's hello (its uptime and startup times), or undefined where it lacks them. */
export function blackoutBreakdown(
  blackoutMs: number,
  hello: Pick<Hello, 'uptimeMs' | 'startup'>,
): BlackoutBreakdown | undefined {
  const s = hello.startup;
  // A clock that disagrees with the blackout (an uptime longer than it) says nothing about this reboot.
  if (!s || hello.uptimeMs > blackoutMs || s.initMs > s.agentMs || s.agentMs > hello.uptimeMs) return undefined;
  const shutdownMs = blackoutMs - hello.uptimeMs;
  const round = (v: number) => Math.round(v);
  return {
    kernelMs: round(shutdownMs + s.initMs),
    shutdownMs: round(shutdownMs),
    bootMs: round(s.initMs),
    initMs: round(s.agentMs - s.initMs),
    agentMs: round(hello.uptimeMs - s.agentMs),
    ...(s.nodeReadyMs !== undefined ? { nodeMs: round(s.nodeReadyMs - s.agentMs) } : {}),
  };
}

/** How long the agent may take to confirm a kexec-exec before the reboot takes it away. */
export const EXEC_ACK_MS = 15_000;

export async function followReboot(link: RebootLink, previousBootId: string, deadlineMs: number): Promise<Reboot> {
  const sent = Date.now();
  const ack = link.execute(EXEC_ACK_MS).then(
    (r) => ({ at: Date.now(), dmaInFlight: r.inFlight.dma, interruptsOff: r.interruptsOff }),
    (e: unknown) => {
      // No answer is normal when the reboot wins the race with the reply; a refusal is not.
      if (e instanceof TargetLostError) throw e;
      if (e instanceof RpcError && e.code !== ERR.deadline && !e.data.lost) throw e;
      return undefined;
    },
  );
  let stopListening = () => {};
  const refused = new Promise<never>((_, reject) => {
    stopListening = link.onKexecFailed((failure) =>
      reject(new RpcError(ERR.failed, failure.message || 'the kernel did not execute the loaded image', failure)),
    );
  });
  const next = Promise.race([link.waitForHello(deadlineMs, previousBootId), refused]).then((hello) => ({
    hello,
    at: Date.now(),
  }));
  // Whichever loses a race below still settles; its outcome is taken from the other.
  ack.catch(() => {});
  next.catch(() => {});
  try {
    const first = await Promise.race([ack.then((a) => ({ ack: a })), next.then((n) => ({ next: n }))]);
    const acked = 'ack' in first ? first.ack : undefined;
    const { hello, at } = await next;
    const instant = acked?.at ?? sent;
    const answered = acked ? { dmaInFlight: acked.dmaInFlight, interruptsOff: acked.interruptsOff } : {};
    const blackoutMs = at - instant;
    const breakdown = blackoutBreakdown(blackoutMs, hello);
    return { hello, at, blackoutMs, ...answered, ...(breakdown ? { breakdown } : {}) };
  } finally {
    stopListening();
  }
}
