// An interrupt vector's eventfd: VFIO signals it once per interrupt; reading
// it returns how many arrived since the last read and resets it to zero.
// Reads never block the event loop (the fd is non-blocking; waits poll on a
// koffi worker thread).

import {
  allocNative,
  close,
  eventfd,
  freeNative,
  pollReadable,
  readNonBlockingAt,
  type CallContext,
} from '../../sys/libc.js';

/** How long a wait watches the eventfd itself before it polls from a worker thread. */
const SPIN_MS = 1;

export class EventCounter {
  readonly fd: number;
  /** The 8-byte count each read returns, in native memory (see readNonBlockingAt). */
  private readonly cell = allocNative(8);
  private readonly count = new BigUint64Array(this.cell.bytes.buffer, this.cell.bytes.byteOffset, 1);
  /** Once closed, the fd's number may belong to another file: a read must not reach it. */
  private closed = false;

  constructor(private readonly ctx: CallContext = {}) {
    this.fd = eventfd(undefined, ctx);
  }

  /** Interrupts counted since the last take (0 if none), without waiting. */
  take(): number {
    if (this.closed) throw new Error(`eventfd ${this.fd}${this.ctx.bdf ? ` of ${this.ctx.bdf}` : ''} is closed`);
    const n = readNonBlockingAt(this.fd, this.cell.address, 8, this.ctx);
    return n === undefined ? 0 : Number(this.count[0]);
  }

  /**
   * Like take, but waits up to `waitMs` for the first interrupt if none is pending. Not itself async: an interrupt
   * already counted (usually so, when the caller's own register write raised it) is answered without one more promise
   * to settle, which costs about 8 µs under TCG on every sendMsi.
   */
  wait(waitMs: number): Promise<number> {
    const now = this.take();
    return now ? Promise.resolve(now) : this.watch(waitMs);
  }

  /**
   * Watched for directly for the first SPIN_MS (an interrupt a device raises at once is there within microseconds,
   * and handing the wait to a worker thread and back costs tens of them under TCG), then by a poll on a worker thread.
   */
  private async watch(waitMs: number): Promise<number> {
    let now = 0;
    const started = performance.now();
    const spin = Math.min(waitMs, SPIN_MS);
    while (!now && performance.now() - started < spin) now = this.take();
    if (now || waitMs <= spin) return now;
    return (await pollReadable(this.fd, waitMs - spin, this.ctx)) ? this.take() : 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd, this.ctx);
    freeNative(this.cell.address);
  }
}
