// The registry of step kinds: one module per kind, and the compiler checks
// that every kind of the language has one (a unit test checks that these
// are exactly the kinds scenarios/schema.json defines).

import { bind } from './bind.js';
import { corrupt } from './corrupt.js';
import type { StepCommon, StepDefinition } from './define.js';
import { expectMsi } from './expect-msi.js';
import { fill } from './fill.js';
import { finish } from './finish.js';
import { kexecExec } from './kexec-exec.js';
import { kexecLoad } from './kexec-load.js';
import { map } from './map.js';
import { memcpyStart } from './memcpy-start.js';
import { memcpyWait } from './memcpy-wait.js';
import { preserve } from './preserve.js';
import { retrieve } from './retrieve.js';
import { sendMsi } from './send-msi.js';
import { sleep } from './sleep.js';
import { verify } from './verify.js';

export const STEP_KINDS = [
  'bind',
  'map',
  'fill',
  'memcpy-start',
  'memcpy-wait',
  'send-msi',
  'expect-msi',
  'preserve',
  'kexec-load',
  'kexec-exec',
  'retrieve',
  'verify',
  'finish',
  'sleep',
  'corrupt',
] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const STEPS = {
  bind,
  map,
  fill,
  'memcpy-start': memcpyStart,
  'memcpy-wait': memcpyWait,
  'send-msi': sendMsi,
  'expect-msi': expectMsi,
  preserve,
  'kexec-load': kexecLoad,
  'kexec-exec': kexecExec,
  retrieve,
  verify,
  finish,
  sleep,
  corrupt,
} satisfies { [K in StepKind]: StepDefinition<K, any> };

type ArgsOf<K extends StepKind> = ReturnType<(typeof STEPS)[K]['model']>;

/** A step of the model: its kind, that kind's arguments, and what every step has. */
export type Step = { [K in StepKind]: { kind: K } & ArgsOf<K> & StepCommon }[StepKind];

/** The definition of a step's kind, for code that treats every kind alike. */
export function definitionOf(kind: StepKind): StepDefinition<StepKind, any> {
  return STEPS[kind] as StepDefinition<StepKind, any>;
}
