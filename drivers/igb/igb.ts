// Intel 82576 (igb, 8086:10c9) as a DMA engine: each copy is one Ethernet
// frame sent from `src` through MAC loopback and received into `dst`, one
// transmit and one receive descriptor per copy, rings of 4096 in DMA memory.
// MSI-X vector 0 is the driver's vector; no queue cause is routed to it (the
// IVARs stay invalid), so copies can never interrupt and the only way to
// raise it is sendMsi's write of the cause by hand (EICS).
//
// What QEMU's igb needs and real hardware may not, from the kernel's
// selftest driver and QEMU's igb_core.c: RCTL.LBM_MAC for loopback (QEMU
// ignores the PHY loopback bit's datapath), and an autonegotiation restart to
// bring STATUS.LU up (QEMU drops received frames while the link is down).

import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceReport, DmaContext, DriverLimits, DriverOps } from '../ops.js';
import { claims } from '../framework.js';
import type { VfioDevice } from '../vfio/device.js';
import { DmaBuffer } from '../vfio/dma-buffer.js';
import type { Region, Register32 } from '../vfio/region.js';
import { PCI, VFIO } from '../../sys/uapi.js';
import * as R from './regs.js';

const RING_SIZE = 4096;
const DESC_BYTES = 16;
const RING_BYTES = RING_SIZE * DESC_BYTES;
/**
 * One frame per copy: at least Ethernet's minimum (QEMU pads shorter frames, writing past dst), at most what fits a 2
 * KiB receive buffer; 1 KiB as the selftest driver uses.
 */
const MIN_COPY = 60;
const MAX_COPY = 1024;
const MSIX_VECTOR = 0;
/** How long memcpyWait looks again on every turn of the event loop before it sleeps between looks. */
const SPIN_MS = 5;
/** After the transmit ring drains, how long a missing receive may still arrive before the frame counts as lost. */
const LOST_FRAME_GRACE_MS = 100;
const LINK_UP_TIMEOUT_MS = 5000;
/** In a receive descriptor's write-back: status_error and length. */
const WB_STATUS = 8;
const WB_LENGTH = 12;
/** Frame errors listed per batch; the count of completed frames says the rest. */
const MAX_REPORTED = 8;

/** The one or two runs of ring slots [from, from + n) that `count` slots from `first` occupy. */
function ringSegments(first: number, count: number): [number, number][] {
  const head = Math.min(count, RING_SIZE - first);
  return head === count
    ? [[first, count]]
    : [
        [first, head],
        [0, count - head],
      ];
}

interface Batch {
  first: number;
  count: number;
  size: number;
  /** Completed frames so far, in order from `first`. */
  done: number;
  errors: string[];
}

export class IgbOps implements DriverOps {
  readonly name = 'igb';
  private device!: VfioDevice;
  private dma!: DmaContext;
  private bar0!: Region;
  /** The interrupt-cause set register sendMsi writes, resolved once. */
  private eics!: Register32;
  private rings!: DmaBuffer;
  private ringsIova = 0n;
  /** The rings as a Buffer over the DMA mapping (no copy): transmit ring, then receive ring. */
  private ringBytes!: Buffer;
  private readonly txPattern = Buffer.alloc(DESC_BYTES);
  private readonly rxPattern = Buffer.alloc(DESC_BYTES);
  /** Both rings advance together: copy i uses transmit and receive descriptor i. */
  private tail = 0;
  private batch: Batch | undefined;

  probe(device: VfioDevice): boolean {
    return claims(this.name, device);
  }

  async init(device: VfioDevice, dma: DmaContext): Promise<DriverLimits> {
    this.device = device;
    this.dma = dma;
    this.bar0 = device.bar(0);
    this.eics = this.bar0.register32(R.REG.EICS);
    this.rings = DmaBuffer.create(2 * RING_BYTES, { name: `igb-rings-${device.bdf}` });
    this.ringBytes = Buffer.from(this.rings.bytes.buffer, this.rings.bytes.byteOffset, this.rings.size);
    this.ringsIova = dma.mapDma(this.rings);
    await this.softwareReset();
    device.enableIrqs(VFIO.VFIO_PCI_MSIX_IRQ_INDEX, 1);
    await this.hwInit();
    return { maxMemcpySize: MAX_COPY, maxMemcpyCount: RING_SIZE - 1, msiVector: MSIX_VECTOR };
  }

