// BAR0 access for the nv_falcon driver: the two operations it needs (a VFIO
// Region provides them: one exact 32-bit access each), named errors, polls
// at the kernel driver's pace, and register programs as data (a list of
// steps) so each GPU generation's bring-up is a table rather than code paths.

import { setTimeout as sleep } from 'node:timers/promises';

/** What the driver needs of BAR0: one 32-bit load or store per call (drivers/vfio/region.ts Region). */
export interface Registers {
  read32(offset: number): number;
  write32(offset: number, value: number): void;
}

/** A failure with a name (`kind`), which leads its message: "timeout: …", "fsp-protocol: …". */
export class NvFalconError extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(`${kind}: ${message}`);
    this.name = 'NvFalconError';
  }
}

/** A register value as the kernel's driver prints it. */
export const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** The kernel's driver polls every millisecond; so do we, outside the DMA path. */
const POLL_INTERVAL_MS = 1;

/** Polls `done` until it holds (checked first, so a ready register costs one read); rejects after `timeoutMs`. */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  done: () => boolean,
  state: () => string,
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (done()) return;
    if (Date.now() - start >= timeoutMs)
      throw new NvFalconError('timeout', `${what}: ${state()} after ${timeoutMs} ms`);
    await sleep(POLL_INTERVAL_MS);
  }
}

/** One step of a register program. */
export type Step =
  /** Wait until (register & mask) === expected. */
  | { kind: 'poll'; what: string; offset: number; mask: number; expected: number; timeoutMs: number }
  | { kind: 'write'; offset: number; value: number }
  /** Read, clear the `clear` bits, set the `set` bits, write back. */
  | { kind: 'modify'; offset: number; clear: number; set: number }
  /** Write `value` to `offset` only if the register `test` reads `equals`. */
  | { kind: 'writeIf'; test: number; equals: number; offset: number; value: number };

/** Waits until (register & mask) === expected, naming the register in the timeout. */
export async function pollRegister(
  regs: Registers,
  what: string,
  offset: number,
  mask: number,
  expected: number,
  timeoutMs: number,
): Promise<void> {
  let value = 0;
  await waitUntil(
    what,
    timeoutMs,
    () => ((value = regs.read32(offset)) & mask) >>> 0 === expected >>> 0,
    () => `register ${hex(offset)} reads ${hex(value)}, not ${hex(expected)} under mask ${hex(mask)}`,
  );
}

/** Runs a register program in order, each access exactly as listed. */
export async function runSteps(regs: Registers, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    switch (step.kind) {
      case 'poll':
        await pollRegister(regs, step.what, step.offset, step.mask, step.expected, step.timeoutMs);
        break;
      case 'write':
        regs.write32(step.offset, step.value >>> 0);
        break;
      case 'modify':
        regs.write32(step.offset, ((regs.read32(step.offset) & ~step.clear) | step.set) >>> 0);
        break;
      case 'writeIf':
        if (regs.read32(step.test) >>> 0 === step.equals >>> 0) regs.write32(step.offset, step.value >>> 0);
        break;
    }
  }
}
