// The kernels a target boots, by reference: "debian" (Debian's prebuilt
// kernel, fetched), "live-update" (built here with live-update.config), or a
// path to the user's own image. Fetched and built kernels are cached under
// cacheDir()/kernels, keyed by package version and configuration hash.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { PrivateApt } from './apt.js';
import { cacheDir } from './cache.js';
import { parseConfig, readKernelConfig, type KernelConfig } from './kconfig.js';
import { BUILD_RECIPE, buildKernel, extractSource, LIVE_UPDATE_FRAGMENT, type BuildProgress } from './build.js';
import { withLock } from '../lock.js';

export interface Kernel {
  /** Cache key, e.g. "debian-7.2.13+deb14-amd64_7.2.13-1". */
  id: string;
  kind: 'debian' | 'live-update' | 'tree' | 'user';
  image: string;
  /** uname -r, where known before booting. */
  release?: string;
  config?: KernelConfig;
  configSource?: string;
  /** Modules the guest initramfs must load, in order (Debian's kernel has 9p and VFIO as modules). */
  modules?: { dir: string; order: string[] };
}

export interface KernelOptions {
  log?: (msg: string) => void;
  progress?: (p: BuildProgress) => void;
}

/** Modules a lustress guest needs where the kernel builds them as modules (part of the cache key). */
const GUEST_MODULES = [
  '9p',
  '9pnet_virtio',
  'vfio_pci',
  'vfio_iommu_type1',
  'igb',
  'igbvf',
  'virtio_iommu',
  'virtio_net',
  // The agent root: a virtio-pmem device holding ext4, mounted with DAX (without them, the agent loads over 9p).
  'virtio_pmem',
  'nd_pmem',
  'ext4',
];

export function kernelsDir(): string {
  return join(cacheDir(), 'kernels');
}

/** A fetched or built kernel: its cache id, and how to produce it when the cache lacks it. */
interface CachedKernel {
  id: string;
  produce(staging: string): Promise<void>;
}

export const CACHED_KERNELS = ['debian', 'live-update'] as const;
export type CachedKernelRef = (typeof CACHED_KERNELS)[number];

function cachedKernel(ref: CachedKernelRef, opts: KernelOptions): Promise<CachedKernel> {
  return ref === 'debian' ? debianKernel(opts) : liveUpdateKernel(opts);
}

export async function resolveKernel(ref: string, opts: KernelOptions = {}): Promise<Kernel> {
  if (!(CACHED_KERNELS as readonly string[]).includes(ref)) return userKernel(ref);
  const k = await cachedKernel(ref as CachedKernelRef, opts);
  const dir = join(kernelsDir(), k.id);
  return withLock(`${dir}.lock`, async () => {
    if (!existsSync(join(dir, 'kernel.json'))) {
      const staging = `${dir}.partial`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      await k.produce(staging);
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    }
    return loadKernelRecord(dir);
  });
}

/** The kernel a reference would use now, and whether the cache already holds it (asks apt, builds nothing). */
export async function kernelStatus(
  ref: CachedKernelRef,
  opts: KernelOptions = {},
): Promise<{ id: string; image?: string }> {
  const { id } = await cachedKernel(ref, opts);
  const dir = join(kernelsDir(), id);
  return existsSync(join(dir, 'kernel.json')) ? { id, image: loadKernelRecord(dir).image } : { id };
}

/** A kernel the user brings; its configuration, if findable, says what it can run. */
export async function userKernel(path: string): Promise<Kernel> {
  const image = resolve(path);
  if (!existsSync(image)) throw new Error(`kernel image ${image} does not exist`);
  const found = await readKernelConfig(image);
  const hash = createHash('sha256').update(readFileSync(image)).digest('hex').slice(0, 12);
  return {
    id: `user-${basename(image)}-${hash}`,
    kind: 'user',
    image,
    ...(found ? { config: found.config, configSource: found.source } : {}),
  };
}

