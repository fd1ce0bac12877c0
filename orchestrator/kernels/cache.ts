// Where downloaded and built artefacts live between runs: kernels, .debs,
// initramfs images. Never inside the project tree.

import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'lustress');
}
