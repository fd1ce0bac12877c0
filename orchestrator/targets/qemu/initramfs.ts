// The guest's initramfs: busybox-static, /init, kexec-tools with its
// libraries (for a person at the guest's shell; the agent itself kexecs with
// the syscall), and the modules the kernel needs for 9p and VFIO when it
// builds them as modules. Kernels for later kexecs are not copied in: the
// guest reads them, and this image, from the host root it mounts over 9p.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheDir } from '../../kernels/cache.js';
import type { Kernel } from '../../kernels/kernels.js';
import { newcArchive, type CpioEntry } from './newc.js';

export const INIT_SCRIPT = new URL('../../../../orchestrator/targets/qemu/init.sh', import.meta.url);
const BUSYBOX = '/bin/busybox';
const KEXEC = '/usr/sbin/kexec';

export class MissingPrerequisite extends Error {
  constructor(what: string, fix: string) {
    super(`${what} is missing; ${fix}`);
    this.name = 'MissingPrerequisite';
  }
}

/** Path of the cached initramfs for this kernel, built if needed. */
export async function guestInitramfs(kernel: Kernel): Promise<string> {
  const entries = await initramfsEntries(kernel);
  const hash = createHash('sha256');
  for (const e of entries) hash.update(JSON.stringify({ ...e, data: undefined })).update('data' in e ? e.data : '');
  const dir = join(cacheDir(), 'initramfs');
  const file = join(dir, `${hash.digest('hex').slice(0, 16)}.cpio`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${file}.partial`, newcArchive(entries));
    renameSync(`${file}.partial`, file);
  }
  return file;
}

async function initramfsEntries(kernel: Kernel): Promise<CpioEntry[]> {
  for (const [path, pkg] of [
    [BUSYBOX, 'busybox-static'],
    [KEXEC, 'kexec-tools'],
  ] as const) {
    if (!existsSync(path)) throw new MissingPrerequisite(path, `install ${pkg} (lustress setup does it)`);
  }
  const entries: CpioEntry[] = [
    'bin',
    'sbin',
    'dev',
    'proc',
    'sys',
    'host',
    'tmp',
    'root',
    'lib',
    'lib64',
    'lib/lustress',
  ].map((d) => ({ kind: 'dir', path: d }));
  entries.push(
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { kind: 'file', path: 'init', data: readFileSync(INIT_SCRIPT), mode: 0o755 },
    { kind: 'file', path: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 },
    { kind: 'file', path: 'sbin/kexec', data: readFileSync(KEXEC), mode: 0o755 },
  );
  const dirs = new Set(entries.filter((e) => e.kind === 'dir').map((e) => e.path));
  for (const lib of await sharedLibraries(KEXEC)) {
    const parent = lib.replace(/^\//, '').split('/').slice(0, -1);
    for (let i = 1; i <= parent.length; i++) {
      const d = parent.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ kind: 'dir', path: d });
      }
    }
    entries.push({ kind: 'file', path: lib, data: readFileSync(lib), mode: 0o755 });
  }
  if (kernel.modules) {
    for (const m of kernel.modules.order)
      entries.push({ kind: 'file', path: `lib/lustress/${m}`, data: readFileSync(join(kernel.modules.dir, m)) });
    entries.push({
      kind: 'file',
      path: 'lib/lustress/modules.order',
      data: Buffer.from(kernel.modules.order.join('\n') + '\n'),
    });
  }
  return entries;
}

/** The libraries a dynamic executable loads, as the paths the loader will look for. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execa('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.push(m[1]!);
  }
  return libs;
}
