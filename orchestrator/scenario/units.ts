// Sizes and durations as people write them in scenario files ("64MiB", "1h30m").
// Parsers return a number or a message saying what was expected; they never throw.

import { printable } from '../../contract/text.js';

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

export type Parsed = { ok: true; value: number } | { ok: false; message: string };

const SIZE_RE = /^\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/;

/** Bytes from "64MiB", "1GiB", "4096" (a bare integer is bytes). */
export function parseSize(input: unknown): Parsed {
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) return { ok: false, message: `a size must be a whole number of bytes, got ${input}` };
    if (input <= 0) return { ok: false, message: `a size must be positive, got ${input}` };
    if (!Number.isSafeInteger(input))
      return { ok: false, message: `a size must be at most ${Number.MAX_SAFE_INTEGER} bytes, got ${input}` };
    return { ok: true, value: input };
  }
  if (typeof input !== 'string') return { ok: false, message: `expected a size such as 64MiB, got ${describe(input)}` };
  const m = SIZE_RE.exec(input);
  if (!m)
    return { ok: false, message: `expected a size such as 4KiB, 64MiB or 1GiB, got "${printable(String(input))}"` };
  const [, num, unit] = m as unknown as [string, string, string];
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) {
    return {
      ok: false,
      message: `unknown size unit "${unit}" in "${printable(String(input))}"; use B, KiB, MiB, GiB or TiB`,
    };
  }
  const value = Number(num) * factor;
  if (value <= 0) return { ok: false, message: `a size must be positive, got "${printable(String(input))}"` };
  if (!Number.isInteger(value))
    return { ok: false, message: `"${printable(String(input))}" is not a whole number of bytes` };
  if (!Number.isSafeInteger(value))
    return { ok: false, message: `"${printable(String(input))}" is more than ${Number.MAX_SAFE_INTEGER} bytes` };
  return { ok: true, value };
}

/** The longest a Node timer can wait (2^31 - 1 ms, about 24.8 days): every deadline, sleep and jitter is one. */
export const TIMER_MAX_MS = 2 ** 31 - 1;
/** The longest a run may be told to keep going (`duration`, `timeouts.total`): compared with the clock, not a timer. */
export const RUN_MAX_MS = 3650 * 86_400_000;

/**
 * Milliseconds from "500ms", "10s", "1h30m". A bare number is refused: its
 * unit would be a guess. At least 1 ms (a value that rounds to 0 means
 * nothing) and at most `max`.
 */
export function parseDuration(input: unknown, max = TIMER_MAX_MS): Parsed {
  if (typeof input === 'number') {
    return { ok: false, message: `a duration needs a unit (ms, s, m, h, d), e.g. "${input}s"` };
  }
  if (typeof input !== 'string')
    return { ok: false, message: `expected a duration such as 30s, got ${describe(input)}` };
  const text = input.trim();
  const part = /(\d{1,15}(?:\.\d{1,9})?)\s*([a-z]+)/y;
  let total = 0;
  let matched = 0;
  for (let m = part.exec(text); m; m = part.exec(text)) {
    const factor = DURATION_UNITS[m[2]!];
    if (factor === undefined)
      return {
        ok: false,
        message: `unknown duration unit "${m[2]}" in "${printable(String(input))}"; use ms, s, m, h or d`,
      };
    total += Number(m[1]) * factor;
    matched = part.lastIndex;
  }
  if (text === '' || matched !== text.length) {
    return { ok: false, message: `expected a duration such as 500ms, 30s, 2m or 1h30m, got "${printable(input)}"` };
  }
  if (total <= 0) return { ok: false, message: `a duration must be positive, got "${printable(String(input))}"` };
  const ms = Math.round(total);
  if (ms < 1) return { ok: false, message: `a duration is at least 1 ms, got "${printable(String(input))}"` };
  if (ms > max) {
    const what = max === TIMER_MAX_MS ? 'the longest a timer can wait' : 'the longest a run may last';
    return { ok: false, message: `"${printable(input)}" is longer than ${formatDuration(max)}, ${what}` };
  }
  return { ok: true, value: ms };
}

/** A run's length (`duration`, `timeouts.total`, --duration): up to RUN_MAX_MS. */
export function parseRunDuration(input: unknown): Parsed {
  return parseDuration(input, RUN_MAX_MS);
}

export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const f = SIZE_UNITS[unit]!;
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${unit}`;
  }
  return `${bytes}B`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, f] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= f) {
      parts.push(`${Math.floor(rest / f)}${unit}`);
      rest %= f;
    }
  }
  if (rest) parts.push(`${rest}ms`);
  return parts.join('');
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string "${printable(value)}"`;
  return `${typeof value} ${String(value)}`;
}

/** Milliseconds of a duration that passed validation (a bug if it does not parse). */
export function validMs(text: string): number {
  const p = parseRunDuration(text);
  if (!p.ok) throw new Error(`validated duration did not parse: ${text}`);
  return p.value;
}

/** Bytes of a size that passed validation (a bug if it does not parse). */
export function validBytes(value: string | number): number {
  const p = parseSize(value);
  if (!p.ok) throw new Error(`validated size did not parse: ${value}`);
  return p.value;
}
