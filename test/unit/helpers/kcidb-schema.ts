// kcidb-io's published schema, as the tests check KCIDB output against it.

import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { repoPath } from './repo.js';

/** kcidb-io's schema, validated as kcidb-io does: draft-07 with format checking. */
export function kcidbValidator(): ValidateFunction {
  const schema = JSON.parse(readFileSync(repoPath('orchestrator/reports/kcidb-schema/v5.3.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats.default(ajv);
  return ajv.compile(schema);
}
