// Turning untrusted bytes into a YAML document with source positions, refusing
// hostile input (huge, binary, deeply nested, alias bombs) quickly and clearly.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import {
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type Scalar,
  type YAMLError,
} from 'yaml';
import { printable } from '../../contract/text.js';
import type { ScenarioProblem } from './errors.js';

export const MAX_FILE_BYTES = 1024 * 1024;
export const MAX_DEPTH = 32;
export const MAX_ALIASES = 100;

const TOO_BIG = `file is larger than ${MAX_FILE_BYTES / 2 ** 20} MiB, the limit for scenario files`;
const TOO_DEEP = `nesting deeper than ${MAX_DEPTH} levels; a scenario never needs that`;

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
    // stat first: opening a FIFO would block, and /dev/zero or /proc files have no size worth trusting.
    if (!statSync(file).isFile()) return fail(file, 'not a regular file');
    bytes = readBounded(file, MAX_FILE_BYTES + 1);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return fail(file, `cannot read: ${err.message}`);
  }
  return parseSource(file, bytes);
}

/** At most `limit` bytes of a file, counted as they are read (a /proc file's stat size is 0 whatever it holds). */
function readBounded(file: string, limit: number): Buffer {
  const CHUNK = 64 << 10; // whole 8-byte records for /proc files like pagemap, which refuse partial ones
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(limit + CHUNK);
    let n = 0;
    for (let got = -1; got !== 0 && n < limit; n += got) got = readSync(fd, buf, n, CHUNK, null);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function parseSource(file: string, bytes: Uint8Array): SourceResult {
  if (bytes.length > MAX_FILE_BYTES) return fail(file, TOO_BIG);
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    return fail(file, 'not UTF-8: a UTF-16 (little-endian) byte order mark; save the file as UTF-8');
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return fail(file, 'not UTF-8: a UTF-16 (big-endian) byte order mark; save the file as UTF-8');
  let text: string;
  try {
    // One line-break convention for the parser and for positions: CRLF and a lone CR are both YAML line breaks.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/\r\n?/g, '\n');
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
    return fail(file, TOO_DEEP, positionOf(text, deep));
  }

  const lines = new LineCounter();
  // stringKeys: a list, mapping or alias as a key has no place in a scenario (and no JSON form).
  // resolveKnownTags off: !!binary, !!set or !!timestamp would turn into values no scenario holds.
  const doc = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    stringKeys: true,
    resolveKnownTags: false,
  });
  // A %YAML 1.1 directive would make `yes` a boolean and `017` octal: the language is YAML 1.2's core schema, always.
  const version = doc.directives?.yaml;
  if (version?.explicit && version.version !== '1.2') {
    const at = /^%YAML\b/m.exec(text)?.index ?? 0;
    return fail(
      file,
      `a %YAML ${version.version} directive: scenarios are YAML 1.2 (where yes is a string and 017 is 17); remove the directive`,
      positionOf(text, at),
    );
  }
  // Warnings count too (an unresolved tag would silently leave its value a string).
  const problems: ScenarioProblem[] = firstPerLine([...doc.errors, ...doc.warnings], lines).map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return { file, line: pos.line, col: pos.col, path: '', message: yamlMessage(e.code, e.message) };
  });
  if (problems.length) return { ok: false, problems };

  const deepNode = blockDepthExceeded(doc.contents);
  if (deepNode) {
    const pos = lines.linePos(deepNode.range?.[0] ?? 0);
    return fail(file, TOO_DEEP, pos);
  }
  const unusable = badAlias(doc.contents);
  if (unusable) return fail(file, unusable.message, lines.linePos(unusable.node.range?.[0] ?? 0));
  const tagged = taggedNode(doc.contents);
  if (tagged) {
    const tag = String(tagged.tag).replace('tag:yaml.org,2002:', '!!');
    return fail(
      file,
      `YAML tag ${printable(tag)} cannot be used here; scenarios need no tags`,
      lines.linePos(tagged.range?.[0] ?? 0),
    );
  }
  const inexact = inexactNumber(doc.contents);
  if (inexact) {
    const message = `${inexact.source ?? String(inexact.value)} is too large to be exact: numbers are limited to ${Number.MAX_SAFE_INTEGER}`;
    return fail(file, message, lines.linePos(inexact.range?.[0] ?? 0));
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    // The yaml library throws a ReferenceError for alias expansion beyond maxAliasCount.
    const alias = firstAlias(doc.contents);
    const pos = alias ? lines.linePos(alias.range?.[0] ?? 0) : { line: 1, col: 1 };
    return fail(
      file,
      `aliases expand too far (over ${MAX_ALIASES} copies): refused as an alias bomb (${(e as Error).message})`,
      pos,
    );
  }
  return { ok: true, source: { file, text, doc, lines }, data };
}

function fail(file: string, message: string, pos: { line: number; col: number } = { line: 1, col: 1 }): SourceResult {
  return { ok: false, problems: [{ file, line: pos.line, col: pos.col, path: '', message }] };
}

