// An interrupt vector's eventfd: VFIO signals it once per interrupt; reading
// it returns how many arrived since the last read and resets it to zero.
// Reads never block the event loop (the fd is non-blocking; waits poll on a
// koffi worker thread).

import { close, eventfd, pollReadable, readNonBlocking, type CallContext } from '../../sys/libc.js';

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

  /** Like take, but waits up to `waitMs` for the first interrupt if none is pending. */
  async wait(waitMs: number): Promise<number> {
    const now = this.take();
    if (now || waitMs <= 0) return now;
    return (await pollReadable(this.fd, waitMs, this.ctx)) ? this.take() : 0;
  }

  close(): void {
    close(this.fd, this.ctx);
  }
}
