// A VFIO device region (a BAR, config space, the ROM): its info with the
// capability chain, register access, and mmap of BARs.
//
// A register access is exactly one load or store of the stated width (1, 2,
// 4 or 8 bytes, aligned), made one of two ways:
//  - where the region can be mmap'd (BARs, inside their sparse areas if
//    any): through the mapping (mmio.ts), one load or store as the
//    kernel's readl/writel and the C selftest driver make. No system call:
//    a doorbell or an interrupt-cause write costs what it costs in C.
//  - elsewhere (config space, I/O-port BARs, registers outside sparse
//    areas): pread/pwrite of exactly that many bytes at the region's offset
//    in the device fd; the kernel (vfio_pci_core_do_io_rw) turns an aligned
//    access into one ioread/iowrite of that width.

import { setTimeout as sleep } from 'node:timers/promises';
import { capabilityChain } from './caps.js';
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  ioctl,
  madviseHugepage,
  mmap,
  munmap,
  pread,
  pwrite,
  view,
} from '../../sys/libc.js';
import { STRUCTS, VFIO } from '../../sys/uapi.js';
import { store64Bytes } from '../../sys/native-code.js';
import { DeviceError } from './errors.js';
import { MmioAccess, type Width } from './mmio.js';

export type { Width };

export interface SparseArea {
  offset: number;
  size: number;
}

export interface RegionInfo {
  index: number;
  flags: number;
  size: number;
  /** Where the region starts in the device fd (for pread/pwrite/mmap). */
  offset: bigint;
  readable: boolean;
  writable: boolean;
  mmappable: boolean;
  /** Capability ids in chain order, including ones this library does not interpret. */
  capIds: number[];
  /** VFIO_REGION_INFO_CAP_SPARSE_MMAP: only these parts of the region may be mmap'd. */
  sparseAreas?: SparseArea[];
  /** VFIO_REGION_INFO_CAP_TYPE: device-specific regions. */
  type?: { type: number; subtype: number };
  /** VFIO_REGION_INFO_CAP_MSIX_MAPPABLE: the MSI-X table's BAR may be mmap'd whole. */
  msixMappable: boolean;
}

/** VFIO_DEVICE_GET_REGION_INFO, retried with the size the kernel asks for when capabilities follow. */
export function regionInfo(fd: number, index: number, bdf: string): RegionInfo {
  const T = STRUCTS.vfio_region_info;
  let buf = T.alloc({ argsz: T.size, index });
  ioctl(fd, 'VFIO_DEVICE_GET_REGION_INFO', buf, { bdf, detail: `region ${index}` });
  const argsz = T.get(buf, 'argsz');
  if (argsz > T.size) {
    buf = T.alloc({ argsz, index }, argsz - T.size);
    ioctl(fd, 'VFIO_DEVICE_GET_REGION_INFO', buf, { bdf, detail: `region ${index}` });
  }
  const r = T.read(buf);
  const info: RegionInfo = {
    index,
    flags: r.flags,
    size: Number(r.size),
    offset: r.offset,
    readable: Boolean(r.flags & VFIO.VFIO_REGION_INFO_FLAG_READ),
    writable: Boolean(r.flags & VFIO.VFIO_REGION_INFO_FLAG_WRITE),
    mmappable: Boolean(r.flags & VFIO.VFIO_REGION_INFO_FLAG_MMAP),
    capIds: [],
    msixMappable: false,
  };
  if (!(r.flags & VFIO.VFIO_REGION_INFO_FLAG_CAPS) || !r.cap_offset) return info;
  for (const cap of capabilityChain(buf, r.cap_offset, T.size)) {
    info.capIds.push(cap.id);
    if (cap.id === VFIO.VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
      const S = STRUCTS.vfio_region_info_cap_sparse_mmap;
      const A = STRUCTS.vfio_region_sparse_mmap_area;
      const n = S.get(buf, 'nr_areas', cap.offset);
      info.sparseAreas = Array.from({ length: n }, (_, i) => {
        const a = A.read(buf, cap.offset + S.size + i * A.size);
        return { offset: Number(a.offset), size: Number(a.size) };
      });
    } else if (cap.id === VFIO.VFIO_REGION_INFO_CAP_TYPE) {
      const C = STRUCTS.vfio_region_info_cap_type;
      info.type = { type: C.get(buf, 'type', cap.offset), subtype: C.get(buf, 'subtype', cap.offset) };
    } else if (cap.id === VFIO.VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) {
      info.msixMappable = true;
    }
  }
  return info;
}

/** x86's page sizes, largest first: a BAR is mapped at the largest alignment it can fill. */
const PAGE_SIZES = [2 ** 30, 2 ** 21, 2 ** 12];

export function barAlignment(size: number): number {
  return PAGE_SIZES.find((p) => p <= size) ?? PAGE_SIZES[PAGE_SIZES.length - 1]!;
}

