// Falcon DMA as copies: planning (a copy split into transfers the engine
// accepts), the register writes of one transfer, and the asynchronous
// sequence of a batch. The engine runs one transfer at a time (the kernel's
// driver says so); a copy is, per chunk, a DMA read from system memory into
// DMEM and a DMA write from DMEM out. The sequence issues a transfer, polls
// the CMD done bit, and issues the next as each completes, in slices of the
// event loop so the agent stays responsive. Pure apart from the registers
// it is given, so the unit test drives it against a simulated register file.

import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import {
  NV_FALCON_C,
  NV_FALCON_DMA_ADDR_HIGH_OFFSET,
  NV_FALCON_DMA_ADDR_LOW_OFFSET,
  NV_FALCON_DMA_BLOCK_OFFSET,
  NV_FALCON_DMA_BLOCK_SIZE,
  NV_FALCON_DMA_CMD_DONE_BIT,
  NV_FALCON_DMA_CMD_OFFSET,
  NV_FALCON_DMA_CMD_SIZE_SHIFT,
  NV_FALCON_DMA_CMD_WRITE_BIT,
  NV_FALCON_DMA_MAX_TRANSFER_SIZE,
  NV_FALCON_DMA_MEM_OFFSET,
  NV_FALCON_DMA_MIN_TRANSFER_SIZE,
  NV_GPU_DMA_ADDR_TOP_BITS_REG,
  type FalconRegs,
} from './hw.js';
import { hex, type Registers } from './io.js';

/** One piece of a copy: `size` bytes at `offset` from its start, moved by one read and one write. */
export interface Chunk {
  offset: number;
  size: number;
}

/** Largest power of two not above n (1 <= n < 2^31). */
const floorPow2 = (n: number): number => 1 << (31 - Math.clz32(n));
/** Bytes from `address` to the end of its DMA block, as the largest aligned power of two (dma_block_remain). */
function blockRemain(address: bigint): number {
  const offset = Number(address % BigInt(NV_FALCON_DMA_BLOCK_SIZE));
  return offset === 0 ? NV_FALCON_DMA_BLOCK_SIZE : offset & -offset;
}

/**
 * A copy's chunks, as nv_falcon_memcpy_wait decomposes it: each the largest power of two that fits the rest and
 * crosses no block boundary at either end, so aligned to its size at both; addresses and size must be multiples of 4.
 */
export function planCopy(src: bigint, dst: bigint, size: number): Chunk[] {
  const m = NV_FALCON_DMA_MIN_TRANSFER_SIZE;
  if (!Number.isInteger(size) || size < m || size % m)
    throw new RangeError(`nv_falcon copies whole ${m}-byte words: size ${size} is not a positive multiple of ${m}`);
  for (const [which, address] of [
    ['src', src],
    ['dst', dst],
  ] as const) {
    if (address % BigInt(m))
      throw new RangeError(`nv_falcon: ${which} 0x${address.toString(16)} is not ${m}-byte aligned`);
  }
  const chunks: Chunk[] = [];
  for (let offset = 0; offset < size;) {
    const at = BigInt(offset);
    const rest = Math.min(size - offset, NV_FALCON_DMA_MAX_TRANSFER_SIZE);
    const chunk = Math.min(floorPow2(rest), blockRemain(src + at), blockRemain(dst + at));
    chunks.push({ offset, size: chunk });
    offset += chunk;
  }
  return chunks;
}

/** The CMD size field for a transfer of `size` bytes: log2(size) - 2 (size_to_dma_encoding). */
export function sizeCode(size: number): number {
  if (size < NV_FALCON_DMA_MIN_TRANSFER_SIZE || size > NV_FALCON_DMA_MAX_TRANSFER_SIZE || size & (size - 1))
    throw new RangeError(`a falcon DMA transfer is a power of two of 4..256 bytes, not ${size}`);
  return Math.log2(size) - 2;
}

