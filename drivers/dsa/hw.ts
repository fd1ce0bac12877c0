// Intel DSA hardware formats this driver uses, named as Linux 7.2 names them:
// BAR0 registers and their fields (drivers/dma/idxd/registers.h), the WQCFG
// and GRPCFG tables, the descriptor and the completion record
// (include/uapi/linux/idxd.h). test/unit/dsa-ioat-layouts.test.ts compiles
// those headers and compares every layout, field and value here with them.

import { Struct } from '../../sys/struct.js';

/** BAR0 register offsets. */
export const REG = {
  IDXD_GENCAP_OFFSET: 0x10,
  IDXD_WQCAP_OFFSET: 0x20,
  IDXD_GRPCAP_OFFSET: 0x30,
  IDXD_ENGCAP_OFFSET: 0x38,
  IDXD_TABLE_OFFSET: 0x60,
  IDXD_GENSTATS_OFFSET: 0x90,
  IDXD_CMD_OFFSET: 0xa0,
  IDXD_CMDSTS_OFFSET: 0xa8,
  IDXD_CMDCAP_OFFSET: 0xb0,
  IDXD_SWERR_OFFSET: 0xc0,
} as const;

/** BARs, table units and register bits of registers.h. */
export const IDXD = {
  IDXD_MMIO_BAR: 0,
  IDXD_WQ_BAR: 2,
  /** The table offsets in IDXD_TABLE_OFFSET count in these units. */
  IDXD_TABLE_MULT: 0x100,
  /** WQCAP.wqcfg_size is log2 of a WQCFG entry's size minus this. */
  IDXD_WQCFG_MIN: 5,
  /** Stride of the GRPCFG table. */
  GRPCFG_SIZE: 64,
  IDXD_CMDSTS_ACTIVE: 0x80000000,
  IDXD_CMDSTS_ERR_MASK: 0xff,
  IDXD_SWERR_VALID: 0x1,
  IDXD_SWERR_ACK: 0x3,
} as const;

/** Descriptor flags (idxd.h). */
export const OP_FLAG = {
  /** completion_addr is valid: a record is written there on an error (and always with RCR). */
  IDXD_OP_FLAG_CRAV: 0x0004,
  /** Request a completion record. */
  IDXD_OP_FLAG_RCR: 0x0008,
  /** Request a completion interrupt, on the MSI-X vector in int_handle. */
  IDXD_OP_FLAG_RCI: 0x0010,
} as const;

export const OPCODE = { DSA_OPCODE_BATCH: 1, DSA_OPCODE_MEMMOVE: 3 } as const;

/** A completion record's status byte: the code, and a bit beside it. */
export const COMP = { DSA_COMP_STATUS_MASK: 0x7f, DSA_COMP_STATUS_WRITE: 0x80 } as const;

/** enum idxd_cmd: the command register's commands. */
export const CMD = {
  IDXD_CMD_ENABLE_DEVICE: 1,
  IDXD_CMD_DISABLE_DEVICE: 2,
  IDXD_CMD_DRAIN_ALL: 3,
  IDXD_CMD_ABORT_ALL: 4,
  IDXD_CMD_RESET_DEVICE: 5,
  IDXD_CMD_ENABLE_WQ: 6,
  IDXD_CMD_DISABLE_WQ: 7,
  IDXD_CMD_DRAIN_WQ: 8,
  IDXD_CMD_ABORT_WQ: 9,
  IDXD_CMD_RESET_WQ: 10,
  IDXD_CMD_DRAIN_PASID: 11,
  IDXD_CMD_ABORT_PASID: 12,
  IDXD_CMD_REQUEST_INT_HANDLE: 13,
  IDXD_CMD_RELEASE_INT_HANDLE: 14,
} as const;