  async remove(): Promise<void> {
    this.bar0.write32(R.REG.RCTL, 0);
    this.bar0.write32(R.REG.TCTL, 0);
    await this.softwareReset();
    this.device.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
    this.device.disableIrqs();
    this.dma.unmapDma(this.ringsIova);
    this.rings.close();
    this.batch = undefined;
  }

  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void {
    if (size < MIN_COPY) throw new RangeError(`igb copies at least ${MIN_COPY} bytes (an Ethernet frame), not ${size}`);
    // Every copy of a batch has the same two descriptors, so each ring segment is one native fill of a
    // 16-byte pattern: the hot path does not wait for V8 to compile a loop (slow under TCG).
    const tx = this.txPattern;
    tx.writeBigUInt64LE(src, 0); // buffer address
    tx.writeUInt32LE(
      (size | R.ADVTXD_DTYP_DATA | R.ADVTXD_DCMD_DEXT | R.ADVTXD_DCMD_IFCS | R.ADVTXD_DCMD_EOP) >>> 0,
      8,
    ); // cmd_type_len
    tx.writeUInt32LE((size << R.ADVTXD_PAYLEN_SHIFT) >>> 0, 12); // olinfo_status
    const rx = this.rxPattern;
    // packet address; the header address (unused) stays 0, which also clears a stale write-back
    rx.writeBigUInt64LE(dst, 0);
    const first = this.tail;
    for (const [from, n] of ringSegments(first, count)) {
      this.ringBytes.fill(tx, from * DESC_BYTES, (from + n) * DESC_BYTES);
      this.ringBytes.fill(rx, RING_BYTES + from * DESC_BYTES, RING_BYTES + (from + n) * DESC_BYTES);
    }
    this.tail = (first + count) % RING_SIZE;
    this.batch = { first, count, size, done: 0, errors: [] };
    // Receive buffers first, so no frame finds the ring empty; the MMIO stores come after the descriptor stores (x86
    // keeps stores in order).
    this.bar0.write32(R.RX_RING0.TAIL, this.tail);
    this.bar0.write32(R.TX_RING0.TAIL, this.tail);
  }

  async memcpyWait(deadline: number): Promise<DeviceReport> {
    const batch = this.batch;
    if (!batch) return { errors: [] };
    this.batch = undefined;
    let drained: { at: number; done: number } | undefined;
    const started = performance.now();
    for (;;) {
      this.collect(batch);
      if (batch.done === batch.count) return { errors: batch.errors };
      const now = Date.now();
      const txHead = this.bar0.read32(R.TX_RING0.HEAD);
      let problem: string | undefined;
      if (now >= deadline) problem = `only ${batch.done} of ${batch.count} frames came back before the deadline`;
      else if (txHead === this.tail) {
        if (!drained || batch.done > drained.done) drained = { at: now, done: batch.done };
        else if (now - drained.at > LOST_FRAME_GRACE_MS)
          problem = `sent all ${batch.count} frames but received ${batch.done}: the device dropped the rest (a DMA read of the source failed?)`;
      }
      if (problem) {
        const details = {
          completed: batch.done,
          expected: batch.count,
          txHead,
          rxHead: this.bar0.read32(R.RX_RING0.HEAD),
          tail: this.tail,
        };
        await this.recover();
        return { errors: [...batch.errors, problem], details };
      }
      // A storm is done within milliseconds: a timer's millisecond (or more, under TCG) would be much of it.
      if (performance.now() - started < SPIN_MS) await new Promise((resolve) => setImmediate(resolve));
      else await sleep(1);
    }
  }

  sendMsi(): void {
    this.eics.write(1 << MSIX_VECTOR);
  }

