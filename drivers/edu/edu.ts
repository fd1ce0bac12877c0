// QEMU's educational device (edu, 1234:11e8; QEMU docs/specs/edu.rst and
// hw/misc/edu.c) as a DMA engine. It has one engine and a 4 KiB buffer at
// device address 0x40000: a copy is two transfers, src into the buffer and
// the buffer out to dst, each finishing on a 100 ms timer of QEMU's virtual
// clock. memcpyStart starts the first transfer and returns; the rest of the
// batch is driven from the event loop, one transfer after another. Its DMA
// mask is 28 bits, so its IOVAs stay below 256 MiB. It raises MSI (one
// vector), never MSI-X. It reports no DMA errors of its own.

import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceReport, DriverLimits, DriverOps } from '../ops.js';
import { claims } from '../framework.js';
import type { VfioDevice } from '../vfio/device.js';
import type { Region } from '../vfio/region.js';
import { PCI, VFIO } from '../../sys/uapi.js';

const REG = {
  IDENT: 0x00,
  LIVENESS: 0x04,
  IRQ_RAISE: 0x60,
  IRQ_ACK: 0x64,
  DMA_SRC: 0x80,
  DMA_DST: 0x88,
  DMA_COUNT: 0x90,
  DMA_CMD: 0x98,
} as const;
const IDENT_MASK = 0xff;
const IDENT_EDU = 0xed;
const CMD_START = 0x1;
const CMD_TO_PCI = 0x2; // direction: buffer -> bus address (clear: bus address -> buffer)
const BUFFER = 0x40000n;
const BUFFER_SIZE = 4096;
/** An interrupt-status bit of our own for sendMsi (the device's own are 0x1 factorial, 0x100 DMA). */
const MSI_BIT = 0x10000;
/** Each transfer takes 100 ms of virtual time; polling faster only burns CPU. */
const POLL_MS = 5;
/** A transfer still running after this (50 times its nominal time) is a hung engine. */
const TRANSFER_TIMEOUT_MS = 5000;
/** 1024 copies take about 3.5 minutes: long enough to keep DMA running through a reboot. */
const MAX_COUNT = 1024;

export class EduOps implements DriverOps {
  readonly name = 'edu';
  readonly dmaAddressBits = 28;
  private device!: VfioDevice;
  private bar0!: Region;
  private running: Promise<DeviceReport> | undefined;
  /** Set when memcpyWait gives up: the sequence stops after the transfer in progress. */
  private stopping = false;

  probe(device: VfioDevice): boolean {
    return claims(this.name, device);
  }

  async init(device: VfioDevice): Promise<DriverLimits> {
    this.device = device;
    this.bar0 = device.bar(0);
    const ident = this.bar0.read32(REG.IDENT);
    if ((ident & IDENT_MASK) !== IDENT_EDU)
      throw new Error(`${device.bdf}: identification register reads 0x${ident.toString(16)}, not an edu device`);
    this.bar0.write32(REG.LIVENESS, 0x5a5aa5a5);
    if (this.bar0.read32(REG.LIVENESS) !== ~0x5a5aa5a5 >>> 0)
      throw new Error(`${device.bdf}: liveness register does not invert what is written`);
    // A transfer left running by an earlier user must finish before we own the engine.
    await this.idle(Date.now() + 1000);
    this.bar0.write32(REG.IRQ_ACK, 0xffffffff);
    device.setCommandBits(PCI.PCI_COMMAND_MEMORY | PCI.PCI_COMMAND_MASTER, true);
    device.enableIrqs(VFIO.VFIO_PCI_MSI_IRQ_INDEX, 1);
    return { maxMemcpySize: BUFFER_SIZE, maxMemcpyCount: MAX_COUNT, msiVector: 0 };
  }

  async remove(): Promise<void> {
    // No transfer may outlive the driver (the memory it targets is about to be unmapped): stop after the current one.
    this.stopping = true;
    await this.running?.catch(() => undefined);
    this.running = undefined;
    this.device.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
    this.device.disableIrqs();
  }

  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void {
    this.transfer(src, BUFFER, size, 0); // the first transfer starts now
    this.stopping = false;
    this.running = this.sequence(src, dst, size, count);
    this.running.catch(() => undefined); // reported by memcpyWait
  }

  async memcpyWait(deadline: number): Promise<DeviceReport> {
    const running = this.running;
    if (!running) return { errors: [] };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<DeviceReport>((resolve) => {
      timer = setTimeout(
        () => resolve({ errors: ['the DMA engine did not finish before the deadline'] }),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      const report = await Promise.race([running.catch((e: Error) => ({ errors: [e.message] })), late]);
      if (report.errors.length) {
        this.stopping = true;
        await running.catch(() => undefined); // never leave a transfer behind
      }
      return report;
    } finally {
      clearTimeout(timer);
      this.running = undefined;
    }
  }

  sendMsi(): void {
    this.bar0.write32(REG.IRQ_RAISE, MSI_BIT);
    this.bar0.write32(REG.IRQ_ACK, MSI_BIT);
  }

  /** The rest of a batch whose first transfer (src -> buffer of copy 0) is already running. */
  private async sequence(src: bigint, dst: bigint, size: number, count: number): Promise<DeviceReport> {
    for (let i = 0; i < count && !this.stopping; i++) {
      if (i > 0) this.transfer(src, BUFFER, size, 0);
      await this.idle(Date.now() + TRANSFER_TIMEOUT_MS);
      this.transfer(BUFFER, dst, size, CMD_TO_PCI);
      await this.idle(Date.now() + TRANSFER_TIMEOUT_MS);
    }
    return { errors: [] };
  }

  private transfer(from: bigint, to: bigint, size: number, direction: number): void {
    // 8-byte accesses: the device stores the whole register from one write, so a 4-byte write would clear the upper
    // half.
    this.bar0.write64(REG.DMA_SRC, from);
    this.bar0.write64(REG.DMA_DST, to);
    this.bar0.write64(REG.DMA_COUNT, BigInt(size));
    this.bar0.write64(REG.DMA_CMD, BigInt(CMD_START | direction));
  }

  /** Until the engine is idle (the start bit clears), or rejects at `deadline`. */
  private async idle(deadline: number): Promise<void> {
    while (this.bar0.read64(REG.DMA_CMD) & BigInt(CMD_START)) {
      if (Date.now() >= deadline) throw new Error(`${this.device.bdf}: the DMA engine stayed busy`);
      await sleep(POLL_MS);
    }
  }
}
