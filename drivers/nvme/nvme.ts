// An NVM Express controller as a DMA engine. A copy is a Write of the source
// to a scratch LBA range followed by a Read of it back into the
// destination: two DMAs through the controller's own queues, asynchronous by
// nature (memcpyStart submits every copy's Write and returns; memcpyWait polls
// completions with interrupts off and submits each Read as its Write
// completes). Errors are the completions' status codes, by name. The MSI is a
// Flush on a second I/O queue whose completion queue has interrupts on
// (MSI-X vector 1; the admin queue has vector 0 to itself).
//
// A copy overwrites the namespace it goes through, so the driver refuses to
// start without a scratch range (DriverConfig.scratch): the scenario names it
// on a real host; on a QEMU target it is the image lustress made for the guest.

import { setTimeout as sleep } from 'node:timers/promises';
import { PCI, VFIO } from '../../sys/uapi.js';
import { claims } from '../framework.js';
import type { DeviceReport, DmaContext, DriverConfig, DriverLimits, DriverOps } from '../ops.js';
import type { VfioDevice } from '../vfio/device.js';
import { DmaBuffer } from '../vfio/dma-buffer.js';
import { DeviceError } from '../vfio/errors.js';
import type { Region } from '../vfio/region.js';
import { QueuePair, type Command, type Completion } from './queue.js';
import {
  ADMIN,
  CAP_CSS_NVM,
  CC_CONFIG,
  CC_EN,
  CNS,
  CQ_IEN,
  CQ_PC,
  CQE_BYTES,
  CSTS_CFS,
  CSTS_RDY,
  FEATURE_NUMBER_OF_QUEUES,
  ID_CTRL,
  ID_NS,
  NVM,
  PAGE,
  REG,
  SQ_PC,
  SQE_BYTES,
  capFields,
  statusName,
} from './regs.js';

const ADMIN_DEPTH = 32;
/** Copies in flight at once (each one command at a time), and the I/O queue that carries them. */
const IO_DEPTH = 256;
const MSI_DEPTH = 16;
const IO_QID = 1;
const MSI_QID = 2;
const ADMIN_VECTOR = 0;
const MSI_VECTOR = 1;
/** Largest copy: what one PRP list page describes, and a size that keeps many copies in a scratch range. */
const MAX_COPY = 1 << 20;
const ADMIN_TIMEOUT_MS = 10_000;
/** How long sendMsi waits for its Flush to complete (the MSI goes out with the completion). */
const MSI_TIMEOUT_MS = 2000;
/** Device errors listed per batch; the count of completed copies says the rest. */
const MAX_REPORTED = 8;

/** Where in the driver's DMA memory each ring and page lies, in pages. */
const LAYOUT = (() => {
  let page = 0;
  const take = (bytes: number) => {
    const at = page;
    page += Math.ceil(bytes / PAGE);
    return at;
  };
  return {
    adminSq: take(ADMIN_DEPTH * SQE_BYTES),
    adminCq: take(ADMIN_DEPTH * CQE_BYTES),
    ioSq: take(IO_DEPTH * SQE_BYTES),
    ioCq: take(IO_DEPTH * CQE_BYTES),
    msiSq: take(MSI_DEPTH * SQE_BYTES),
    msiCq: take(MSI_DEPTH * CQE_BYTES),
    identify: take(PAGE),
    // One PRP list page per command id of the I/O queue.
    prpLists: take(IO_DEPTH * PAGE),
    pages: page,
  };
})();

interface Namespace {
  nsid: number;
  lbaBytes: number;
  firstLba: number;
  lbas: number;
}

interface Copy {
  state: 'writing' | 'reading' | 'done' | 'failed';
}

interface Batch {
  src: bigint;
  dst: bigint;
  size: number;
  copies: Copy[];
  done: number;
  errors: string[];
}

