// The kernel's uAPI headers for the layout tests: installed once
// (make headers_install, out of tree) from the linux-source tree the
// live-update kernel build unpacked into the cache, and kept there.

import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../../../orchestrator/kernels/cache.js';

/** The newest unpacked linux-source tree in the cache (orchestrator/kernels/build.ts unpacks it), or undefined. */
export function cachedLinuxSource(): { dir: string; name: string } | undefined {
  const build = join(cacheDir(), 'build');
  const trees = (existsSync(build) ? readdirSync(build) : [])
    .map((d) => /^(linux-source-(\d+)\.(\d+))_(.+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(build, m[0], '.lustress-extracted')))
    .sort((a, b) => Number(b[2]) - Number(a[2]) || Number(b[3]) - Number(a[3]));
  const m = trees[0];
  return m ? { dir: join(build, m[0], m[1]!), name: m[0] } : undefined;
}

/** `<dir>/include` with linux/vfio.h, linux/iommufd.h…, installed from `source` on first use. */
export async function installedUapiHeaders(source: { dir: string; name: string }): Promise<string> {
  const dest = join(cacheDir(), 'build', `uapi-headers-${source.name}`);
  const done = join(dest, '.installed');
  if (existsSync(done)) return join(dest, 'include');
  const obj = `${dest}.obj`;
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(obj, { recursive: true });
  // Out of tree (O=), so the source tree other builds use stays clean.
  await execa('make', ['-C', source.dir, `O=${obj}`, `INSTALL_HDR_PATH=${dest}`, 'headers_install'], {
    stdin: 'ignore',
  });
  rmSync(obj, { recursive: true, force: true });
  writeFileSync(done, '');
  return join(dest, 'include');
}