/** enum idxd_cmdsts_err: why a command failed (CMDSTS & IDXD_CMDSTS_ERR_MASK). */
export const CMDSTS_ERR = {
  IDXD_CMDSTS_SUCCESS: 0x00,
  IDXD_CMDSTS_INVAL_CMD: 0x01,
  IDXD_CMDSTS_INVAL_WQIDX: 0x02,
  IDXD_CMDSTS_HW_ERR: 0x03,
  IDXD_CMDSTS_ERR_DEV_ENABLED: 0x10,
  IDXD_CMDSTS_ERR_CONFIG: 0x11,
  IDXD_CMDSTS_ERR_BUSMASTER_EN: 0x12,
  IDXD_CMDSTS_ERR_PASID_INVAL: 0x13,
  IDXD_CMDSTS_ERR_WQ_SIZE_ERANGE: 0x14,
  IDXD_CMDSTS_ERR_GRP_CONFIG: 0x15,
  IDXD_CMDSTS_ERR_GRP_CONFIG2: 0x16,
  IDXD_CMDSTS_ERR_GRP_CONFIG3: 0x17,
  IDXD_CMDSTS_ERR_GRP_CONFIG4: 0x18,
  IDXD_CMDSTS_ERR_DEV_NOTEN: 0x20,
  IDXD_CMDSTS_ERR_WQ_ENABLED: 0x21,
  IDXD_CMDSTS_ERR_WQ_SIZE: 0x22,
  IDXD_CMDSTS_ERR_WQ_PRIOR: 0x23,
  IDXD_CMDSTS_ERR_WQ_MODE: 0x24,
  IDXD_CMDSTS_ERR_BOF_EN: 0x25,
  IDXD_CMDSTS_ERR_PASID_EN: 0x26,
  IDXD_CMDSTS_ERR_MAX_BATCH_SIZE: 0x27,
  IDXD_CMDSTS_ERR_MAX_XFER_SIZE: 0x28,
  IDXD_CMDSTS_ERR_DIS_DEV_EN: 0x31,
  IDXD_CMDSTS_ERR_DEV_NOT_EN: 0x32,
  IDXD_CMDSTS_ERR_INVAL_INT_IDX: 0x41,
  IDXD_CMDSTS_ERR_NO_HANDLE: 0x42,
} as const;

/** enum dsa_completion_status: a completion record's status code. */
export const COMP_STATUS = {
  DSA_COMP_NONE: 0x00,
  DSA_COMP_SUCCESS: 0x01,
  DSA_COMP_SUCCESS_PRED: 0x02,
  DSA_COMP_PAGE_FAULT_NOBOF: 0x03,
  DSA_COMP_PAGE_FAULT_IR: 0x04,
  DSA_COMP_BATCH_FAIL: 0x05,
  DSA_COMP_BATCH_PAGE_FAULT: 0x06,
  DSA_COMP_DR_OFFSET_NOINC: 0x07,
  DSA_COMP_DR_OFFSET_ERANGE: 0x08,
  DSA_COMP_DIF_ERR: 0x09,
  DSA_COMP_BAD_OPCODE: 0x10,
  DSA_COMP_INVALID_FLAGS: 0x11,
  DSA_COMP_NOZERO_RESERVE: 0x12,
  DSA_COMP_XFER_ERANGE: 0x13,
  DSA_COMP_DESC_CNT_ERANGE: 0x14,
  DSA_COMP_DR_ERANGE: 0x15,
  DSA_COMP_OVERLAP_BUFFERS: 0x16,
  DSA_COMP_DCAST_ERR: 0x17,
  DSA_COMP_DESCLIST_ALIGN: 0x18,
  DSA_COMP_INT_HANDLE_INVAL: 0x19,
  DSA_COMP_CRA_XLAT: 0x1a,
  DSA_COMP_CRA_ALIGN: 0x1b,
  DSA_COMP_ADDR_ALIGN: 0x1c,
  DSA_COMP_PRIV_BAD: 0x1d,
  DSA_COMP_TRAFFIC_CLASS_CONF: 0x1e,
  DSA_COMP_PFAULT_RDBA: 0x1f,
  DSA_COMP_HW_ERR1: 0x20,
  DSA_COMP_HW_ERR_DRB: 0x21,
  DSA_COMP_TRANSLATION_FAIL: 0x22,
  DSA_COMP_DRAIN_EVL: 0x26,
  DSA_COMP_BATCH_EVL_ERR: 0x27,
} as const;

