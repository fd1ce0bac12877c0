// sys/native-code.ts: the MOVDIR64B bytes are what GNU as assembles, the
// mechanism that calls machine code moves real bytes (proved with a stub of
// SSE2 moves this CPU has), and a 64-byte store refuses what the instruction
// would fault on. MOVDIR64B itself runs only on a CPU that has it.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Unsupported } from '../../sys/errors.js';
import { addressOf } from '../../sys/libc.js';
import { cpuHasMovdir64b, MOVDIR64B_CODE, nativeFunction, store64Bytes } from '../../sys/native-code.js';
import { prerequisiteMissing } from './helpers/prerequisite.js';

/** The .text bytes GNU as makes of `source`, or undefined without binutils. */
function assemble(source: string): number[] | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-as-'));
  try {
    writeFileSync(join(dir, 'code.s'), `.text\n${source}\n`);
    execFileSync('as', ['--64', '-o', join(dir, 'code.o'), join(dir, 'code.s')]);
    execFileSync('objcopy', ['-O', 'binary', '--only-section=.text', join(dir, 'code.o'), join(dir, 'code.bin')]);
    return [...readFileSync(join(dir, 'code.bin'))];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 64 bytes at a 64-byte aligned address inside a fresh Buffer, and that address. */
function aligned64(fill: (i: number) => number): { bytes: Buffer; address: bigint } {
  const whole = Buffer.alloc(128);
  const skip = Number((64n - (addressOf(whole) % 64n)) % 64n);
  const bytes = whole.subarray(skip, skip + 64);
  for (let i = 0; i < 64; i++) bytes[i] = fill(i);
  return { bytes, address: addressOf(whole) + BigInt(skip) };
}

t.test('the MOVDIR64B function is what GNU as assembles', async (t) => {
  const bytes = assemble('sfence\nmovdir64b (%rsi), %rdi\nret');
  if (!bytes) return prerequisiteMissing(t, 'GNU as (binutils) is not installed');
  t.same([...MOVDIR64B_CODE], bytes);
});

t.test('machine code called through koffi gets dst in rdi and src in rsi', async (t) => {
  const code = assemble(
    [0, 16, 32, 48].map((o) => `movdqu ${o}(%rsi), %xmm0\nmovdqu %xmm0, ${o}(%rdi)`).join('\n') + '\nret',
  );
  if (!code) return prerequisiteMissing(t, 'GNU as (binutils) is not installed');
  const copy64 = nativeFunction('copy64', code);
  const src = aligned64((i) => (i * 37 + 11) & 0xff);
  const dst = aligned64(() => 0);
  copy64(dst.address, src.bytes);
  t.same([...dst.bytes], [...src.bytes], 'the 64 bytes arrived');
  const again = aligned64((i) => 255 - i);
  copy64(dst.address, again.bytes);
  t.same([...dst.bytes], [...again.bytes], 'a second call runs the same page');
});

t.test('a 64-byte store refuses a short source and a misaligned destination', async (t) => {
  const dst = aligned64(() => 0);
  t.throws(() => store64Bytes(dst.address, Buffer.alloc(63)), /needs 64 bytes, got 63/);
  t.throws(() => store64Bytes(dst.address + 8n, Buffer.alloc(64)), /64-byte aligned address, got 0x[0-9a-f]+8\b/);
});

t.test('the store is made on a CPU with MOVDIR64B and refused on one without', async (t) => {
  const dst = aligned64(() => 0);
  const src = aligned64((i) => i + 1);
  if (cpuHasMovdir64b()) {
    store64Bytes(dst.address, src.bytes);
    t.same([...dst.bytes], [...src.bytes], 'MOVDIR64B stored the 64 bytes');
  } else {
    t.throws(() => store64Bytes(dst.address, src.bytes), Unsupported, 'no movdir64b flag: refused, not a SIGILL');
    t.same([...dst.bytes], new Array(64).fill(0), 'nothing was stored');
  }
});

t.test('the CPU flag is read from the flags line only', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-cpuinfo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  t.ok(cpuHasMovdir64b(file('has', 'processor\t: 0\nflags\t\t: fpu sse2 movdiri movdir64b enqcmd\n')));
  t.notOk(cpuHasMovdir64b(file('lacks', 'processor\t: 0\nflags\t\t: fpu sse2 movdiri\n')));
  t.notOk(cpuHasMovdir64b(file('elsewhere', 'model name\t: movdir64b-lake\nflags\t\t: fpu sse2\n')));
});
