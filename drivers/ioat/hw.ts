// Intel I/OAT (QuickData, CBDMA) hardware formats this driver uses, named as
// Linux 7.2's drivers/dma/ioat/{hw.h,registers.h} name them (the VFIO
// selftest driver includes the same two files): BAR0 and channel registers
// and their bits, PCI config registers, the DMA descriptor.
// test/unit/dsa-ioat-layouts.test.ts compiles those headers and compares
// every layout, field and value here with them.

import { Struct } from '../../sys/struct.js';

/** Device registers in BAR0, and the size of one channel's block (channel 0's follows the device's). */
export const REG = {
  IOAT_XFERCAP_OFFSET: 0x01,
  IOAT_INTRCTRL_OFFSET: 0x03,
  IOAT_VER_OFFSET: 0x08,
  IOAT_CHANNEL_MMIO_SIZE: 0x80,
} as const;

/** A channel's registers, from the start of its block (version 2 and later offsets). */
export const CHAN = {
  IOAT_CHANCTRL_OFFSET: 0x00,
  IOAT2_CHANCMD_OFFSET: 0x04,
  IOAT_CHAN_DMACOUNT_OFFSET: 0x06,
  IOAT_CHANSTS_OFFSET: 0x08,
  IOAT2_CHAINADDR_OFFSET_LOW: 0x10,
  IOAT2_CHAINADDR_OFFSET_HIGH: 0x14,
  IOAT_CHANERR_OFFSET: 0x28,
} as const;

/** Error registers in PCI config space. */
export const PCI_REG = {
  IOAT_PCI_DMAUNCERRSTS_OFFSET: 0x148,
  IOAT_PCI_CHANERR_INT_OFFSET: 0x180,
} as const;

/** Bits of the registers above, the versions the selftest drives, the copy opcode and the descriptor size. */
export const IOAT = {
  IOAT_VER_3_2: 0x32,
  IOAT_VER_3_3: 0x33,
  IOAT_INTRCTRL_MSIX_VECTOR_CONTROL: 0x08,
  IOAT_CHANCTRL_INT_REARM: 0x0001,
  IOAT_CHANCTRL_ANY_ERR_ABORT_EN: 0x0008,
  IOAT_CHANCMD_RESET: 0x20,
  IOAT_CHANCMD_SUSPEND: 0x04,
  IOAT_OP_COPY: 0x00,
  IOAT_DESC_SZ: 64,
} as const;

/** CHANSTS (64 bits): the channel's state in the low bits, the last completed descriptor's address above. */
export const CHANSTS = {
  IOAT_CHANSTS_STATUS: 0x7n,
  IOAT_CHANSTS_COMPLETED_DESCRIPTOR_ADDR: 0xffffffffffffffc0n,
} as const;

/** The channel states in CHANSTS & IOAT_CHANSTS_STATUS. */
export const CHANSTS_STATE = {
  IOAT_CHANSTS_ACTIVE: 0x0,
  IOAT_CHANSTS_DONE: 0x1,
  IOAT_CHANSTS_SUSPENDED: 0x2,
  IOAT_CHANSTS_HALTED: 0x3,
} as const;

/** CHANERR's bits. */
export const CHANERR = {
  IOAT_CHANERR_SRC_ADDR_ERR: 0x0001,
  IOAT_CHANERR_DEST_ADDR_ERR: 0x0002,
  IOAT_CHANERR_NEXT_ADDR_ERR: 0x0004,
  IOAT_CHANERR_NEXT_DESC_ALIGN_ERR: 0x0008,
  IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR: 0x0010,
  IOAT_CHANERR_CHANCMD_ERR: 0x0020,
  IOAT_CHANERR_CHIPSET_UNCORRECTABLE_DATA_INTEGRITY_ERR: 0x0040,
  IOAT_CHANERR_DMA_UNCORRECTABLE_DATA_INTEGRITY_ERR: 0x0080,
  IOAT_CHANERR_READ_DATA_ERR: 0x0100,
  IOAT_CHANERR_WRITE_DATA_ERR: 0x0200,
  IOAT_CHANERR_CONTROL_ERR: 0x0400,
  IOAT_CHANERR_LENGTH_ERR: 0x0800,
  IOAT_CHANERR_COMPLETION_ADDR_ERR: 0x1000,
  IOAT_CHANERR_INT_CONFIGURATION_ERR: 0x2000,
  IOAT_CHANERR_SOFT_ERR: 0x4000,
  IOAT_CHANERR_UNAFFILIATED_ERR: 0x8000,
  IOAT_CHANERR_XOR_P_OR_CRC_ERR: 0x10000,
  IOAT_CHANERR_XOR_Q_ERR: 0x20000,
  IOAT_CHANERR_DESCRIPTOR_COUNT_ERR: 0x40000,
} as const;

export const IOAT_DMA_DESCRIPTOR = new Struct('struct ioat_dma_descriptor', {
  size: 'u32',
  ctl: 'u32',
  src_addr: 'u64',
  dst_addr: 'u64',
  next: 'u64',
  rsv1: 'u64',
  rsv2: 'u64',
  user1: 'u64',
  user2: 'u64',
});

/** Bit-fields of the descriptor's ctl (ctl_f in hw.h) this driver sets: first bit and width. */
export const CTL_F = {
  int_en: { shift: 0, width: 1 },
  op: { shift: 24, width: 8 },
} as const;

/** One copy descriptor. */
export interface Copy {
  src: bigint;
  dst: bigint;
  size: number;
  /** The next descriptor's address. */
  next: bigint;
  /** Interrupt when it completes. */
  interrupt: boolean;
}

/** Encodes a copy descriptor at `at`, as the selftest does (no snoop, fence or completion-write bits). */
export function writeCopy(buf: Buffer, at: number, d: Copy): void {
  buf.fill(0, at, at + IOAT_DMA_DESCRIPTOR.size);
  const ctl = ((d.interrupt ? 1 : 0) << CTL_F.int_en.shift) | (IOAT.IOAT_OP_COPY << CTL_F.op.shift);
  IOAT_DMA_DESCRIPTOR.write(buf, { size: d.size, ctl: ctl >>> 0, src_addr: d.src, dst_addr: d.dst, next: d.next }, at);
}

/** The channel state of a CHANSTS value by name. */
export function stateName(chansts: bigint): string {
  const state = Number(chansts & CHANSTS.IOAT_CHANSTS_STATUS);
  const name = Object.keys(CHANSTS_STATE).find((k) => CHANSTS_STATE[k as keyof typeof CHANSTS_STATE] === state);
  return name ?? `unknown state ${state}`;
}

/** The names of CHANERR's set bits, and any bit the headers do not name, in hex. */
export function chanerrNames(chanerr: number): string[] {
  const names = Object.entries(CHANERR)
    .filter(([, bit]) => chanerr & bit)
    .map(([name]) => name);
  const known = Object.values(CHANERR).reduce((a, b) => a | b, 0);
  const unknown = (chanerr & ~known) >>> 0;
  return unknown ? [...names, `unknown bits 0x${unknown.toString(16)}`] : names;
}