// ---------------------------------------------------------------- Debian's prebuilt kernel

async function debianKernel(opts: KernelOptions): Promise<CachedKernel> {
  const apt = new PrivateApt(['sid'], opts.log);
  const meta = await apt.candidate('linux-image-amd64', 'sid');
  if (!meta) throw new Error('Debian sid offers no linux-image-amd64; is the Debian archive reachable?');
  const abi = (await apt.depends('linux-image-amd64'))
    .map((d) => /^linux-image-(.+-amd64)$/.exec(d)?.[1])
    .find(Boolean);
  if (!abi) throw new Error(`cannot tell which kernel linux-image-amd64 ${meta} depends on`);
  const id = `debian-${abi}_${meta}-${createHash('sha256').update(GUEST_MODULES.join()).digest('hex').slice(0, 8)}`;
  return {
    id,
    produce: async (staging) => {
      opts.log?.(`fetching Debian kernel ${abi} (${meta})`);
      const debs = await apt.download(
        [`linux-binary-${abi}`, `linux-modules-${abi}`, `linux-base-${abi}`],
        join(cacheDir(), 'debs'),
      );
      const extracted = join(staging, 'root');
      mkdirSync(extracted, { recursive: true });
      for (const deb of debs) await execa('dpkg-deb', ['-x', deb, extracted]);
      const tree = join(extracted, 'usr', 'lib', 'modules', abi);
      const order = await collectModules(tree, join(staging, 'modules'), GUEST_MODULES);
      renameSync(join(tree, 'vmlinuz'), join(staging, 'vmlinuz'));
      renameSync(join(tree, 'config'), join(staging, 'config'));
      rmSync(extracted, { recursive: true, force: true });
      const record = {
        id,
        kind: 'debian',
        image: 'vmlinuz',
        release: abi,
        config: 'config',
        modules: { dir: 'modules', order },
      };
      writeFileSync(join(staging, 'kernel.json'), JSON.stringify(record, null, 2));
    },
  };
}

/**
 * Copies the wanted modules and everything they depend on (read from each
 * module's .modinfo "depends=") decompressed into `out`; returns them in load order.
 */
async function collectModules(tree: string, out: string, wanted: string[]): Promise<string[]> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (/\.ko(\.xz|\.zst)?$/.test(e.name))
        files.set(e.name.replace(/\.ko(\.xz|\.zst)?$/, '').replace(/-/g, '_'), join(dir, e.name));
    }
  };
  walk(join(tree, 'kernel'));
  mkdirSync(out, { recursive: true });
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    const key = name.replace(/-/g, '_');
    if (order.includes(`${key}.ko`) || visiting.has(key)) return;
    const file = files.get(key);
    if (!file) return; // built in
    visiting.add(key);
    const ko = file.endsWith('.xz')
      ? (await execa('xz', ['-dc', file], { encoding: 'buffer' })).stdout
      : file.endsWith('.zst')
        ? (await execa('zstd', ['-dc', file], { encoding: 'buffer' })).stdout
        : readFileSync(file);
    const deps = /\0depends=([^\0]*)\0/.exec(Buffer.from(ko).toString('latin1'))?.[1];
    for (const dep of deps ? deps.split(',').filter(Boolean) : []) await visit(dep);
    writeFileSync(join(out, `${key}.ko`), ko);
    order.push(`${key}.ko`);
  };
  for (const w of wanted) await visit(w);
  return order;
}

// ---------------------------------------------------------------- the live-update kernel

