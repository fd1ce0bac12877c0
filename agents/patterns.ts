// Memory patterns that verify near memory bandwidth and name exact corrupt
// offsets. Each 4 KiB page starts with a 32-byte tag (magic, seed,
// generation, page index) and continues with a body derived from the seed
// and the generation, the same for every page of a buffer: a run of pages
// verifies with one native memcmp against expected bytes that stay in cache.
// The generation is in every byte of the body, not only in the tag, so a
// copy of part of a page still says which fill it came from.
// Everything works on views over mapped memory; nothing is copied to the heap.

import { PAGE, type CopyCheck, type CopyReport, type PatternId, type VerifyReport } from '../contract/agent.js';

export const TAG_BYTES = 32;
const MAGIC = 0x4c55_5354; // "LUST"
/** Where in its tag a page's index (low 32 bits) sits. */
const PAGE_INDEX = 16;
/** How many differing byte ranges a report lists; the count covers them all. */
export const MAX_LISTED_MISMATCHES = 16;
/** Bytes of expected/actual shown per listed mismatch. */
const SHOWN_BYTES = 16;
/** The smallest piece a copy's destination is judged in: devices write whole cache lines. */
export const COPY_BLOCK = 64;

const templates = new Map<string, Buffer>();

/** Whether a Uint32Array's words are little-endian here, as the pattern's are. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The page body for a pattern: xorshift32 words of the seed, each mixed with the generation, little-endian; cached. */
function template(id: PatternId): Buffer {
  const key = `${id.seed}:${id.generation}`;
  let body = templates.get(key);
  if (body) return body;
  // Stored as array elements, not by Buffer.writeUInt32LE: a call per word made a pattern's template cost 14-143 ms
  // in a fresh process under TCG (V8 optimising the loop), against 7-14 ms for the first and 1-3 ms after.
  const words = new Uint32Array((PAGE - TAG_BYTES) / 4);
  let x = id.seed >>> 0 || 0x9e3779b9;
  const mix = Math.imul((id.generation >>> 0) + 1, 0x9e3779b9);
  for (let w = 0; w < words.length; w++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[w] = x ^ Math.imul(mix, (w * 4) | 1);
  }
  body = Buffer.from(words.buffer);
  if (!LITTLE_ENDIAN) body.swap32();
  // A few patterns per run; a soak of many fills must not keep them all.
  if (templates.size >= 64) templates.delete(templates.keys().next().value!);
  templates.set(key, body);
  return body;
}

function writeTag(view: DataView, at: number, id: PatternId, page: number): void {
  view.setUint32(at, MAGIC, true);
  view.setUint32(at + 4, id.seed >>> 0, true);
  view.setUint32(at + 8, id.generation >>> 0, true);
  // Page index as a little-endian u64 (buffers stay far below 2^32 pages); the rest reserved.
  view.setUint32(at + 12, 0, true);
  view.setUint32(at + PAGE_INDEX, page, true);
  view.setUint32(at + 20, 0, true);
  view.setUint32(at + 24, 0, true);
  view.setUint32(at + 28, 0, true);
}

/** Pages per native copy or compare: the call, not the bytes, is what costs under TCG, and 256 KiB stays in cache. */
const CHUNK_PAGES = 64;

/**
 * The expected bytes of `pages` consecutive pages, as a buffer whose page
 * indices `moveTo` rewrites in place (one tag word a page), so a whole run of
 * pages is written or checked with one native copy or compare.
 */
class ExpectedPages {
  readonly bytes: Buffer;
  private readonly view: DataView;

  constructor(id: PatternId, pages: number) {
    this.bytes = Buffer.allocUnsafe(pages * PAGE);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    // One page by hand, the others one native repeat of it (a tag and a copy per page cost tens of milliseconds under
    // TCG in each boot's first fill or verify), then each page's index.
    writeTag(this.view, 0, id, 0);
    template(id).copy(this.bytes, TAG_BYTES);
    this.bytes.fill(this.bytes.subarray(0, PAGE), PAGE);
    this.moveTo(0);
  }

