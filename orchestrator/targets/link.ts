// What every target kind shares: the JSON-RPC link to its agent, the hellos
// that arrive on it (one per boot), and the one-way signal that the machine
// is lost.

import type { Hello } from '../../contract/agent.js';
import { RpcPeer } from '../../contract/rpc.js';
import type { Logger } from '../log.js';
import { TargetLostError, type AgentClient } from './target.js';

/** Set once when the target is gone; waiters learn of it however late they ask. */
export class LossSignal {
  private error?: TargetLostError;
  private readonly listeners = new Set<(e: TargetLostError) => void>();
  private promise?: Promise<TargetLostError>;

  get current(): TargetLostError | undefined {
    return this.error;
  }

  set(error: TargetLostError): void {
    if (this.error) return;
    this.error = error;
    for (const l of this.listeners) l(error);
    this.listeners.clear();
  }

  subscribe(fn: (e: TargetLostError) => void): () => void {
    if (this.error) {
      fn(this.error);
      return () => {};
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** One promise for all callers (called once per step in long soaks: no listener pile-up). */
  wait(): Promise<TargetLostError> {
    this.promise ??= new Promise((resolve) => this.subscribe(resolve));
    return this.promise;
  }
}

export class AgentLink {
  readonly rpc: AgentClient;
  private lastHello?: Hello;
  private readonly helloListeners = new Set<(h: Hello) => void>();

  constructor(
    private readonly target: string,
    write: (line: string) => void,
    log: Logger,
    private readonly loss: LossSignal,
    private readonly excerpt: () => string[],
  ) {
    this.rpc = new RpcPeer(write, undefined, (garbage) =>
      log.debug({ target, garbage: garbage.slice(0, 300) }, 'non-protocol bytes on the agent channel'),
    );
    this.rpc.on('hello', (hello) => {
      const before = this.lastHello;
      // The same boot with another agent: the old one died (the guest's init restarts it), and with it every
      // answer still owed; say so now rather than at each request's deadline.
      if (before && before.bootId === hello.bootId && before.pid !== hello.pid) {
        log.warn({ target, from: before.pid, to: hello.pid }, 'the agent was restarted');
        this.rpc.abandon(
          `the agent died during this request (pid ${before.pid}; the machine started agent pid ${hello.pid})`,
        );
      }
      this.lastHello = hello;
      for (const l of this.helloListeners) l(hello);
    });
  }

  push(chunk: Buffer | string): void {
    this.rpc.push(chunk);
  }

  /** The byte stream was cut (a session ended mid-line): drop the partial line. */
  decoderReset(): void {
    this.rpc.decoder.reset();
  }

  /** The next hello from a boot other than `previousBootId` (any boot if none), or why it never came. */
  waitForHello(deadlineMs: number, previousBootId?: string): Promise<Hello> {
    const fresh = (h: Hello | undefined): h is Hello => h !== undefined && h.bootId !== previousBootId;
    if (fresh(this.lastHello)) return Promise.resolve(this.lastHello);
    return new Promise<Hello>((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      const finish = (fn: () => void) => {
        cleanups.forEach((c) => c());
        fn();
      };
      const onHello = (h: Hello) => {
        if (fresh(h)) finish(() => resolve(h));
      };
      this.helloListeners.add(onHello);
      cleanups.push(() => this.helloListeners.delete(onHello));
      const timer = setTimeout(() => {
        const what = previousBootId ? 'a new boot' : 'the agent';
        finish(() =>
          reject(
            new TargetLostError(
              this.target,
              'deadline',
              `no hello from ${what} within ${Math.round(deadlineMs / 1000)} s`,
              this.excerpt(),
            ),
          ),
        );
      }, deadlineMs);
      cleanups.push(() => clearTimeout(timer));
      cleanups.push(this.loss.subscribe((lost) => finish(() => reject(lost))));
    });
  }
}
