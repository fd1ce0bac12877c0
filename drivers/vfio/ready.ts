// Waiting for a device that is still initialising. After a bind or a reset
// some VFIO drivers refuse accesses for a while rather than let them through
// (nvgrace_gpu_vfio_pci returns EAGAIN or ETIME from a read of GPU memory
// until the GPU reports ready; an mmap'd access would be a SIGBUS), and a
// function coming out of FLR may read all ones. Those are retried until a
// deadline; any other refusal is reported at once.

import { setTimeout as sleep } from 'node:timers/promises';
import { SysError } from '../../sys/errors.js';
import { DeviceError } from './errors.js';

/** Errnos a VFIO driver returns for "not yet", as opposed to "never". */
export const NOT_READY_ERRNOS: ReadonlySet<string> = new Set(['EAGAIN', 'EBUSY', 'ETIME', 'ETIMEDOUT', 'EINTR']);

/** A device not ready after a reset has no more than this, unless the scenario's device says otherwise. */
export const READY_TIMEOUT_MS = 30_000;

export interface ReadyOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/** What one try saw when the device was not ready: a value it must not have, or an errno. */
export type NotYet = { notYet: string };

/**
 * Runs `access` until it returns a value (not a NotYet) and resolves with
 * it; retries after a NotYet or a SysError with a not-ready errno, until
 * `timeoutMs` from the first try, then rejects with a DeviceError naming what
 * was accessed, the last answer and the number of tries.
 */
export async function untilReady<T>(
  bdf: string,
  what: string,
  access: () => T | NotYet,
  opts: ReadyOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? READY_TIMEOUT_MS;
  const started = Date.now();
  for (let tries = 1; ; tries++) {
    let last: string;
    let errno: string | undefined;
    try {
      const got = access();
      if (!isNotYet(got)) return got;
      last = got.notYet;
    } catch (e) {
      if (!(e instanceof SysError) || !NOT_READY_ERRNOS.has(e.code)) throw e;
      last = e.message;
      errno = e.code;
    }
    const ms = Date.now() - started;
    if (ms >= timeoutMs) {
      throw new DeviceError(bdf, `${what} not ready after ${ms} ms and ${tries} tries: ${last}`, {
        what,
        ms,
        tries,
        ...(errno ? { errno } : {}),
      });
    }
    await sleep(Math.min(opts.intervalMs ?? 10 * tries, 500));
  }
}

function isNotYet(v: unknown): v is NotYet {
  return typeof v === 'object' && v !== null && 'notYet' in v;
}