export class NvmeOps implements DriverOps {
  readonly name = 'nvme';
  private device!: VfioDevice;
  private dma!: DmaContext;
  private bar0!: Region;
  private mem!: DmaBuffer;
  private memIova = 0n;
  private bytes!: Buffer;
  private stride = 4;
  private readyTimeoutMs = 0;
  private admin!: QueuePair;
  private io!: QueuePair;
  private msi!: QueuePair;
  private nextAdminCid = 0;
  private nextMsiCid = 0;
  private ns!: Namespace;
  private maxCopy = 0;
  private batch: Batch | undefined;
  private identity = '';

  probe(device: VfioDevice): boolean {
    return claims(this.name, device);
  }

  async init(device: VfioDevice, dma: DmaContext, config: DriverConfig): Promise<DriverLimits> {
    const scratch = config.scratch;
    if (!scratch) {
      throw new DeviceError(
        device.bdf,
        'nvme: refusing to copy through a namespace the scenario does not name as scratch (its data would be overwritten): give the device scratch: { namespace, first-lba, lbas }',
      );
    }
    this.device = device;
    this.dma = dma;
    this.bar0 = device.bar(0);
    this.mem = DmaBuffer.create(LAYOUT.pages * PAGE, { name: `nvme-queues-${device.bdf}` });
    this.bytes = Buffer.from(this.mem.bytes.buffer, this.mem.bytes.byteOffset, this.mem.size);
    this.memIova = dma.mapDma(this.mem);
    device.setCommandBits(PCI.PCI_COMMAND_MEMORY | PCI.PCI_COMMAND_MASTER, true);
    device.enableIrqs(VFIO.VFIO_PCI_MSIX_IRQ_INDEX, 2);
    await this.bringUp();
    const mdts = this.bytes.readUInt8(this.page(LAYOUT.identify) + ID_CTRL.MDTS);
    this.ns = await this.namespace(scratch);
    // MDTS is in units of the minimum page size (4 KiB here, CC.MPS 0); 0 means no limit.
    const transfer = mdts ? Math.min(MAX_COPY, PAGE * 2 ** mdts) : MAX_COPY;
    this.maxCopy = Math.floor(transfer / this.ns.lbaBytes) * this.ns.lbaBytes;
    const slots = Math.floor((this.ns.lbas * this.ns.lbaBytes) / this.maxCopy);
    if (slots < 1)
      throw new DeviceError(device.bdf, `nvme: the scratch range holds less than one copy of ${this.maxCopy} bytes`);
    return {
      maxMemcpySize: this.maxCopy,
      maxMemcpyCount: Math.min(IO_DEPTH - 1, slots),
      memcpyAlign: this.ns.lbaBytes,
      msiVector: MSI_VECTOR,
    };
  }

  async remove(): Promise<void> {
    this.batch = undefined;
    await this.disable();
    this.device.setCommandBits(PCI.PCI_COMMAND_MASTER, false);
    this.device.disableIrqs();
    this.dma.unmapDma(this.memIova);
    this.mem.close();
  }

  memcpyStart(src: bigint, dst: bigint, size: number, count: number): void {
    if (size % this.ns.lbaBytes)
      throw new RangeError(`nvme copies whole blocks: ${size} is not a multiple of ${this.ns.lbaBytes}`);
    const copies: Copy[] = [];
    for (let i = 0; i < count; i++) {
      this.io.put(i, this.transfer(NVM.WRITE, i, src, size));
      copies.push({ state: 'writing' });
    }
    this.io.ring();
    this.batch = { src, dst, size, copies, done: 0, errors: [] };
  }

