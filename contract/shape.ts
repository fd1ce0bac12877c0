// Shapes of the values that cross the agent channel: one declaration gives
// both the TypeScript type (Infer<S>) the compiler checks each side against
// and the check the agent runs on every request's params, so a wrong type is
// refused at the boundary with "params.device.bdf: expected a string, got
// number 5" instead of failing somewhere inside a driver.

import { printable } from './text.js';

export interface Shape<T> {
  /** What a valid value looks like, for messages ("a string", "an integer 1..4095"). */
  readonly expected: string;
  /** Appends "path: expected …, got …" for every problem found in `value`. */
  check(value: unknown, path: string, problems: string[]): void;
  /** Never set: carries T for Infer. */
  readonly type?: T;
}

/** A key of an object shape that may be left out. */
export interface Optional<T> extends Shape<T> {
  readonly optional: true;
}

export type Infer<S> = S extends Shape<infer T> ? T : never;

/** What an unknown value is, in a message. */
export function described(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string "${printable(value)}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function scalar<T>(expected: string, ok: (v: unknown) => boolean): Shape<T> {
  return {
    expected,
    check(value, path, problems) {
      if (!ok(value)) problems.push(`${path}: expected ${expected}, got ${described(value)}`);
    },
  };
}

export const str: Shape<string> = scalar('a string', (v) => typeof v === 'string');
export const bool: Shape<boolean> = scalar('a boolean', (v) => typeof v === 'boolean');
export const num: Shape<number> = scalar('a finite number', (v) => typeof v === 'number' && Number.isFinite(v));

/** A whole number within [min, max] (safe integers by default). */
export function int(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Shape<number> {
  const range = min === Number.MIN_SAFE_INTEGER && max === Number.MAX_SAFE_INTEGER ? '' : ` ${min}..${max}`;
  return scalar(`an integer${range}`, (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max);
}

/** A u64 as its decimal string (JSON numbers lose precision above 2^53). */
export const u64: Shape<string> = scalar(
  'a decimal u64 string',
  (v) => typeof v === 'string' && /^\d{1,20}$/.test(v) && BigInt(v) < 2n ** 64n,
);

export function oneOf<const V extends readonly string[]>(...values: V): Shape<V[number]> {
  return scalar(values.map((v) => `"${v}"`).join(' or '), (v) => typeof v === 'string' && values.includes(v));
}

export function optional<T>(shape: Shape<T>): Optional<T> {
  return { ...shape, optional: true };
}

export function list<T>(item: Shape<T>, maxItems = 100_000): Shape<T[]> {
  const expected = `a list of ${item.expected}`;
  return {
    expected,
    check(value, path, problems) {
      if (!Array.isArray(value)) return void problems.push(`${path}: expected ${expected}, got ${described(value)}`);
      if (value.length > maxItems) return void problems.push(`${path}: at most ${maxItems} items, got ${value.length}`);
      value.forEach((v, i) => item.check(v, `${path}[${i}]`, problems));
    },
  };
}

/** An object whose keys are names and whose values all have one shape. */
export function record<T>(value: Shape<T>): Shape<Record<string, T>> {
  const expected = `an object of ${value.expected}`;
  return {
    expected,
    check(v, path, problems) {
      if (!isPlainObject(v)) return void problems.push(`${path}: expected ${expected}, got ${described(v)}`);
      for (const [k, x] of Object.entries(v)) value.check(x, `${path}.${k}`, problems);
    },
  };
}

type Fields = Record<string, Shape<unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
export type ObjectOf<F extends Fields> = Simplify<
  { [K in keyof F as F[K] extends Optional<unknown> ? never : K]: Infer<F[K]> } & {
    [K in keyof F as F[K] extends Optional<unknown> ? K : never]?: Infer<F[K]>;
  }
>;

/** An object with exactly these keys (optional ones may be missing); an unknown key is a problem too. */
export function object<F extends Fields>(fields: F): Shape<ObjectOf<F>> & { readonly fields: F } {
  return {
    fields,
    expected: 'an object',
    check(value, path, problems) {
      if (!isPlainObject(value)) return void problems.push(`${path}: expected an object, got ${described(value)}`);
      for (const [key, shape] of Object.entries(fields)) {
        if (!Object.hasOwn(value, key) || value[key] === undefined) {
          if (!(shape as Optional<unknown>).optional) problems.push(`${path}.${key}: required, missing`);
        } else shape.check(value[key], `${path}.${key}`, problems);
      }
      for (const key of Object.keys(value))
        if (!Object.hasOwn(fields, key)) problems.push(`${path}.${key}: unexpected key`);
    },
  };
}

/** The same object with more keys (a buffer param plus its pattern, say). */
export function extend<F extends Fields, G extends Fields>(
  base: { fields: F },
  more: G,
): Shape<ObjectOf<F & G>> & { readonly fields: F & G } {
  return object({ ...base.fields, ...more });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every problem of `value` against `shape`, each prefixed by `path`; empty when it fits. */
export function problemsOf(shape: Shape<unknown>, value: unknown, path = 'params'): string[] {
  const problems: string[] = [];
  shape.check(value, path, problems);
  return problems;
}
