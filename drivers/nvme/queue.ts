// One NVMe queue pair in DMA memory: a submission ring the driver writes
// commands into (then rings the SQ tail doorbell) and a completion ring the
// controller writes into, found by its phase bit (then the CQ head doorbell
// tells the controller the slots are free again).

import type { Region } from '../vfio/region.js';
import { CQE, CQE_BYTES, SQE, SQE_BYTES, statusOf } from './regs.js';

export interface Command {
  opcode: number;
  nsid?: number;
  prp1?: bigint;
  prp2?: bigint;
  cdw10?: number;
  cdw11?: number;
  cdw12?: number;
}

export interface Completion {
  cid: number;
  sct: number;
  sc: number;
  dw0: number;
}

export class QueuePair {
  private sqTail = 0;
  private cqHead = 0;
  private phase = 1;
  /** Commands submitted and not yet completed. */
  outstanding = 0;

  constructor(
    readonly id: number,
    readonly depth: number,
    /** The submission ring's bytes and IOVA; the completion ring's likewise. */
    private readonly sq: Buffer,
    readonly sqIova: bigint,
    private readonly cq: Buffer,
    readonly cqIova: bigint,
    private readonly bar0: Region,
    private readonly stride: number,
    private readonly doorbells: number,
  ) {
    sq.fill(0);
    cq.fill(0);
  }

  /** Room for how many more commands (a ring of N holds N - 1). */
  get free(): number {
    return this.depth - 1 - this.outstanding;
  }

  /** Writes a command into the next slot (not yet visible to the device: ring() does that). */
  put(cid: number, c: Command): void {
    if (this.free <= 0) throw new Error(`NVMe queue ${this.id} is full (${this.depth - 1} commands outstanding)`);
    const at = this.sqTail * SQE_BYTES;
    this.sq.fill(0, at, at + SQE_BYTES);
    this.sq.writeUInt8(c.opcode, at + SQE.OPCODE);
    this.sq.writeUInt16LE(cid, at + SQE.CID);
    this.sq.writeUInt32LE(c.nsid ?? 0, at + SQE.NSID);
    this.sq.writeBigUInt64LE(c.prp1 ?? 0n, at + SQE.PRP1);
    this.sq.writeBigUInt64LE(c.prp2 ?? 0n, at + SQE.PRP2);
    this.sq.writeUInt32LE((c.cdw10 ?? 0) >>> 0, at + SQE.CDW10);
    this.sq.writeUInt32LE((c.cdw11 ?? 0) >>> 0, at + SQE.CDW11);
    this.sq.writeUInt32LE((c.cdw12 ?? 0) >>> 0, at + SQE.CDW12);
    this.sqTail = (this.sqTail + 1) % this.depth;
    this.outstanding++;
  }

  /** Tells the controller about every command put so far (the store comes after the entries': x86 keeps order). */
  ring(): void {
    this.bar0.write32(this.doorbells + 2 * this.id * this.stride, this.sqTail);
  }

  /** The completions the controller has posted since the last take, freeing their slots. */
  take(): Completion[] {
    const done: Completion[] = [];
    for (;;) {
      const at = this.cqHead * CQE_BYTES;
      const status = this.cq.readUInt16LE(at + CQE.STATUS);
      if ((status & 1) !== this.phase) break;
      const s = statusOf(status);
      done.push({
        cid: this.cq.readUInt16LE(at + CQE.CID),
        sct: s.sct,
        sc: s.sc,
        dw0: this.cq.readUInt32LE(at + CQE.DW0),
      });
      this.cqHead = (this.cqHead + 1) % this.depth;
      if (this.cqHead === 0) this.phase ^= 1;
    }
    if (done.length) {
      this.outstanding -= done.length;
      this.bar0.write32(this.doorbells + (2 * this.id + 1) * this.stride, this.cqHead);
    }
    return done;
  }
}
