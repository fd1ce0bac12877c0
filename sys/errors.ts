// The errors of the system layer: a failed system call or kernel interface
// access (which call, which errno, on which device). They carry no protocol
// meaning; the agent turns them into structured JSON-RPC errors.

import koffi from 'koffi';

const ERRNO_NAMES = new Map(Object.entries(koffi.os.errno).map(([name, value]) => [value, name]));
// Where two names share a value, errors say the one the kernel's sources use.
for (const name of ['EAGAIN', 'EDEADLK', 'EOPNOTSUPP']) ERRNO_NAMES.set(koffi.os.errno[name]!, name);

/** The symbolic name of an errno ("EBUSY"), or "errno N" for one koffi does not know. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/** The errno a Node fs error carries, as a positive number (Node reports it negated). */
export function nodeErrno(e: unknown): number {
  return Math.abs((e as NodeJS.ErrnoException).errno ?? 0);
}

/** A failed system call: which call, which errno, on which device. */
export class SysError extends Error {
  readonly code: string;
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly bdf?: string,
    detail?: string,
  ) {
    const code = errnoName(errno);
    super(`${bdf ? `${bdf}: ` : ''}${call} failed: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'SysError';
    this.code = code;
  }

  /** JSON-safe facts for a structured error. */
  get data(): Record<string, unknown> {
    return { call: this.call, errno: this.errno, code: this.code, ...(this.bdf ? { bdf: this.bdf } : {}) };
  }
}

/** A side effect the machine's policy does not allow (kexec, rebinding on a machine not marked disposable). */
export class NotPermitted extends Error {
  constructor(
    readonly action: string,
    reason: string,
  ) {
    super(`refusing to ${action}: ${reason}`);
    this.name = 'NotPermitted';
  }
}

/**
 * Asked before every side effect that could end the session of whoever uses
 * the machine. Policy (who may) is decided above this layer; this layer only
 * asks, and throws NotPermitted when the answer is no.
 */
export interface Permit {
  allow(action: string): void;
}

/** What this kernel or device cannot do at all (a step about it is skipped, with this as the reason). */
export class Unsupported extends Error {
  constructor(
    message: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'Unsupported';
  }
}