  async memcpyWait(deadline: number): Promise<DeviceReport> {
    const batch = this.batch;
    if (!batch) return { errors: [] };
    this.batch = undefined;
    while (batch.done < batch.copies.length) {
      const reads = this.advance(batch, this.io.take());
      if (reads) this.io.ring();
      if (batch.done === batch.copies.length) break;
      if (Date.now() >= deadline) {
        const problem = `only ${batch.done} of ${batch.copies.length} copies completed before the deadline`;
        const details = { completed: batch.done, expected: batch.copies.length, outstanding: this.io.outstanding };
        await this.recover();
        return { errors: [...batch.errors, problem], details: { ...details, controller: this.identity } };
      }
      // The controller works from its own thread: the event loop is free meanwhile.
      await sleep(reads ? 0 : 1);
    }
    return batch.errors.length ? { errors: batch.errors, details: { controller: this.identity } } : { errors: [] };
  }

  sendMsi(): void {
    const cid = this.nextMsiCid++ & 0xffff;
    this.msi.put(cid, { opcode: NVM.FLUSH, nsid: this.ns.nsid });
    this.msi.ring();
    // Waited for here, so each call is exactly one completion and so one MSI (two in one batch would be one message).
    const until = Date.now() + MSI_TIMEOUT_MS;
    for (;;) {
      const done = this.msi.take();
      const mine = done.find((c) => c.cid === cid);
      if (mine) {
        if (mine.sc || mine.sct)
          throw new DeviceError(this.device.bdf, `nvme: the Flush for an MSI failed: ${statusName(mine)}`);
        return;
      }
      if (Date.now() > until)
        throw new DeviceError(
          this.device.bdf,
          `nvme: the Flush for an MSI did not complete within ${MSI_TIMEOUT_MS} ms`,
        );
    }
  }

  /** Folds completions into the batch: a Write done starts its Read, a Read done ends the copy. Returns Reads put. */
  private advance(batch: Batch, completions: Completion[]): number {
    let reads = 0;
    for (const c of completions) {
      const copy = batch.copies[c.cid];
      if (!copy || copy.state === 'done' || copy.state === 'failed') continue;
      if (c.sc || c.sct) {
        const op =
          copy.state === 'writing' ? `Write of the source to LBA ${this.slotLba(c.cid)}` : `Read into the destination`;
        if (batch.errors.length < MAX_REPORTED) batch.errors.push(`copy ${c.cid}: ${op} failed: ${statusName(c)}`);
        copy.state = 'failed';
        batch.done++;
      } else if (copy.state === 'writing') {
        copy.state = 'reading';
        this.io.put(c.cid, this.transfer(NVM.READ, c.cid, batch.dst, batch.size));
        reads++;
      } else {
        copy.state = 'done';
        batch.done++;
      }
    }
    return reads;
  }

  /** A Write (host to scratch) or Read (scratch to host) of `size` bytes at `iova`, for copy `cid`'s slot. */
  private transfer(opcode: number, cid: number, iova: bigint, size: number): Command {
    const [prp1, prp2] = this.prps(cid, iova, size);
    const slba = BigInt(this.slotLba(cid));
    return {
      opcode,
      nsid: this.ns.nsid,
      prp1,
      prp2,
      cdw10: Number(slba & 0xffffffffn),
      cdw11: Number(slba >> 32n),
      cdw12: size / this.ns.lbaBytes - 1,
    };
  }

  /** Each copy in flight has a scratch slot of its own. */
  private slotLba(cid: number): number {
    return this.ns.firstLba + cid * (this.maxCopy / this.ns.lbaBytes);
  }

  /**
   * PRP1 and PRP2 for a transfer: the first page (with its offset), then the
   * second page, or a list of the rest written into this command's PRP page.
   */
  private prps(cid: number, iova: bigint, size: number): [bigint, bigint] {
    const first = BigInt(PAGE) - (iova % BigInt(PAGE));
    if (BigInt(size) <= first) return [iova, 0n];
    const next = iova + first;
    if (BigInt(size) <= first + BigInt(PAGE)) return [iova, next];
    const list = this.page(LAYOUT.prpLists + cid);
    const pages = Math.ceil((size - Number(first)) / PAGE);
    for (let k = 0; k < pages; k++) this.bytes.writeBigUInt64LE(next + BigInt(k * PAGE), list + 8 * k);
    return [iova, this.memIova + BigInt(list)];
  }

