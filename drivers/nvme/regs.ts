// NVM Express registers, commands and status codes this driver uses, from
// the NVMe Base Specification 2.0 (controller registers, admin commands,
// completion status) and the NVM Command Set Specification 1.0 (Read,
// Write, Flush). Names follow the specifications.

/** Controller registers in BAR0. */
export const REG = {
  CAP: 0x00,
  VS: 0x08,
  INTMS: 0x0c,
  INTMC: 0x10,
  CC: 0x14,
  CSTS: 0x1c,
  AQA: 0x24,
  ASQ: 0x28,
  ACQ: 0x30,
  /** Doorbells start here; each is (4 << CAP.DSTRD) bytes apart, SQ tail then CQ head per queue. */
  DOORBELLS: 0x1000,
} as const;

/** The fields of CAP (a 64-bit register). */
export function capFields(cap: bigint): {
  mqes: number;
  timeoutMs: number;
  dstrd: number;
  mpsmin: number;
  css: number;
} {
  const bits = (from: number, width: number) => Number((cap >> BigInt(from)) & ((1n << BigInt(width)) - 1n));
  return {
    // Zero-based: the largest queue has MQES + 1 entries.
    mqes: bits(0, 16),
    // In 500 ms units: the worst case for CSTS.RDY to follow CC.EN.
    timeoutMs: bits(24, 8) * 500,
    dstrd: bits(32, 4),
    mpsmin: bits(48, 4),
    css: bits(37, 8),
  };
}

export const CC_EN = 1 << 0;
/** I/O command set: NVM (CSS 0); memory page size 4 KiB (MPS 0); 64-byte SQ and 16-byte CQ entries. */
export const CC_CONFIG = (0 << 4) | (0 << 7) | (6 << 16) | (4 << 20);
export const CSTS_RDY = 1 << 0;
export const CSTS_CFS = 1 << 1;
/** CAP.CSS bit 0: the controller supports the NVM command set. */
export const CAP_CSS_NVM = 1 << 0;

export const PAGE = 4096;
export const SQE_BYTES = 64;
export const CQE_BYTES = 16;

export const ADMIN = {
  DELETE_SQ: 0x00,
  CREATE_SQ: 0x01,
  DELETE_CQ: 0x04,
  CREATE_CQ: 0x05,
  IDENTIFY: 0x06,
  SET_FEATURES: 0x09,
} as const;

export const NVM = { FLUSH: 0x00, WRITE: 0x01, READ: 0x02 } as const;

/** Identify's CNS values. */
export const CNS = { NAMESPACE: 0x00, CONTROLLER: 0x01 } as const;
/** Set Features: Number of Queues. */
export const FEATURE_NUMBER_OF_QUEUES = 0x07;

/** Create I/O Completion Queue CDW11: physically contiguous, interrupts enabled, interrupt vector << 16. */
export const CQ_PC = 1 << 0;
export const CQ_IEN = 1 << 1;
/** Create I/O Submission Queue CDW11: physically contiguous, CQ id << 16. */
export const SQ_PC = 1 << 0;

/** Byte offsets in a submission queue entry. */
export const SQE = { OPCODE: 0, CID: 2, NSID: 4, PRP1: 24, PRP2: 32, CDW10: 40, CDW11: 44, CDW12: 48 } as const;
/** Byte offsets in a completion queue entry (DW2: SQ head and id; DW3: CID, phase, status). */
export const CQE = { DW0: 0, SQHD: 8, SQID: 10, CID: 12, STATUS: 14 } as const;

/** Identify Controller: maximum data transfer size (2^MDTS pages; 0 = no limit), serial and model. */
export const ID_CTRL = { SN: 4, SN_LEN: 20, MN: 24, MN_LEN: 40, MDTS: 77, NN: 516 } as const;
/** Identify Namespace: size in blocks, number of formats, the format in use, the formats. */
export const ID_NS = { NSZE: 0, NLBAF: 25, FLBAS: 26, LBAF: 128 } as const;

/** The status of a completion: SCT (type) and SC (code), from its 16-bit status field (bit 0 is the phase). */
export function statusOf(field: number): { sct: number; sc: number; dnr: boolean } {
  return { sc: (field >> 1) & 0xff, sct: (field >> 9) & 0x7, dnr: Boolean(field & 0x8000) };
}

const GENERIC: Record<number, string> = {
  0x00: 'Successful Completion',
  0x01: 'Invalid Command Opcode',
  0x02: 'Invalid Field in Command',
  0x03: 'Command ID Conflict',
  0x04: 'Data Transfer Error',
  0x05: 'Commands Aborted due to Power Loss Notification',
  0x06: 'Internal Error',
  0x07: 'Command Abort Requested',
  0x08: 'Command Aborted due to SQ Deletion',
  0x0b: 'Invalid Namespace or Format',
  0x13: 'Invalid Number of SGL Descriptors',
  0x15: 'Data SGL Length Invalid',
  0x19: 'Invalid Use of Controller Memory Buffer',
  0x1a: 'PRP Offset Invalid',
  0x80: 'LBA Out of Range',
  0x81: 'Capacity Exceeded',
  0x82: 'Namespace Not Ready',
};
const COMMAND_SPECIFIC: Record<number, string> = {
  0x00: 'Completion Queue Invalid',
  0x01: 'Invalid Queue Identifier',
  0x02: 'Invalid Queue Size',
  0x08: 'Invalid Interrupt Vector',
  0x0b: 'Invalid Namespace or Format',
};
const MEDIA: Record<number, string> = {
  0x80: 'Write Fault',
  0x81: 'Unrecovered Read Error',
  0x85: 'Compare Failure',
  0x86: 'Access Denied',
};

/** "Data Transfer Error (SCT 0x0, SC 0x04)": the specification's name with the codes. */
export function statusName(s: { sct: number; sc: number }): string {
  const table = s.sct === 0 ? GENERIC : s.sct === 1 ? COMMAND_SPECIFIC : s.sct === 2 ? MEDIA : {};
  const codes = `SCT 0x${s.sct.toString(16)}, SC 0x${s.sc.toString(16).padStart(2, '0')}`;
  return `${table[s.sc] ?? 'status'} (${codes})`;
}
