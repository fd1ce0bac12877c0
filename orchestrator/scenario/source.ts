// Turning untrusted bytes into a YAML document with source positions, refusing
// hostile input (huge, binary, deeply nested, alias bombs) quickly and clearly.

import { readFileSync, statSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ScenarioProblem } from './errors.js';

export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_DEPTH = 32;
export const MAX_ALIASES = 100;

export interface Source {
  file: string;
  text: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

export type SourceResult = { ok: true; source: Source; data: unknown } | { ok: false; problems: ScenarioProblem[] };

export function readSource(file: string): SourceResult {
  let bytes: Buffer;
  try {
    const st = statSync(file);
    if (!st.isFile()) return fail(file, 'not a regular file');
    if (st.size > MAX_FILE_BYTES) return fail(file, tooBig(st.size));
    bytes = readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return fail(file, `cannot read: ${err.code ?? ''} ${err.message}`.trim());
  }
  return parseSource(file, bytes);
}

export function parseSource(file: string, bytes: Uint8Array): SourceResult {
  if (bytes.length > MAX_FILE_BYTES) return fail(file, tooBig(bytes.length));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const pos = positionOf(new TextDecoder().decode(bytes.subarray(0, at)), at);
    return fail(file, `not a text file: invalid UTF-8 at byte ${at}`, pos);
  }
  const control = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(2, '0');
    return fail(file, `not a text file: control byte 0x${code}`, positionOf(text, control.index));
  }
  const deep = flowDepthExceeded(text);
  if (deep !== undefined) {
    return fail(file, `nesting deeper than ${MAX_DEPTH} levels; a scenario never needs that`, positionOf(text, deep));
  }

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  const problems: ScenarioProblem[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return { file, line: pos.line, col: pos.col, path: '', message: yamlMessage(e.code, e.message) };
  });
  if (problems.length) return { ok: false, problems };

  const deepNode = blockDepthExceeded(doc.contents);
  if (deepNode) {
    const pos = lines.linePos(deepNode.range?.[0] ?? 0);
    return fail(file, `nesting deeper than ${MAX_DEPTH} levels; a scenario never needs that`, pos);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // The yaml library throws a ReferenceError for alias expansion beyond maxAliasCount.
    const alias = firstAlias(doc.contents);
    const pos = alias ? lines.linePos(alias.range?.[0] ?? 0) : { line: 1, col: 1 };
    return fail(file, `aliases expand too far (over ${MAX_ALIASES} copies): refused as an alias bomb (${(e as Error).message})`, pos);
  }
  return { ok: true, source: { file, text, doc, lines }, data };
}

function fail(file: string, message: string, pos: { line: number; col: number } = { line: 1, col: 1 }): SourceResult {
  return { ok: false, problems: [{ file, line: pos.line, col: pos.col, path: '', message }] };
}

function tooBig(size: number): string {
  return `file is ${(size / 2 ** 20).toFixed(1)} MiB; scenario files are limited to ${MAX_FILE_BYTES / 2 ** 20} MiB`;
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'duplicate key: each key (and each target, device or buffer name) may appear once';
  if (code === 'MULTIPLE_DOCS') return 'more than one YAML document: a scenario file holds one';
  return `YAML syntax: ${message.split('\n')[0]}`;
}

export function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  const dec = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = bytes.length;
  // Binary search for the shortest prefix that fails to decode.
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    try {
      dec.decode(bytes.subarray(0, mid + 1), { stream: true });
      dec.decode();
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

/** Offset where flow nesting ([ {) exceeds MAX_DEPTH, skipping quotes and comments. Linear. */
function flowDepthExceeded(text: string): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const nl = text.indexOf('\n', i);
      if (nl === -1) break;
      i = nl;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** The first node deeper than MAX_DEPTH, found without recursion. */
function blockDepthExceeded(root: unknown): Node | undefined {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth > MAX_DEPTH) return node;
      for (const item of node.items) {
        if (isPair(item)) {
          stack.push([item.key, depth + 1], [item.value, depth + 1]);
        } else stack.push([item, depth + 1]);
      }
    }
  }
  return undefined;
}

function firstAlias(root: unknown): Node | undefined {
  const stack: unknown[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (isAlias(node)) return node;
    if (isMap(node) || isSeq(node)) {
      for (const item of node.items) stack.push(...(isPair(item) ? [item.key, item.value] : [item]));
    }
  }
  return undefined;
}

/** Position of the value (or the key, for `key: true`) at a JSON path, for error messages. */
export function locate(source: Source, path: readonly (string | number)[], want: 'key' | 'value' = 'value'): { line: number; col: number } {
  let node: unknown = source.doc.contents;
  let keyNode: unknown;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(source.doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      keyNode = undefined;
      node = node.items[seg];
    } else break;
  }
  const target = (want === 'key' && keyNode) || node || keyNode;
  const range = (target as Node | undefined)?.range;
  return source.lines.linePos(range ? range[0] : 0);
}