async function liveUpdateKernel(opts: KernelOptions): Promise<CachedKernel> {
  const apt = new PrivateApt(['sid'], opts.log);
  const source = await newestLinuxSource(apt);
  const fragment = readFileSync(LIVE_UPDATE_FRAGMENT, 'utf8');
  const hash = createHash('sha256').update(BUILD_RECIPE).update(fragment).digest('hex').slice(0, 12);
  const id = `live-update-${source.version}-${hash}`;
  return {
    id,
    produce: async (staging) => {
      const [deb] = await apt.download([`${source.pkg}=${source.version}`], join(cacheDir(), 'debs'));
      if (!deb) throw new Error(`apt-get download ${source.pkg}=${source.version} produced no .deb`);
      await buildFromPackage(deb, source, fragment, staging, id, opts);
    },
  };
}

/**
 * The live-update kernel with some options changed (a regression to bisect
 * for, a feature turned off). It starts from a copy of the live-update
 * kernel's objects, so only what the change touches is compiled again.
 */
export async function liveUpdateVariant(extraConfig: string, opts: KernelOptions = {}): Promise<Kernel> {
  const base = await resolveKernel('live-update', opts);
  const apt = new PrivateApt(['sid'], opts.log);
  const source = await newestLinuxSource(apt);
  const fragment = `${readFileSync(LIVE_UPDATE_FRAGMENT, 'utf8')}\n# variant\n${extraConfig}\n`;
  const id = `live-update-${source.version}-${createHash('sha256').update(BUILD_RECIPE).update(fragment).digest('hex').slice(0, 12)}`;
  const dir = join(kernelsDir(), id);
  return withLock(`${dir}.lock`, async () => {
    if (!existsSync(join(dir, 'kernel.json'))) {
      const buildRoot = join(cacheDir(), 'build');
      const obj = join(buildRoot, `${id}-obj`);
      if (!existsSync(obj)) await execa('cp', ['-a', join(buildRoot, `${base.id}-obj`), obj]);
      const staging = `${dir}.partial`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      const [deb] = await apt.download([`${source.pkg}=${source.version}`], join(cacheDir(), 'debs'));
      await buildFromPackage(deb!, source, fragment, staging, id, opts);
      renameSync(staging, dir);
    }
    return loadKernelRecord(dir);
  });
}

/** The live-update kernel (or a variant) built from Debian's linux-source .deb, unpacked once into the cache. */
async function buildFromPackage(
  deb: string,
  source: { pkg: string; version: string },
  fragment: string,
  out: string,
  id: string,
  opts: KernelOptions,
): Promise<void> {
  const src = await extractSource({ deb, ...source, ...opts }, join(cacheDir(), 'build'));
  const label = `${source.pkg} ${source.version}`;
  await buildKernel({ src, source: label, kind: 'live-update', fragment, out, id, ...opts });
}

/** The newest linux-source-X.Y in sid (7.2 or later). */
async function newestLinuxSource(apt: PrivateApt): Promise<{ pkg: string; version: string }> {
  const pkgs = (await apt.search('^linux-source-[0-9]+\\.[0-9]+$')).sort((a, b) => versionKey(b) - versionKey(a));
  for (const pkg of pkgs) {
    if (versionKey(pkg) < versionKey('linux-source-7.2')) break;
    const version = await apt.candidate(pkg, 'sid');
    if (version) return { pkg, version };
  }
  throw new Error('Debian sid offers no linux-source-7.2 or newer; the live-update kernel cannot be built');
}

function versionKey(pkg: string): number {
  const [maj, min] = pkg.replace('linux-source-', '').split('.').map(Number);
  return (maj ?? 0) * 1000 + (min ?? 0);
}

/** A cached kernel's record (kernel.json), with its paths made absolute. */
export function loadKernelRecord(dir: string): Kernel {
  const r = JSON.parse(readFileSync(join(dir, 'kernel.json'), 'utf8'));
  return {
    id: r.id,
    kind: r.kind,
    image: join(dir, r.image),
    release: r.release,
    config: parseConfig(readFileSync(join(dir, r.config), 'utf8')),
    configSource: join(dir, r.config),
    ...(r.modules ? { modules: { dir: join(dir, r.modules.dir), order: r.modules.order } } : {}),
  };
}