/**
 * The areas of a region that may be mmap'd: the sparse areas if the kernel
 * lists any (nvgrace-gpu does; vfio-pci lists none when the MSI-X table may
 * be mapped), the whole region otherwise.
 */
export function mappableAreas(info: RegionInfo): SparseArea[] {
  return info.sparseAreas ?? [{ offset: 0, size: info.size }];
}

export interface WaitOptions {
  timeoutMs: number;
  /** Between reads; the event loop runs in between. */
  intervalMs?: number;
}

export class RegionMapping {
  /** Register accesses through this mapping (they end with it). */
  readonly mmio: MmioAccess;
  /** False once unmapped: a register resolved through the mapping then goes back to its region. */
  mapped = true;

  constructor(
    readonly region: number,
    readonly address: bigint,
    readonly size: number,
    readonly areas: SparseArea[],
    private readonly onUnmap: () => void,
  ) {
    this.mmio = new MmioAccess(address, size);
  }

  /** A view of mapped bytes at `offset` (no copy); refuses ranges outside the mmap'd areas. */
  bytes(offset: number, length: number): Uint8Array {
    if (!this.areas.some((a) => offset >= a.offset && offset + length <= a.offset + a.size)) {
      throw new Error(
        `region ${this.region}: [0x${offset.toString(16)}, +0x${length.toString(16)}) is not inside a mapped area`,
      );
    }
    return view(this.address + BigInt(offset), length);
  }

  unmap(): void {
    munmap(this.address, this.size);
    this.mapped = false;
    this.onUnmap();
  }
}

/**
 * A 32-bit register whose offset is checked once (bounds, alignment, mapped area), for a write made per interrupt or
 * per batch: under TCG, the checks and calls of a full register access cost about 1 µs once V8 has compiled them and up
 * to 6 µs before, as much as the store itself with its interrupt.
 */
export class Register32 {
  private readonly words: Uint32Array | undefined;
  private readonly index: number;

  constructor(
    private readonly region: Region,
    readonly offset: number,
    private readonly mapping: RegionMapping | undefined,
  ) {
    const word = mapping?.mmio.word32(offset);
    this.words = word?.words;
    this.index = word?.index ?? 0;
  }

  /** One 32-bit store, as write32 makes it; through the region again once its mapping is gone. */
  write(value: number): void {
    if (this.mapping?.mapped) this.words![this.index] = value;
    else this.region.write32(this.offset, value);
  }
}

export class Region {
  private readonly sized: Record<Width, Buffer>;
  private mapping: RegionMapping | undefined;
  /** Where register accesses may go through the mapping (none if the region cannot be mmap'd). */
  private readonly areas: SparseArea[];

  constructor(
    private readonly fd: number,
    readonly info: RegionInfo,
    private readonly bdf: string,
  ) {
    this.areas = info.mmappable ? mappableAreas(info) : [];
    const scratch = Buffer.alloc(8);
    this.sized = { 1: scratch.subarray(0, 1), 2: scratch.subarray(0, 2), 4: scratch.subarray(0, 4), 8: scratch };
  }

  get index(): number {
    return this.info.index;
  }

  read8(offset: number): number {
    return this.access(offset, 1) as number;
  }
  read16(offset: number): number {
    return this.access(offset, 2) as number;
  }
  read32(offset: number): number {
    return this.access(offset, 4) as number;
  }
  read64(offset: number): bigint {
    return this.access(offset, 8) as bigint;
  }
  write8(offset: number, value: number): void {
    this.access(offset, 1, value & 0xff);
  }
  write16(offset: number, value: number): void {
    this.access(offset, 2, value & 0xffff);
  }
  write32(offset: number, value: number): void {
    this.access(offset, 4, value >>> 0);
  }
  write64(offset: number, value: bigint): void {
    this.access(offset, 8, BigInt.asUintN(64, value));
  }

  /** The 32-bit register at `offset`, checked now, for writes made often (see Register32). */
  register32(offset: number): Register32 {
    this.checkRegister(offset, 4);
    return new Register32(this, offset, this.mappable(offset, 4) ? this.map() : undefined);
  }

  /**
   * One 64-byte store (MOVDIR64B) at `offset`, through the mmap: a DSA portal
   * takes a descriptor only whole, and pwrite would split it.
   */
  write512(offset: number, bytes: Uint8Array): void {
    this.check(offset, 64);
    if (!this.mappable(offset, 64))
      throw new Error(`${this.bdf}: region ${this.index} +0x${offset.toString(16)} is not mmap'd: no 64-byte store`);
    store64Bytes(this.map().address + BigInt(offset), bytes);
  }

