// Intel Data Streaming Accelerator (DSA, the idxd engine) as a DMA engine,
// brought up as the kernel's VFIO selftest driver brings it up
// (tools/testing/selftests/vfio/lib/drivers/dsa/dsa.c, Linux 7.2): device
// reset, work queue 0 dedicated with every entry, group 0 holding it and
// engine 0, device and queue enabled. One copy is one memmove descriptor;
// more are batch descriptors over one list of memmoves in DMA memory, each
// batch with its own completion record, so memcpyWait knows when every copy
// is done. Descriptors reach the device through work queue 0's portal (BAR2).
// MSI-X vector 1 is the driver's: only a descriptor asking for a completion
// interrupt raises it, which sendMsi's does and no copy's does.
//
// Written from the sources only, never run on hardware (README.md). Like the
// C driver it hands the portal each descriptor as one 64-byte store
// (MOVDIR64B, sys/native-code.ts), so init refuses a CPU without it.

import { setTimeout as sleep } from 'node:timers/promises';
import type { DeviceReport, DmaContext, DriverLimits, DriverOps } from '../ops.js';
import { claims } from '../framework.js';
import type { VfioDevice } from '../vfio/device.js';
import { DmaBuffer } from '../vfio/dma-buffer.js';
import { DeviceError } from '../vfio/errors.js';
import type { Region } from '../vfio/region.js';
import { Unsupported } from '../../sys/errors.js';
import { cpuHasMovdir64b } from '../../sys/native-code.js';
import { PCI, VFIO } from '../../sys/uapi.js';
import * as H from './hw.js';

/** Vector 0 is the device's own (errors, commands); completion interrupts may use 1 and up (dsa.c). */
const MSIX_VECTOR = 1;
/** The selftest's arrays: at most 32 batch descriptors in flight, each over at most 1024 descriptors. */
const MAX_BATCHES = 32;
const MAX_COPIES_PER_BATCH = 1024;
/** Work queue 0's unlimited portal: BAR2's first page (idxd_get_wq_portal_full_offset, drivers/dma/idxd/idxd.h). */
const WQ0_PORTAL = 0;
/** How long the selftest lets a command stay active. */
const COMMAND_TIMEOUT_MS = 5000;
const POLL_MS = 1;
/** sendMsi's 8-byte copy, alone in the queue, takes microseconds; it spins this long at most. */
const SEND_MSI_TIMEOUT_MS = 100;
/** Failed copies listed per batch; the batches' records say the rest. */
const MAX_REPORTED = 8;
/** Opcodes work queue 0 accepts (op_config[0], as dsa.c sets it). */
const OP_CONFIG = (1n << BigInt(H.OPCODE.DSA_OPCODE_MEMMOVE)) | (1n << BigInt(H.OPCODE.DSA_OPCODE_BATCH));
const { IDXD_OP_FLAG_CRAV: CRAV, IDXD_OP_FLAG_RCR: RCR, IDXD_OP_FLAG_RCI: RCI } = H.OP_FLAG;

const DESC = H.DSA_HW_DESC.size;
const RECORD = H.DSA_COMPLETION_RECORD.size;

/** The driver's DMA memory: descriptors first (64-byte aligned), then completion records (32-byte aligned). */
const LAYOUT = (() => {
  let end = 0;
  const take = (bytes: number): number => {
    const at = end;
    end += bytes;
    return at;
  };
  return {
    copies: take(MAX_COPIES_PER_BATCH * DESC),
    batches: take(MAX_BATCHES * DESC),
    single: take(DESC),
    msi: take(DESC),
    copyRecords: take(MAX_COPIES_PER_BATCH * RECORD),
    batchRecords: take(MAX_BATCHES * RECORD),
    singleRecord: take(RECORD),
    msiRecord: take(RECORD),
    msiSrc: take(8),
    msiDst: take(8),
    size: end,
  };
})();

export interface DsaLimits {
  maxMemcpySize: number;
  maxMemcpyCount: number;
  copiesPerBatch: number;
  batches: number;
}

