// The kernel tree whose selftests serve as yardsticks: Debian's
// linux-source-7.3 (experimental), unpacked in the cache with its uAPI
// headers made (`make headers` writes into the tree, so it lives apart from
// the trees kernels are built from). Built on the host, run in the guest.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrivateApt } from '../orchestrator/kernels/apt.js';
import { extractSource } from '../orchestrator/kernels/build.js';
import { cacheDir } from '../orchestrator/kernels/cache.js';
import { withLock } from '../orchestrator/lock.js';

const PKG = 'linux-source-7.3';

export interface SelftestTree {
  source: string;
  /** PKG=version, for messages. */
  name: string;
}

/**
 * The tree, fetched and prepared once; `build` runs under the tree's lock, so two benchmarks never build in it at
 * once.
 */
export async function withSelftestTree<T>(
  log: (msg: string) => void,
  build: (tree: SelftestTree) => Promise<T>,
): Promise<T> {
  const apt = new PrivateApt(['experimental'], log);
  const version = await apt.candidate(PKG, 'experimental');
  if (!version) throw new Error(`Debian experimental offers no ${PKG}`);
  const root = join(cacheDir(), 'build', 'selftests');
  return withLock(join(root, `${PKG}_${version}.lock`), async () => {
    const [deb] = await apt.download([`${PKG}=${version}`], join(cacheDir(), 'debs'));
    if (!deb) throw new Error(`apt-get download ${PKG}=${version} produced no .deb`);
    const source = await extractSource({ deb, pkg: PKG, version, log }, root);
    const headers = join(source, '.lustress-headers');
    if (!existsSync(headers)) {
      await execa('make', ['-C', source, 'headers'], { stdin: 'ignore' });
      writeFileSync(headers, '');
    }
    return build({ source, name: `${PKG} ${version}` });
  });
}