/** One error per line: the parser's later complaints on a line follow from its first. */
function firstPerLine(errors: YAMLError[], lines: LineCounter): YAMLError[] {
  const seen = new Set<number>();
  return errors
    .sort((a, b) => a.pos[0] - b.pos[0])
    .filter((e) => {
      const line = lines.linePos(e.pos[0]).line;
      return !seen.has(line) && seen.add(line);
    });
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY')
    return 'duplicate key: each key (and each target, device or buffer name) may appear once';
  if (code === 'MULTIPLE_DOCS') return 'more than one YAML document: a scenario file holds one';
  // The parser ran out of stack: nesting far beyond what the depth check below would allow.
  if (code === 'RESOURCE_EXHAUSTION') return TOO_DEEP;
  if (code === 'NON_STRING_KEY') return 'a key must be plain text, not a list, a mapping, an alias or a tagged value';
  if (code === 'TAG_RESOLVE_FAILED') {
    const tag = message.replace(/^Unresolved tag: /, '').replace('tag:yaml.org,2002:', '!!');
    return `YAML tag ${tag} cannot be used here; scenarios need no tags`;
  }
  return `YAML syntax: ${message.split('\n')[0]}`;
}

export function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    // LF, a lone CR, or the LF of a CRLF ends a line.
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
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

/** Every node (keys too) with its depth, in document order, without recursion. */
function* nodesInOrder(root: unknown): Generator<[unknown, number]> {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    yield [node, depth];
    if (isMap(node) || isSeq(node)) {
      // Pushed last to first, so that they pop in document order.
      for (let i = node.items.length - 1; i >= 0; i--) {
        const item = node.items[i];
        if (isPair(item)) stack.push([item.value, depth + 1], [item.key, depth + 1]);
        else stack.push([item, depth + 1]);
      }
    }
  }
}

/** The first collection deeper than MAX_DEPTH. */
function blockDepthExceeded(root: unknown): Node | undefined {
  for (const [node, depth] of nodesInOrder(root)) {
    if ((isMap(node) || isSeq(node)) && depth > MAX_DEPTH) return node;
  }
  return undefined;
}

/** The first node with an explicit tag (!!bool "true", !!int 4096): a tag can make a value what it does not read as. */
function taggedNode(root: unknown): Node | undefined {
  for (const [node] of nodesInOrder(root)) if (isNode(node) && node.tag) return node;
  return undefined;
}

function firstAlias(root: unknown): Node | undefined {
  for (const [node] of nodesInOrder(root)) if (isAlias(node)) return node;
  return undefined;
}

/** The first whole number beyond 2^53: JavaScript would round it, so it would pass checks as some other number. */
function inexactNumber(root: unknown): Scalar | undefined {
  for (const [node] of nodesInOrder(root)) {
    if (
      isScalar(node) &&
      typeof node.value === 'number' &&
      Number.isInteger(node.value) &&
      !Number.isSafeInteger(node.value)
    )
      return node;
  }
  return undefined;
}

/**
 * The first alias that names no anchor before it, or the node it is inside
 * (which would make the data endless). The yaml library would throw on the
 * first and build a cyclic object from the second.
 */
function badAlias(root: unknown): { node: Node; message: string } | undefined {
  // Like the library, an alias means the latest anchor of its name before it.
  const latest = new Map<string, { depth: number; open: boolean }>();
  const enclosing: { depth: number; open: boolean }[] = [];
  for (const [node, depth] of nodesInOrder(root)) {
    while (enclosing.length && enclosing[enclosing.length - 1]!.depth >= depth) enclosing.pop()!.open = false;
    if (isAlias(node)) {
      const anchor = latest.get(node.source);
      if (!anchor) return { node, message: `alias "*${node.source}" has no anchor "&${node.source}" before it` };
      if (anchor.open)
        return { node, message: `alias "*${node.source}" is inside the node it names, so its value would never end` };
    } else if (isNode(node) && node.anchor) {
      const anchor = { depth, open: true };
      latest.set(node.anchor, anchor);
      enclosing.push(anchor);
    }
  }
  return undefined;
}

/** Position of the value (or the key, for `key: true`) at a JSON path, for error messages. */
export function locate(
  source: Source,
  path: readonly (string | number)[],
  want: 'key' | 'value' = 'value',
): { line: number; col: number } {
  let node: unknown = source.doc.contents;
  let keyNode: unknown;
  // What lies inside an aliased node is written at its anchor but used here: the problem is pointed at the alias.
  let through: Node | undefined;
  for (const seg of path) {
    if (isAlias(node)) {
      through ??= node;
      node = node.resolve(source.doc);
    }
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
  const target = through ?? ((want === 'key' && keyNode) || node || keyNode);
  const range = (target as Node | undefined)?.range;
  return source.lines.linePos(range ? range[0] : 0);
}