  /** Makes these the pages from `first` on. */
  moveTo(first: number): this {
    for (let at = 0, p = first; at < this.bytes.length; at += PAGE, p++) this.view.setUint32(at + PAGE_INDEX, p, true);
    return this;
  }
}

/** The expected bytes of one whole page, for reporting and for partial pages. */
function expectedPage(id: PatternId, page: number): Buffer {
  return new ExpectedPages(id, 1).moveTo(page).bytes;
}

/** Writes the pattern into the first `length` bytes of `mem` (default: all of it). */
export function fillPattern(mem: Uint8Array, id: PatternId, length = mem.length): { bytes: number; ms: number } {
  const started = performance.now();
  const dst = Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
  const whole = Math.floor(length / PAGE);
  const chunk = new ExpectedPages(id, Math.min(CHUNK_PAGES, Math.max(whole, 1)));
  for (let p = 0; p < whole; p += CHUNK_PAGES) {
    const n = Math.min(CHUNK_PAGES, whole - p);
    chunk.moveTo(p).bytes.copy(dst, p * PAGE, 0, n * PAGE);
  }
  const rest = length - whole * PAGE;
  if (rest > 0) expectedPage(id, whole).copy(dst, whole * PAGE, 0, rest);
  return { bytes: length, ms: performance.now() - started };
}

/** Checks the first `length` bytes of `mem` hold the pattern; lists where they do not. */
export function verifyPattern(mem: Uint8Array, id: PatternId, length = mem.length): VerifyReport {
  const started = performance.now();
  const src = Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
  const report: VerifyReport = { bytes: length, ms: 0, badPages: 0, badBytes: 0, mismatches: [] };
  const whole = Math.floor(length / PAGE);
  const chunk = new ExpectedPages(id, Math.min(CHUNK_PAGES, Math.max(whole, 1)));
  for (let p = 0; p < whole; p += CHUNK_PAGES) {
    const n = Math.min(CHUNK_PAGES, whole - p);
    const at = p * PAGE;
    const expected = chunk.moveTo(p).bytes;
    if (src.compare(expected, 0, n * PAGE, at, at + n * PAGE) === 0) continue;
    // Something in this run differs: account for it page by page.
    for (let k = 0; k < n; k++) {
      const from = at + k * PAGE;
      if (src.compare(expected, k * PAGE, (k + 1) * PAGE, from, from + PAGE) !== 0)
        describePage(report, src.subarray(from, from + PAGE), expected.subarray(k * PAGE, (k + 1) * PAGE), from);
    }
  }
  const rest = length - whole * PAGE;
  if (rest > 0) {
    const at = whole * PAGE;
    const expected = expectedPage(id, whole).subarray(0, rest);
    if (src.compare(expected, 0, rest, at, at + rest) !== 0)
      describePage(report, src.subarray(at, at + rest), expected, at);
  }
  report.ms = performance.now() - started;
  return report;
}

/** The generation in a page's tag, where the page starts with a tag of `seed` for page `index`. */
function tagGeneration(page: Buffer, seed: number, index: number): number | undefined {
  if (page.length < TAG_BYTES || page.readUInt32LE(0) !== MAGIC || page.readUInt32LE(4) !== seed >>> 0)
    return undefined;
  return page.readUInt32LE(PAGE_INDEX) === index ? page.readUInt32LE(8) : undefined;
}

/**
 * Checks a copy's destination: every piece of it must hold its own pattern (no copy reached it) or the source's
 * bytes from one of the source's earlier generations (copied before the source was last written). Pieces that hold
 * the source's newest generation were copied after that write: their pages are listed as late. Anything else is
 * corruption, reported as by verifyPattern. Pages are judged whole where they can be (runs of them with one
 * compare), else in COPY_BLOCK pieces: a copy in progress may have reached part of a page.
 */
