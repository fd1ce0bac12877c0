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
    return { hello, at, blackoutMs: at - instant, ...answered };
  } finally {
    stopListening();
  }
}
