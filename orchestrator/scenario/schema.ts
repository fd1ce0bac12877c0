// Validation against scenarios/schema.json, with Ajv's errors rewritten into
// one positioned, human sentence per problem.

import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { describe, parseDuration, parseSize } from './units.js';
import { nearest, pathText, type ScenarioProblem } from './errors.js';
import { locate, type Source } from './source.js';

export const SCHEMA_PATH = new URL('../../../scenarios/schema.json', import.meta.url);

type JsonSchema = Record<string, any>;

/** Keys a step has beside its kind. */
const STEP_KEYS = ['name', 'timeout', 'expect'];

let compiled: { schema: JsonSchema; validate: ValidateFunction } | undefined;

export function scenarioSchema(): JsonSchema {
  return compiledSchema().schema;
}

function compiledSchema(): { schema: JsonSchema; validate: ValidateFunction } {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as JsonSchema;
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, useDefaults: true });
  ajv.addFormat('lustress-size', (s: string) => parseSize(s).ok);
  ajv.addFormat('lustress-duration', (s: string) => parseDuration(s).ok);
  ajv.addKeyword({ keyword: 'x-lustress-message', schemaType: 'string' });
  ajv.addKeyword({
    keyword: 'x-lustress-one-of',
    type: 'object',
    schemaType: 'array',
    errors: true,
    validate: function oneOf(keys: string[], data: Record<string, unknown>) {
      const present = keys.filter((k) => Object.hasOwn(data, k));
      if (present.length === 1) return true;
      (oneOf as any).errors = [{ keyword: 'x-lustress-one-of', message: 'one-of', params: { present, keys } }];
      return false;
    },
  });
  compiled = { schema, validate: ajv.compile(schema) };
  return compiled;
}

export function validateAgainstSchema(source: Source, data: unknown): ScenarioProblem[] {
  const { validate } = compiledSchema();
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  // Objects with an unknown key: the "no kind" complaint about them would only repeat it.
  const withUnknownKey = new Set(errors.filter((e) => e.keyword === 'additionalProperties').map((e) => e.instancePath));
  const problems: ScenarioProblem[] = [];
  for (const e of errors) {
    if (e.keyword === 'x-lustress-one-of' && withUnknownKey.has(e.instancePath) && e.params.present.length === 0) continue;
    // propertyNames reports once per bad name (as "pattern") and once more in general.
    if (e.keyword === 'propertyNames') continue;
    // A failed $ref'd union type already says it all; "format" on a non-string is noise.
    if (e.keyword === 'format' && typeof e.data !== 'string') continue;
    problems.push(translate(source, e));
  }
  return problems;
}

function segmentsOf(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function translate(source: Source, e: ErrorObject): ScenarioProblem {
  const segments = segmentsOf(e.instancePath);
  const parent: JsonSchema = (e.parentSchema as JsonSchema) ?? {};
  const at = (path: (string | number)[], want: 'key' | 'value' = 'value') => {
    const pos = locate(source, path, want);
    return { file: source.file, line: pos.line, col: pos.col, path: pathText(path) };
  };
  const owner = segments.length ? String(segments[segments.length - 1]) : 'the file';

  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      const guess = nearest(key, known);
      const kinds: string[] | undefined = parent['x-lustress-one-of'];
      // "nmae" next to a step is a misspelt key; anything else there is an unknown kind.
      const noun = kinds && !(guess && !kinds.includes(guess)) ? `unknown ${kindNoun(kinds)}` : 'unknown key';
      if (segments[0] === 'steps' && segments.length === 3 && STEP_KEYS.includes(key)) {
        return { ...at([...segments, key], 'key'), message: `"${key}" belongs to the step, not to its arguments: write it beside "${owner}", at the same indentation` };
      }
      const hint = guess ? `; did you mean "${guess}"?` : `; expected one of: ${known.join(', ')}`;
      return { ...at([...segments, key], 'key'), message: `${noun} "${key}"${hint}` };
    }
    case 'required':
      return { ...at(segments, 'key'), message: `${owner} needs "${e.params.missingProperty}"` };
    case 'x-lustress-one-of': {
      const { present, keys } = e.params as { present: string[]; keys: string[] };
      const noun = kindNoun(keys);
      const message =
        present.length === 0
          ? `missing the ${noun}: one of ${keys.join(', ')}`
          : `has ${present.length} ${noun}s (${present.join(', ')}); give each its own ${noun.split(' ')[0]}`;
      return { ...at(segments, 'key'), message };
    }
    case 'type': {
      if (parent.format === 'lustress-duration') {
        const parsed = parseDuration(e.data);
        if (!parsed.ok) return { ...at(segments), message: parsed.message };
      }
      const expected = ([] as string[]).concat(e.params.type).map(typeWord).join(' or ');
      return { ...at(segments), message: `expected ${expected}, got ${describe(e.data)}` };
    }
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map((v) => (v === null ? 'null' : String(v)));
      const guess = typeof e.data === 'string' ? nearest(e.data, allowed) : undefined;
      return {
        ...at(segments),
        message: `expected one of ${allowed.join(', ')}; got ${describe(e.data)}${guess ? `; did you mean "${guess}"?` : ''}`,
      };
    }
    case 'const':
      return { ...at(segments), message: `expected ${JSON.stringify(e.params.allowedValue)}, got ${describe(e.data)}` };
    case 'format': {
      const parsed = e.params.format === 'lustress-size' ? parseSize(e.data) : parseDuration(e.data);
      return { ...at(segments), message: parsed.ok ? `invalid ${e.params.format}` : parsed.message };
    }
    case 'pattern': {
      if (e.params.propertyName !== undefined || e.propertyName !== undefined) {
        const name = String(e.propertyName ?? e.params.propertyName);
        return { ...at([...segments, name], 'key'), message: `"${name}" is not a valid name: ${parent['x-lustress-message'] ?? `must match ${e.params.pattern}`}` };
      }
      return { ...at(segments), message: `${describe(e.data)} is not valid: ${parent['x-lustress-message'] ?? `must match ${e.params.pattern}`}` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { ...at(segments), message: `must be ${e.params.comparison} ${e.params.limit}, got ${describe(e.data)}` };
    case 'minItems':
      return { ...at(segments), message: `needs at least ${e.params.limit} item${e.params.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { ...at(segments), message: `has more than ${e.params.limit} items` };
    case 'minProperties':
      return { ...at(segments), message: `needs at least ${e.params.limit} entr${e.params.limit === 1 ? 'y' : 'ies'}` };
    case 'maxProperties':
      return { ...at(segments), message: `has more than ${e.params.limit} entries` };
    case 'minLength':
      return { ...at(segments), message: `must not be empty` };
    case 'maxLength':
      return { ...at(segments), message: `is longer than ${e.params.limit} characters` };
    default:
      return { ...at(segments), message: e.message ?? e.keyword };
  }
}

function typeWord(t: string): string {
  return ({ object: 'a mapping', array: 'a list', integer: 'an integer', string: 'a string', boolean: 'true or false', null: 'nothing', number: 'a number' } as Record<string, string>)[t] ?? t;
}

function kindNoun(kinds: string[]): string {
  return kinds.includes('bind') ? 'step kind' : 'target kind';
}
