// A developer's own kernel tree (one carrying the posted Live Update series,
// say) built the way lustress builds its live-update kernel: the project's
// config fragment, plus every Live Update option the tree itself declares,
// out of tree into the cache. What the result offers is read from its final
// configuration, never assumed from the series' names.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { ConfigError } from '../errors.js';
import { withLock } from '../lock.js';
import { BUILD_RECIPE, buildKernel, LIVE_UPDATE_FRAGMENT } from './build.js';
import { parseConfig } from './kconfig.js';
import { kernelsDir, loadKernelRecord, type Kernel, type KernelOptions } from './kernels.js';

/** A Kconfig option of the tree whose name says Live Update (LIVEUPDATE, LIVE_UPDATE). */
export interface LiveUpdateOption {
  symbol: string;
  /** Its prompt, where it has one. */
  prompt?: string;
  /** The Kconfig file declaring it, relative to the tree. */
  file: string;
}

const LIVE_UPDATE_SYMBOL = /^\s*(?:menu)?config\s+([A-Z0-9_]*LIVE_?UPDATE[A-Z0-9_]*)\s*$/;

/** The Live Update options a set of Kconfig files declares (file -> text), each once, in file order. */
export function liveUpdateOptions(kconfigs: Map<string, string>): LiveUpdateOption[] {
  const found = new Map<string, LiveUpdateOption>();
  for (const [file, text] of kconfigs) {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const symbol = LIVE_UPDATE_SYMBOL.exec(line)?.[1];
      if (!symbol || found.has(symbol)) return;
      // The prompt is the string of the first type line of the entry, before the next entry starts.
      let prompt: string | undefined;
      for (
        let j = i + 1;
        j < lines.length && !/^\s*(?:menu)?config\s|^\s*(?:endmenu|menu|choice|if)\b/.test(lines[j]!);
        j++
      ) {
        const m = /^\s*(?:bool|tristate|string|int|hex|prompt)\s+"([^"]*)"/.exec(lines[j]!);
        if (m) {
          prompt = m[1];
          break;
        }
      }
      found.set(symbol, { symbol, ...(prompt ? { prompt } : {}), file });
    });
  }
  return [...found.values()];
}

/** A test or debugging option (LIVEUPDATE_TEST registers mock handlers): left at the tree's default. */
export function isTestOption(o: LiveUpdateOption): boolean {
  return /_TESTS?$/.test(o.symbol) || /Kconfig\.debug$/.test(o.file);
}

/** The project's fragment, then =y for each of the tree's Live Update options that is not a test option. */
export function treeFragment(base: string, declared: LiveUpdateOption[]): string {
  const wanted = declared.filter((o) => !isTestOption(o));
  return [base, '# the Live Update options this tree declares', ...wanted.map((o) => `CONFIG_${o.symbol}=y`), ''].join(
    '\n',
  );
}

/** The kind of file a Live Update option lets LUO preserve, by its name (or undefined: core support). */
export function handlerOf(symbol: string): string | undefined {
  if (/HUGETLB/.test(symbol)) return 'memfd-hugetlb';
  if (/MEMFD/.test(symbol) && !/GUEST/.test(symbol)) return 'memfd';
  if (/GUEST_?MEMFD/.test(symbol)) return 'guest-memfd';
  if (/VFIO/.test(symbol)) return 'vfio-device';
  if (/IOMMUFD|IOMMU/.test(symbol)) return 'iommufd';
  if (/KVM/.test(symbol)) return 'kvm-vm';
  return undefined;
}

/** The tree's Kconfig files and their text (git ls-files where the tree is a git tree, else a walk by find). */
async function readKconfigs(tree: string): Promise<Map<string, string>> {
  const git = await execa('git', ['-C', tree, 'ls-files', '*Kconfig*'], { reject: false });
  const files =
    git.exitCode === 0
      ? git.stdout.split('\n').filter(Boolean)
      : (await execa('find', ['.', '-name', 'Kconfig*', '-type', 'f'], { cwd: tree })).stdout
          .split('\n')
          .filter(Boolean)
          .map((f) => f.replace(/^\.\//, ''));
  return new Map(files.map((f) => [f, readFileSync(join(tree, f), 'utf8')]));
}

/** Which commit the tree is at, and whether it has changes: part of the cache key. */
async function treeRevision(tree: string): Promise<string> {
  const head = await execa('git', ['-C', tree, 'rev-parse', '--short=12', 'HEAD'], { reject: false });
  if (head.exitCode !== 0) return 'nogit';
  const dirty = await execa('git', ['-C', tree, 'status', '--porcelain', '--untracked-files=no'], { reject: false });
  return dirty.stdout.trim() ? `${head.stdout.trim()}-dirty` : head.stdout.trim();
}

export interface TreeKernel {
  kernel: Kernel;
  /** Every Live Update option the tree declares, whether lustress asked for it, and whether the build has it. */
  options: (LiveUpdateOption & { requested: boolean; enabled: boolean })[];
  /** Kinds of file the kernel's LUO will offer to preserve, from the enabled options. */
  handlers: string[];
}

/**
 * Builds (or finds in the cache) the tree with the project's fragment and every Live Update option the tree has. A
 * dirty tree is built again each time (its changes are not in the key).
 */
export async function treeKernel(treeDir: string, opts: KernelOptions = {}): Promise<TreeKernel> {
  const tree = resolve(treeDir);
  if (!existsSync(join(tree, 'Makefile')) || !existsSync(join(tree, 'Kconfig')))
    throw new ConfigError(`--tree ${treeDir} is not a kernel source tree (no Makefile and Kconfig at its top)`);
  const declared = liveUpdateOptions(await readKconfigs(tree));
  const fragment = treeFragment(readFileSync(LIVE_UPDATE_FRAGMENT, 'utf8'), declared);
  const revision = await treeRevision(tree);
  const hash = createHash('sha256').update(BUILD_RECIPE).update(fragment).update(tree).digest('hex').slice(0, 12);
  const id = `tree-${basename(tree)}-${revision}-${hash}`;
  const dir = join(kernelsDir(), id);
  const kernel = await withLock(`${dir}.lock`, async () => {
    if (revision.endsWith('-dirty')) rmSync(dir, { recursive: true, force: true });
    if (!existsSync(join(dir, 'kernel.json'))) {
      const staging = `${dir}.partial`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      // Options a tree declares may depend on ones it lacks: those are reported below, not a build failure.
      await buildKernel({
        src: tree,
        source: `${tree} at ${revision}`,
        kind: 'tree',
        fragment,
        out: staging,
        id,
        ...opts,
        allowMissing: new Set(declared.map((o) => o.symbol)),
      });
      renameSync(staging, dir);
    }
    return loadKernelRecord(dir);
  });
  const config = parseConfig(readFileSync(kernel.configSource!, 'utf8'));
  const options = declared.map((o) => ({ ...o, requested: !isTestOption(o), enabled: config.get(o.symbol) === 'y' }));
  const handlers = [...new Set(options.filter((o) => o.enabled).flatMap((o) => handlerOf(o.symbol) ?? []))];
  return { kernel, options, handlers };
}