/** enum idxd_device_status_state: GENSTS.state. */
export const DEVICE_STATE = {
  IDXD_DEVICE_STATE_DISABLED: 0,
  IDXD_DEVICE_STATE_ENABLED: 1,
  IDXD_DEVICE_STATE_DRAIN: 2,
  IDXD_DEVICE_STATE_HALT: 3,
} as const;

/** A member of a C object: bits [shift, shift + width) of the little-endian `bytes`-byte unit at byte `offset`. */
export interface BitField {
  offset: number;
  bytes: 1 | 2 | 4 | 8;
  shift: number;
  width: number;
}

/** A whole member (the default) or a bit-field of one. */
const bits = (offset: number, bytes: BitField['bytes'], shift = 0, width = bytes * 8): BitField => ({
  offset,
  bytes,
  shift,
  width,
});

/** The members of a C struct or union (bit-fields included) this driver uses, by their C names. */
export class Fields<K extends string> {
  constructor(
    /** The C type, as `sizeof` takes it. */
    readonly c: string,
    readonly size: number,
    readonly fields: Record<K, BitField>,
  ) {}

  /** Member `name` of an object whose bytes are the little-endian integer `value` (one or more register reads). */
  num(value: bigint, name: K): number {
    return Number(this.big(value, name));
  }

  /** The same for members too wide for a number. */
  big(value: bigint, name: K): bigint {
    const f = this.fields[name];
    return (value >> BigInt(f.offset * 8 + f.shift)) & ((1n << BigInt(f.width)) - 1n);
  }

  /** The first eight bytes of an object with these members set and the rest 0: a register value to write. */
  value(values: Partial<Record<K, number | bigint>>): bigint {
    const buf = Buffer.alloc(Math.max(8, this.size));
    this.write(buf, values);
    return buf.readBigUInt64LE(0);
  }

  /** Sets members of the object at `base` in `buf`, keeping the other bits of their units. */
  write(buf: Buffer, values: Partial<Record<K, number | bigint>>, base = 0): void {
    for (const [name, v] of Object.entries(values) as [K, number | bigint | undefined][]) {
      if (v === undefined) continue;
      const f = this.fields[name];
      const at = base + f.offset;
      const unit = f.bytes === 8 ? buf.readBigUInt64LE(at) : BigInt(buf.readUIntLE(at, f.bytes));
      const mask = ((1n << BigInt(f.width)) - 1n) << BigInt(f.shift);
      const next = (unit & ~mask) | ((BigInt(v) << BigInt(f.shift)) & mask);
      if (f.bytes === 8) buf.writeBigUInt64LE(next, at);
      else buf.writeUIntLE(Number(next), at, f.bytes);
    }
  }
}

export const GEN_CAP = new Fields('union gen_cap_reg', 8, {
  cmd_cap: bits(0, 8, 4, 1),
  max_xfer_shift: bits(0, 8, 16, 5),
  max_batch_shift: bits(0, 8, 21, 4),
});

export const WQ_CAP = new Fields('union wq_cap_reg', 8, {
  total_wq_size: bits(0, 8, 0, 16),
  num_wqs: bits(0, 8, 16, 8),
  wqcfg_size: bits(0, 8, 24, 4),
  dedicated_mode: bits(0, 8, 49, 1),
  wq_ats_support: bits(0, 8, 50, 1),
});

export const GROUP_CAP = new Fields('union group_cap_reg', 8, { num_groups: bits(0, 8, 0, 8) });

export const ENGINE_CAP = new Fields('union engine_cap_reg', 8, { num_engines: bits(0, 8, 0, 8) });

/** Where the GRPCFG and WQCFG tables are, in IDXD_TABLE_MULT units from BAR0 (the register's first 8 bytes). */
export const OFFSETS = new Fields('union offsets_reg', 16, {
  grpcfg: bits(0, 8, 0, 16),
  wqcfg: bits(0, 8, 16, 16),
});

export const COMMAND = new Fields('union idxd_command_reg', 4, {
  operand: bits(0, 4, 0, 20),
  cmd: bits(0, 4, 20, 5),
});

export const GENSTS = new Fields('union gensts_reg', 4, { state: bits(0, 4, 0, 2) });

