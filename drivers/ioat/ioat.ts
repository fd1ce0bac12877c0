// Intel I/OAT DMA engine (QuickData / CBDMA; the selftest drives Skylake-SP's,
// 8086:2021) as a DMA engine, brought up as the kernel's VFIO selftest driver
// brings it up (tools/testing/selftests/vfio/lib/drivers/ioat/ioat.c, Linux
// 7.2): channel 0 reset, MSI-X with channel interrupts on their own vectors.
// A batch of copies is a run of descriptors from the start of a ring in DMA
// memory, linked once at init: memcpyStart writes them, points the channel at
// the first, writes the count to DMACOUNT and returns; memcpyWait polls the
// channel status until it is done (then suspends it, as ioat.c does) or
// halted. No copy asks for an interrupt; sendMsi runs one copy that does.
//
// Written from the sources only, never run on hardware (README.md).

import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceReport, DmaContext, DriverLimits, DriverOps } from '../ops.js';
import { claims } from '../framework.js';
import type { VfioDevice } from '../vfio/device.js';
import { DmaBuffer } from '../vfio/dma-buffer.js';
import { DeviceError } from '../vfio/errors.js';
import type { Region } from '../vfio/region.js';
import { PCI, VFIO } from '../../sys/uapi.js';
import * as H from './hw.js';

/** Channel 0's vector once INTRCTRL has IOAT_INTRCTRL_MSIX_VECTOR_CONTROL (ioat.c). */
const MSIX_VECTOR = 0;
/** DMACOUNT is 16 bits (ioat.c's IOAT_DMACOUNT_MAX). */
const MAX_COUNT = 0xffff;
/** The kernel's ring size (IOAT_MAX_DESCS, drivers/dma/ioat/dma.h): above MAX_COUNT, so a batch reuses none. */
const RING_SIZE = 1 << 16;
/** XFERCAP's bits [4:0] are valid (drivers/dma/ioat/init.c). */
const XFERCAP_MASK = 0x1f;
/** How long the kernel's ioat_reset_sync waits for a channel reset. */
const RESET_TIMEOUT_MS = 200;
/** How long the kernel's ioat_quiesce waits for a suspend. */
const SUSPEND_TIMEOUT_MS = 100;
/** sendMsi's 8-byte copy takes microseconds; it spins this long at most. */
const SEND_MSI_TIMEOUT_MS = 100;
const POLL_MS = 1;

const DESC = H.IOAT_DMA_DESCRIPTOR.size;
/** The bytes of a ring descriptor a batch rewrites (size, ctl, src_addr, dst_addr); its next stays as linked. */
const COPY_FIELDS = H.IOAT_DMA_DESCRIPTOR.offsets.next;
const STATUS = H.CHANSTS.IOAT_CHANSTS_STATUS;
const { IOAT_CHANSTS_DONE: DONE, IOAT_CHANSTS_SUSPENDED: SUSPENDED, IOAT_CHANSTS_HALTED: HALTED } = H.CHANSTS_STATE;

/** The driver's DMA memory: the ring, sendMsi's descriptor, and its 8-byte source and destination. */
const LAYOUT = {
  ring: 0,
  msi: RING_SIZE * DESC,
  msiSrc: RING_SIZE * DESC + DESC,
  msiDst: RING_SIZE * DESC + DESC + 8,
  size: RING_SIZE * DESC + DESC + 16,
};

/** A register of channel 0, whose block follows the device's. */
const chan = (reg: number): number => H.REG.IOAT_CHANNEL_MMIO_SIZE + reg;
const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** Polls `done` without yielding until it holds (true) or `timeoutMs` pass (false), as the kernel's waits do. */
function spinUntil(done: () => boolean, timeoutMs: number): boolean {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return true;
    if (Date.now() >= until) return false;
  }
}

/**
 * The largest copy XFERCAP allows: 2^(XFERCAP & 0x1f) bytes. Undefined for 0, which registers.h calls 32 GB (more
 * than a descriptor's 32-bit size holds) and for which the kernel's driver sets up no channel.
 */
export function ioatMaxCopy(xfercap: number): number | undefined {
  const log = xfercap & XFERCAP_MASK;
  return log ? 2 ** log : undefined;
}

/** The batch memcpyStart started: its count and the address of its last descriptor. */
interface InFlight {
  count: number;
  last: bigint;
}

export class IoatOps implements DriverOps {
  readonly name = 'ioat';
  private device!: VfioDevice;
  private dma!: DmaContext;
  private bar0!: Region;
  private memory!: DmaBuffer;
  /** The DMA memory as a Buffer over the mapping (no copy). */
  private bytes!: Buffer;
  private iova = 0n;
  /** A batch's descriptor, built once and copied into each ring slot it uses. */
  private readonly template = Buffer.alloc(DESC);
  private inflight: InFlight | undefined;

  probe(device: VfioDevice): boolean {
    return claims(this.name, device);
  }

