// The driver framework's types, as the kernel's VFIO selftest library has
// them: the ops table each device driver implements (drivers/<name>/), and
// the Driver the framework wraps it into for the agent. Types only: the
// wrapper is framework.ts, the list of drivers registry.ts.

import type { DriverName } from '../contract/devices.js';
import type { DmaTarget, VfioDevice } from './vfio/device.js';

/** Where a driver maps its own memory (descriptor rings): the device itself, usually. */
export interface DmaContext {
  mapDma(target: DmaTarget): bigint;
  unmapDma(iova: bigint): void;
}

export interface DriverLimits {
  /** Largest `size` memcpyStart accepts. */
  maxMemcpySize: number;
  /** Largest `count` memcpyStart accepts. */
  maxMemcpyCount: number;
  /** A copy's size must be a multiple of this (a block device moves whole blocks); 1 when absent. */
  memcpyAlign?: number;
  /** Vector of the enabled MSI/MSI-X index that sendMsi signals; absent for a driver that raises none. */
  msiVector?: number;
}

/** What the scenario says about a device that its driver needs to know. */
export interface DriverConfig {
  /** A block device's scratch space: the only namespace and LBA range a copy may overwrite (lbas: to its end). */
  scratch?: { namespace: number; firstLba: number; lbas?: number };
}

/** What the device itself saw during a batch of copies: empty `errors` when it saw nothing wrong. */
export interface DeviceReport {
  errors: string[];
  details?: Record<string, unknown>;
}

/** The ops table a device driver implements. */
export interface DriverOps {
  readonly name: DriverName;
  /** Address bits the device can put on the bus (its DMA mask), if fewer than 64. */
  readonly dmaAddressBits?: number;
  /** Whether it drives this device: usually `claims(this.name, device)`, the catalog's word. */
  probe(device: VfioDevice): boolean;
  /** Brings the device up, its interrupts enabled; returns its limits. */
  init(device: VfioDevice, dma: DmaContext, config: DriverConfig): Promise<DriverLimits>;
  remove(): Promise<void>;
  /** Queues `count` copies of [src, src + size) to [dst, dst + size); returns at once; raises no interrupt. */
  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void;
  /**
   * Resolves when every copy started is complete or failed, or at `deadline` (epoch ms); recovers the device after a
   * failure.
   */
  memcpyWait(deadline: number): Promise<DeviceReport>;
  /** Makes the device send exactly one message interrupt on limits.msiVector; absent where the device cannot. */
  sendMsi?(): void;
}

/** What the agent drives (scenario steps memcpy-start, memcpy-wait, send-msi, expect-msi). */
export interface Driver {
  readonly name: string;
  probe(device: VfioDevice): boolean;
  init(device: VfioDevice, dma?: DmaContext, config?: DriverConfig): Promise<void>;
  remove(): Promise<void>;
  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void;
  /**
   * Resolves when every copy started is complete; rejects with a DmaError saying what went wrong. `deadlineMs` counts
   * from now.
   */
  memcpyWait(deadlineMs: number): Promise<void>;
  /** Whether sendMsi can raise an interrupt (the ops table has one). */
  readonly raisesMsi: boolean;
  /** One MSI on msiVector; an Unsupported error where the driver raises none. */
  sendMsi(): void;
  readonly maxMemcpySize: number;
  readonly maxMemcpyCount: number;
  /** Copy sizes are multiples of this. */
  readonly memcpyAlign: number;
  readonly msiVector: number | undefined;
  /**
   * MSIs counted since the last call; waits up to `waitMs` for the first if none is pending. Never blocks the event
   * loop.
   */
  msiCount(waitMs: number): Promise<number>;
  /**
   * MSIs counted since the last call, without waiting. Synchronous: an interrupt already counted (as it is right after
   * the register write that raised it) then costs no promise, and under TCG each await costs 8-30 µs.
   */
  msiTake(): number;
}
