// The kernel tree whose selftests are facts and yardsticks: Debian's
// linux-source-7.3 (experimental), unpacked in the cache with its uAPI
// headers made (`make headers` writes into the tree, so it lives apart from
// the trees kernels are built from). Its VFIO selftest drivers are what the
// drivers written from documentation are checked against (unit tests); the
// benchmarks build its selftests on the host and run them in the guest.

import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { withLock } from '../lock.js';
import { PrivateApt } from './apt.js';
import { extractSource } from './build.js';
import { cacheDir } from './cache.js';

const PKG = 'linux-source-7.3';
const HEADERS_MADE = '.lustress-headers';

export interface SelftestTree {
  source: string;
  /** PKG version, for messages. */
  name: string;
}

const selftestRoot = () => join(cacheDir(), 'build', 'selftests');

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
  return withLock(join(selftestRoot(), `${PKG}_${version}.lock`), async () => {
    const [deb] = await apt.download([`${PKG}=${version}`], join(cacheDir(), 'debs'));
    if (!deb) throw new Error(`apt-get download ${PKG}=${version} produced no .deb`);
    const source = await extractSource({ deb, pkg: PKG, version, log }, selftestRoot());
    const headers = join(source, HEADERS_MADE);
    if (!existsSync(headers)) {
      await execa('make', ['-C', source, 'headers'], { stdin: 'ignore' });
      writeFileSync(headers, '');
    }
    return build({ source, name: `${PKG} ${version}` });
  });
}

/** The newest tree already prepared in the cache, or undefined; never fetches. */
export function cachedSelftestTree(): SelftestTree | undefined {
  const root = selftestRoot();
  return (existsSync(root) ? readdirSync(root) : [])
    .map((d) => /^linux-source-7\.3_(.+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: `${PKG} ${m[1]}`, source: join(root, m[0], PKG) }))
    .filter((t) => existsSync(join(t.source, HEADERS_MADE)))
    .sort((a, b) => b.name.localeCompare(a.name))[0];
}
