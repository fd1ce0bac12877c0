// The example scenarios shipped in scenarios/, for the tests and benchmarks
// that build on them: a run may add top-level keys (targets, iterations,
// jitter) to an example's text, so its journal records exactly what ran.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../../scenarios/', import.meta.url));

export function examplePath(name: string): string {
  return join(EXAMPLES_DIR, `${name}.yaml`);
}

/** An example's text, with `extra` top-level keys appended (keys the example does not set). */
export function exampleText(name: string, extra = ''): string {
  return readFileSync(examplePath(name), 'utf8') + (extra ? `\n${extra.trimEnd()}\n` : '');
}
