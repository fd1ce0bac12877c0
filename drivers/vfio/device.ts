// A PCI function opened through VFIO: its regions (BARs, config space),
// interrupts (MSI, MSI-X with one eventfd per vector; INTx kept off), reset,
// and DMA mappings in the address space of its IOMMU mode.

import { setTimeout as sleep } from 'node:timers/promises';
import { EventCounter } from './eventfd.js';
import type { IommuMode } from '../../contract/devices.js';
import { addressSpace, uuidBytes, type AddressSpace } from './iommu.js';
import { SysError } from '../../sys/errors.js';
import { close, ioctl } from '../../sys/libc.js';
import { untilReady, type ReadyOptions } from './ready.js';
import { mappableAreas, Region, regionInfo } from './region.js';
import { currentDriver, iommuGroupOf, isVfioDriver, physfnOf } from '../../sys/sysfs.js';
import { PCI, STRUCTS, VFIO } from '../../sys/uapi.js';

export interface OpenOptions {
  bdf: string;
  iommu: IommuMode;
  /**
   * The VF token (a UUID): needed to open a VF whose PF is bound to vfio-pci; sets the token when opening such a PF.
   */
  vfToken?: string;
  /** A device fd to use instead of opening one: what LIVEUPDATE_SESSION_RETRIEVE_FD returned (iommufd only). */
  fd?: number;
}

export interface IrqInfo {
  index: number;
  flags: number;
  count: number;
}

/** Something mapped for DMA: a DmaBuffer, or any [address, address + size) in this process. */
export interface DmaTarget {
  address: bigint;
  size: number;
}

export type IrqIndex = typeof VFIO.VFIO_PCI_MSI_IRQ_INDEX | typeof VFIO.VFIO_PCI_MSIX_IRQ_INDEX;

const RESET_RETRIES = 20;

/** BDFs of the devices this process has open: unbinding one of them from vfio-pci would block until it is closed. */
const openDevices = new Set<string>();

export function isOpenHere(bdf: string): boolean {
  return openDevices.has(bdf);
}

export class VfioDevice {
  readonly config: Region;
  private readonly regions = new Map<number, Region>();
  private readonly vectors: EventCounter[] = [];
  private irqIndex: IrqIndex | undefined;
  /** Exclusive upper bound for this device's IOVAs (its DMA mask + 1); unlimited by default. */
  dmaLimit: bigint | undefined;
  private closed = false;

  constructor(
    readonly bdf: string,
    readonly iommu: IommuMode,
    readonly fd: number,
    readonly flags: number,
    readonly numRegions: number,
    readonly numIrqs: number,
    private readonly space: AddressSpace,
  ) {
    this.config = this.region(VFIO.VFIO_PCI_CONFIG_REGION_INDEX);
    openDevices.add(bdf);
  }

  get canReset(): boolean {
    return Boolean(this.flags & VFIO.VFIO_DEVICE_FLAGS_RESET);
  }

  get vendorId(): number {
    return this.config.read16(PCI.PCI_VENDOR_ID);
  }

  get deviceId(): number {
    return this.config.read16(PCI.PCI_DEVICE_ID);
  }

  /** Whether the function is `vendor:device`, read from its config space. */
  matches(vendor: number, device: number): boolean {
    return this.vendorId === vendor && this.deviceId === device;
  }

  region(index: number): Region {
    let r = this.regions.get(index);
    if (!r) {
      r = new Region(this.fd, regionInfo(this.fd, index, this.bdf), this.bdf);
      this.regions.set(index, r);
    }
    return r;
  }

  /** BAR `n` (regions 0-5). */
  bar(n: number): Region {
    if (!Number.isInteger(n) || n < 0 || n >= PCI.PCI_STD_NUM_BARS)
      throw new Error(`${this.bdf}: there is no BAR ${n}`);
    return this.region(n);
  }

  /** Offset of the standard capability `id` in config space, or undefined. */
  findCapability(id: number): number | undefined {
    if (!(this.config.read16(PCI.PCI_STATUS) & PCI.PCI_STATUS_CAP_LIST)) return undefined;
    const seen = new Set<number>();
    for (
      let at = this.config.read8(PCI.PCI_CAPABILITY_LIST) & ~3;
      at && !seen.has(at);
      at = this.config.read8(at + PCI.PCI_CAP_LIST_NEXT) & ~3
    ) {
      seen.add(at);
      if (this.config.read8(at) === id) return at;
    }
    return undefined;
  }

  setCommandBits(bits: number, on: boolean): void {
    const cmd = this.config.read16(PCI.PCI_COMMAND);
    this.config.write16(PCI.PCI_COMMAND, on ? cmd | bits : cmd & ~bits);
  }

