// Register loads and stores through a BAR's mapping, each exactly one access
// of its width, as the kernel's readl/writel make: a typed array element of
// that width over the mapped bytes. V8 on x86-64 gives a typed array element
// access as one load or store of the element's size in every tier (the
// compiled code's machine load/store of the element representation, the
// runtime's aligned copy of one element), and keeps effectful accesses in
// program order; the edu guest tests fail if it did not (drivers/README.md).
// Measured under TCG: an igb EICS store 14 µs this way, 81 µs as a
// koffi.encode call.

import { view } from '../../sys/libc.js';

export type Width = 1 | 2 | 4 | 8;

/**
 * Views over one MiB of the mapping each, made when first used: a BAR can be larger than one view may be (4 GiB:
 * see view() in sys/libc.ts), and a register access never straddles a window (it is aligned to its width).
 */
const WINDOW_BYTES = 2 ** 20;

class Window {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly u64: BigUint64Array;

  constructor(address: bigint, length: number) {
    this.u8 = view(address, length);
    const { buffer } = this.u8;
    this.u16 = new Uint16Array(buffer, 0, length >> 1);
    this.u32 = new Uint32Array(buffer, 0, length >> 2);
    this.u64 = new BigUint64Array(buffer, 0, length >> 3);
  }
}

export class MmioAccess {
  private readonly windows = new Map<number, Window>();

  constructor(
    private readonly address: bigint,
    private readonly size: number,
  ) {}

  /** One load of `width` bytes at `offset` (aligned, inside a mapped area: the caller checks). */
  load(offset: number, width: Width): number | bigint {
    const w = this.window(offset);
    const i = (offset % WINDOW_BYTES) / width;
    if (width === 1) return w.u8[i]!;
    if (width === 2) return w.u16[i]!;
    if (width === 4) return w.u32[i]!;
    return w.u64[i]!;
  }

  /** One store of `width` bytes at `offset` (aligned, inside a mapped area: the caller checks). */
  store(offset: number, width: Width, value: number | bigint): void {
    const w = this.window(offset);
    const i = (offset % WINDOW_BYTES) / width;
    if (width === 1) w.u8[i] = value as number;
    else if (width === 2) w.u16[i] = value as number;
    else if (width === 4) w.u32[i] = value as number;
    else w.u64[i] = value as bigint;
  }

  /** The 32-bit view holding the register at `offset` and its index there (aligned, mapped: the caller checks). */
  word32(offset: number): { words: Uint32Array; index: number } {
    return { words: this.window(offset).u32, index: (offset % WINDOW_BYTES) / 4 };
  }

  private window(offset: number): Window {
    const n = Math.floor(offset / WINDOW_BYTES);
    let w = this.windows.get(n);
    if (!w) {
      const start = n * WINDOW_BYTES;
      w = new Window(this.address + BigInt(start), Math.min(WINDOW_BYTES, this.size - start));
      this.windows.set(n, w);
    }
    return w;
  }
}
