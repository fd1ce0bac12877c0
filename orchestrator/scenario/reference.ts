// The scenario language reference in Markdown, generated from
// scenarios/schema.json so that the documentation cannot drift from the
// language (orchestrator/docs.ts puts it into README.md).

import { stringify } from 'yaml';
import { scenarioSchema } from './schema.js';

type JsonSchema = Record<string, any>;

/**
 * Definitions that are value types: shown by name in tables and, where the schema says more, explained under "Values".
 */
const VALUE_TYPES: Record<string, string> = {
  size: 'Sizes',
  duration: 'Durations',
  runDuration: 'Run durations',
  name: 'Names',
  kernel: 'Kernels',
  path: 'Paths',
};

const TYPE_WORDS: Record<string, string> = {
  object: 'mapping',
  array: 'list',
  integer: 'integer',
  string: 'string',
  boolean: 'boolean',
  null: 'empty',
  number: 'number',
};

export function scenarioReference(schema: JsonSchema = scenarioSchema()): string {
  const defs: Record<string, JsonSchema> = schema.definitions;
  const props: Record<string, JsonSchema> = schema.properties;
  const out: string[] = [];
  const section = (...text: string[]) => out.push(...text, '');

  section('<!-- Generated from scenarios/schema.json by `npm run docs`: edit the schema, not this section. -->');
  section(schema.description);

  section('### Top-level keys');
  section(...table(schema, defs));

  section('### Values');
  for (const [name, title] of Object.entries(VALUE_TYPES)) {
    const text = definitionText(defs[name]!);
    if (text) section(`#### ${title}`, '', text);
  }

  section('### Targets');
  section(props.targets!.description, defs.target!.description);
  for (const kind of defs.target!['x-lustress-one-of'] as string[]) {
    const def = defs[kind]!;
    section(`#### \`${kind}\``);
    section(def.description);
    section(...table(def, defs));
    if (kind === 'qemu') {
      section('Each item of `devices`:');
      section(...table(defs.qemuDevice!, defs));
    }
  }

  section('### Devices');
  section(props.devices!.description, defs.device!.description);
  section(...table(defs.device!, defs));

  section('### Buffers');
  section(props.buffers!.description);
  section(...table(defs.buffer!, defs));

  const step = defs.step!;
  const kinds = step['x-lustress-one-of'] as string[];
  section('### Steps');
  section(props.steps!.description);
  section('Keys a step may have beside its kind:');
  section(
    ...table(
      {
        properties: pick(
          step.properties,
          Object.keys(step.properties).filter((k) => !kinds.includes(k)),
        ),
      },
      defs,
    ),
  );
  for (const kind of kinds) {
    const def: JsonSchema = step.properties[kind];
    section(`#### \`${kind}\``);
    section(def.description);
    if (def.$ref) section(`The value is a ${typeText(def, defs)}.`);
    else if (Object.keys(def.properties ?? {}).length) section(...table(def, defs));
    else section('Takes no arguments.');
    section('```yaml', ...(def.examples as unknown[]).map((example) => stepExample(kind, example)), '```');
  }
  return out.join('\n').replace(/\n+$/, '\n');
}

function pick(all: Record<string, JsonSchema>, keys: string[]): Record<string, JsonSchema> {
  return Object.fromEntries(keys.map((k) => [k, all[k]!]));
}

/** One row per property: key, type, default (or "required"), description. */
function table(owner: JsonSchema, defs: Record<string, JsonSchema>): string[] {
  const required: string[] = owner.required ?? [];
  const rows = Object.entries<JsonSchema>(owner.properties ?? {}).map(([key, prop]) => {
    const target = prop.$ref ? defs[refName(prop.$ref)]! : {};
    const fallback = prop.$ref && !(refName(prop.$ref) in VALUE_TYPES) ? target.description : undefined;
    const dflt = required.includes(key) ? 'required' : 'default' in prop ? code(prop.default) : '';
    return `| \`${key}\` | ${typeText(prop, defs)} | ${dflt} | ${cell(prop.description ?? fallback ?? '')} |`;
  });
  return ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows];
}

function refName(ref: string): string {
  return ref.replace('#/definitions/', '');
}

/** A short type: a value type's name, the enum's values, or the JSON type with its bounds. */
function typeText(prop: JsonSchema, defs: Record<string, JsonSchema>, plural = false): string {
  if (prop.$ref) {
    const name = refName(prop.$ref);
    const title = VALUE_TYPES[name];
    if (!title) return typeText(defs[name]!, defs, plural);
    const word = name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);
    const label = plural ? `${word}s` : word;
    // Linked to its explanation under "Values", when it has one.
    return definitionText(defs[name]!) ? `[${label}](#${title.toLowerCase().replace(/ /g, '-')})` : label;
  }
  if ('const' in prop) return code(prop.const);
  if (prop.enum) return (prop.enum as unknown[]).map(code).join(' \\| ');
  const types = ([] as string[]).concat(prop.type ?? []);
  if (types.includes('array') && prop.items) return `list of ${typeText(prop.items, defs, true)}`;
  const words = types.map((t) => `${TYPE_WORDS[t] ?? t}${plural ? 's' : ''}`).join(' or ');
  const bounds = [
    prop.minimum !== undefined ? `≥ ${prop.minimum}` : '',
    prop.maximum !== undefined ? `≤ ${prop.maximum}` : '',
  ].filter(Boolean);
  return bounds.length ? `${words} ${bounds.join(', ')}` : words;
}

/** What a value type is, in words, with its examples; empty when the schema says nothing more than its type. */
function definitionText(def: JsonSchema): string {
  // A name has no description, only a pattern and a message that says it in words.
  const message: string | undefined = def['x-lustress-message'];
  const words = def.description ?? (message && `${message.charAt(0).toUpperCase()}${message.slice(1)}.`);
  if (!words) return '';
  return def.examples ? `${words} For example ${(def.examples as unknown[]).map(code).join(', ')}.` : words;
}

/** A step as it is written in a scenario's steps list, its arguments in flow style. */
function stepExample(kind: string, example: unknown): string {
  const args = example === null ? '' : ` ${stringify(example, { collectionStyle: 'flow' }).trim()}`;
  return `- ${kind}:${args}`;
}

function code(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `\`${cell(text)}\``;
}

/** Table cells may not hold a bare "|". */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