  /**
   * VFIO_DEVICE_RESET (FLR, PM or bus reset, as the kernel can), retried
   * while the kernel says EAGAIN; resolves once the device answers again.
   */
  async reset(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        ioctl(this.fd, 'VFIO_DEVICE_RESET', undefined, { bdf: this.bdf });
        break;
      } catch (e) {
        if (!(e instanceof SysError && e.code === 'EAGAIN') || attempt >= RESET_RETRIES) throw e;
        await sleep(10);
      }
    }
    await this.waitReady();
  }

  /**
   * Resolves when the device answers through its fd (never through an mmap,
   * where "not yet" is a SIGBUS): config space reads a vendor id, and the
   * first bytes of `bars` (BAR0 by default: registers on every lustress
   * driver, side-effect free at its start) read without the VFIO driver
   * refusing. See ready.ts for what is retried.
   */
  async waitReady(bars: readonly number[] = [0], options: ReadyOptions = {}): Promise<void> {
    await untilReady(
      this.bdf,
      'config space',
      () => {
        const vendor = this.config.readBytes(PCI.PCI_VENDOR_ID, 2).readUInt16LE(0);
        return vendor === 0xffff ? { notYet: 'the vendor id reads 0xffff' } : vendor;
      },
      options,
    );
    for (const n of bars) {
      const bar = this.bar(n);
      if (!bar.info.readable || bar.info.size < 4) continue;
      const at = mappableAreas(bar.info)[0]?.offset ?? 0;
      await untilReady(this.bdf, `BAR ${n} +0x${at.toString(16)}`, () => bar.readBytes(at, 4), options);
    }
  }

  irqInfo(index: number): IrqInfo {
    const T = STRUCTS.vfio_irq_info;
    const buf = T.alloc({ argsz: T.size, index });
    ioctl(this.fd, 'VFIO_DEVICE_GET_IRQ_INFO', buf, { bdf: this.bdf, detail: `irq index ${index}` });
    return { index, flags: T.get(buf, 'flags'), count: T.get(buf, 'count') };
  }

  /**
   * Enables `count` MSI or MSI-X vectors, each signalling its own eventfd.
   * Only one of MSI and MSI-X can be on; INTx is masked in the command
   * register while message interrupts are in use.
   */
  enableIrqs(index: IrqIndex, count: number): void {
    if (this.irqIndex !== undefined)
      throw new Error(`${this.bdf}: interrupts are already enabled (index ${this.irqIndex}); disable them first`);
    const available = this.irqInfo(index).count;
    if (count < 1 || count > available)
      throw new Error(`${this.bdf}: irq index ${index} has ${available} vectors; cannot enable ${count}`);
    for (let i = 0; i < count; i++) this.vectors.push(new EventCounter({ bdf: this.bdf }));
    try {
      this.setIrqEventfds(index);
    } catch (e) {
      this.closeVectors();
      throw e;
    }
    this.irqIndex = index;
    this.setCommandBits(PCI.PCI_COMMAND_INTX_DISABLE, true);
  }

  /**
   * Hands the same eventfds to the kernel again: a reset tears the kernel's
   * side of the interrupts down but callers keep their counters.
   */
  reenableIrqs(): void {
    if (this.irqIndex === undefined) throw new Error(`${this.bdf}: no interrupts to re-enable`);
    this.setIrqEventfds(this.irqIndex);
    this.setCommandBits(PCI.PCI_COMMAND_INTX_DISABLE, true);
  }

  disableIrqs(): void {
    if (this.irqIndex === undefined) return;
    this.setIrqs(this.irqIndex, VFIO.VFIO_IRQ_SET_DATA_NONE | VFIO.VFIO_IRQ_SET_ACTION_TRIGGER, 0, 0);
    this.irqIndex = undefined;
    this.closeVectors();
  }

  /** Makes VFIO signal a vector as if the device had (a loopback through the kernel, not the device). */
  triggerIrq(vector: number): void {
    if (this.irqIndex === undefined) throw new Error(`${this.bdf}: no interrupts enabled`);
    this.setIrqs(this.irqIndex, VFIO.VFIO_IRQ_SET_DATA_NONE | VFIO.VFIO_IRQ_SET_ACTION_TRIGGER, vector, 1);
  }

  /** The counter of an enabled vector. */
  vector(n: number): EventCounter {
    const v = this.vectors[n];
    if (!v) throw new Error(`${this.bdf}: vector ${n} is not enabled (${this.vectors.length} are)`);
    return v;
  }

  get enabledIrqIndex(): IrqIndex | undefined {
    return this.irqIndex;
  }

  /** VFIO_DEVICE_FEATURE_PCI_VF_TOKEN: sets the token VFs of this PF must be opened with. */
  setVfToken(uuid: string): void {
    const F = STRUCTS.vfio_device_feature;
    const buf = F.alloc(
      { argsz: F.size + 16, flags: VFIO.VFIO_DEVICE_FEATURE_SET | VFIO.VFIO_DEVICE_FEATURE_PCI_VF_TOKEN },
      16,
    );
    uuidBytes(uuid).copy(buf, F.size);
    ioctl(this.fd, 'VFIO_DEVICE_FEATURE', buf, { bdf: this.bdf, detail: 'PCI_VF_TOKEN' });
  }

  /** Maps memory for this device's DMA at a new IOVA (below dmaLimit), or exactly at `at`, and returns the IOVA. */
  mapDma(target: DmaTarget, at?: bigint): bigint {
    return this.space.map(target.address, target.size, this.bdf, {
      ...(this.dmaLimit === undefined ? {} : { limit: this.dmaLimit }),
      ...(at === undefined ? {} : { at }),
    });
  }

  unmapDma(iova: bigint): void {
    this.space.unmap(iova);
  }

  /** Bytes mapped for this device (its own mappings; the address space may hold others' too). */
  mappedBytes(): number {
    return this.space.mappedBytes(this.bdf);
  }

  /** Whether the device may DMA to [iova, iova + size): it lies inside a mapping of its address space. */
  isMapped(iova: bigint, size: number): boolean {
    return this.space.isMapped(iova, size);
  }

  /** The IOVA ranges the IOMMU allows this device now. */
  iovaRanges(): { start: bigint; last: bigint }[] {
    return this.space.iovaRanges({ bdf: this.bdf });
  }

  /** Turns interrupts off, unmaps BARs and this device's DMA mappings, and closes it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disableIrqs();
    for (const r of this.regions.values()) r.unmap();
    this.space.detach(this.bdf);
    close(this.fd, { bdf: this.bdf });
    openDevices.delete(this.bdf);
  }

  private setIrqEventfds(index: IrqIndex): void {
    this.setIrqs(
      index,
      VFIO.VFIO_IRQ_SET_DATA_EVENTFD | VFIO.VFIO_IRQ_SET_ACTION_TRIGGER,
      0,
      this.vectors.length,
      this.vectors.map((v) => v.fd),
    );
  }

  private setIrqs(index: number, flags: number, start: number, count: number, fds: number[] = []): void {
    const T = STRUCTS.vfio_irq_set;
    const buf = T.alloc({ argsz: T.size + 4 * fds.length, flags, index, start, count }, 4 * fds.length);
    fds.forEach((fd, i) => buf.writeInt32LE(fd, T.size + 4 * i));
    ioctl(this.fd, 'VFIO_DEVICE_SET_IRQS', buf, { bdf: this.bdf, detail: `irq index ${index}` });
  }

  private closeVectors(): void {
    for (const v of this.vectors.splice(0)) v.close();
  }
}

/**
 * Opens a PCI function bound to vfio-pci or a variant driver in the given IOMMU mode (or takes the fd a live update
 * handed back). Devices
 * opened in the same mode share one container or iommufd (and one IOVA
 * space); devices of one IOMMU group share the group.
 */
