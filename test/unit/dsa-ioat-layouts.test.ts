// The DSA and I/OAT drivers (written from documentation, never run on
// hardware) against the kernel's own headers, and their pure parts. A C
// program compiled with the system gcc against Linux 7.2's
// include/uapi/linux/idxd.h (installed from the cached linux-source tree)
// and the selftest drivers' registers.h and hw.h (userspace-compilable; the
// selftest includes them the same way) prints sizeof, offsetof, every
// constant, every field (set to all ones in a zeroed object) and descriptors
// built with designated initializers; each must equal ours. In CI a missing
// compiler or tree fails; locally it skips.

import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as D from '../../drivers/dsa/hw.js';
import { dsaLimits, splitBatches } from '../../drivers/dsa/dsa.js';
import * as I from '../../drivers/ioat/hw.js';
import { ioatMaxCopy } from '../../drivers/ioat/ioat.js';
import type { FieldType, Struct } from '../../sys/struct.js';
import { cachedLinuxSource, installedUapiHeaders } from './helpers/kernel-headers.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';

const SELFTEST_DRIVERS = 'tools/testing/selftests/vfio/lib/drivers';

type AnyStruct = Struct<Record<string, FieldType>>;
type AnyFields = D.Fields<string>;

/** A struct layout and the table of the bit-fields in it, whose units the layout names after their first. */
interface Layout {
  struct: AnyStruct;
  bits?: AnyFields;
}

const DSA_LAYOUTS: Layout[] = [
  { struct: D.DSA_HW_DESC, bits: D.DESC_BITS },
  { struct: D.DSA_BATCH_DESC, bits: D.DESC_BITS },
  { struct: D.DSA_COMPLETION_RECORD },
  { struct: D.WQCFG, bits: D.WQCFG_BITS },
  { struct: D.GRPCFG },
];
const DSA_FIELDS: AnyFields[] = [
  D.GEN_CAP,
  D.WQ_CAP,
  D.GROUP_CAP,
  D.ENGINE_CAP,
  D.OFFSETS,
  D.COMMAND,
  D.GENSTS,
  D.SW_ERR,
  D.DESC_BITS,
  D.WQCFG_BITS,
];
const DSA_VALUES: Record<string, number | bigint>[] = [
  D.REG,
  D.IDXD,
  D.OP_FLAG,
  D.OPCODE,
  D.COMP,
  D.CMD,
  D.CMDSTS_ERR,
  D.COMP_STATUS,
  D.DEVICE_STATE,
];
const IOAT_VALUES: Record<string, number | bigint>[] = [
  I.REG,
  I.CHAN,
  I.PCI_REG,
  I.IOAT,
  I.CHANSTS,
  I.CHANSTS_STATE,
  I.CHANERR,
];

const ones = (width: number): bigint => (1n << BigInt(width)) - 1n;
const u64 = (v: number | bigint): string => BigInt.asUintN(64, BigInt(v)).toString();
const cHex = (v: number | bigint): string => `0x${BigInt(v).toString(16)}ULL`;

/** The samples both sides encode: a memmove, a batch, a WQCFG entry, an I/OAT copy. */
const MEMMOVE: D.Memmove = {
  src: 0x1122334455667788n,
  dst: 0x99aabbccddeeff00n,
  size: 0x12345,
  completion: 0x7654321000n,
  flags: D.OP_FLAG.IDXD_OP_FLAG_CRAV | D.OP_FLAG.IDXD_OP_FLAG_RCR | D.OP_FLAG.IDXD_OP_FLAG_RCI,
  intHandle: 1,
};
const BATCH: D.Batch = {
  list: 0xabc000n,
  count: 1023,
  completion: 0xdef020n,
  flags: D.OP_FLAG.IDXD_OP_FLAG_CRAV | D.OP_FLAG.IDXD_OP_FLAG_RCR,
};
const WQ: D.WqConfig = {
  wqSize: 128,
  priority: 1,
  atsDisable: 1,
  maxXferShift: 31,
  maxBatchShift: 10,
  opConfig: (1n << BigInt(D.OPCODE.DSA_OPCODE_MEMMOVE)) | (1n << BigInt(D.OPCODE.DSA_OPCODE_BATCH)),
};
const COPY: I.Copy = { src: 0x1000200030n, dst: 0x4000500060n, size: 1 << 20, next: 0xfedc0040n, interrupt: true };

