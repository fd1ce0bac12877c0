// A copy of any size, any number of times, kept running in the background:
// what the memcpy-start step starts and memcpy-wait waits for. The driver
// takes one batch at a time (at most maxMemcpySize bytes, maxMemcpyCount
// copies); the stream feeds it batch after batch, so the device stays busy
// for as long as the copy lasts — through a kexec, if that comes first.

import type { Driver } from '../drivers/ops.js';

/** A single batch that takes longer than this has wedged the device. */
const BATCH_DEADLINE_MS = 10 * 60_000;

interface Batch {
  offset: number;
  length: number;
  copies: number;
}

/** Each chunk of the copy, repeated in batches of up to `maxCopies` copies. */
function* batchesOf(size: number, count: number, maxSize: number, maxCopies: number): Generator<Batch> {
  const chunk = Math.min(size, maxSize);
  const perBatch = Math.min(count, maxCopies);
  for (let done = 0; done < count; done += perBatch) {
    for (let offset = 0; offset < size; offset += chunk) {
      yield { offset, length: Math.min(chunk, size - offset), copies: Math.min(perBatch, count - done) };
    }
  }
}

export class DmaStream {
  /** What the copy will move in all (size × count). */
  readonly plannedBytes: number;
  /** What completed batches moved so far. */
  bytesDone = 0;
  batches = 0;
  private current?: Batch;
  private failure?: Error;
  private stopped = false;
  private settled = false;
  private readonly plan: Generator<Batch>;
  private readonly finished: Promise<void>;

  constructor(
    private readonly driver: Driver,
    private readonly src: bigint,
    private readonly dst: bigint,
    size: number,
    count: number,
  ) {
    this.plannedBytes = size * count;
    this.plan = batchesOf(size, count, driver.maxMemcpySize, driver.maxMemcpyCount);
    // The first batch starts now, so the step returns with DMA under way (and a bad argument throws here).
    const started = this.startNext();
    this.finished = this.run(started).finally(() => (this.settled = true));
    this.finished.catch(() => {});
  }

  private startNext(): boolean {
    const next = this.plan.next();
    if (next.done) return false;
    const { offset, length, copies } = next.value;
    this.driver.memcpyStart(this.src + BigInt(offset), this.dst + BigInt(offset), length, copies);
    this.current = next.value;
    this.batches++;
    return true;
  }

  private async run(started: boolean): Promise<void> {
    for (let inFlight = started; inFlight; inFlight = !this.stopped && this.startNext()) {
      try {
        await this.driver.memcpyWait(BATCH_DEADLINE_MS);
        this.bytesDone += this.current!.length * this.current!.copies;
      } catch (e) {
        this.failure = e as Error;
        return;
      }
      // A batch can be done before the wait looks (QEMU copies during the doorbell write); without a
      // turn of the event loop here the stream would run on microtasks alone and the agent go deaf.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Resolves when every copy is done; rejects with the device's error. */
  async wait(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the copies were not done within ${deadlineMs} ms (${this.batches} batch(es) started)`)),
        deadlineMs,
      );
    });
    try {
      await Promise.race([this.finished, late]);
    } finally {
      clearTimeout(timer);
    }
    if (this.failure) throw this.failure;
  }

  /** Starts no further batch; the one in flight ends when the driver is removed. */
  stop(): void {
    this.stopped = true;
  }

  /** Started, not stopped, not failed, not finished: the device may be copying right now. */
  get running(): boolean {
    return !this.stopped && this.failure === undefined && this.current !== undefined && !this.settled;
  }
}