export function openVfioDevice(opts: OpenOptions): VfioDevice {
  const { bdf, iommu, vfToken, fd: given } = opts;
  const driver = currentDriver(bdf);
  if (!isVfioDriver(driver))
    throw new Error(`${bdf} is bound to ${driver ?? 'no driver'}, not a VFIO driver: bind it first (bindToVfio)`);
  const group = iommuGroupOf(bdf);
  const space = addressSpace(iommu);
  let fd: number;
  try {
    fd = given !== undefined ? space.adopt(bdf, given) : space.attach(bdf, group, vfToken);
  } catch (e) {
    if (given !== undefined) close(given);
    const pf = physfnOf(bdf);
    if (e instanceof SysError && pf && isVfioDriver(currentDriver(pf))) {
      throw new SysError(
        e.call,
        e.errno,
        bdf,
        `${bdf} is a VF of ${pf}, which a VFIO driver owns: the kernel requires the PF's VF token${vfToken ? ', and this one does not match' : ''}`,
      );
    }
    throw e;
  }
  try {
    const T = STRUCTS.vfio_device_info;
    const info = T.alloc({ argsz: T.size });
    ioctl(fd, 'VFIO_DEVICE_GET_INFO', info, { bdf });
    const i = T.read(info);
    if (!(i.flags & VFIO.VFIO_DEVICE_FLAGS_PCI)) throw new Error(`${bdf}: VFIO says this is not a PCI device`);
    return new VfioDevice(bdf, iommu, fd, i.flags, i.num_regions, i.num_irqs, space);
  } catch (e) {
    close(fd);
    space.detach(bdf);
    throw e;
  }
}