  /** `length` bytes from `offset` (the kernel picks access widths: for memory-like regions, not registers). */
  readBytes(offset: number, length: number): Buffer {
    this.check(offset, length);
    const buf = Buffer.alloc(length);
    const n = pread(this.fd, buf, this.info.offset + BigInt(offset), {
      bdf: this.bdf,
      detail: `region ${this.index} +0x${offset.toString(16)}`,
    });
    return buf.subarray(0, n);
  }

  /**
   * Reads the 32-bit register at `offset` until `done(value)` holds and
   * returns that value; rejects with the last value seen after `timeoutMs`.
   */
  async waitFor32(offset: number, done: (value: number) => boolean, opts: WaitOptions): Promise<number> {
    const until = Date.now() + opts.timeoutMs;
    for (;;) {
      const value = this.read32(offset);
      if (done(value)) return value;
      if (Date.now() >= until) {
        throw new DeviceError(
          this.bdf,
          `region ${this.index} register 0x${offset.toString(16)} stayed 0x${value.toString(16)} for ${opts.timeoutMs} ms`,
          {
            region: this.index,
            offset,
            value,
            timeoutMs: opts.timeoutMs,
          },
        );
      }
      await sleep(opts.intervalMs ?? 1);
    }
  }

  /**
   * mmaps the region (a BAR), aligned to the largest page size it can fill so
   * the kernel can use huge mappings and a later IOMMU mapping of the BAR
   * faults in large pieces; with sparse areas only those are mapped and the
   * rest of the range stays reserved and inaccessible.
   */
  map(): RegionMapping {
    if (this.mapping) return this.mapping;
    if (!this.info.mmappable) throw new Error(`${this.bdf}: region ${this.index} cannot be mmap'd`);
    const size = this.info.size;
    const align = barAlignment(size);
    const ctx = { bdf: this.bdf, detail: `region ${this.index}` };
    // Reserve size + align bytes, then keep the aligned window only.
    const reserved = mmap(null, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, ctx);
    const base = ((reserved + BigInt(align) - 1n) / BigInt(align)) * BigInt(align);
    if (base > reserved) munmap(reserved, Number(base - reserved), ctx);
    const tail = reserved + BigInt(size + align) - (base + BigInt(size));
    if (tail > 0n) munmap(base + BigInt(size), Number(tail), ctx);
    const prot = (this.info.readable ? PROT_READ : 0) | (this.info.writable ? PROT_WRITE : 0);
    const areas = this.areas;
    try {
      for (const a of areas)
        mmap(
          base + BigInt(a.offset),
          a.size,
          prot,
          MAP_SHARED | MAP_FIXED,
          this.fd,
          this.info.offset + BigInt(a.offset),
          ctx,
        );
    } catch (e) {
      munmap(base, size, ctx);
      throw e;
    }
    madviseHugepage(base, size);
    this.mapping = new RegionMapping(this.index, base, size, areas, () => (this.mapping = undefined));
    return this.mapping;
  }

  unmap(): void {
    this.mapping?.unmap();
  }

  private check(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.info.size) {
      throw new Error(
        `${this.bdf}: region ${this.index} access at 0x${offset.toString(16)} (+${length}) is outside its ${this.info.size} bytes`,
      );
    }
  }

  /** A register access must lie inside the region and be aligned to its width (see the top of this file). */
  private checkRegister(offset: number, width: Width): void {
    this.check(offset, width);
    if (offset % width)
      throw new Error(
        `${this.bdf}: region ${this.index} ${width}-byte access at 0x${offset.toString(16)} is not aligned`,
      );
  }

  /** Reads (no value) or writes `value`: one access of `width` bytes, see the top of this file. */
  private access(offset: number, width: Width, value?: number | bigint): number | bigint {
    this.checkRegister(offset, width);
    if (this.mappable(offset, width)) {
      const { mmio } = this.map();
      if (value === undefined) return mmio.load(offset, width);
      mmio.store(offset, width, value);
      return value;
    }
    const buf = this.sized[width];
    const at = this.info.offset + BigInt(offset);
    const ctx = { bdf: this.bdf, detail: `region ${this.index} +0x${offset.toString(16)}` };
    if (value !== undefined) {
      if (width === 8) buf.writeBigUInt64LE(value as bigint);
      else buf.writeUIntLE(value as number, 0, width);
    }
    const n = value === undefined ? pread(this.fd, buf, at, ctx) : pwrite(this.fd, buf, at, ctx);
    if (n !== width)
      throw new Error(
        `${this.bdf}: region ${this.index} ${width}-byte ${value === undefined ? 'read' : 'write'} at 0x${offset.toString(16)} moved ${n} bytes`,
      );
    if (value !== undefined) return value;
    return width === 8 ? buf.readBigUInt64LE(0) : buf.readUIntLE(0, width);
  }

  private mappable(offset: number, width: number): boolean {
    for (const a of this.areas) if (offset >= a.offset && offset + width <= a.offset + a.size) return true;
    return false;
  }
}