export function verifyCopy(mem: Uint8Array, own: PatternId, source: CopyCheck, length = mem.length): VerifyReport {
  const started = performance.now();
  const dst = Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
  const copy: CopyReport = { untouchedPages: 0, copiedPages: 0, latePages: 0, late: [] };
  const report: VerifyReport = { bytes: length, ms: 0, badPages: 0, badBytes: 0, mismatches: [], copy };
  const pages = Math.ceil(length / PAGE);
  const chunkPages = Math.min(CHUNK_PAGES, Math.max(pages, 1));
  const newest: PatternId = { seed: source.seed, generation: source.generation };
  const older = source.earlier
    .filter((g) => g !== source.generation)
    .map((g) => ({ seed: source.seed, generation: g }));
  const candidates = [own, newest, ...older];
  const expected = new Map(candidates.map((id) => [id, new ExpectedPages(id, chunkPages)]));
  const late = (at: number, bytes: number) => {
    copy.latePages += Math.ceil(bytes / PAGE);
    const last = copy.late.at(-1);
    if (last && last.offset + last.length === at) last.length += bytes;
    else if (copy.late.length < MAX_LISTED_MISMATCHES) copy.late.push({ offset: at, length: bytes });
  };
  const count = (kind: PatternId, at: number, n: number, bytes: number) => {
    if (kind === own) copy.untouchedPages += n;
    else if (kind === newest) late(at, bytes);
    else copy.copiedPages += n;
  };
  /** The candidate `bytes` bytes of page `first` on are, if one (the one the tag names first). */
  const holder = (first: number, bytes: number, from = 0): PatternId | undefined => {
    const at = first * PAGE;
    const tagged = tagGeneration(dst.subarray(at, at + PAGE), source.seed, first);
    const order =
      tagged === undefined ? candidates : [...candidates.filter((c) => c.generation === tagged), ...candidates];
    return order.find(
      (id) =>
        dst.compare(expected.get(id)!.moveTo(first).bytes, from, from + bytes, at + from, at + from + bytes) === 0,
    );
  };
  for (let p = 0; p < pages; p += chunkPages) {
    const n = Math.min(chunkPages, pages - p);
    const runBytes = Math.min(n * PAGE, length - p * PAGE);
    const whole = holder(p, runBytes);
    if (whole) {
      count(whole, p * PAGE, n, runBytes);
      continue;
    }
    for (let k = p; k < p + n; k++) {
      const at = k * PAGE;
      const size = Math.min(PAGE, length - at);
      const page = holder(k, size);
      if (page) {
        count(page, at, 1, size);
        continue;
      }
      // Part of the page was reached by a copy: judge it piece by piece (a bad page counts once).
      const kinds = new Set<PatternId>();
      const badBefore = report.badPages;
      for (let from = 0; from < size; from += COPY_BLOCK) {
        const bytes = Math.min(COPY_BLOCK, size - from);
        const piece = holder(k, bytes, from);
        if (piece) kinds.add(piece);
        else {
          const want = expected.get(older[0] ?? newest)!.moveTo(k).bytes;
          describePage(
            report,
            dst.subarray(at + from, at + from + bytes),
            want.subarray(from, from + bytes),
            at + from,
          );
        }
      }
      if (report.badPages > badBefore) report.badPages = badBefore + 1;
      else if (kinds.has(newest)) late(at, size);
      else if ([...kinds].some((c) => c !== own)) copy.copiedPages++;
      else if (kinds.size) copy.untouchedPages++;
    }
  }
  report.ms = performance.now() - started;
  return report;
}

/** Byte-exact account of one bad page: runs of differing bytes, counted, the first few listed. */
function describePage(report: VerifyReport, actual: Uint8Array, expected: Uint8Array, base: number): void {
  report.badPages++;
  let i = 0;
  while (i < actual.length) {
    if (actual[i] === expected[i]) {
      i++;
      continue;
    }
    const start = i;
    while (i < actual.length && actual[i] !== expected[i]) i++;
    report.badBytes += i - start;
    if (report.mismatches.length < MAX_LISTED_MISMATCHES) {
      const end = Math.min(i, start + SHOWN_BYTES);
      report.mismatches.push({
        offset: base + start,
        length: i - start,
        expected: hex(expected.subarray(start, end)),
        actual: hex(actual.subarray(start, end)),
      });
    }
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
