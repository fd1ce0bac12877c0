// Building a kernel with the project's config fragment, out of tree (O=) so
// several configurations can share one source: the live-update kernel from
// Debian's linux-source package, or a developer's own tree.

import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from './cache.js';
import { parseConfig } from './kconfig.js';

export const LIVE_UPDATE_FRAGMENT = new URL('../../../orchestrator/kernels/live-update.config', import.meta.url);
/** Part of the cache key: change it whenever the steps below change what gets built. */
export const BUILD_RECIPE = 'x86_64_defconfig + kvm_guest.config + fragment, bzImage, v1';

export interface BuildProgress {
  phase: 'extract' | 'configure' | 'compile' | 'done';
  done: number;
  total: number;
}

export class KernelBuildError extends Error {
  constructor(
    message: string,
    readonly log: string,
    readonly excerpt: string,
  ) {
    super(`${message}\n${excerpt}\nfull log: ${log}`);
    this.name = 'KernelBuildError';
  }
}

interface BuildRequest {
  /** The kernel source tree (never written: objects go to the cache). */
  src: string;
  /** What the source is, for kernel.json and messages: "linux-source-7.2 7.2.13-1", a tree's path and commit. */
  source: string;
  kind: 'live-update' | 'tree';
  fragment: string;
  /** An empty directory that receives bzImage, config, build.log and kernel.json. */
  out: string;
  id: string;
  /** Options of the fragment that may end up unset (a tree's own, whose dependencies it may lack). */
  allowMissing?: ReadonlySet<string>;
  log?: (msg: string) => void;
  progress?: (p: BuildProgress) => void;
}

interface SourcePackage {
  deb: string;
  pkg: string;
  version: string;
  log?: (msg: string) => void;
  progress?: (p: BuildProgress) => void;
}

/** Objects a build of this configuration compiled last time; a first build guesses. */
const FIRST_BUILD_OBJECTS = 2600;

export async function buildKernel(req: BuildRequest): Promise<void> {
  const buildRoot = join(cacheDir(), 'build');
  const src = req.src;
  const obj = join(buildRoot, `${req.id}-obj`);
  const staging = req.out;
  mkdirSync(obj, { recursive: true });
  const logFile = join(staging, 'build.log');
  const logStream = createWriteStream(logFile);
  const make = (args: string[]) =>
    execa('make', ['-C', src, `O=${obj}`, ...args], { all: true, stdin: 'ignore', reject: false });

  req.progress?.({ phase: 'configure', done: 0, total: 1 });
  const fragmentFile = join(obj, 'lustress.config');
  writeFileSync(fragmentFile, req.fragment);
  for (const step of [
    () => make(['x86_64_defconfig']),
    () => make(['kvm_guest.config']),
    () =>
      execa(join(src, 'scripts/kconfig/merge_config.sh'), ['-m', '-O', obj, join(obj, '.config'), fragmentFile], {
        cwd: src,
        all: true,
        reject: false,
      }),
    () => make(['olddefconfig']),
  ]) {
    const r = await step();
    logStream.write(r.all ?? '');
    if (r.exitCode !== 0) throw await failure('configuring the kernel failed', logStream, logFile);
  }
  const missing = missingOptions(req.fragment, readFileSync(join(obj, '.config'), 'utf8')).filter(
    (m) => !req.allowMissing?.has(/^CONFIG_(\w+):/.exec(m)![1]!),
  );
  if (missing.length) {
    await close(logStream);
    throw new KernelBuildError(
      `the kernel configuration lacks options the fragment asks for (a dependency is missing or the option does not exist in ${req.source})`,
      logFile,
      missing.join('\n'),
    );
  }

  const countFile = join(buildRoot, 'objects-per-build');
  const total = existsSync(countFile)
    ? Number(readFileSync(countFile, 'utf8')) || FIRST_BUILD_OBJECTS
    : FIRST_BUILD_OBJECTS;
  req.log?.(`building ${req.id} with ${availableParallelism()} jobs; log in ${logFile} (kept beside the kernel)`);
  let done = 0;
  const child = execa('make', ['-C', src, `O=${obj}`, `-j${availableParallelism()}`, 'bzImage'], {
    all: true,
    stdin: 'ignore',
    reject: false,
    buffer: false,
  });
  child.all!.on('data', (chunk: Buffer) => {
    logStream.write(chunk);
    done += (String(chunk).match(/^\s+CC\s/gm) ?? []).length;
    req.progress?.({ phase: 'compile', done, total: Math.max(total, done) });
  });
  const result = await child;
  if (result.exitCode !== 0) throw await failure('building the kernel failed', logStream, logFile);
  await close(logStream);
  if (done > 0) writeFileSync(countFile, String(done));

  copyFileSync(join(obj, 'arch/x86/boot/bzImage'), join(staging, 'bzImage'));
  copyFileSync(join(obj, '.config'), join(staging, 'config'));
  const release = readFileSync(join(obj, 'include/config/kernel.release'), 'utf8').trim();
  const record = { id: req.id, kind: req.kind, image: 'bzImage', release, config: 'config', source: req.source };
  writeFileSync(join(staging, 'kernel.json'), JSON.stringify(record, null, 2));
  req.progress?.({ phase: 'done', done: total, total });
}

/**
 * Debian's linux-source .deb holds a tarball; unpack it once per version (also used by bench/dma for the VFIO
 * selftests).
 */
export async function extractSource(req: SourcePackage, buildRoot: string): Promise<string> {
  const dir = join(buildRoot, `${req.pkg}_${req.version}`);
  const marker = join(dir, '.lustress-extracted');
  if (existsSync(marker)) return join(dir, req.pkg);
  req.progress?.({ phase: 'extract', done: 0, total: 1 });
  req.log?.(`unpacking ${req.pkg} ${req.version}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await execa('dpkg-deb', ['-x', req.deb, join(dir, 'deb')]);
  const tarDir = join(dir, 'deb', 'usr', 'src');
  const tarball = readdirSync(tarDir).find((f) => f.startsWith(req.pkg) && f.includes('.tar'));
  if (!tarball) throw new Error(`${req.deb} holds no source tarball under /usr/src`);
  await execa('tar', ['-xf', join(tarDir, tarball), '-C', dir]);
  rmSync(join(dir, 'deb'), { recursive: true, force: true });
  writeFileSync(marker, '');
  return join(dir, req.pkg);
}

/**
 * Options the fragment sets (=y, =value) that the final .config does not
 * have, and =n ones that stayed set. As in merge_config.sh, the last line
 * for an option wins.
 */
export function missingOptions(fragment: string, finalConfig: string): string[] {
  const config = parseConfig(finalConfig);
  const wanted = new Map<string, string>();
  for (const line of fragment.split('\n')) {
    const m = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) wanted.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
  }
  const missing: string[] = [];
  for (const [name, want] of wanted) {
    const have = config.get(name);
    if (want === 'n' ? have !== undefined : have !== want)
      missing.push(`CONFIG_${name}: wanted ${want}, got ${have ?? 'not set'}`);
  }
  return missing;
}

async function failure(message: string, stream: NodeJS.WritableStream, logFile: string): Promise<KernelBuildError> {
  await close(stream);
  const log = readFileSync(logFile, 'utf8');
  const errors = log.split('\n').filter((l) => /error:|Error \d|\*\*\*|No rule to make/.test(l));
  const excerpt = (errors.length ? errors.slice(0, 20) : log.split('\n').slice(-20)).join('\n');
  return new KernelBuildError(message, logFile, excerpt);
}

function close(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.end(resolve));
}