/** The CMD word that starts a transfer: a read (memory into DMEM) or a write (DMEM out to memory). */
export function dmaCommand(size: number, write: boolean): number {
  return ((sizeCode(size) << NV_FALCON_DMA_CMD_SIZE_SHIFT) | (write ? NV_FALCON_DMA_CMD_WRITE_BIT : 0)) >>> 0;
}

/** One DMA transfer. */
export interface Transfer {
  write: boolean;
  /** The system-memory (IOVA) side. */
  address: bigint;
  size: number;
  /** The DMEM side. */
  dmem: number;
}

/** The register writes that start a transfer, in nv_falcon_dma's order (the CMD write starts it). */
export function transferWrites(falcon: FalconRegs, t: Transfer): [offset: number, value: number][] {
  const C = NV_FALCON_C;
  const field = (shift: bigint, mask: bigint): number => Number((t.address >> shift) & mask);
  const base = falcon.basePage;
  return [
    [NV_GPU_DMA_ADDR_TOP_BITS_REG, field(C.ADDR_TOP_SHIFT, C.ADDR_TOP_MASK)],
    [base + NV_FALCON_DMA_ADDR_HIGH_OFFSET, field(C.ADDR_HIGH_SHIFT, C.ADDR_HIGH_MASK)],
    [base + NV_FALCON_DMA_ADDR_LOW_OFFSET, field(C.ADDR_LOW_SHIFT, C.ADDR_LOW_MASK)],
    [base + NV_FALCON_DMA_BLOCK_OFFSET, field(0n, C.ADDR_BLOCK_MASK)],
    [base + NV_FALCON_DMA_MEM_OFFSET, t.dmem],
    [base + NV_FALCON_DMA_CMD_OFFSET, dmaCommand(t.size, t.write)],
  ];
}

/** A batch: `count` copies of the same chunks, each chunk a read then a write through the staging DMEM. */
export interface Plan {
  src: bigint;
  dst: bigint;
  size: number;
  count: number;
  chunks: readonly Chunk[];
  /** Transfers in all: count × chunks × 2. */
  total: number;
}

/** Plans `count` copies of one size: the chunks once, since every copy of a batch is the same. */
export function planBatch(src: bigint, dst: bigint, size: number, count: number): Plan {
  const chunks = planCopy(src, dst, size);
  return { src, dst, size, count, chunks, total: count * chunks.length * 2 };
}

/** Where transfer `i` of a batch is: which copy, which chunk, read or write. */
export function transferAt(plan: Plan, i: number): Transfer & { copy: number; chunk: number } {
  const perCopy = plan.chunks.length * 2;
  const chunk = Math.floor((i % perCopy) / 2);
  const { offset, size } = plan.chunks[chunk]!;
  const write = i % 2 === 1;
  return {
    copy: Math.floor(i / perCopy),
    chunk,
    write,
    address: (write ? plan.dst : plan.src) + BigInt(offset),
    size,
    dmem: NV_FALCON_C.DMEM_STAGING,
  };
}

/** Why a batch stopped short, by name. */
export type FailureKind = 'dma-timeout' | 'bus-error' | 'pri-error' | 'deadline';

export interface Failure {
  kind: FailureKind;
  message: string;
  /** The transfer in flight (or next) when it stopped. */
  transfer: number;
  cmd: number;
}

export interface Outcome {
  /** Transfers completed. */
  done: number;
  total: number;
  /** The batch stopped because the driver asked (remove), not because of a failure. */
  stopped: boolean;
  failure?: Failure;
}

/** What one look at the engine found. */
type Look = 'busy' | 'issued' | 'finished' | 'halted' | Failure;

/** Synchronous work per slice before the event loop gets a turn. */
const SLICE_MS = 1;
/** A transfer pending longer than this is slow: poll it with timers instead of spinning. */
const SPIN_MS = 2;
const SLOW_POLL_MS = 1;
/** The upper half a PRI (register bus) error reads as, as in NV_FALCON_MAILBOX_RESET_MAGIC and the OFA check. */
const PRI_ERROR_TAG = NV_FALCON_C.OFA_UNSUPPORTED_TAG;

