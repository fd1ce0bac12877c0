// The pattern engine finds every corrupt byte at its exact offset.

import t from 'tap';
import { fillPattern, MAX_LISTED_MISMATCHES, TAG_BYTES, verifyCopy, verifyPattern } from '../../agents/patterns.js';
import { PAGE, type PatternId } from '../../contract/agent.js';

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

t.test('the page layout stays what every earlier fill wrote: tag, then the seed and generation body', async (t) => {
  // Bytes written by the first implementation (Buffer.writeUInt32LE per word); a pattern that changes breaks runs
  // whose memory was filled by an older agent.
  const page = (seed: number, generation: number) => {
    const mem = new Uint8Array(2 * PAGE);
    fillPattern(mem, { seed, generation });
    return Buffer.from(mem.buffer, PAGE, PAGE);
  };
  const a = page(0x1234, 5);
  t.equal(a.toString('hex', 0, 24), '5453554c3412000005000000000000000100000000000000', 'tag of page 1');
  t.equal(a.toString('hex', TAG_BYTES, TAG_BYTES + 16), 'a12bd8ff4c4c65cb286f8dbcadfbff60', 'body start');
  t.equal(a.toString('hex', PAGE - 16), 'bd5d1b8e7497b51d77deac5c68e3ffaf', 'body end');
  const zero = page(0, 0);
  t.equal(zero.toString('hex', TAG_BYTES, TAG_BYTES + 16), 'a03f3bcfa3353bf7bbc84af4d0865209', 'seed 0 body start');
  t.equal(zero.toString('hex', PAGE - 16), '306ad4959becb5b20fc2d5efd891e398', 'seed 0 body end');
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
  t.ok(
    wrongGeneration.badBytes > pages * (PAGE - TAG_BYTES) * 0.9,
    'the generation is in the body too: a piece of an older fill does not pass for a newer one',
  );
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

t.test('a copy is judged piece by piece: untouched, copied before the source was rewritten, or after', async (t) => {
  const own = { seed: 12, generation: 3 };
  const first = { seed: 11, generation: 2 };
  const old = { seed: 11, generation: 4 };
  const newest = { seed: 11, generation: 9, earlier: [2, 4] };
  const pages = 200; // three compare runs and a part of one: mixed runs go page by page
  const source = (id: PatternId) => {
    const m = new Uint8Array(pages * PAGE);
    fillPattern(m, id);
    return m;
  };
  const [before, older, after] = [source(old), source(first), source(newest)];
  const dst = new Uint8Array(pages * PAGE);
  fillPattern(dst, own);
  // A copy of the old source reached pages 0..149 (a pass of an even older one 150..159); the device went on after
  // the rewrite over pages 70..72, page 190, and one 1 KiB frame in the middle of page 100 (no tag in it).
  dst.set(before.subarray(0, 150 * PAGE));
  dst.set(older.subarray(150 * PAGE, 160 * PAGE), 150 * PAGE);
  dst.set(after.subarray(70 * PAGE, 73 * PAGE), 70 * PAGE);
  dst.set(after.subarray(190 * PAGE, 191 * PAGE), 190 * PAGE);
  dst.set(after.subarray(100 * PAGE + 2048, 100 * PAGE + 3072), 100 * PAGE + 2048);
  // A copy in progress in 1 KiB frames: half of page 160 copied, the rest still untouched.
  dst.set(before.subarray(160 * PAGE, 160 * PAGE + 2048), 160 * PAGE);
  const r = verifyCopy(dst, own, newest);
  t.same(r.copy, {
    untouchedPages: 38,
    copiedPages: 157,
    latePages: 5,
    late: [
      { offset: 70 * PAGE, length: 3 * PAGE },
      { offset: 100 * PAGE, length: PAGE },
      { offset: 190 * PAGE, length: PAGE },
    ],
  });
  t.equal(r.badBytes, 0, 'late pieces and half-copied pages are not corruption');

  t.same(verifyCopy(dst, own, newest, 70 * PAGE).copy?.latePages, 0, 'only the first `length` bytes are judged');
  t.same(verifyCopy(before.slice(), own, newest).copy, {
    untouchedPages: 0,
    copiedPages: pages,
    latePages: 0,
    late: [],
  });
  const toldOldIsNewest = verifyCopy(before.slice(), own, { ...old, earlier: [2] });
  t.equal(toldOldIsNewest.copy?.latePages, pages, 'judged against the generation it is told is newest');
  const forgotten = verifyCopy(older.slice(0, PAGE), own, { ...newest, earlier: [4] });
  t.equal(forgotten.badPages, 1, 'a generation it is not told of is corruption');
});

t.test('in a copy, flipped bytes and a page of another buffer are corruption, at their offsets', async (t) => {
  const own = { seed: 12, generation: 3 };
  const src = { seed: 11, generation: 4 };
  const dst = new Uint8Array(8 * PAGE);
  fillPattern(dst, src);
  dst[2 * PAGE + 100]! ^= 1; // in a copied page
  dst[5 * PAGE + 3]! ^= 1; // in the tag's magic
  dst[5 * PAGE + 3000]! ^= 1; // and in the same page's body: one bad page, two bad bytes
  const other = new Uint8Array(PAGE);
  fillPattern(other, { seed: 99, generation: 4 });
  dst.set(other, 7 * PAGE);
  const r = verifyCopy(dst, own, { seed: 11, generation: 5, earlier: [4] });
  t.equal(r.badPages, 3);
  t.equal(r.mismatches[0]!.offset, 2 * PAGE + 100);
  t.equal(r.mismatches[0]!.length, 1, 'a bad piece is compared with the source it is a copy of');
  t.same(
    r.mismatches.slice(1, 3).map((m) => m.offset),
    [5 * PAGE + 3, 5 * PAGE + 3000],
  );
  t.same(r.copy, { untouchedPages: 0, copiedPages: 5, latePages: 0, late: [] }, 'a bad page is only bad');
});