  /**
   * Advances over the batch's completed receive descriptors, noting frame
   * errors and wrong lengths (the first few). Frames complete in order, so
   * when the last one is done all are; and frames of one batch are alike,
   * so their write-backs are too: a good last write-back and one native
   * comparison of the rest against it settle the common case.
   */
  private collect(batch: Batch): void {
    const last = (batch.first + batch.count - 1) % RING_SIZE;
    const wb = this.ringBytes.subarray(RING_BYTES + last * DESC_BYTES, RING_BYTES + (last + 1) * DESC_BYTES);
    if (this.writeBackProblem(wb, batch.size) === undefined && this.allEqualTo(wb, batch)) {
      batch.done = batch.count;
      return;
    }
    let index = (batch.first + batch.done) % RING_SIZE;
    while (batch.done < batch.count) {
      const desc = this.ringBytes.subarray(RING_BYTES + index * DESC_BYTES, RING_BYTES + (index + 1) * DESC_BYTES);
      if (!(desc.readUInt32LE(WB_STATUS) & R.RXD_STAT_DD)) return;
      const problem = this.writeBackProblem(desc, batch.size);
      if (problem && batch.errors.length < MAX_REPORTED)
        batch.errors.push(`frame ${batch.done} (rx descriptor ${index}): ${problem}`);
      batch.done++;
      index = index + 1 === RING_SIZE ? 0 : index + 1;
    }
  }

  /** What is wrong with a receive write-back (not done, error bits, wrong length), or undefined. */
  private writeBackProblem(wb: Buffer, size: number): string | undefined {
    const status = wb.readUInt32LE(WB_STATUS);
    if (!(status & R.RXD_STAT_DD)) return 'not done';
    if (status & R.RXDEXT_FRAME_ERRORS) return `error bits 0x${((status & R.RXDEXT_FRAME_ERRORS) >>> 0).toString(16)}`;
    const length = wb.readUInt16LE(WB_LENGTH);
    return length === size ? undefined : `came back with ${length} bytes, not ${size}`;
  }

  /**
   * Whether every write-back of the batch equals `wb`: per ring segment, its first equals `wb` and each equals the
   * next (one shifted comparison).
   */
  private allEqualTo(wb: Buffer, batch: Batch): boolean {
    for (const [from, n] of ringSegments(batch.first, batch.count)) {
      const segment = this.ringBytes.subarray(RING_BYTES + from * DESC_BYTES, RING_BYTES + (from + n) * DESC_BYTES);
      if (!segment.subarray(0, DESC_BYTES).equals(wb)) return false;
      if (!segment.subarray(0, segment.length - DESC_BYTES).equals(segment.subarray(DESC_BYTES))) return false;
    }
    return true;
  }

  /**
   * After frames were lost the rings no longer line up with what the device
   * will write next, and on real 82576s a failed DMA read wedges the
   * descriptor engine: reset the function (FLR), hand the kernel the same
   * eventfds again, and program the device from scratch.
   */
  private async recover(): Promise<void> {
    await this.device.reset();
    this.device.reenableIrqs();
    await this.hwInit();
  }

  private async softwareReset(): Promise<void> {
    this.bar0.write32(R.REG.CTRL, this.bar0.read32(R.REG.CTRL) | R.CTRL_RST);
    await sleep(1); // the datasheet's minimum before looking at the device again
    // Real hardware says it is done by finishing its NVM auto-read; QEMU's igb never sets AUTO_RD but clears CTRL.RST.
    await this.bar0
      .waitFor32(R.REG.EECD, (v) => (v & R.EECD_AUTO_RD) !== 0, { timeoutMs: 20 })
      .catch(() => this.bar0.waitFor32(R.REG.CTRL, (v) => (v & R.CTRL_RST) === 0, { timeoutMs: 20 }));
    this.bar0.write32(R.REG.IMC, 0xffffffff);
  }

  private async writePhy(reg: number, value: number): Promise<void> {
    this.bar0.write32(R.REG.MDIC, value | (reg << R.MDIC_REG_SHIFT) | (1 << R.MDIC_PHY_SHIFT) | R.MDIC_OP_WRITE);
    const mdic = await this.bar0.waitFor32(R.REG.MDIC, (v) => (v & R.MDIC_READY) !== 0, { timeoutMs: 50 });
    if (mdic & R.MDIC_ERROR)
      throw new Error(`${this.device.bdf}: PHY register ${reg} write failed (MDIC 0x${mdic.toString(16)})`);
  }

