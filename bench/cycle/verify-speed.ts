// Run in a guest by bench/cycle: pattern verification speed against plain
// memcmp (one Buffer.compare of two equal buffers) over the same memfd
// memory, printed as JSON.

import { DmaBuffer } from '../../drivers/vfio/dma-buffer.js';
import { fillPattern, verifyPattern } from '../../agents/patterns.js';

const SIZE = 256 * 2 ** 20;
const ROUNDS = 5;
const id = { seed: 1, generation: 1 };

const a = DmaBuffer.create(SIZE);
const b = DmaBuffer.create(SIZE);
fillPattern(a.bytes, id);
b.bytes.set(a.bytes);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
const verify: number[] = [];
const memcmp: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const r = verifyPattern(a.bytes, id);
  if (r.badBytes) throw new Error('the pattern did not verify');
  verify.push(SIZE / r.ms / 1e6);
  const started = performance.now();
  if (
    Buffer.from(a.bytes.buffer, a.bytes.byteOffset, SIZE).compare(
      Buffer.from(b.bytes.buffer, b.bytes.byteOffset, SIZE),
    ) !== 0
  )
    throw new Error('the copies differ');
  memcmp.push(SIZE / (performance.now() - started) / 1e6);
}
process.stdout.write(
  JSON.stringify({ verifyGBps: median(verify), memcmpGBps: median(memcmp), bytes: SIZE, rounds: ROUNDS }) + '\n',
);
