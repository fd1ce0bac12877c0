// NVIDIA GPUs, Kepler through Hopper (and Ada), as a DMA engine: a Falcon
// microcontroller's DMA moves each copy through its DMEM, one transfer of
// 4..256 bytes at a time (a read from system memory, then a write out).
// Unlike the kernel's selftest driver, which does the whole copy inside
// memcpy_wait, memcpyStart plans the batch, starts its first transfer and
// returns; memcpyWait drives the rest from the event loop (dma.ts) and,
// after a failure, resets the falcon. No MSI: the ops table has no sendMsi.
// Written from the Linux 7.3 sources only; it has never run on a GPU.

import { Unsupported } from '../../sys/errors.js';
import { PCI } from '../../sys/uapi.js';
import { claims } from '../framework.js';
import type { DeviceReport, DriverLimits, DriverOps } from '../ops.js';
import type { VfioDevice } from '../vfio/device.js';
import { DeviceError } from '../vfio/errors.js';
import type { Region } from '../vfio/region.js';
import { bringUp, chipFacts, resetFalcon, shutDown, type Chip } from './chip.js';
import { DmaSequence, planBatch, transferAt } from './dma.js';
import { NV_FALCON_DMA_MIN_TRANSFER_SIZE, PCI_BASE_CLASS_DISPLAY } from './hw.js';

/**
 * Largest copy: 256 transfer pairs when src and dst are 256-byte aligned, at most 16384 (4-byte pieces) when their
 * offsets in a block differ; with MAX_COUNT it bounds how long one batch holds the engine (see README.md).
 */
const MAX_COPY = 64 * 1024;
const MAX_COUNT = 64;

export class NvFalconOps implements DriverOps {
  readonly name = 'nv_falcon';
  private device!: VfioDevice;
  private bar0!: Region;
  private chip!: Chip;
  /** A batch started and not yet waited for. */
  private sequence: DmaSequence | undefined;
  /** The memcpyWait in progress (remove waits for it). */
  private waiting: Promise<DeviceReport> | undefined;
  /** Set by remove: the batch stops after its transfer in flight. */
  private stopping = false;

  /** The catalog's word, and a display controller as the kernel's probe wants (not the GPU's audio function). */
  probe(device: VfioDevice): boolean {
    return claims(this.name, device) && device.config.read32(PCI.PCI_CLASS_REVISION) >>> 24 === PCI_BASE_CLASS_DISPLAY;
  }

  /** Bus mastering on, then the chip identified and its DMA falcon brought up (FSP first on Hopper). */
  async init(device: VfioDevice): Promise<DriverLimits> {
    this.device = device;
    this.bar0 = device.bar(0);
    this.stopping = false;
    device.setCommandBits(PCI.PCI_COMMAND_MEMORY | PCI.PCI_COMMAND_MASTER, true);
    try {
      this.chip = await bringUp(this.bar0);
    } catch (e) {
      // No remove follows a failed init: the GPU must not be left able to master the bus.
      device.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
      if (e instanceof Unsupported)
        throw new Unsupported(`${device.bdf}: ${e.message}`, { bdf: device.bdf, ...e.data });
      throw new DeviceError(device.bdf, `nv_falcon bring-up failed: ${(e as Error).message}`);
    }
    return { maxMemcpySize: MAX_COPY, maxMemcpyCount: MAX_COUNT, memcpyAlign: NV_FALCON_DMA_MIN_TRANSFER_SIZE };
  }

  /** Lets the transfer in flight finish, disables the falcon and stops bus mastering. */
  async remove(): Promise<void> {
    this.stopping = true;
    await this.waiting;
    // A batch started but never waited for still has a transfer in flight.
    await this.sequence?.run(Date.now(), () => true);
    this.sequence = undefined;
    await shutDown(this.bar0, this.chip);
    this.device.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
  }

  /** Plans the batch (misaligned addresses are refused here) and starts its first transfer. */
  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void {
    this.sequence = new DmaSequence(this.bar0, this.chip.falcon, planBatch(src, dst, size, count));
    this.stopping = false;
    this.sequence.start();
  }

  /** Drives the batch to its end or the deadline; a failure is reported by name and the falcon reset. */
  memcpyWait(deadline: number): Promise<DeviceReport> {
    const sequence = this.sequence;
    if (!sequence) return Promise.resolve({ errors: [] });
    this.sequence = undefined;
    this.waiting = this.finish(sequence, deadline).finally(() => (this.waiting = undefined));
    return this.waiting;
  }

  /** The body of memcpyWait: the sequence run, then its report, with recovery after a failure. */
  private async finish(sequence: DmaSequence, deadline: number): Promise<DeviceReport> {
    const outcome = await sequence.run(deadline, () => this.stopping);
    if (!outcome.failure && !outcome.stopped) return { errors: [] };
    const { plan } = sequence;
    const copiesDone = Math.floor(outcome.done / (plan.chunks.length * 2));
    const errors = outcome.failure
      ? [`${outcome.failure.kind}: ${outcome.failure.message}`]
      : [`stopped: the driver was removed after ${copiesDone} of ${plan.count} copies`];
    const details: Record<string, unknown> = {
      chip: chipFacts(this.chip),
      transfersDone: outcome.done,
      transfersTotal: outcome.total,
      copiesDone,
      transfersPerCopy: plan.chunks.length * 2,
    };
    if (outcome.failure) {
      const t = transferAt(plan, outcome.failure.transfer);
      details.failure = {
        kind: outcome.failure.kind,
        cmd: `0x${outcome.failure.cmd.toString(16)}`,
        copy: t.copy,
        chunk: t.chunk,
        direction: t.write ? 'write' : 'read',
      };
      try {
        await resetFalcon(this.bar0, this.chip);
      } catch (e) {
        errors.push(`recovery failed: resetting the falcon: ${(e as Error).message}`);
      }
    }
    return { errors, details };
  }
}