/**
 * The limits the capability registers allow, as dsa.c computes them: a copy of up to 2^GENCAP.max_xfer_shift
 * bytes; batches of up to 2^GENCAP.max_batch_shift copies and as many batches as work queue 0 holds, each capped
 * by the selftest's arrays. dsa.c takes the batches as 1 << (WQCAP.total_wq_size + IDXD_WQCFG_MIN), a shift
 * past 32 bits whose value on x86 happens to be 32; here they are the queue's entries. A device whose batches
 * hold fewer than 3 copies cannot split every count into batches of at least 2, so it copies one at a time.
 */
export function dsaLimits(genCap: bigint, wqCap: bigint): DsaLimits {
  const copiesPerBatch = Math.min(2 ** H.GEN_CAP.num(genCap, 'max_batch_shift'), MAX_COPIES_PER_BATCH);
  const batches = Math.min(H.WQ_CAP.num(wqCap, 'total_wq_size'), MAX_BATCHES);
  return {
    maxMemcpySize: 2 ** H.GEN_CAP.num(genCap, 'max_xfer_shift'),
    maxMemcpyCount: copiesPerBatch >= 3 ? copiesPerBatch * batches : 1,
    copiesPerBatch,
    batches,
  };
}

/**
 * The sizes of the batches `count` copies (2 or more) go in: as many as possible of `copiesPerBatch` (3 or more),
 * none of fewer than 2, which the device refuses (dsa.c: a last single copy takes one from the batch before).
 */
export function splitBatches(count: number, copiesPerBatch: number): number[] {
  if (count < 2 || copiesPerBatch < 3)
    throw new RangeError(`cannot batch ${count} copies in batches of at most ${copiesPerBatch}`);
  const sizes: number[] = [];
  for (let left = count; left > 0;) {
    let n = Math.min(left, copiesPerBatch);
    if (left - n === 1) n--;
    sizes.push(n);
    left -= n;
  }
  return sizes;
}

/** What memcpyStart handed the device: the records to wait for, and how many copies each one's batch holds. */
interface InFlight {
  records: number[];
  sizes: number[];
  /** Descriptors of the shared list in use (0 for a single copy). */
  listLength: number;
}

export class DsaOps implements DriverOps {
  readonly name = 'dsa';
  private device!: VfioDevice;
  private dma!: DmaContext;
  private bar0!: Region;
  private portal!: Region;
  private memory!: DmaBuffer;
  /** The DMA memory as a Buffer over the mapping (no copy). */
  private bytes!: Buffer;
  private iova = 0n;
  private genCap = 0n;
  private wqCap = 0n;
  private copiesPerBatch = 0;
  private inflight: InFlight | undefined;

  probe(device: VfioDevice): boolean {
    return claims(this.name, device);
  }

  async init(device: VfioDevice, dma: DmaContext): Promise<DriverLimits> {
    if (!cpuHasMovdir64b())
      throw new Unsupported(`${device.bdf}: this CPU has no MOVDIR64B, the only store a DSA portal takes`);
    this.device = device;
    this.dma = dma;
    this.bar0 = device.bar(H.IDXD.IDXD_MMIO_BAR);
    this.portal = device.bar(H.IDXD.IDXD_WQ_BAR);
    device.setCommandBits(PCI.PCI_COMMAND_MEMORY | PCI.PCI_COMMAND_MASTER | PCI.PCI_COMMAND_INTX_DISABLE, true);
    this.genCap = this.bar0.read64(H.REG.IDXD_GENCAP_OFFSET);
    if (
      H.GEN_CAP.num(this.genCap, 'cmd_cap') &&
      (this.bar0.read32(H.REG.IDXD_CMDCAP_OFFSET) >>> H.CMD.IDXD_CMD_REQUEST_INT_HANDLE) & 1
    )
      throw new DeviceError(
        device.bdf,
        'the device wants interrupt handles requested (IDXD_CMD_REQUEST_INT_HANDLE); this driver, as dsa.c, puts MSI-X vector numbers in descriptors',
      );
    this.memory = DmaBuffer.create(LAYOUT.size, { name: `dsa-${device.bdf}` });
    this.bytes = Buffer.from(this.memory.bytes.buffer, this.memory.bytes.byteOffset, this.memory.size);
    this.iova = dma.mapDma(this.memory);
    await this.configure();
    device.enableIrqs(VFIO.VFIO_PCI_MSIX_IRQ_INDEX, MSIX_VECTOR + 1);
    const limits = dsaLimits(this.genCap, this.wqCap);
    this.copiesPerBatch = limits.copiesPerBatch;
    return { maxMemcpySize: limits.maxMemcpySize, maxMemcpyCount: limits.maxMemcpyCount, msiVector: MSIX_VECTOR };
  }