function dump(buf: Buffer): string {
  return buf.toString('hex');
}

/** Lines of a program: "size", "offset", "field", "value" and "encode" facts (the C side prints the same). */
function dsaProgram(): string {
  const lines = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <string.h>',
    '#include <linux/types.h>',
    // The kernel's own integer types, which registers.h uses (the selftest gets them from tools/include).
    'typedef __u8 u8; typedef __u16 u16; typedef __u32 u32; typedef __u64 u64;',
    '#include "registers.h"',
    'static void dump(const char *what, const void *p, size_t n) {',
    '  const unsigned char *b = p; printf("%s ", what);',
    '  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);',
    '  printf("\\n");',
    '}',
    'int main(void) {',
  ];
  for (const { struct, bits } of DSA_LAYOUTS) {
    lines.push(`  printf("size ${struct.name} %zu\\n", sizeof(${struct.name}));`);
    for (const field of Object.keys(struct.fields)) {
      if (bits && field in bits.fields) continue;
      lines.push(`  printf("offset ${struct.name} ${field} %zu\\n", offsetof(${struct.name}, ${field}));`);
    }
  }
  lines.push(...fieldLines(DSA_FIELDS));
  lines.push(...valueLines(DSA_VALUES));
  lines.push(
    `  { struct dsa_hw_desc d = { .opcode = DSA_OPCODE_MEMMOVE, .flags = ${MEMMOVE.flags}, .priv = 1,` +
      ` .completion_addr = ${cHex(MEMMOVE.completion)}, .src_addr = ${cHex(MEMMOVE.src)},` +
      ` .dst_addr = ${cHex(MEMMOVE.dst)}, .xfer_size = ${MEMMOVE.size}, .int_handle = ${MEMMOVE.intHandle} };` +
      ' dump("encode memmove", &d, sizeof d); }',
    `  { struct dsa_hw_desc d = { .opcode = DSA_OPCODE_BATCH, .flags = ${BATCH.flags}, .priv = 1,` +
      ` .completion_addr = ${cHex(BATCH.completion)}, .desc_list_addr = ${cHex(BATCH.list)},` +
      ` .desc_count = ${BATCH.count} }; dump("encode batch", &d, sizeof d); }`,
    `  { union wqcfg w = { .wq_size = ${WQ.wqSize}, .mode = 1, .priority = ${WQ.priority},` +
      ` .wq_ats_disable = ${WQ.atsDisable}, .max_xfer_shift = ${WQ.maxXferShift},` +
      ` .max_batch_shift = ${WQ.maxBatchShift},` +
      ' .op_config[0] = (1ULL << DSA_OPCODE_MEMMOVE) | (1ULL << DSA_OPCODE_BATCH) };' +
      ' dump("encode wqcfg", &w, sizeof w); }',
    // Samples for the decoders: a failed completion record and a software error, laid out by the compiler.
    '  { struct dsa_completion_record r; memset(&r, 0, sizeof r); r.status = DSA_COMP_PAGE_FAULT_NOBOF | DSA_COMP_STATUS_WRITE;' +
      ' r.bytes_completed = 4096; r.fault_addr = 0x1234000ULL; dump("sample record", &r, sizeof r); }',
    '  { union sw_err_reg e; memset(&e, 0, sizeof e); e.valid = 1; e.error = DSA_COMP_BAD_OPCODE;' +
      ' e.operation = DSA_OPCODE_MEMMOVE; e.wq_idx_valid = 1; e.wq_idx = 2; e.batch = 1; e.batch_idx = 5;' +
      ' e.fault_addr = 0xdead000ULL; dump("sample swerr", &e, sizeof e); }',
    '  return 0;',
    '}',
  );
  return lines.join('\n');
}