  /** Resets the controller and brings it up with its admin and I/O queues (at init and after a failure). */
  private async bringUp(): Promise<void> {
    const cap = capFields(this.bar0.read64(REG.CAP));
    if (!(cap.css & CAP_CSS_NVM))
      throw new DeviceError(this.device.bdf, 'nvme: the controller does not support the NVM command set');
    if (cap.mpsmin > 0)
      throw new DeviceError(
        this.device.bdf,
        `nvme: the controller's smallest page is ${PAGE << cap.mpsmin} bytes; this driver uses 4 KiB`,
      );
    if (cap.mqes + 1 < IO_DEPTH)
      throw new DeviceError(
        this.device.bdf,
        `nvme: queues hold at most ${cap.mqes + 1} entries; this driver needs ${IO_DEPTH}`,
      );
    this.stride = 4 << cap.dstrd;
    this.readyTimeoutMs = Math.max(cap.timeoutMs, 500);
    await this.disable();
    const pair = (id: number, depth: number, sqPage: number, cqPage: number) =>
      new QueuePair(
        id,
        depth,
        this.bytes.subarray(this.page(sqPage), this.page(sqPage) + depth * SQE_BYTES),
        this.memIova + BigInt(this.page(sqPage)),
        this.bytes.subarray(this.page(cqPage), this.page(cqPage) + depth * CQE_BYTES),
        this.memIova + BigInt(this.page(cqPage)),
        this.bar0,
        this.stride,
        REG.DOORBELLS,
      );
    this.admin = pair(0, ADMIN_DEPTH, LAYOUT.adminSq, LAYOUT.adminCq);
    this.bar0.write32(REG.AQA, ((ADMIN_DEPTH - 1) << 16) | (ADMIN_DEPTH - 1));
    this.bar0.write64(REG.ASQ, this.admin.sqIova);
    this.bar0.write64(REG.ACQ, this.admin.cqIova);
    this.bar0.write32(REG.CC, CC_CONFIG | CC_EN);
    await this.waitReady(true);
    await this.adminCommand(
      { opcode: ADMIN.IDENTIFY, prp1: this.identifyIova, cdw10: CNS.CONTROLLER },
      'Identify Controller',
    );
    const id = this.page(LAYOUT.identify);
    const text = (at: number, len: number) => this.bytes.toString('latin1', id + at, id + at + len).trim();
    this.identity = `${text(ID_CTRL.MN, ID_CTRL.MN_LEN)} serial ${text(ID_CTRL.SN, ID_CTRL.SN_LEN)}`;
    // Two I/O queue pairs: copies (completions polled) and MSIs (completions interrupt).
    await this.adminCommand(
      { opcode: ADMIN.SET_FEATURES, cdw10: FEATURE_NUMBER_OF_QUEUES, cdw11: (1 << 16) | 1 },
      'Set Features (Number of Queues)',
    );
    this.io = pair(IO_QID, IO_DEPTH, LAYOUT.ioSq, LAYOUT.ioCq);
    this.msi = pair(MSI_QID, MSI_DEPTH, LAYOUT.msiSq, LAYOUT.msiCq);
    for (const [q, interrupts] of [
      [this.io, false],
      [this.msi, true],
    ] as const) {
      const size = ((q.depth - 1) << 16) | q.id;
      const cq = CQ_PC | (interrupts ? CQ_IEN | (MSI_VECTOR << 16) : ADMIN_VECTOR << 16);
      await this.adminCommand(
        { opcode: ADMIN.CREATE_CQ, prp1: q.cqIova, cdw10: size, cdw11: cq },
        `Create I/O CQ ${q.id}`,
      );
      await this.adminCommand(
        { opcode: ADMIN.CREATE_SQ, prp1: q.sqIova, cdw10: size, cdw11: SQ_PC | (q.id << 16) },
        `Create I/O SQ ${q.id}`,
      );
    }
  }

