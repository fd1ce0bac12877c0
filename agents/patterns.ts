// Memory patterns that verify near memory bandwidth and name exact corrupt
// offsets. Each 4 KiB page starts with a 32-byte tag (magic, seed,
// generation, page index) and continues with a body derived from the seed
// alone, the same for every page of a buffer: a run of pages verifies with
// one native memcmp against expected bytes that stay in cache.
// Everything works on views over mapped memory; nothing is copied to the heap.

import type { PatternId, VerifyReport } from '../contract/agent.js';

export const PAGE = 4096;
export const TAG_BYTES = 32;
const MAGIC = 0x4c55_5354; // "LUST"
/** Where in its tag a page's index (low 32 bits) sits. */
const PAGE_INDEX = 16;
/** How many differing byte ranges a report lists; the count covers them all. */
export const MAX_LISTED_MISMATCHES = 16;
/** Bytes of expected/actual shown per listed mismatch. */
const SHOWN_BYTES = 16;

const templates = new Map<number, Buffer>();

/** The page body for a seed: xorshift32 bytes, cached (a few seeds per run). */
function template(seed: number): Buffer {
  let body = templates.get(seed);
  if (body) return body;
  body = Buffer.allocUnsafe(PAGE - TAG_BYTES);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < body.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body.writeUInt32LE(x >>> 0, i);
  }
  templates.set(seed, body);
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
    const body = template(id.seed);
    for (let k = 0; k < pages; k++) {
      writeTag(this.view, k * PAGE, id, k);
      body.copy(this.bytes, k * PAGE + TAG_BYTES);
    }
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
