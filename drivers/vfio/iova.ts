// IOVA allocation inside the ranges an IOMMU address space allows, below a
// per-device address limit (QEMU's edu decodes only 28 address bits).
// First fit, freed ranges reused; pure bookkeeping, no system calls.

export interface IovaRange {
  start: bigint;
  /** Inclusive, as the kernel reports it. */
  last: bigint;
}

export const PAGE_SIZE = 4096n;
const HUGE_PAGE = 2n << 20n;

export interface AllocateOptions {
  /** Addresses must stay below this (exclusive), e.g. 1n << 28n for a 28-bit DMA mask. */
  limit?: bigint;
  /**
   * Exactly this IOVA (page-aligned), or an error saying why not: a preserved device's mappings are rebuilt at the
   * addresses they had before the reboot.
   */
  at?: bigint;
  /**
   * Defaults to the size rounded up to a power of two, at least a page and at most 2 MiB (so huge IOPTEs can be used).
   */
  align?: bigint;
}

export function defaultAlignment(size: bigint): bigint {
  let align = PAGE_SIZE;
  while (align < size && align < HUGE_PAGE) align <<= 1n;
  return align;
}

const alignUp = (v: bigint, a: bigint): bigint => ((v + a - 1n) / a) * a;

export class IovaAllocator {
  /** Allocated [start, end) intervals, sorted by start. */
  private readonly used: { start: bigint; end: bigint }[] = [];

  /**
   * A free, aligned IOVA for `size` bytes (rounded up to pages) inside
   * `ranges` and below `limit`. IOVA 0's page is never handed out: several
   * devices read a zero address as "no buffer" (igb skips such receive
   * descriptors).
   */
  allocate(size: bigint, ranges: IovaRange[], opts: AllocateOptions = {}): bigint {
    if (size <= 0n) throw new Error(`cannot allocate ${size} bytes of IOVA space`);
    const length = alignUp(size, PAGE_SIZE);
    const limit = opts.limit ?? 1n << 64n;
    if (opts.at !== undefined) return this.place(opts.at, length, ranges, limit);
    const align = opts.align ?? defaultAlignment(length);
    for (const range of [...ranges].sort((a, b) => (a.start < b.start ? -1 : 1))) {
      const top = range.last + 1n < limit ? range.last + 1n : limit;
      let candidate = alignUp(range.start > PAGE_SIZE ? range.start : PAGE_SIZE, align);
      for (const u of this.used) {
        if (u.end <= candidate) continue;
        if (u.start >= candidate + length) break;
        candidate = alignUp(u.end, align);
      }
      if (candidate + length <= top) {
        this.insert(candidate, candidate + length);
        return candidate;
      }
    }
    const where = opts.limit !== undefined ? ` below 0x${opts.limit.toString(16)}` : '';
    throw new Error(`no free IOVA range of ${length} bytes (aligned to 0x${align.toString(16)})${where}`);
  }

  /** The interval [at, at + length) if it is free and allowed; an error naming what is in the way otherwise. */
  private place(at: bigint, length: bigint, ranges: IovaRange[], limit: bigint): bigint {
    const hex = (v: bigint) => `0x${v.toString(16)}`;
    const end = at + length;
    if (at % PAGE_SIZE !== 0n) throw new Error(`IOVA ${hex(at)} is not page-aligned`);
    if (at < PAGE_SIZE) throw new Error(`IOVA ${hex(at)} is in page 0, which is never mapped`);
    if (end > limit) throw new Error(`IOVA ${hex(at)}..${hex(end - 1n)} reaches past the device's limit ${hex(limit)}`);
    if (!ranges.some((r) => at >= r.start && end - 1n <= r.last))
      throw new Error(
        `IOVA ${hex(at)}..${hex(end - 1n)} is not inside one range the IOMMU allows (${ranges.map((r) => `${hex(r.start)}..${hex(r.last)}`).join(', ')})`,
      );
    const taken = this.used.find((u) => u.start < end && at < u.end);
    if (taken)
      throw new Error(
        `IOVA ${hex(at)}..${hex(end - 1n)} overlaps a mapping at ${hex(taken.start)}..${hex(taken.end - 1n)}`,
      );
    this.insert(at, end);
    return at;
  }

  release(iova: bigint): void {
    const i = this.used.findIndex((u) => u.start === iova);
    if (i < 0) throw new Error(`IOVA 0x${iova.toString(16)} was not allocated here`);
    this.used.splice(i, 1);
  }

  /** Bytes currently allocated. */
  get allocatedBytes(): bigint {
    return this.used.reduce((sum, u) => sum + (u.end - u.start), 0n);
  }

  private insert(start: bigint, end: bigint): void {
    const at = this.used.findIndex((u) => u.start > start);
    this.used.splice(at < 0 ? this.used.length : at, 0, { start, end });
  }
}
