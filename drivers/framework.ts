// The driver framework: each device driver is one small ops table
// (drivers/<name>/, types in ops.ts), and the framework wraps it with what
// every driver needs the same way: the call order (init before use, one
// batch of copies in flight), the size and count limits, the MSI counter,
// and the verdict on a batch of copies (the device's own report, copies that
// touched unmapped IOVAs, faults the IOMMU logged).

import { driverClaiming, type DriverName } from '../contract/devices.js';
import { Unsupported } from '../sys/errors.js';
import { PCI } from '../sys/uapi.js';
import type { DmaContext, Driver, DriverConfig, DriverLimits, DriverOps } from './ops.js';
import type { VfioDevice } from './vfio/device.js';
import type { EventCounter } from './vfio/eventfd.js';
import { IommuFaultLog, type IommuFault } from './vfio/faults.js';

/** A batch of copies that failed; `data` is JSON-safe and says what the device and the IOMMU reported. */
export class DmaError extends Error {
  constructor(
    message: string,
    readonly data: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DmaError';
  }
}

interface Batch {
  src: bigint;
  dst: bigint;
  size: number;
  count: number;
  unmapped: ('src' | 'dst')[];
}

const hex = (v: bigint): string => `0x${v.toString(16)}`;

/** How long a batch that touched an unmapped IOVA waits for the IOMMU's fault record to reach the kernel log. */
const FAULT_RECORD_WAIT_MS = 100;

export class OpsDriver implements Driver {
  private device: VfioDevice | undefined;
  private limits: DriverLimits | undefined;
  private faults: IommuFaultLog | undefined;
  private batch: Batch | undefined;
  /** The MSI vector's counter, looked up once at init: msiTake runs once per interrupt. */
  private msi: EventCounter | undefined;

  constructor(private readonly ops: DriverOps) {}

  get name(): string {
    return this.ops.name;
  }

  /** On a match the device takes the driver's DMA address width, so buffers mapped before init are within reach. */
  probe(device: VfioDevice): boolean {
    if (!this.ops.probe(device)) return false;
    if (this.ops.dmaAddressBits !== undefined) device.dmaLimit = 1n << BigInt(this.ops.dmaAddressBits);
    return true;
  }

  async init(device: VfioDevice, dma: DmaContext = device, config: DriverConfig = {}): Promise<void> {
    if (this.limits) throw new Error(`${this.name}: already initialised on ${this.device!.bdf}`);
    if (!this.probe(device)) throw new Error(`${this.name}: does not drive ${device.bdf}`);
    this.device = device;
    // A variant driver may still refuse accesses right after the bind.
    await device.waitReady();
    this.limits = await this.ops.init(device, dma, config);
    this.msi = this.limits.msiVector === undefined ? undefined : device.vector(this.limits.msiVector);
    this.faults = new IommuFaultLog(device.bdf);
  }

  async remove(): Promise<void> {
    this.ready('remove');
    this.faults?.close();
    this.faults = undefined;
    this.batch = undefined;
    this.limits = undefined;
    this.msi = undefined;
    await this.ops.remove();
  }

  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void {
    const limits = this.ready('memcpyStart');
    if (this.batch) throw new Error(`${this.name}: a batch of copies is still in flight; memcpyWait first`);
    if (!Number.isInteger(size) || size < 1 || size > limits.maxMemcpySize)
      throw new RangeError(`${this.name}: size ${size} is outside 1..${limits.maxMemcpySize}`);
    const align = limits.memcpyAlign ?? 1;
    if (size % align)
      throw new RangeError(`${this.name}: size ${size} is not a multiple of ${align} (the device moves whole blocks)`);
    if (!Number.isInteger(count) || count < 1 || count > limits.maxMemcpyCount)
      throw new RangeError(`${this.name}: count ${count} is outside 1..${limits.maxMemcpyCount}`);
    const device = this.device!;
    const unmapped: Batch['unmapped'] = [];
    if (!device.isMapped(src, size)) unmapped.push('src');
    if (!device.isMapped(dst, size)) unmapped.push('dst');
    this.faults!.mark();
    this.ops.memcpyStart(src, dst, size, count);
    this.batch = { src, dst, size, count, unmapped };
  }

