// Validation against scenarios/schema.json, with Ajv's errors rewritten into
// one positioned, human sentence per problem.

import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { printable } from '../../contract/text.js';
import { describe, parseDuration, parseRunDuration, parseSize, type Parsed } from './units.js';
import { nearest, pathText, type ScenarioProblem } from './errors.js';
import { locate, type Source } from './source.js';

export const SCHEMA_PATH = new URL('../../../scenarios/schema.json', import.meta.url);

type JsonSchema = Record<string, any>;

/** The schema's own formats and the parsers that decide them (and word their messages). */
const FORMATS: Record<string, (value: unknown) => Parsed> = {
  'lustress-size': parseSize,
  'lustress-duration': (v) => parseDuration(v),
  'lustress-run-duration': parseRunDuration,
};

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
  for (const [format, parse] of Object.entries(FORMATS)) ajv.addFormat(format, (s: string) => parse(s).ok);
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
  const unknownKeys = errors.filter((e) => e.keyword === 'additionalProperties');
  // Objects with an unknown key: the "no kind" complaint about them would only repeat it.
  const withUnknownKey = new Set(unknownKeys.map((e) => e.instancePath));
  // A misspelt required key is reported once, as unknown with its correction, not also as missing.
  const misspelt = new Set(unknownKeys.map((e) => `${e.instancePath}/${correctionOf(e)}`));
  // A value of the wrong type: its limits (minimum, pattern…) say nothing more.
  const withWrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const problems: ScenarioProblem[] = [];
  for (const e of errors) {
    if (e.keyword === 'x-lustress-one-of' && withUnknownKey.has(e.instancePath) && e.params.present.length === 0)
      continue;
    if (e.keyword === 'required' && misspelt.has(`${e.instancePath}/${e.params.missingProperty}`)) continue;
    if (e.keyword !== 'type' && withWrongType.has(e.instancePath)) continue;
    // "Exactly one kind" is already said by x-lustress-one-of, better.
    if (
      (e.keyword === 'minProperties' || e.keyword === 'maxProperties') &&
      (e.parentSchema as JsonSchema)['x-lustress-one-of']
    )
      continue;
    // propertyNames reports once per bad name (as "pattern") and once more in general.
    if (e.keyword === 'propertyNames') continue;
    // A failed $ref'd union type already says it all; "format" on a non-string is noise.
    if (e.keyword === 'format' && typeof e.data !== 'string') continue;
    problems.push(translate(source, data, e));
  }
  return problems;
}

/** A segment is a number only where it indexes a list: a mapping key "1" stays a key. */
function segmentsOf(pointer: string, root: unknown): (string | number)[] {
  if (!pointer) return [];
  let node: any = root;
  return pointer
    .slice(1)
    .split('/')
    .map((raw) => {
      const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      const segment = Array.isArray(node) ? Number(s) : s;
      node = node?.[segment];
      return segment;
    });
}

function translate(source: Source, data: unknown, e: ErrorObject): ScenarioProblem {
  const segments = segmentsOf(e.instancePath, data);
  const parent: JsonSchema = (e.parentSchema as JsonSchema) ?? {};
  const at = (path: (string | number)[], want: 'key' | 'value' = 'value') => {
    const pos = locate(source, path, want);
    return { file: source.file, line: pos.line, col: pos.col, path: pathText(path) };
  };
  const last = segments[segments.length - 1];
  // A list item is named with its list: "devices[1] needs…", not "1 needs…".
  const owner = last === undefined ? 'the file' : typeof last === 'number' ? pathText(segments.slice(-2)) : last;

  // A size or duration is told what one looks like, rather than which JSON type or limit it broke.
  const unit = e.keyword === 'type' || e.keyword === 'minimum' ? unitMessage(parent, e.data) : undefined;
  if (unit) return { ...at(segments), message: unit };

  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      const guess = correctionOf(e);
      const kinds: string[] | undefined = parent['x-lustress-one-of'];
      // "nmae" next to a step is a misspelt key; anything else there is an unknown kind.
      const noun = kinds && !(guess && !kinds.includes(guess)) ? `unknown ${kindNoun(kinds)}` : 'unknown key';
      if (segments[0] === 'steps' && segments.length === 3 && STEP_KEYS.includes(key)) {
        return {
          ...at([...segments, key], 'key'),
          message: `"${printable(key)}" belongs to the step, not to its arguments: write it beside "${owner}", at the same indentation`,
        };
      }
      // An unknown kind is told the kinds, not the keys that may stand beside one.
      const choices = noun === 'unknown key' ? known : kinds!;
      const hint = guess
        ? `; did you mean "${guess}"?`
        : choices.length
          ? `; expected one of: ${choices.join(', ')}`
          : `; ${owner} takes no arguments`;
      return { ...at([...segments, key], 'key'), message: `${noun} "${printable(key)}"${hint}` };
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
      const parsed = FORMATS[e.params.format as string]?.(e.data);
      return { ...at(segments), message: parsed && !parsed.ok ? parsed.message : `invalid ${e.params.format}` };
    }
    case 'pattern': {
      if (e.params.propertyName !== undefined || e.propertyName !== undefined) {
        const name = String(e.propertyName ?? e.params.propertyName);
        return {
          ...at([...segments, name], 'key'),
          message: `"${printable(name)}" is not a valid name: ${parent['x-lustress-message'] ?? `must match ${e.params.pattern}`}`,
        };
      }
      return {
        ...at(segments),
        message: `${describe(e.data)} is not valid: ${parent['x-lustress-message'] ?? `must match ${e.params.pattern}`}`,
      };
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

/** For a size or duration that does not parse: the parser's message. */
function unitMessage(schema: JsonSchema, data: unknown): string | undefined {
  const parsed = FORMATS[schema.format as string]?.(data);
  return parsed && !parsed.ok ? parsed.message : undefined;
}

/** The known key an unknown one is likely a misspelling of. */
function correctionOf(e: ErrorObject): string | undefined {
  return nearest(
    String(e.params.additionalProperty),
    Object.keys((e.parentSchema as JsonSchema | undefined)?.properties ?? {}),
  );
}

function typeWord(t: string): string {
  return (
    (
      {
        object: 'a mapping',
        array: 'a list',
        integer: 'an integer',
        string: 'a string',
        boolean: 'true or false',
        null: 'nothing',
        number: 'a number',
      } as Record<string, string>
    )[t] ?? t
  );
}

function kindNoun(kinds: string[]): string {
  return kinds.includes('bind') ? 'step kind' : 'target kind';
}
