// An interrupt vector's eventfd: VFIO signals it once per interrupt; reading
// it returns how many arrived since the last read and resets it to zero.
// Reads never block the event loop (the fd is non-blocking; waits poll on a
// koffi worker thread).

import { close, eventfd, pollReadable, readNonBlocking, type CallContext } from '../../sys/libc.js';

/** How long a wait watches the eventfd itself before it polls from a worker thread. */
const SPIN_MS = 1;

export class EventCounter {
  readonly fd: number;
  private readonly buf = Buffer.alloc(8);

  constructor(private readonly ctx: CallContext = {}) {
    this.fd = eventfd(undefined, ctx);
  }

  /** Interrupts counted since the last take (0 if none), without waiting. */
  take(): number {
    const n = readNonBlocking(this.fd, this.buf, this.ctx);
    return n === undefined ? 0 : Number(this.buf.readBigUInt64LE(0));
  }

  /**
   * Like take, but waits up to `waitMs` for the first interrupt if none is pending: watched for directly for the
   * first SPIN_MS (an interrupt a device raises at once is there within microseconds, and handing the wait to a worker
   * thread and back costs tens of them under TCG), then by a poll on a worker thread.
   */
  async wait(waitMs: number): Promise<number> {
    // Looked at before the clock is: an interrupt raised by the caller's own register write is usually there already.
    let now = this.take();
    if (now) return now;
    const started = performance.now();
    const spin = Math.min(waitMs, SPIN_MS);
    while (!now && performance.now() - started < spin) now = this.take();
    if (now || waitMs <= spin) return now;
    return (await pollReadable(this.fd, waitMs - spin, this.ctx)) ? this.take() : 0;
  }

  close(): void {
    close(this.fd, this.ctx);
  }
}