/** Each field set to all ones in a zeroed object, as bytes; and each object's size. */
function fieldLines(tables: AnyFields[]): string[] {
  const lines: string[] = [];
  for (const f of tables) {
    lines.push(`  printf("size ${f.c} %zu\\n", sizeof(${f.c}));`);
    for (const [name, field] of Object.entries(f.fields))
      lines.push(
        `  { ${f.c} x; memset(&x, 0, sizeof x); x.${name} = ${cHex(ones(field.width))}; dump("field ${f.c} ${name}", &x, sizeof x); }`,
      );
  }
  return lines;
}

function valueLines(tables: Record<string, number | bigint>[]): string[] {
  return tables.flatMap((table) =>
    Object.keys(table).map((name) => `  printf("value ${name} %llu\\n", (unsigned long long)(${name}));`),
  );
}

/** What the DSA program must print, from our layouts. */
function dsaOurs(): string[] {
  const out: string[] = [];
  for (const { struct, bits } of DSA_LAYOUTS) {
    out.push(`size ${struct.name} ${struct.size}`);
    for (const [field, offset] of Object.entries(struct.offsets)) {
      if (!(bits && field in bits.fields)) out.push(`offset ${struct.name} ${field} ${offset}`);
    }
  }
  for (const f of DSA_FIELDS) {
    out.push(`size ${f.c} ${f.size}`);
    for (const [name, field] of Object.entries(f.fields)) {
      const buf = Buffer.alloc(f.size);
      f.write(buf, { [name]: ones(field.width) });
      out.push(`field ${f.c} ${name} ${dump(buf)}`);
    }
  }
  for (const table of DSA_VALUES) for (const [name, v] of Object.entries(table)) out.push(`value ${name} ${u64(v)}`);
  const desc = Buffer.alloc(D.DSA_HW_DESC.size);
  D.writeMemmove(desc, 0, MEMMOVE);
  out.push(`encode memmove ${dump(desc)}`);
  D.writeBatch(desc, 0, BATCH);
  out.push(`encode batch ${dump(desc)}`);
  out.push(`encode wqcfg ${dump(D.wqcfgBytes(WQ))}`);
  return out;
}

function ioatProgram(): string {
  const S = I.IOAT_DMA_DESCRIPTOR;
  const lines = [
    '#include <stdio.h>',
    '#include <stddef.h>',
    '#include <string.h>',
    '#include <stdint.h>',
    '#include "hw.h"',
    '#include "registers.h"',
    'static void dump(const char *what, const void *p, size_t n) {',
    '  const unsigned char *b = p; printf("%s ", what);',
    '  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);',
    '  printf("\\n");',
    '}',
    'int main(void) {',
    `  printf("size ${S.name} %zu\\n", sizeof(${S.name}));`,
    ...Object.keys(S.fields).map(
      (field) => `  printf("offset ${S.name} ${field} %zu\\n", offsetof(${S.name}, ${field}));`,
    ),
    ...Object.entries(I.CTL_F).map(
      ([name, f]) =>
        `  { ${S.name} d; memset(&d, 0, sizeof d); d.ctl_f.${name} = ${cHex(ones(f.width))}; printf("ctl_f ${name} %u\\n", d.ctl); }`,
    ),
    ...valueLines(IOAT_VALUES),
    `  { ${S.name} d = { .ctl_f.op = IOAT_OP_COPY, .ctl_f.int_en = ${COPY.interrupt ? 1 : 0},` +
      ` .src_addr = ${cHex(COPY.src)}, .dst_addr = ${cHex(COPY.dst)}, .size = ${COPY.size},` +
      ` .next = ${cHex(COPY.next)} }; dump("encode copy", &d, sizeof d); }`,
    '  return 0;',
    '}',
  ];
  return lines.join('\n');
}