  async init(device: VfioDevice, dma: DmaContext): Promise<DriverLimits> {
    this.device = device;
    this.dma = dma;
    this.bar0 = device.bar(0);
    device.setCommandBits(PCI.PCI_COMMAND_MEMORY | PCI.PCI_COMMAND_MASTER | PCI.PCI_COMMAND_INTX_DISABLE, true);
    const version = this.bar0.read8(H.REG.IOAT_VER_OFFSET);
    if (version !== H.IOAT.IOAT_VER_3_2 && version !== H.IOAT.IOAT_VER_3_3)
      throw new DeviceError(device.bdf, `I/OAT version ${hex(version)} is not one ioat.c drives (3.2, 3.3)`);
    const xfercap = this.bar0.read8(H.REG.IOAT_XFERCAP_OFFSET);
    const maxMemcpySize = ioatMaxCopy(xfercap);
    if (maxMemcpySize === undefined)
      throw new DeviceError(device.bdf, `XFERCAP reads ${hex(xfercap)}: no transfer size this driver can use`);
    this.memory = DmaBuffer.create(LAYOUT.size, { name: `ioat-${device.bdf}` });
    this.bytes = Buffer.from(this.memory.bytes.buffer, this.memory.bytes.byteOffset, this.memory.size);
    this.iova = dma.mapDma(this.memory);
    for (let i = 0; i < RING_SIZE; i++)
      H.IOAT_DMA_DESCRIPTOR.write(this.bytes, { next: this.at(LAYOUT.ring + ((i + 1) % RING_SIZE) * DESC) }, i * DESC);
    this.bringUp();
    device.enableIrqs(VFIO.VFIO_PCI_MSIX_IRQ_INDEX, device.irqInfo(VFIO.VFIO_PCI_MSIX_IRQ_INDEX).count);
    return { maxMemcpySize, maxMemcpyCount: MAX_COUNT, msiVector: MSIX_VECTOR };
  }

  async remove(): Promise<void> {
    this.inflight = undefined;
    try {
      this.reset();
    } finally {
      this.device.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
      this.device.disableIrqs();
      this.dma.unmapDma(this.iova);
      this.memory.close();
    }
  }

  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void {
    H.writeCopy(this.template, 0, { src, dst, size, next: 0n, interrupt: false });
    for (let i = 0; i < count; i++) this.template.copy(this.bytes, LAYOUT.ring + i * DESC, 0, COPY_FIELDS);
    this.inflight = { count, last: this.at(LAYOUT.ring + (count - 1) * DESC) };
    // The register stores come after the descriptor stores (x86 keeps stores in order).
    this.start(this.at(LAYOUT.ring), count);
  }

  async memcpyWait(deadline: number): Promise<DeviceReport> {
    const batch = this.inflight;
    if (!batch) return { errors: [] };
    this.inflight = undefined;
    for (;;) {
      const chansts = this.chansts();
      const state = Number(chansts & STATUS);
      if (state === DONE) {
        const completed = chansts & H.CHANSTS.IOAT_CHANSTS_COMPLETED_DESCRIPTOR_ADDR;
        if (completed !== batch.last)
          return this.fail(
            [
              `the channel went idle after the descriptor at ${hex(completed)}, not the batch's last at ${hex(batch.last)}`,
            ],
            chansts,
          );
        if (!this.suspend())
          return this.fail([`the channel did not suspend within ${SUSPEND_TIMEOUT_MS} ms`], this.chansts());
        return { errors: [] };
      }
      const chanerr = this.bar0.read32(chan(H.CHAN.IOAT_CHANERR_OFFSET));
      // Halted without an error is also how a reset leaves the channel until the batch starts.
      if (state === HALTED && chanerr)
        return this.fail([`the channel halted: ${H.chanerrNames(chanerr).join(', ')}`], chansts);
      if (Date.now() >= deadline)
        return this.fail([`the channel was still ${H.stateName(chansts)} at the deadline`], chansts);
      await sleep(POLL_MS);
    }
  }

  sendMsi(): void {
    if (this.inflight)
      throw new Error(`ioat ${this.device.bdf}: copies are in flight on the channel; memcpyWait before sendMsi`);
    const msi = this.at(LAYOUT.msi);
    H.writeCopy(this.bytes, LAYOUT.msi, {
      src: this.at(LAYOUT.msiSrc),
      dst: this.at(LAYOUT.msiDst),
      size: 8,
      next: msi,
      interrupt: true,
    });
    this.start(msi, 1);
    let chansts = 0n;
    const settled = spinUntil(() => {
      chansts = this.chansts();
      const state = Number(chansts & STATUS);
      return state === DONE || (state === HALTED && this.bar0.read32(chan(H.CHAN.IOAT_CHANERR_OFFSET)) !== 0);
    }, SEND_MSI_TIMEOUT_MS);
    const done = settled && Number(chansts & STATUS) === DONE;
    if (done && this.suspend()) return;
    const why = !settled
      ? `its copy did not finish in ${SEND_MSI_TIMEOUT_MS} ms (the channel is ${H.stateName(chansts)})`
      : done
        ? `the channel did not suspend within ${SUSPEND_TIMEOUT_MS} ms`
        : `its copy halted the channel: ${H.chanerrNames(this.bar0.read32(chan(H.CHAN.IOAT_CHANERR_OFFSET))).join(', ')}`;
    const report = this.fail([why], chansts);
    throw new DeviceError(this.device.bdf, `sendMsi: ${why}`, report.details);
  }