  async remove(): Promise<void> {
    this.inflight = undefined;
    try {
      this.ackSwerr();
      await this.command(H.CMD.IDXD_CMD_RESET_DEVICE);
    } finally {
      this.device.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
      this.device.disableIrqs();
      this.dma.unmapDma(this.iova);
      this.memory.close();
    }
  }

  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void {
    const b = this.bytes;
    if (count === 1) {
      b.fill(0, LAYOUT.singleRecord, LAYOUT.singleRecord + RECORD);
      H.writeMemmove(b, LAYOUT.single, { src, dst, size, completion: this.at(LAYOUT.singleRecord), flags: CRAV | RCR });
      this.submit(LAYOUT.single);
      this.inflight = { records: [LAYOUT.singleRecord], sizes: [1], listLength: 0 };
      return;
    }
    const sizes = splitBatches(count, this.copiesPerBatch);
    const listLength = Math.max(...sizes);
    // Every batch runs the same list; a copy in it writes its own record only if it fails (CRAV without RCR).
    for (let i = 0; i < listLength; i++) {
      const completion = this.at(LAYOUT.copyRecords + i * RECORD);
      H.writeMemmove(b, LAYOUT.copies + i * DESC, { src, dst, size, completion, flags: CRAV });
    }
    b.fill(0, LAYOUT.copyRecords, LAYOUT.copyRecords + listLength * RECORD);
    b.fill(0, LAYOUT.batchRecords, LAYOUT.batchRecords + sizes.length * RECORD);
    const records = sizes.map((n, k) => {
      const record = LAYOUT.batchRecords + k * RECORD;
      H.writeBatch(b, LAYOUT.batches + k * DESC, {
        list: this.at(LAYOUT.copies),
        count: n,
        completion: this.at(record),
        flags: CRAV | RCR,
      });
      return record;
    });
    // The portal stores come after every descriptor and cleared record is in memory (x86 keeps stores in order).
    for (let k = 0; k < sizes.length; k++) this.submit(LAYOUT.batches + k * DESC);
    this.inflight = { records, sizes, listLength };
  }

  async memcpyWait(deadline: number): Promise<DeviceReport> {
    const batch = this.inflight;
    if (!batch) return { errors: [] };
    this.inflight = undefined;
    for (;;) {
      const pending = batch.records.filter((r) => this.bytes[r] === 0).length;
      const swerr = this.swerr();
      const state = H.GENSTS.num(BigInt(this.bar0.read32(H.REG.IDXD_GENSTATS_OFFSET)), 'state');
      const errors: string[] = [];
      if (H.SW_ERR.num(swerr, 'valid')) errors.push(H.describeSwerr(swerr));
      if (state !== H.DEVICE_STATE.IDXD_DEVICE_STATE_ENABLED)
        errors.push(`the device is ${H.nameOf(H.DEVICE_STATE, state)}, not enabled`);
      if (pending && !errors.length) {
        if (Date.now() < deadline) {
          await sleep(POLL_MS);
          continue;
        }
        errors.push(`${pending} of ${batch.records.length} completion records were still empty at the deadline`);
      }
      errors.push(...this.recordErrors(batch));
      if (!errors.length) return { errors };
      const details = {
        pending,
        statuses: batch.records.map((r) => `0x${this.bytes[r]!.toString(16)}`),
        swerr: `0x${swerr.toString(16)}`,
        state: H.nameOf(H.DEVICE_STATE, state),
      };
      // Reset and configure again: a reset also drops whatever the queue still held.
      await this.configure();
      return { errors, details };
    }
  }

