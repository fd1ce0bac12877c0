// A lock file so that two lustress processes never fetch or build the same
// cached artefact at once. A lock whose owner process is gone is taken over.

import { openSync, closeSync, mkdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export async function withLock<T>(path: string, fn: () => Promise<T>, waitMs = 6 * 3600_000): Promise<T> {
  const until = Date.now() + waitMs;
  mkdirSync(dirname(path), { recursive: true });
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!ownerAlive(path)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > until)
        throw new Error(`waited too long for ${path} (held by pid ${readFileSync(path, 'utf8')})`);
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}

function ownerAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
