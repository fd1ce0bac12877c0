// Lock files, so that two lustress processes never build the same cached
// artefact or write the same run directory at once. A lock names its holder
// (pid and the process's start time, so a reused pid is not mistaken for it);
// a lock whose holder is gone is taken over.

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Someone else holds the lock. */
export class LockHeld extends Error {
  constructor(
    readonly path: string,
    readonly holder: number,
  ) {
    super(`${path} is held by lustress pid ${holder}`);
    this.name = 'LockHeld';
  }
}

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), if it exists. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The pid of the live process holding the lock at `path`, or undefined if it is free or stale. */
function liveHolder(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const [pid, started] = text.trim().split(' ');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  const now = startTime(n);
  return now !== undefined && (started === undefined || started === now) ? n : undefined;
}

/** Takes the lock at `path` now, or throws LockHeld; returns its release. */
export function acquireLock(path: string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid} ${startTime(process.pid) ?? ''}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = liveHolder(path);
      if (holder !== undefined) throw new LockHeld(path, holder);
      rmSync(path, { force: true });
    }
  }
}

/** Runs `fn` holding the lock at `path`, waiting up to `waitMs` for another holder to let go. */
export async function withLock<T>(path: string, fn: () => Promise<T>, waitMs = 6 * 3600_000): Promise<T> {
  const until = Date.now() + waitMs;
  let release: () => void;
  for (;;) {
    try {
      release = acquireLock(path);
      break;
    } catch (e) {
      if (!(e instanceof LockHeld) || Date.now() > until) throw e;
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    release();
  }
}