  /** Points a ring at RING_SIZE descriptors at `iova`, empty (head = tail = 0). */
  private programRing(ring: R.RingRegs, iova: bigint): void {
    this.bar0.write32(ring.BAL, Number(iova & 0xffffffffn));
    this.bar0.write32(ring.BAH, Number(iova >> 32n));
    this.bar0.write32(ring.LEN, RING_BYTES);
    this.bar0.write32(ring.HEAD, 0);
    this.bar0.write32(ring.TAIL, 0);
  }

  /** Programs loopback, rings and interrupts; used at init and after a reset. */
  private async hwInit(): Promise<void> {
    const bar = this.bar0;
    bar.write32(
      R.REG.CTRL_EXT,
      ((bar.read32(R.REG.CTRL_EXT) | R.CTRL_EXT_DRV_LOAD) & ~R.CTRL_EXT_LINK_MODE_MASK) >>> 0,
    );
    this.device.setCommandBits(PCI.PCI_COMMAND_MEMORY | PCI.PCI_COMMAND_MASTER, true);

    // PHY loopback at 1 Gb/s full duplex, MAC forced to match (datasheet 3.5.6.3.1); the
    // autonegotiation restart first is what raises STATUS.LU in QEMU.
    await this.writePhy(R.MII_BMCR, R.BMCR_ANENABLE | R.BMCR_ANRESTART);
    await this.writePhy(R.MII_BMCR, R.BMCR_LOOPBACK | R.BMCR_SPEED1000 | R.BMCR_FULLDPLX);
    await sleep(50); // as the kernel's igb loopback self-test waits before forcing the MAC
    const ctrl =
      (bar.read32(R.REG.CTRL) & ~R.CTRL_SPD_SEL) |
      R.CTRL_FRCSPD |
      R.CTRL_FRCDPX |
      R.CTRL_SPD_1000 |
      R.CTRL_FD |
      R.CTRL_SLU;
    bar.write32(R.REG.CTRL, ctrl >>> 0);
    await bar.waitFor32(R.REG.STATUS, (v) => (v & R.STATUS_LU) !== 0, { timeoutMs: LINK_UP_TIMEOUT_MS, intervalMs: 5 });

    // A failed DMA read must not be retried forever (datasheet 8.6.1).
    bar.write32(R.REG.GCR, bar.read32(R.REG.GCR) & ~R.GCR_CMPL_TMOUT_RESEND);

    this.rings.bytes.fill(0);
    this.programRing(R.TX_RING0, this.ringsIova);
    bar.write32(R.TX_RING0.CTL, R.QUEUE_ENABLE);
    this.programRing(R.RX_RING0, this.ringsIova + BigInt(RING_BYTES));
    // Advanced one-buffer descriptors: their write-back carries status_error and length.
    bar.write32(R.REG.SRRCTL0, R.SRRCTL_DESCTYPE_ADV_ONEBUF);
    bar.write32(R.RX_RING0.CTL, R.QUEUE_ENABLE);
    bar.write32(R.REG.RCTL, R.RCTL_EN | R.RCTL_UPE | R.RCTL_MPE | R.RCTL_BAM | R.RCTL_LBM_MAC | R.RCTL_SECRC);
    bar.write32(R.REG.TCTL, R.TCTL_EN | R.TCTL_PSP);
    // The queue enable bits read back as set only once RCTL.EN / TCTL.EN are on.
    for (const ring of [R.TX_RING0, R.RX_RING0])
      await bar.waitFor32(ring.CTL, (v) => (v & R.QUEUE_ENABLE) !== 0, { timeoutMs: 100 });
    this.tail = 0;

    // MSI-X mode; vector 0's cause clears itself when the message goes out, so every EICS write sends one.
    bar.write32(R.REG.GPIE, R.GPIE_MSIX_MODE);
    bar.write32(R.REG.EIAC, 1 << MSIX_VECTOR);
    bar.write32(R.REG.IVAR0, 0);
    bar.write32(R.REG.EICR, 0xffffffff);
    bar.write32(R.REG.EIMS, 1 << MSIX_VECTOR);
  }
}
