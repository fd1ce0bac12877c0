// Memory a device reads and writes: a memfd (so LUO can preserve it across a
// live update) mapped MAP_SHARED into this process. After a LUO retrieve the
// same memory comes back as a new fd: DmaBuffer.fromFd wraps it again.

import {
  MAP_POPULATE,
  MAP_SHARED,
  MFD_CLOEXEC,
  MFD_HUGETLB,
  PROT_READ,
  PROT_WRITE,
  close,
  ftruncate,
  memfdCreate,
  mmap,
  munmap,
  seekToEnd,
  view,
} from '../../sys/libc.js';

export const HUGE_PAGE_SIZE = 2 * 2 ** 20;
const PAGE = 4096;

export interface DmaBufferOptions {
  /** Back it with huge pages (MFD_HUGETLB, 2 MiB): the guest needs vm.nr_hugepages reserved. */
  hugetlb?: boolean;
  /** The memfd's name, as /proc/PID/fd shows it. */
  name?: string;
}

export class DmaBuffer {
  /** The mapping's address in this process. */
  readonly address: bigint;
  /** The mapping itself, no copy: writes are what the device reads. */
  readonly bytes: Uint8Array;
  private closed = false;

  private constructor(
    readonly fd: number,
    readonly size: number,
    populate = false,
  ) {
    this.address = mmap(null, size, PROT_READ | PROT_WRITE, MAP_SHARED | (populate ? MAP_POPULATE : 0), fd, 0, {
      detail: `${size} bytes of memfd ${fd}`,
    });
    this.bytes = view(this.address, size);
  }

  /** A new memfd of `size` bytes (rounded up to the page size in use), mapped. */
  static create(size: number, opts: DmaBufferOptions = {}): DmaBuffer {
    const unit = opts.hugetlb ? HUGE_PAGE_SIZE : PAGE;
    const length = Math.ceil(size / unit) * unit;
    if (length <= 0) throw new Error(`a DMA buffer needs a positive size, not ${size}`);
    const fd = memfdCreate(opts.name ?? 'lustress-dma', MFD_CLOEXEC | (opts.hugetlb ? MFD_HUGETLB : 0));
    try {
      ftruncate(fd, length, {
        detail: opts.hugetlb ? 'huge pages: is vm.nr_hugepages large enough?' : `${length} bytes`,
      });
      return new DmaBuffer(fd, length);
    } catch (e) {
      close(fd);
      throw e;
    }
  }

  /**
   * Takes ownership of an existing memfd (one retrieved from a LUO session); `size` defaults to the file's size. Its
   * memory is there already: `populate` maps all of it in the one mmap call (MAP_POPULATE) instead of a page fault a
   * page on first touch, which under TCG costs more than reading the memory.
   */
  static fromFd(fd: number, size?: number, opts: { populate?: boolean } = {}): DmaBuffer {
    const length = size ?? seekToEnd(fd);
    return new DmaBuffer(fd, length, opts.populate ?? false);
  }

  /** Unmaps and closes the memfd. The memory lives on while LUO or another fd holds it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    munmap(this.address, this.size);
    close(this.fd);
  }
}