/** The software error register: four 64-bit words from IDXD_SWERR_OFFSET. */
export const SW_ERR = new Fields('union sw_err_reg', 32, {
  valid: bits(0, 8, 0, 1),
  overflow: bits(0, 8, 1, 1),
  desc_valid: bits(0, 8, 2, 1),
  wq_idx_valid: bits(0, 8, 3, 1),
  batch: bits(0, 8, 4, 1),
  fault_rw: bits(0, 8, 5, 1),
  error: bits(0, 8, 8, 8),
  wq_idx: bits(0, 8, 16, 8),
  operation: bits(0, 8, 32, 8),
  batch_idx: bits(8, 8, 0, 16),
  fault_addr: bits(16, 8),
});

/**
 * struct dsa_hw_desc, a memmove: its two leading 32-bit units hold bit-fields and are named after the first
 * (pasid: pasid, priv; flags: flags, opcode; see DESC_BITS).
 */
export const DSA_HW_DESC = new Struct('struct dsa_hw_desc', {
  pasid: 'u32',
  flags: 'u32',
  completion_addr: 'u64',
  src_addr: 'u64',
  dst_addr: 'u64',
  xfer_size: 'u32',
  int_handle: 'u16',
  rsvd1: 'u16',
  op_specific: { bytes: 24 },
});

/** The same descriptor as a batch: the source is the list of descriptors, the size their count. */
export const DSA_BATCH_DESC = new Struct('struct dsa_hw_desc', {
  pasid: 'u32',
  flags: 'u32',
  completion_addr: 'u64',
  desc_list_addr: 'u64',
  dst_addr: 'u64',
  desc_count: 'u32',
  int_handle: 'u16',
  rsvd1: 'u16',
  op_specific: { bytes: 24 },
});

export const DESC_BITS = new Fields('struct dsa_hw_desc', 64, {
  pasid: bits(0, 4, 0, 20),
  priv: bits(0, 4, 31, 1),
  flags: bits(4, 4, 0, 24),
  opcode: bits(4, 4, 24, 8),
});

export const DSA_COMPLETION_RECORD = new Struct('struct dsa_completion_record', {
  status: 'u8',
  result: 'u8',
  fault_info: 'u8',
  rsvd: 'u8',
  bytes_completed: 'u32',
  fault_addr: 'u64',
  op_specific: { bytes: 16 },
});

/** One work queue's WQCFG entry; units holding bit-fields are named after their first (see WQCFG_BITS). */
export const WQCFG = new Struct('union wqcfg', {
  wq_size: 'u16',
  rsvd: 'u16',
  wq_thresh: 'u16',
  rsvd1: 'u16',
  mode: 'u32',
  max_xfer_shift: 'u32',
  occupancy_inth: 'u16',
  occupancy_table_sel: 'u16',
  occupancy_limit: 'u16',
  occupancy_int_en: 'u16',
  occupancy: 'u16',
  occupancy_int: 'u16',
  rsvd8: 'u32',
  op_config: { bytes: 32 },
});

export const WQCFG_BITS = new Fields('union wqcfg', 64, {
  mode: bits(8, 4, 0, 1),
  wq_ats_disable: bits(8, 4, 2, 1),
  priority: bits(8, 4, 4, 4),
  max_xfer_shift: bits(12, 4, 0, 5),
  max_batch_shift: bits(12, 4, 5, 4),
  occupancy_table_sel: bits(18, 2, 0, 1),
  occupancy_int_en: bits(22, 2, 0, 1),
  occupancy_int: bits(26, 2, 0, 1),
  'op_config[0]': bits(32, 8),
});

/** One group's GRPCFG entry (GRPCFG_SIZE apart): bitmaps of its work queues and engines, and its flags. */
export const GRPCFG = new Struct('struct grpcfg', { wqs: { bytes: 32 }, engines: 'u64', flags: 'u64' });

/** A memmove of `size` bytes; `completion` is where its completion record goes. */
export interface Memmove {
  src: bigint;
  dst: bigint;
  size: number;
  completion: bigint;
  flags: number;
  /** The MSI-X vector for IDXD_OP_FLAG_RCI. */
  intHandle?: number;
}