  /** The scratch namespace's block size and range, checked against what the controller says it holds. */
  private async namespace(scratch: NonNullable<DriverConfig['scratch']>): Promise<Namespace> {
    const id = this.page(LAYOUT.identify);
    const count = this.bytes.readUInt32LE(id + ID_CTRL.NN);
    if (scratch.namespace < 1 || scratch.namespace > count) {
      throw new DeviceError(
        this.device.bdf,
        `nvme: the controller has namespaces 1 to ${count}, not ${scratch.namespace}`,
      );
    }
    await this.adminCommand(
      { opcode: ADMIN.IDENTIFY, nsid: scratch.namespace, prp1: this.identifyIova, cdw10: CNS.NAMESPACE },
      `Identify Namespace ${scratch.namespace}`,
    );
    const size = Number(this.bytes.readBigUInt64LE(id + ID_NS.NSZE));
    if (!size) throw new DeviceError(this.device.bdf, `nvme: namespace ${scratch.namespace} is not active`);
    const format = this.bytes.readUInt8(id + ID_NS.FLBAS) & 0xf;
    const lbads = this.bytes.readUInt8(id + ID_NS.LBAF + 4 * format + 2);
    const lbas = scratch.lbas ?? size - scratch.firstLba;
    if (scratch.firstLba + lbas > size) {
      throw new DeviceError(
        this.device.bdf,
        `nvme: scratch LBAs ${scratch.firstLba}..${scratch.firstLba + lbas - 1} are past namespace ${scratch.namespace}'s ${size} blocks`,
      );
    }
    return { nsid: scratch.namespace, lbaBytes: 2 ** lbads, firstLba: scratch.firstLba, lbas };
  }

  /** One admin command, waited for; a failure names the command and the status. */
  private async adminCommand(c: Command, what: string): Promise<Completion> {
    const cid = this.nextAdminCid++ & 0xffff;
    this.admin.put(cid, c);
    this.admin.ring();
    const until = Date.now() + ADMIN_TIMEOUT_MS;
    for (;;) {
      const mine = this.admin.take().find((x) => x.cid === cid);
      if (mine) {
        if (mine.sc || mine.sct)
          throw new DeviceError(this.device.bdf, `nvme: ${what} failed: ${statusName(mine)}`, {
            sct: mine.sct,
            sc: mine.sc,
          });
        return mine;
      }
      if (Date.now() > until)
        throw new DeviceError(this.device.bdf, `nvme: ${what} did not complete within ${ADMIN_TIMEOUT_MS} ms`);
      await sleep(1);
    }
  }

  /** CC.EN off, and the wait for the controller to say it stopped (every queue is gone then). */
  private async disable(): Promise<void> {
    this.bar0.write32(REG.CC, this.bar0.read32(REG.CC) & ~CC_EN);
    await this.waitReady(false);
  }

  private async waitReady(ready: boolean): Promise<void> {
    const csts = await this.bar0
      .waitFor32(REG.CSTS, (v) => Boolean(v & CSTS_RDY) === ready || Boolean(v & CSTS_CFS), {
        timeoutMs: this.readyTimeoutMs,
      })
      .catch((e: unknown) => {
        throw new DeviceError(
          this.device.bdf,
          `nvme: CSTS.RDY did not become ${ready ? 1 : 0}: ${(e as Error).message}`,
        );
      });
    if (csts & CSTS_CFS)
      throw new DeviceError(this.device.bdf, `nvme: controller fatal status (CSTS 0x${csts.toString(16)})`);
  }

  /** After copies that never completed, the queues no longer line up: reset and start again. */
  private async recover(): Promise<void> {
    await this.bringUp();
  }

  private page(n: number): number {
    return n * PAGE;
  }

  private get identifyIova(): bigint {
    return this.memIova + BigInt(this.page(LAYOUT.identify));
  }
}
