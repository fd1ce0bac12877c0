// Machine instructions JavaScript cannot issue. A DSA portal takes a
// descriptor only as one 64-byte store (MOVDIR64B): eight 8-byte stores are
// eight partial writes the device drops. koffi calls a few bytes of x86-64
// code placed in a page mapped read+execute, never writable and executable at once.

import { readFileSync } from 'node:fs';
import koffi from 'koffi';
import { Unsupported } from './errors.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, mmap, mprotect, PROT_EXEC, PROT_READ, PROT_WRITE } from './libc.js';

/** `sfence; movdir64b (%rsi), %rdi; ret`: earlier stores (the descriptor's memory) first, then one 64-byte store. */
export const MOVDIR64B_CODE = [0x0f, 0xae, 0xf8, 0x66, 0x0f, 0x38, 0xf8, 0x3e, 0xc3] as const;

type Store64 = (dst: bigint, src: Uint8Array) => void;

/** A function `void f(void *dst, const void *src)` made of `code` (System V ABI: rdi = dst, rsi = src). */
export function nativeFunction(name: string, code: readonly number[]): Store64 {
  const page = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, { detail: name });
  new Uint8Array(koffi.view(page, code.length)).set(code);
  mprotect(page, 4096, PROT_READ | PROT_EXEC, { detail: name });
  const proto = koffi.proto(`void ${name}(void *dst, const void *src)`);
  return (dst, src) => koffi.call(page, proto, dst, src);
}

/** Whether this CPU has the instruction (/proc/cpuinfo's flags, as the kernel's idxd driver requires). */
export function cpuHasMovdir64b(cpuinfo = '/proc/cpuinfo'): boolean {
  return /^flags\s*:.*\bmovdir64b\b/m.test(readFileSync(cpuinfo, 'utf8'));
}

let movdir64b: Store64 | undefined;

/** One 64-byte store of `src` at `dst` (64-byte aligned, device memory); refuses a CPU without MOVDIR64B. */
export function store64Bytes(dst: bigint, src: Uint8Array): void {
  if (src.length !== 64) throw new RangeError(`a 64-byte store needs 64 bytes, got ${src.length}`);
  if (dst % 64n) throw new RangeError(`a 64-byte store needs a 64-byte aligned address, got 0x${dst.toString(16)}`);
  if (!movdir64b) {
    if (!cpuHasMovdir64b()) throw new Unsupported('this CPU has no MOVDIR64B (no "movdir64b" in /proc/cpuinfo)');
    movdir64b = nativeFunction('movdir64b', MOVDIR64B_CODE);
  }
  movdir64b(dst, src);
}