/** Encodes a memmove descriptor at `at`, as the selftest does (priv 1, PASID 0). */
export function writeMemmove(buf: Buffer, at: number, d: Memmove): void {
  buf.fill(0, at, at + DSA_HW_DESC.size);
  DESC_BITS.write(buf, { priv: 1, flags: d.flags, opcode: OPCODE.DSA_OPCODE_MEMMOVE }, at);
  DSA_HW_DESC.write(
    buf,
    {
      completion_addr: d.completion,
      src_addr: d.src,
      dst_addr: d.dst,
      xfer_size: d.size,
      int_handle: d.intHandle ?? 0,
    },
    at,
  );
}

/** A batch of `count` descriptors listed at `list`. */
export interface Batch {
  list: bigint;
  count: number;
  completion: bigint;
  flags: number;
}

/** Encodes a batch descriptor at `at`. */
export function writeBatch(buf: Buffer, at: number, b: Batch): void {
  buf.fill(0, at, at + DSA_BATCH_DESC.size);
  DESC_BITS.write(buf, { priv: 1, flags: b.flags, opcode: OPCODE.DSA_OPCODE_BATCH }, at);
  DSA_BATCH_DESC.write(buf, { completion_addr: b.completion, desc_list_addr: b.list, desc_count: b.count }, at);
}

/** What a dedicated work queue is configured with. */
export interface WqConfig {
  wqSize: number;
  priority: number;
  atsDisable: number;
  maxXferShift: number;
  maxBatchShift: number;
  /** Bitmap of the opcodes allowed (op_config[0]). */
  opConfig: bigint;
}

/** A WQCFG entry (64 bytes) for a dedicated work queue. */
export function wqcfgBytes(w: WqConfig): Buffer {
  const buf = WQCFG.alloc({ wq_size: w.wqSize });
  WQCFG_BITS.write(buf, {
    mode: 1,
    priority: w.priority,
    wq_ats_disable: w.atsDisable,
    max_xfer_shift: w.maxXferShift,
    max_batch_shift: w.maxBatchShift,
    'op_config[0]': w.opConfig,
  });
  return buf;
}

/** "NAME (0xNN)" for a value of one of the tables above, "unknown (0xNN)" for one the headers do not name. */
export function nameOf(table: Record<string, number>, value: number): string {
  const name = Object.keys(table).find((k) => table[k] === value);
  return `${name ?? 'unknown'} (0x${value.toString(16).padStart(2, '0')})`;
}

/** A completion record's status byte by name, with its DSA_COMP_STATUS_WRITE bit. */
export function statusName(status: number): string {
  const name = nameOf(COMP_STATUS, status & COMP.DSA_COMP_STATUS_MASK);
  return status & COMP.DSA_COMP_STATUS_WRITE ? `${name} with DSA_COMP_STATUS_WRITE` : name;
}

/** What a completion record that is not a success says. */
export function describeRecord(buf: Buffer, at: number): string {
  const r = DSA_COMPLETION_RECORD.read(buf, at);
  const fault = r.fault_addr ? `, fault address 0x${r.fault_addr.toString(16)}` : '';
  return `${statusName(r.status)}, ${r.bytes_completed} bytes or descriptors completed${fault}`;
}

/**
 * The software error register (its four words as one little-endian integer) in words. Its error code is read as a
 * completion status, as the kernel reads the same field of its event log (drivers/dma/idxd/irq.c).
 */
export function describeSwerr(swerr: bigint): string {
  const f = (name: keyof typeof SW_ERR.fields) => SW_ERR.num(swerr, name);
  const parts = [`SWERR ${statusName(f('error'))}`, `operation ${nameOf(OPCODE, f('operation'))}`];
  if (f('wq_idx_valid')) parts.push(`work queue ${f('wq_idx')}`);
  if (f('batch')) parts.push(`in a batch, descriptor ${f('batch_idx')}`);
  if (f('desc_valid')) parts.push('descriptor valid');
  if (SW_ERR.big(swerr, 'fault_addr'))
    parts.push(`fault address 0x${SW_ERR.big(swerr, 'fault_addr').toString(16)} (fault_rw ${f('fault_rw')})`);
  if (f('overflow')) parts.push('more errors were lost (overflow)');
  return parts.join(', ');
}