  async memcpyWait(deadlineMs: number): Promise<void> {
    this.ready('memcpyWait');
    const batch = this.batch;
    if (!batch) throw new Error(`${this.name}: no copies in flight`);
    try {
      const report = await this.ops.memcpyWait(Date.now() + deadlineMs);
      const faults = batch.unmapped.length
        ? await this.faults!.takeExpected(FAULT_RECORD_WAIT_MS)
        : this.faults!.take();
      if (!report.errors.length && !batch.unmapped.length && !faults.length) return;
      const problems = [
        ...report.errors,
        ...batch.unmapped.map(
          (which) =>
            `${which} ${hex(which === 'src' ? batch.src : batch.dst)} (+${batch.size}) is not mapped for the device`,
        ),
        ...(faults.length ? [`the IOMMU logged ${faults.length} DMA fault(s)`] : []),
      ];
      throw new DmaError(
        `${this.name} ${this.device!.bdf}: ${batch.count} cop${batch.count === 1 ? 'y' : 'ies'} of ${batch.size} bytes ${hex(batch.src)} -> ${hex(batch.dst)} failed: ${problems.join('; ')}`,
        {
          driver: this.name,
          bdf: this.device!.bdf,
          src: hex(batch.src),
          dst: hex(batch.dst),
          size: batch.size,
          count: batch.count,
          deviceErrors: report.errors,
          ...(report.details ? { device: report.details } : {}),
          unmapped: batch.unmapped,
          iommuFaults: faults.map((f: IommuFault) => ({ access: f.access, address: hex(f.address), reason: f.reason })),
        },
      );
    } finally {
      this.batch = undefined;
    }
  }

  get raisesMsi(): boolean {
    return this.ops.sendMsi !== undefined;
  }

  sendMsi(): void {
    const limits = this.ready('sendMsi');
    if (!this.ops.sendMsi || limits.msiVector === undefined)
      throw new Unsupported(`the ${this.name} driver raises no MSI`);
    this.ops.sendMsi();
  }

  msiCount(waitMs: number): Promise<number> {
    return this.msiCounter('msiCount').wait(waitMs);
  }

  msiTake(): number {
    return this.msiCounter('msiTake').take();
  }

  private msiCounter(what: string): EventCounter {
    if (this.msi) return this.msi;
    this.ready(what);
    throw new Unsupported(`the ${this.name} driver raises no MSI`);
  }

  get maxMemcpySize(): number {
    return this.ready('maxMemcpySize').maxMemcpySize;
  }

  get maxMemcpyCount(): number {
    return this.ready('maxMemcpyCount').maxMemcpyCount;
  }

  get memcpyAlign(): number {
    return this.ready('memcpyAlign').memcpyAlign ?? 1;
  }

  get msiVector(): number | undefined {
    return this.ready('msiVector').msiVector;
  }

  private ready(what: string): DriverLimits {
    if (!this.limits) throw new Error(`${this.name}: ${what} before init`);
    return this.limits;
  }
}

/**
 * One copy of any size, split into maxMemcpySize pieces, each started and
 * waited for in turn (the selftests' vfio_pci_driver_memcpy).
 */
export async function memcpy(
  driver: Driver,
  src: bigint,
  dst: bigint,
  size: number,
  deadlineMs: number,
): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (let offset = 0; offset < size; offset += driver.maxMemcpySize) {
    const chunk = Math.min(driver.maxMemcpySize, size - offset);
    driver.memcpyStart(src + BigInt(offset), dst + BigInt(offset), chunk, 1);
    await driver.memcpyWait(Math.max(0, until - Date.now()));
  }
}

/**
 * Whether the catalog (contract/devices.ts) says driver `name` drives this
 * function, from the ids in its config space: the one list of what each
 * driver claims.
 */
export function claims(name: DriverName, device: VfioDevice): boolean {
  const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
  const id = `${hex(device.vendorId, 4)}:${hex(device.deviceId, 4)}`;
  const pciClass = hex(device.config.read32(PCI.PCI_CLASS_REVISION) >>> 8, 6);
  return driverClaiming(id, pciClass) === name;
}