function ioatOurs(): string[] {
  const S = I.IOAT_DMA_DESCRIPTOR;
  const out = [`size ${S.name} ${S.size}`];
  for (const [field, offset] of Object.entries(S.offsets)) out.push(`offset ${S.name} ${field} ${offset}`);
  for (const [name, f] of Object.entries(I.CTL_F))
    out.push(`ctl_f ${name} ${(Number(ones(f.width)) << f.shift) >>> 0}`);
  for (const table of IOAT_VALUES) for (const [name, v] of Object.entries(table)) out.push(`value ${name} ${u64(v)}`);
  const desc = Buffer.alloc(S.size);
  I.writeCopy(desc, 0, COPY);
  out.push(`encode copy ${dump(desc)}`);
  return out;
}

async function compileAndRun(source: string, includes: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-dsa-ioat-'));
  try {
    writeFileSync(join(dir, 'layout.c'), source);
    await execa('gcc', [
      '-Wall',
      '-Werror',
      ...includes.flatMap((i) => ['-I', i]),
      '-o',
      join(dir, 'layout'),
      join(dir, 'layout.c'),
    ]);
    const { stdout } = await execa(join(dir, 'layout'));
    return stdout.trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kernel tree and compiler, or why they are missing. */
async function prerequisites(): Promise<{ dir: string; name: string } | string> {
  const gcc = await execa('gcc', ['--version'], { reject: false });
  if (gcc.exitCode !== 0) return 'no gcc (install gcc, as lustress setup does)';
  const source = cachedLinuxSource();
  if (!source)
    return 'no unpacked linux-source tree in the cache (lustress setup builds the live-update kernel from one)';
  for (const header of ['dsa/registers.h', 'ioat/hw.h', 'ioat/registers.h'])
    if (!existsSync(join(source.dir, SELFTEST_DRIVERS, header)))
      return `${source.name} has no ${SELFTEST_DRIVERS}/${header}`;
  return source;
}

t.test('DSA layouts, fields, constants and descriptors match idxd.h and the selftest registers.h', async (t) => {
  const source = await prerequisites();
  if (typeof source === 'string') return prerequisiteMissing(t, source);
  const include = await installedUapiHeaders(source);
  const printed = await compileAndRun(dsaProgram(), [join(source.dir, SELFTEST_DRIVERS, 'dsa'), include]);
  const samples = new Map(
    printed.filter((l) => l.startsWith('sample ')).map((l) => [l.split(' ')[1]!, Buffer.from(l.split(' ')[2]!, 'hex')]),
  );
  t.same(
    dsaOurs(),
    printed.filter((l) => !l.startsWith('sample ')),
    `every layout, field, value and encoding equals ${source.name}'s`,
  );

  const record = samples.get('record')!;
  t.equal(
    D.describeRecord(record, 0),
    'DSA_COMP_PAGE_FAULT_NOBOF (0x03) with DSA_COMP_STATUS_WRITE, 4096 bytes or descriptors completed, fault address 0x1234000',
    'a completion record the compiler laid out decodes by name',
  );
  const swerr = samples.get('swerr')!;
  let value = 0n;
  for (let i = 0; i < swerr.length; i += 8) value |= swerr.readBigUInt64LE(i) << BigInt(i * 8);
  t.equal(
    D.describeSwerr(value),
    'SWERR DSA_COMP_BAD_OPCODE (0x10), operation DSA_OPCODE_MEMMOVE (0x03), work queue 2, in a batch, descriptor 5, fault address 0xdead000 (fault_rw 0)',
    'a software error register the compiler laid out decodes by name',
  );
});

t.test('I/OAT layout, fields, constants and descriptor match the selftest hw.h and registers.h', async (t) => {
  const source = await prerequisites();
  if (typeof source === 'string') return prerequisiteMissing(t, source);
  const printed = await compileAndRun(ioatProgram(), [join(source.dir, SELFTEST_DRIVERS, 'ioat')]);
  t.same(ioatOurs(), printed, `every layout, field, value and encoding equals ${source.name}'s`);
});

t.test('a layout unit named after a bit-field sits where that bit-field does', async (t) => {
  for (const { struct, bits } of DSA_LAYOUTS) {
    if (!bits) continue;
    for (const field of Object.keys(struct.fields).filter((f) => f in bits.fields)) {
      const unit = bits.fields[field]!;
      const type = struct.fields[field];
      t.equal(struct.offsets[field], unit.offset, `${struct.name}.${field} at byte ${unit.offset}`);
      t.equal(
        type === 'u16' ? 2 : type === 'u32' ? 4 : 8,
        unit.bytes,
        `${struct.name}.${field}: a ${unit.bytes}-byte unit`,
      );
      t.equal(unit.shift, 0, `${struct.name}.${field} is the unit's first bit-field`);
    }
  }
});

t.test('DSA descriptors: the bytes of a memmove and a batch', async (t) => {
  const buf = Buffer.alloc(64, 0xee);
  D.writeMemmove(buf, 0, {
    src: 0x1122334455667788n,
    dst: 0x99aabbccddeeff00n,
    size: 4096,
    completion: 0x1000n,
    flags: D.OP_FLAG.IDXD_OP_FLAG_CRAV | D.OP_FLAG.IDXD_OP_FLAG_RCR,
  });
  t.equal(buf.readUInt32LE(0), 0x80000000, 'pasid 0, priv (bit 31) set');
  t.same([...buf.subarray(4, 7)], [0x0c, 0, 0], 'flags CRAV | RCR in bytes 4-6');
  t.equal(buf[7], D.OPCODE.DSA_OPCODE_MEMMOVE, 'the opcode in byte 7');
  t.equal(buf.readBigUInt64LE(8), 0x1000n, 'completion_addr');
  t.equal(buf.readBigUInt64LE(16), 0x1122334455667788n, 'src_addr');
  t.equal(buf.readBigUInt64LE(24), 0x99aabbccddeeff00n, 'dst_addr');
  t.equal(buf.readUInt32LE(32), 4096, 'xfer_size');
  t.equal(buf.readUInt16LE(36), 0, 'no interrupt handle');
  t.ok(
    buf.subarray(38).every((b) => b === 0),
    'the rest is zero, whatever the memory held',
  );

  D.writeMemmove(buf, 0, { src: 1n, dst: 2n, size: 8, completion: 3n, flags: 0x1c, intHandle: 1 });
  t.equal(buf.readUInt32LE(4), 0x0300001c, 'CRAV | RCR | RCI and the opcode');
  t.equal(buf.readUInt16LE(36), 1, 'int_handle: the MSI-X vector');

  const two = Buffer.alloc(128, 0xee);
  D.writeBatch(two, 64, { list: 0x40000n, count: 1024, completion: 0x50000n, flags: 0x0c });
  t.ok(
    two.subarray(0, 64).every((b) => b === 0xee),
    'a descriptor at an offset leaves the bytes before it',
  );
  t.equal(two[64 + 7], D.OPCODE.DSA_OPCODE_BATCH, 'a batch opcode');
  t.equal(two.readBigUInt64LE(64 + 8), 0x50000n, 'its completion record');
  t.equal(two.readBigUInt64LE(64 + 16), 0x40000n, 'desc_list_addr where a memmove has its source');
  t.equal(two.readBigUInt64LE(64 + 24), 0n, 'no destination');
  t.equal(two.readUInt32LE(64 + 32), 1024, 'desc_count where a memmove has its size');
});

t.test('DSA WQCFG entry and register fields', async (t) => {
  const w = D.wqcfgBytes({
    wqSize: 64,
    priority: 1,
    atsDisable: 1,
    maxXferShift: 21,
    maxBatchShift: 5,
    opConfig: 0xan,
  });
  t.equal(w.length, 64, 'a 64-byte entry');
  t.equal(w.readUInt16LE(0), 64, 'wq_size');
  t.equal(w.readUInt32LE(8), 0x1 | (1 << 2) | (1 << 4), 'dedicated (mode 1), ATS disabled, priority 1');
  t.equal(w.readUInt32LE(12), 21 | (5 << 5), 'max_xfer_shift and max_batch_shift');
  t.equal(w.readBigUInt64LE(32), 0xan, 'op_config[0]');

  const gencap = D.GEN_CAP.value({ cmd_cap: 1, max_xfer_shift: 31, max_batch_shift: 10 });
  t.equal(gencap, (1n << 4n) | (31n << 16n) | (10n << 21n), 'a register value from fields');
  t.equal(D.GEN_CAP.num(gencap | (1n << 15n), 'max_xfer_shift'), 31, 'a field from a register value');
  t.equal(D.COMMAND.value({ cmd: D.CMD.IDXD_CMD_ENABLE_WQ, operand: 3 }), (6n << 20n) | 3n, 'a command and operand');
  const buf = Buffer.alloc(8, 0xff);
  D.COMMAND.write(buf, { cmd: 0 });
  t.equal(buf.readUInt32LE(0), 0xfe0fffff, 'writing a field keeps the unit’s other bits');
  t.equal(D.SW_ERR.big(0xfedcba9876543210n << 128n, 'fault_addr'), 0xfedcba9876543210n, 'a 64-bit field past word 0');
});

t.test('DSA limits from GENCAP and WQCAP', async (t) => {
  const gen = (xfer: number, batch: number) => D.GEN_CAP.value({ max_xfer_shift: xfer, max_batch_shift: batch });
  const wq = (size: number) => D.WQ_CAP.value({ total_wq_size: size, num_wqs: 8, dedicated_mode: 1 });
  t.same(
    dsaLimits(gen(31, 10), wq(128)),
    { maxMemcpySize: 2 ** 31, maxMemcpyCount: 32 * 1024, copiesPerBatch: 1024, batches: 32 },
    '2 GiB copies; 32 batches (the selftest’s array) of 1024',
  );
  t.same(
    dsaLimits(gen(21, 12), wq(16)),
    { maxMemcpySize: 2 ** 21, maxMemcpyCount: 16 * 1024, copiesPerBatch: 1024, batches: 16 },
    'a small queue holds fewer batches; batches stay within the selftest’s 1024 copies',
  );
  t.same(dsaLimits(gen(12, 5), wq(32)).maxMemcpyCount, 32 * 32, '32 copies a batch');
  t.same(dsaLimits(gen(12, 1), wq(32)).maxMemcpyCount, 1, 'batches of 2 cannot take every count: one copy at a time');
});

t.test('DSA batch splitting', async (t) => {
  t.same(splitBatches(2, 1024), [2], 'two copies, one batch');
  t.same(splitBatches(1025, 1024), [1023, 2], 'no batch of one: the one before gives one up');
  t.same(splitBatches(2048, 1024), [1024, 1024], 'full batches');
  t.same(splitBatches(4, 3), [2, 2], 'small batches');
  t.same(splitBatches(5, 3), [3, 2], 'small batches, no remainder of one');
  t.throws(() => splitBatches(1, 1024), RangeError, 'one copy is not a batch');
  t.throws(() => splitBatches(5, 2), RangeError, 'batches of 2 cannot take an odd count');
  const limits = dsaLimits(D.GEN_CAP.value({ max_batch_shift: 10 }), D.WQ_CAP.value({ total_wq_size: 128 }));
  const bad: string[] = [];
  for (const per of [3, 4, 7, 1024]) {
    const max = per === 1024 ? limits.maxMemcpyCount : 200;
    for (let count = 2; count <= max; count++) {
      const sizes = splitBatches(count, per);
      const sum = sizes.reduce((a, b) => a + b, 0);
      if (sum !== count || sizes.some((n) => n < 2 || n > per) || sizes.length !== Math.ceil(count / per))
        bad.push(`${count} in batches of ${per}: ${sizes.join(',')}`);
    }
  }
  t.same(bad, [], 'every count splits into ceil(count / per) batches of 2..per, so the limit never needs more');
});

t.test('DSA codes by name', async (t) => {
  t.equal(D.nameOf(D.CMDSTS_ERR, 0x22), 'IDXD_CMDSTS_ERR_WQ_SIZE (0x22)', 'a command error');
  t.equal(D.nameOf(D.CMD, D.CMD.IDXD_CMD_RESET_DEVICE), 'IDXD_CMD_RESET_DEVICE (0x05)', 'a command');
  t.equal(D.nameOf(D.CMDSTS_ERR, 0x99), 'unknown (0x99)', 'a code the headers do not name');
  t.equal(D.statusName(0x01), 'DSA_COMP_SUCCESS (0x01)', 'success');
  t.equal(D.statusName(0x85), 'DSA_COMP_BATCH_FAIL (0x05) with DSA_COMP_STATUS_WRITE', 'the bit beside the code');
  t.equal(D.nameOf(D.DEVICE_STATE, 3), 'IDXD_DEVICE_STATE_HALT (0x03)', 'a device state');
  const record = D.DSA_COMPLETION_RECORD.alloc({ status: 0x1a, bytes_completed: 3 });
  t.equal(D.describeRecord(record, 0), 'DSA_COMP_CRA_XLAT (0x1a), 3 bytes or descriptors completed', 'a record');
  const swerr = D.SW_ERR.value({ valid: 1, overflow: 1, error: 0x13, operation: 1 });
  t.equal(
    D.describeSwerr(swerr),
    'SWERR DSA_COMP_XFER_ERANGE (0x13), operation DSA_OPCODE_BATCH (0x01), more errors were lost (overflow)',
    'a software error',
  );
});

t.test('I/OAT descriptor, transfer limit and codes', async (t) => {
  const buf = Buffer.alloc(64, 0xee);
  I.writeCopy(buf, 0, { src: 0x1000n, dst: 0x2000n, size: 4096, next: 0x3040n, interrupt: false });
  t.equal(buf.readUInt32LE(0), 4096, 'size');
  t.equal(buf.readUInt32LE(4), 0, 'ctl: a copy (op 0), no interrupt');
  t.equal(buf.readBigUInt64LE(8), 0x1000n, 'src_addr');
  t.equal(buf.readBigUInt64LE(16), 0x2000n, 'dst_addr');
  t.equal(buf.readBigUInt64LE(24), 0x3040n, 'next');
  t.ok(
    buf.subarray(32).every((b) => b === 0),
    'the rest is zero',
  );
  I.writeCopy(buf, 0, { src: 0n, dst: 0n, size: 8, next: 0n, interrupt: true });
  t.equal(buf.readUInt32LE(4), 1, 'ctl: int_en');

  t.equal(ioatMaxCopy(20), 2 ** 20, '1 MiB copies');
  t.equal(ioatMaxCopy(0xe0 | 12), 4096, 'only bits [4:0] count');
  t.equal(ioatMaxCopy(31), 2 ** 31, 'the largest a descriptor’s size holds');
  t.equal(ioatMaxCopy(0), undefined, 'IOAT_XFERCAP_32GB: refused');

  t.same(
    I.chanerrNames(0x301),
    ['IOAT_CHANERR_SRC_ADDR_ERR', 'IOAT_CHANERR_READ_DATA_ERR', 'IOAT_CHANERR_WRITE_DATA_ERR'],
    'CHANERR bits by name',
  );
  t.same(I.chanerrNames(0x80000002), ['IOAT_CHANERR_DEST_ADDR_ERR', 'unknown bits 0x80000000'], 'and unnamed ones');
  t.equal(I.stateName(0xdead0003n), 'IOAT_CHANSTS_HALTED', 'the state from CHANSTS’s low bits');
  t.equal(I.stateName(0x5n), 'unknown state 5', 'a state the headers do not name');
});