  sendMsi(): void {
    if (this.inflight)
      throw new Error(
        `dsa ${this.device.bdf}: copies are in flight; memcpyWait before sendMsi (its copy would queue behind them)`,
      );
    const b = this.bytes;
    b.fill(0, LAYOUT.msiRecord, LAYOUT.msiRecord + RECORD);
    H.writeMemmove(b, LAYOUT.msi, {
      src: this.at(LAYOUT.msiSrc),
      dst: this.at(LAYOUT.msiDst),
      size: 8,
      completion: this.at(LAYOUT.msiRecord),
      flags: CRAV | RCR | RCI,
      intHandle: MSIX_VECTOR,
    });
    this.submit(LAYOUT.msi);
    const until = Date.now() + SEND_MSI_TIMEOUT_MS;
    while (b[LAYOUT.msiRecord] === 0) {
      if (Date.now() >= until) {
        const swerr = this.swerr();
        const why = H.SW_ERR.num(swerr, 'valid') ? `: ${H.describeSwerr(swerr)}` : '';
        throw new DeviceError(this.device.bdf, `sendMsi: its copy did not complete in ${SEND_MSI_TIMEOUT_MS} ms${why}`);
      }
    }
    if ((b[LAYOUT.msiRecord]! & H.COMP.DSA_COMP_STATUS_MASK) !== H.COMP_STATUS.DSA_COMP_SUCCESS)
      throw new DeviceError(this.device.bdf, `sendMsi: its copy failed: ${H.describeRecord(b, LAYOUT.msiRecord)}`);
  }

  /** The IOVA of an offset in the driver's DMA memory. */
  private at(offset: number): bigint {
    return this.iova + BigInt(offset);
  }

  /** Hands the descriptor at `at` to work queue 0 in one 64-byte store, as the C driver's MOVDIR64B. */
  private submit(at: number): void {
    this.portal.write512(WQ0_PORTAL, this.bytes.subarray(at, at + DESC));
  }

  /** The failures a finished batch's records hold: failed batches (or the one copy), then the first failed copies. */
  private recordErrors(batch: InFlight): string[] {
    const failed = (record: number) => {
      const status = this.bytes[record]!;
      return status !== 0 && (status & H.COMP.DSA_COMP_STATUS_MASK) !== H.COMP_STATUS.DSA_COMP_SUCCESS;
    };
    const errors: string[] = [];
    batch.records.forEach((record, k) => {
      if (!failed(record)) return;
      const what = batch.listLength ? `batch ${k} (${batch.sizes[k]} copies)` : 'the copy';
      errors.push(`${what}: ${H.describeRecord(this.bytes, record)}`);
    });
    let listed = 0;
    for (let i = 0; i < batch.listLength && listed < MAX_REPORTED; i++) {
      const record = LAYOUT.copyRecords + i * RECORD;
      if (!failed(record)) continue;
      errors.push(`descriptor ${i} of the batches' list: ${H.describeRecord(this.bytes, record)}`);
      listed++;
    }
    return errors;
  }

  /** The software error register as one integer; only its first word while that says there is no error. */
  private swerr(): bigint {
    const first = this.bar0.read64(H.REG.IDXD_SWERR_OFFSET);
    if (!(first & BigInt(H.IDXD.IDXD_SWERR_VALID))) return first;
    let all = first;
    for (let i = 1; i < H.SW_ERR.size / 8; i++)
      all |= this.bar0.read64(H.REG.IDXD_SWERR_OFFSET + 8 * i) << BigInt(64 * i);
    return all;
  }

  /** Clears a software error left from before, so the next command's wait does not take it for its own. */
  private ackSwerr(): void {
    const ack = this.bar0.read64(H.REG.IDXD_SWERR_OFFSET) & BigInt(H.IDXD.IDXD_SWERR_ACK);
    if (ack) this.bar0.write64(H.REG.IDXD_SWERR_OFFSET, ack);
  }

