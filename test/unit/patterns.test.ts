// The pattern engine finds every corrupt byte at its exact offset.

import t from 'tap';
import { fillPattern, MAX_LISTED_MISMATCHES, PAGE, TAG_BYTES, verifyPattern } from '../../agents/patterns.js';

const id = { seed: 7, generation: 1 };

t.test('a filled buffer verifies, whole pages or not', async (t) => {
  for (const size of [PAGE, 16 * PAGE, 3 * PAGE + 100, 20, PAGE - 1]) {
    const mem = new Uint8Array(size);
    fillPattern(mem, id);
    const r = verifyPattern(mem, id);
    t.same(
      { badPages: r.badPages, badBytes: r.badBytes, mismatches: r.mismatches },
      { badPages: 0, badBytes: 0, mismatches: [] },
      `size ${size}`,
    );
    t.equal(r.bytes, size);
  }
});

t.test('one flipped byte is reported at its offset with both values', async (t) => {
  const mem = new Uint8Array(64 * PAGE);
  fillPattern(mem, id);
  for (const offset of [0, 5, TAG_BYTES, 10 * PAGE + 1234, mem.length - 1]) {
    const copy = mem.slice();
    const before = copy[offset]!;
    copy[offset] = before ^ 0x40;
    const r = verifyPattern(copy, id);
    t.equal(r.badBytes, 1, `offset ${offset}: one bad byte`);
    t.equal(r.badPages, 1);
    t.same(r.mismatches, [
      {
        offset,
        length: 1,
        expected: before.toString(16).padStart(2, '0'),
        actual: (before ^ 0x40).toString(16).padStart(2, '0'),
      },
    ]);
  }
});

t.test('another seed or generation fails every page, listing a bounded number', async (t) => {
  const pages = 40;
  const mem = new Uint8Array(pages * PAGE);
  fillPattern(mem, id);
  const wrongSeed = verifyPattern(mem, { seed: 8, generation: 1 });
  t.equal(wrongSeed.badPages, pages);
  t.equal(wrongSeed.mismatches.length, MAX_LISTED_MISMATCHES, 'the list is bounded');
  t.ok(wrongSeed.badBytes > pages * 100, 'the count covers all of them');
  const wrongGeneration = verifyPattern(mem, { seed: 7, generation: 2 });
  t.equal(wrongGeneration.badPages, pages);
  t.equal(wrongGeneration.badBytes, pages, 'only the generation byte of each tag differs');
  t.equal(wrongGeneration.mismatches[0]!.offset, 8);
});

t.test('a page copied over another is caught by its tag', async (t) => {
  const mem = new Uint8Array(8 * PAGE);
  fillPattern(mem, id);
  mem.copyWithin(5 * PAGE, 3 * PAGE, 4 * PAGE);
  const r = verifyPattern(mem, id);
  t.equal(r.badPages, 1);
  t.equal(r.mismatches[0]!.offset, 5 * PAGE + 16, 'the page index in the tag differs');
});

t.test('a DMA copy of one buffer verifies against that buffer’s pattern, partly', async (t) => {
  const src = new Uint8Array(16 * PAGE);
  const dst = new Uint8Array(16 * PAGE);
  fillPattern(src, id);
  fillPattern(dst, { seed: 99, generation: 1 });
  dst.set(src.subarray(0, 4 * PAGE + 512));
  t.equal(verifyPattern(dst, id, 4 * PAGE + 512).badBytes, 0, 'the copied prefix has the source pattern');
  t.ok(verifyPattern(dst, id).badPages > 0, 'the rest does not');
});

t.test('only the requested length is written', async (t) => {
  const mem = new Uint8Array(4 * PAGE).fill(0xee);
  fillPattern(mem, id, PAGE + 10);
  t.ok(
    mem.subarray(PAGE + 10).every((b) => b === 0xee),
    'bytes past the length are untouched',
  );
  t.equal(verifyPattern(mem, id, PAGE + 10).badBytes, 0);
});
