// Run in a guest by bench/cycle: pattern verification speed against plain
// memcmp (one Buffer.compare of two equal buffers) over the same memfd
// memory, printed as JSON. Twice: on memory mapped and touched already, and
// on memory freshly mapped as a LUO retrieve leaves it (the pages exist, no
// page table maps them yet), where first-touch faults may cost more than
// the reading — with and without MAP_POPULATE. The reference for fresh memory
// is memcmp of it, freshly mapped the same way, against the expected copy.

import { DmaBuffer } from '../../drivers/vfio/dma-buffer.js';
import { dup } from '../../sys/libc.js';
import { fillPattern, verifyPattern } from '../../agents/patterns.js';

const SIZE = 256 * 2 ** 20;
const ROUNDS = 5;
const id = { seed: 1, generation: 1 };

const a = DmaBuffer.create(SIZE);
const b = DmaBuffer.create(SIZE);
fillPattern(a.bytes, id);
b.bytes.set(a.bytes);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const gbps = (ms: number) => SIZE / ms / 1e6;
const timed = <T>(fn: () => T): [T, number] => {
  const started = performance.now();
  const r = fn();
  return [r, performance.now() - started];
};
const same = (x: Uint8Array, y: Uint8Array) =>
  Buffer.from(x.buffer, x.byteOffset, SIZE).compare(Buffer.from(y.buffer, y.byteOffset, SIZE)) === 0;
/** A new mapping of the same memfd, as a retrieve makes one. */
const fresh = (buffer: DmaBuffer, populate: boolean) => DmaBuffer.fromFd(dup(buffer.fd), SIZE, { populate });
const verified = (bytes: Uint8Array) => {
  if (verifyPattern(bytes, id).badBytes) throw new Error('the pattern did not verify');
};

const figures = {
  verify: [],
  memcmp: [],
  freshVerify: [],
  populatedVerify: [],
  populatedTotal: [],
  populatedMemcmp: [],
} as Record<string, number[]>;
for (let i = 0; i < ROUNDS; i++) {
  figures.verify!.push(gbps(timed(() => verified(a.bytes))[1]));
  const [equal, ms] = timed(() => same(a.bytes, b.bytes));
  if (!equal) throw new Error('the copies differ');
  figures.memcmp!.push(gbps(ms));

  const cold = fresh(a, false);
  figures.freshVerify!.push(gbps(timed(() => verified(cold.bytes))[1]));
  cold.close();
  const [populated, mapMs] = timed(() => fresh(a, true));
  const verifyMs = timed(() => verified(populated.bytes))[1];
  populated.close();
  figures.populatedVerify!.push(gbps(verifyMs));
  figures.populatedTotal!.push(gbps(mapMs + verifyMs));
  const [again, againMapMs] = timed(() => fresh(a, true));
  const [equalAgain, compareMs] = timed(() => same(again.bytes, b.bytes));
  again.close();
  if (!equalAgain) throw new Error('the fresh mapping differs from the copy');
  figures.populatedMemcmp!.push(gbps(againMapMs + compareMs));
}
const out = Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${k}GBps`, median(v)]));
process.stdout.write(JSON.stringify({ ...out, bytes: SIZE, rounds: ROUNDS }) + '\n');
