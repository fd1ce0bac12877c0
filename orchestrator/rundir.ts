// One directory per run: journal, logs, consoles, reports. Created where the
// guest can see it too (QEMU guests mount it writable at the same path).

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DEFAULT_RUNS_DIR = 'runs';

export function createRunDir(name: string, base = DEFAULT_RUNS_DIR): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  for (let n = 0; ; n++) {
    const dir = resolve(join(base, `${safe}-${stamp}${n ? `-${n}` : ''}`));
    try {
      mkdirSync(dir, { recursive: false });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') mkdirSync(resolve(base), { recursive: true });
      else if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

/** A run directory the user named: created if missing, made absolute. */
export function ensureDir(dir: string): string {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  return abs;
}
