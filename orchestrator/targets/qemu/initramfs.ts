// The guest's initramfs: busybox-static, /init, and the modules the kernel
// needs for 9p and VFIO when it builds them as modules; nothing else, since
// every kexec loads it again and the new kernel's purgatory hashes and
// copies it inside the blackout (the agent kexecs with the syscall, and the
// host's kexec-tools are in the host root for a person who wants them).
// Kernels for later kexecs are not copied in: the guest reads them, and this
// image, from the host root it mounts over 9p.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../../kernels/cache.js';
import type { Kernel } from '../../kernels/kernels.js';
import { newcArchive, type CpioEntry } from './newc.js';

export const INIT_SCRIPT = new URL('../../../../orchestrator/targets/qemu/init.sh', import.meta.url);
/** The mounts init makes first, with one mount(8), before it has anywhere to write. */
export const EARLY_FSTAB = new URL('../../../../orchestrator/targets/qemu/fstab.early', import.meta.url);
export const BUSYBOX = '/bin/busybox';
/** The directories init mounts on, in the initramfs and in the agent root when it is the root. */
export const MOUNT_POINTS = ['dev', 'proc', 'sys', 'run', 'host', 'hostroot'];

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

/** Both of init's images need busybox-static. */
export function requireBusybox(): void {
  if (!existsSync(BUSYBOX)) throw new MissingPrerequisite(BUSYBOX, 'install busybox-static (lustress setup does it)');
}

async function initramfsEntries(kernel: Kernel): Promise<CpioEntry[]> {
  requireBusybox();
  const entries: CpioEntry[] = ['bin', 'sbin', 'etc', ...MOUNT_POINTS, 'tmp', 'root', 'lib', 'lib/lustress'].map(
    (d) => ({
      kind: 'dir',
      path: d,
    }),
  );
  entries.push(
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { kind: 'file', path: 'init', data: readFileSync(INIT_SCRIPT), mode: 0o755 },
    { kind: 'file', path: 'etc/fstab.early', data: readFileSync(EARLY_FSTAB) },
    { kind: 'file', path: 'bin/busybox', data: readFileSync(BUSYBOX), mode: 0o755 },
  );
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
