// drivers/vfio/mmio.ts and the eventfd counter, on this machine's memory: a
// store touches exactly its width at its offset (also either side of a
// one-MiB view window, and in a last window shorter than one), a load reads
// back what the bytes say, and an eventfd's count is read into native memory
// and reset by each read. A view beyond Node's 4 GiB is an error, not an abort.

import { writeSync } from 'node:fs';
import t from 'tap';
import { EventCounter } from '../../drivers/vfio/eventfd.js';
import { MmioAccess, type Width } from '../../drivers/vfio/mmio.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, mmap, munmap, view } from '../../sys/libc.js';

const MIB = 2 ** 20;

t.test('each store writes exactly its width, little-endian, and a load reads it back', (t) => {
  const size = 2 * MIB + MIB / 2;
  const base = mmap(null, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  t.teardown(() => munmap(base, size));
  const bytes = view(base, size);
  const mmio = new MmioAccess(base, size);
  const values: Record<Width, number | bigint> = { 1: 0xa5, 2: 0xbeef, 4: 0xdeadbeef, 8: 0x0123456789abcdefn };
  for (const width of [1, 2, 4, 8] as Width[]) {
    // First and last slot of the first window, first of the second, last of the short third.
    for (const offset of [0, MIB - width, MIB, size - width]) {
      bytes.fill(0x11, Math.max(0, offset - 8), Math.min(size, offset + width + 8));
      mmio.store(offset, width, values[width]);
      const expected = Buffer.alloc(8);
      expected.writeBigUInt64LE(BigInt(values[width]));
      t.same(
        [...bytes.subarray(offset, offset + width)],
        [...expected.subarray(0, width)],
        `${width} B at 0x${offset.toString(16)}`,
      );
      t.ok(
        bytes.subarray(Math.max(0, offset - 8), offset).every((b) => b === 0x11) &&
          bytes.subarray(offset + width, Math.min(size, offset + width + 8)).every((b) => b === 0x11),
        `${width} B at 0x${offset.toString(16)}: the neighbours are untouched`,
      );
      t.equal(mmio.load(offset, width), values[width], `${width} B at 0x${offset.toString(16)} read back`);
    }
  }
  t.end();
});

t.test('a register resolved once (word32) is the same 32-bit slot a store reaches, in any window', (t) => {
  const size = 2 * MIB + 4096;
  const base = mmap(null, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  t.teardown(() => munmap(base, size));
  const mmio = new MmioAccess(base, size);
  for (const offset of [0, MIB - 4, MIB, 2 * MIB + 4092]) {
    const { words, index } = mmio.word32(offset);
    words[index] = 0xc0ffee00 + (offset & 0xff);
    t.equal(mmio.load(offset, 4), 0xc0ffee00 + (offset & 0xff), `0x${offset.toString(16)}: the load reads the word`);
    t.equal(mmio.load(offset + (offset + 8 <= size ? 4 : -4), 4), 0, `0x${offset.toString(16)}: its neighbour is 0`);
  }
  t.end();
});

t.test('a view of more than 4 GiB is refused with an error, not the abort koffi would make of it', (t) => {
  t.throws(() => view(0x7f0000000000n, 2 ** 32 + 4096), RangeError);
  t.end();
});

t.test("an eventfd's count is taken whole and reset; wait answers at once when one is pending", async (t) => {
  const counter = new EventCounter();
  t.teardown(() => counter.close());
  t.equal(counter.take(), 0, 'nothing counted yet');
  t.equal(await counter.wait(5), 0, 'a wait with nothing coming ends with 0 after its time');
  const add = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    writeSync(counter.fd, b);
  };
  add(3n);
  add(2n);
  t.equal(counter.take(), 5, 'two signals of 3 and 2 taken as 5');
  t.equal(counter.take(), 0, 'and the count was reset');
  add(1n);
  t.equal(await counter.wait(5000), 1, 'a pending signal is what wait answers');
  setTimeout(() => add(7n), 20);
  t.equal(await counter.wait(5000), 7, 'a signal that comes while waiting (through the worker-thread poll)');
});

t.test('a closed eventfd is not read again: its number may be another file by then', (t) => {
  const counter = new EventCounter({ bdf: '0000:00:00.0' });
  counter.close();
  t.throws(() => counter.take(), /eventfd \d+ of 0000:00:00\.0 is closed/, 'take refuses');
  t.doesNotThrow(() => counter.close(), 'a second close does nothing');
  t.end();
});