  /** Issues a command and waits until it is no longer active; rejects with its error or a software error. */
  private async command(cmd: number, operand = 0): Promise<void> {
    const what = H.nameOf(H.CMD, cmd);
    this.bar0.write32(H.REG.IDXD_CMD_OFFSET, Number(H.COMMAND.value({ cmd, operand })));
    const until = Date.now() + COMMAND_TIMEOUT_MS;
    for (;;) {
      const swerr = this.swerr();
      if (H.SW_ERR.num(swerr, 'valid'))
        throw new DeviceError(this.device.bdf, `${what}: ${H.describeSwerr(swerr)}`, {
          swerr: `0x${swerr.toString(16)}`,
        });
      const status = this.bar0.read32(H.REG.IDXD_CMDSTS_OFFSET);
      if ((status & H.IDXD.IDXD_CMDSTS_ACTIVE) === 0) {
        const err = status & H.IDXD.IDXD_CMDSTS_ERR_MASK;
        if (err) throw new DeviceError(this.device.bdf, `${what} failed: ${H.nameOf(H.CMDSTS_ERR, err)}`, { status });
        return;
      }
      if (Date.now() >= until)
        throw new DeviceError(this.device.bdf, `${what} still active after ${COMMAND_TIMEOUT_MS} ms`, { status });
      await sleep(POLL_MS);
    }
  }

  /**
   * Resets the device and sets it up as dsa.c does: work queue 0 dedicated, with every entry and the device's
   * transfer and batch limits, in group 0 with engine 0; then device and queue enabled. Used at init and to
   * recover from an error.
   */
  private async configure(): Promise<void> {
    const bar = this.bar0;
    this.ackSwerr();
    await this.command(H.CMD.IDXD_CMD_RESET_DEVICE);
    this.wqCap = bar.read64(H.REG.IDXD_WQCAP_OFFSET);
    const groupCap = bar.read64(H.REG.IDXD_GRPCAP_OFFSET);
    const engineCap = bar.read64(H.REG.IDXD_ENGCAP_OFFSET);
    const missing = [
      H.WQ_CAP.num(this.wqCap, 'num_wqs') ? undefined : 'work queues',
      H.WQ_CAP.num(this.wqCap, 'total_wq_size') ? undefined : 'work queue entries',
      H.WQ_CAP.num(this.wqCap, 'dedicated_mode') ? undefined : 'dedicated work queues',
      H.GROUP_CAP.num(groupCap, 'num_groups') ? undefined : 'groups',
      H.ENGINE_CAP.num(engineCap, 'num_engines') ? undefined : 'engines',
    ].filter((m) => m !== undefined);
    if (missing.length)
      throw new DeviceError(this.device.bdf, `the device reports no ${missing.join(', no ')}`, {
        wqCap: `0x${this.wqCap.toString(16)}`,
        groupCap: `0x${groupCap.toString(16)}`,
        engineCap: `0x${engineCap.toString(16)}`,
      });
    const offsets = bar.read64(H.REG.IDXD_TABLE_OFFSET);
    const wqcfgAt = H.OFFSETS.num(offsets, 'wqcfg') * H.IDXD.IDXD_TABLE_MULT;
    const grpcfgAt = H.OFFSETS.num(offsets, 'grpcfg') * H.IDXD.IDXD_TABLE_MULT;

    const entry = H.wqcfgBytes({
      wqSize: H.WQ_CAP.num(this.wqCap, 'total_wq_size'),
      priority: 1,
      // No Address Translation Service: a DMA to an unmapped IOVA must fault in the IOMMU, as dsa.c wants.
      atsDisable: H.WQ_CAP.num(this.wqCap, 'wq_ats_support'),
      maxXferShift: H.GEN_CAP.num(this.genCap, 'max_xfer_shift'),
      maxBatchShift: H.GEN_CAP.num(this.genCap, 'max_batch_shift'),
      opConfig: OP_CONFIG,
    });
    // The entry's size is the device's; past the 64 bytes this driver knows, it writes zeros.
    const entryBytes = 2 ** (H.WQ_CAP.num(this.wqCap, 'wqcfg_size') + H.IDXD.IDXD_WQCFG_MIN);
    for (let at = 0; at < entryBytes; at += 4)
      bar.write32(wqcfgAt + at, at < entry.length ? entry.readUInt32LE(at) : 0);
    bar.write64(grpcfgAt + H.GRPCFG.offsets.wqs, 1n); // work queue 0
    bar.write64(grpcfgAt + H.GRPCFG.offsets.engines, 1n); // engine 0

    await this.command(H.CMD.IDXD_CMD_ENABLE_DEVICE);
    await this.command(H.CMD.IDXD_CMD_ENABLE_WQ, 0);
  }
}