  /** The IOVA of an offset in the driver's DMA memory. */
  private at(offset: number): bigint {
    return this.iova + BigInt(offset);
  }

  private chansts(): bigint {
    return this.bar0.read64(chan(H.CHAN.IOAT_CHANSTS_OFFSET));
  }

  /** Points the channel at the chain at `chain` and has it run `count` descriptors (ioat.c's __ioat_memcpy_start). */
  private start(chain: bigint, count: number): void {
    // Two 32-bit halves, as the kernel's ioat_set_chainaddr writes them; ioat.c makes one 64-bit store.
    this.bar0.write32(chan(H.CHAN.IOAT2_CHAINADDR_OFFSET_LOW), Number(chain & 0xffffffffn));
    this.bar0.write32(chan(H.CHAN.IOAT2_CHAINADDR_OFFSET_HIGH), Number(chain >> 32n));
    // Re-arm the channel interrupt (only descriptors with int_en raise it); any error halts the channel.
    this.bar0.write16(
      chan(H.CHAN.IOAT_CHANCTRL_OFFSET),
      H.IOAT.IOAT_CHANCTRL_INT_REARM | H.IOAT.IOAT_CHANCTRL_ANY_ERR_ABORT_EN,
    );
    this.bar0.write16(chan(H.CHAN.IOAT_CHAN_DMACOUNT_OFFSET), count);
  }

  /** Suspends the idle channel, as ioat.c does after each batch, so the next batch's DONE is its own. */
  private suspend(): boolean {
    this.bar0.write8(chan(H.CHAN.IOAT2_CHANCMD_OFFSET), H.IOAT.IOAT_CHANCMD_SUSPEND);
    return spinUntil(() => Number(this.chansts() & STATUS) === SUSPENDED, SUSPEND_TIMEOUT_MS);
  }

  /** Writes each error register's set bits back, which clears them. */
  private clearErrors(): void {
    const config = this.device.config;
    const { IOAT_PCI_CHANERR_INT_OFFSET: chanerrInt, IOAT_PCI_DMAUNCERRSTS_OFFSET: uncerr } = H.PCI_REG;
    config.write32(chanerrInt, config.read32(chanerrInt));
    // ioat.c writes this one's bits to CHANERR_INT; the kernel's driver clears a DMAUNCERRSTS bit by writing it there.
    config.write32(uncerr, config.read32(uncerr));
    const chanerr = chan(H.CHAN.IOAT_CHANERR_OFFSET);
    this.bar0.write32(chanerr, this.bar0.read32(chanerr));
  }

  /** Clears the errors and resets channel 0 (ioat.c's ioat_reset), which leaves it halted. */
  private reset(): void {
    this.clearErrors();
    const chancmd = chan(H.CHAN.IOAT2_CHANCMD_OFFSET);
    this.bar0.write8(chancmd, H.IOAT.IOAT_CHANCMD_RESET);
    if (!spinUntil(() => (this.bar0.read8(chancmd) & H.IOAT.IOAT_CHANCMD_RESET) === 0, RESET_TIMEOUT_MS))
      throw new DeviceError(this.device.bdf, `the channel reset did not finish in ${RESET_TIMEOUT_MS} ms`);
    const chansts = this.chansts();
    if (Number(chansts & STATUS) !== HALTED)
      throw new DeviceError(this.device.bdf, `after a reset the channel is ${H.stateName(chansts)}, not halted`, {
        chansts: hex(chansts),
      });
  }

  /** Resets the channel and routes channel interrupts to their MSI-X vectors: at init and after an error. */
  private bringUp(): void {
    this.reset();
    this.bar0.write8(H.REG.IOAT_INTRCTRL_OFFSET, H.IOAT.IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);
  }

  /** The report of a failed batch with the channel's error registers; recovers the channel, as ioat.c does. */
  private fail(errors: string[], chansts: bigint): DeviceReport {
    const details = {
      chansts: hex(chansts),
      chanerr: hex(this.bar0.read32(chan(H.CHAN.IOAT_CHANERR_OFFSET))),
      chanerrInt: hex(this.device.config.read32(H.PCI_REG.IOAT_PCI_CHANERR_INT_OFFSET)),
      dmauncerrsts: hex(this.device.config.read32(H.PCI_REG.IOAT_PCI_DMAUNCERRSTS_OFFSET)),
    };
    this.bringUp();
    return { errors, details };
  }
}