export class DmaSequence {
  /** Index of the transfer in flight (issued, not yet seen done). */
  private current = 0;
  private issuedAt = 0;

  constructor(
    private readonly regs: Registers,
    private readonly falcon: FalconRegs,
    readonly plan: Plan,
    private readonly timeoutMs: number = NV_FALCON_C.DMA_DONE_TIMEOUT_MS,
  ) {}

  /** Issues the first transfer; returns at once. */
  start(): void {
    this.issue(0);
  }

  /**
   * One look at CMD: an error value, done (then the next transfer goes out if `mayIssue`), or still busy (a timeout
   * once it has been for timeoutMs).
   */
  step(now: number, mayIssue: boolean): Look {
    const cmd = this.regs.read32(this.falcon.basePage + NV_FALCON_DMA_CMD_OFFSET) >>> 0;
    if (cmd === 0xffffffff)
      return this.failure('bus-error', 'CMD reads 0xffffffff: the GPU stopped answering on BAR0', cmd);
    if (cmd >>> 16 === PRI_ERROR_TAG)
      return this.failure('pri-error', `CMD reads ${hex(cmd)}: the falcon's registers are not reachable`, cmd);
    if (cmd & NV_FALCON_DMA_CMD_DONE_BIT) {
      this.current++;
      if (this.current === this.plan.total) return 'finished';
      if (!mayIssue) return 'halted';
      this.issue(this.current, now);
      return 'issued';
    }
    if (now - this.issuedAt >= this.timeoutMs)
      return this.failure('dma-timeout', `not done after ${this.timeoutMs} ms (CMD ${hex(cmd)})`, cmd);
    return 'busy';
  }

  /**
   * Drives the batch to its end: every transfer done, a failure, the deadline (epoch ms; the transfer in flight is
   * let finish) or `stopping()`. Yields to the event loop after each slice of work.
   */
  async run(deadline: number, stopping: () => boolean): Promise<Outcome> {
    for (;;) {
      const sliceEnd = performance.now() + SLICE_MS;
      let result: Look;
      do result = this.step(performance.now(), Date.now() < deadline && !stopping());
      while ((result === 'busy' || result === 'issued') && performance.now() < sliceEnd);
      if (result === 'finished') return this.outcome(false);
      if (result === 'halted') {
        if (stopping()) return this.outcome(true);
        return this.outcome(false, {
          kind: 'deadline',
          message: `the deadline passed with ${this.current} of ${this.plan.total} transfers done`,
          transfer: this.current,
          cmd: this.regs.read32(this.falcon.basePage + NV_FALCON_DMA_CMD_OFFSET) >>> 0,
        });
      }
      if (typeof result === 'object') return this.outcome(false, result);
      await (performance.now() - this.issuedAt > SPIN_MS ? sleep(SLOW_POLL_MS) : yieldToLoop());
    }
  }

  /** Writes transfer i's registers; the CMD write starts it. */
  private issue(i: number, now = performance.now()): void {
    for (const [offset, value] of transferWrites(this.falcon, transferAt(this.plan, i)))
      this.regs.write32(offset, value);
    this.issuedAt = now;
  }

  /** A named failure of the transfer in flight, saying which transfer of which copy it was. */
  private failure(kind: FailureKind, what: string, cmd: number): Failure {
    const t = transferAt(this.plan, this.current);
    const memory = `0x${t.address.toString(16)}+${t.size}`;
    const dmem = `DMEM ${hex(t.dmem)}`;
    const path = t.write ? `${dmem} -> ${memory}` : `${memory} -> ${dmem}`;
    const message = `DMA ${t.write ? 'write' : 'read'} of copy ${t.copy} chunk ${t.chunk} (${path}): ${what}`;
    return { kind, message, transfer: this.current, cmd };
  }

  /** The result of the batch as it stands. */
  private outcome(stopped: boolean, failure?: Failure): Outcome {
    return { done: this.current, total: this.plan.total, stopped, ...(failure ? { failure } : {}) };
  }
}
