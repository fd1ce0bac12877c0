// The agent's root for QEMU guests: Node, the libraries it loads, and the
// bundled agent with koffi, in a small ext4 image that the guest sees as a
// virtio-pmem device and mounts with DAX. After a kexec Node then runs from
// the very pages it ran from before: nothing is read over 9p, and under TCG
// the code QEMU translated in the last boot is still valid (a copy into fresh
// page-cache pages would be translated again). Measured under TCG: Node's
// first run from a cold 9p share 2.7 s, from pages it ran from before 0.4 s.
// It also holds busybox and the guest's /init, so a kernel that can mount it
// as its root boots without an initramfs and runs init from those pages too.

import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cacheDir } from '../../kernels/cache.js';
import { BUSYBOX, EARLY_FSTAB, INIT_SCRIPT, MissingPrerequisite, MOUNT_POINTS, requireBusybox } from './initramfs.js';

export const MKE2FS = '/usr/sbin/mke2fs';
/** virtio-pmem maps the image into guest memory in units of this size. */
const ALIGN = 2 * 2 ** 20;
/** An image not used for this long is someone's old build: removed when a new one is made. */
const STALE_MS = 24 * 3600 * 1000;

export interface AgentRoot {
  image: string;
  bytes: number;
}

/** Source path -> path in the image, for everything init and the bundled agent need to start. */
async function rootFiles(projectDir: string, nodePath: string): Promise<Map<string, string>> {
  const files = new Map<string, string>([
    [BUSYBOX, 'bin/busybox'],
    [fileURLToPath(INIT_SCRIPT), 'init'],
    [fileURLToPath(EARLY_FSTAB), 'etc/fstab.early'],
    [nodePath, 'node'],
  ]);
  for (const lib of await sharedLibraries(nodePath)) files.set(lib, `lib/${basename(lib)}`);
  files.set(join(projectDir, 'package.json'), 'agent/package.json');
  for (const name of ['agent.cjs', 'agent.cjs.cache', 'agent-exec.cjs', 'agent-start.cjs'])
    files.set(join(projectDir, 'dist/bin', name), `agent/dist/bin/${name}`);
  for (const pkg of ['koffi', '@koromix/koffi-linux-x64'])
    files.set(join(projectDir, 'node_modules', pkg), `agent/node_modules/${pkg}`);
  return files;
}

/** Feeds what identifies a tree's content cheaply (every file's path, size and modification time); its files' bytes. */
function fingerprint(hash: ReturnType<typeof createHash>, path: string): number {
  const st = statSync(path);
  hash.update(`${path}\0${st.size}\0${st.mtimeMs}\0`);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path)
    .sort()
    .reduce((sum, name) => sum + fingerprint(hash, join(path, name)), 0);
}

/** The image for this project's bundled agent and this Node, made once per content and cached. */
export async function agentRootImage(projectDir: string, nodePath: string): Promise<AgentRoot> {
  if (!existsSync(MKE2FS)) throw new MissingPrerequisite(MKE2FS, 'install e2fsprogs (lustress setup does it)');
  requireBusybox();
  const files = await rootFiles(projectDir, nodePath);
  const hash = createHash('sha256').update(MOUNT_POINTS.join('\0'));
  let bytes = 0;
  for (const [from, to] of files) {
    hash.update(`${to}\0`);
    bytes += fingerprint(hash, from);
  }
  const dir = join(cacheDir(), 'agent-root');
  const image = join(dir, `${hash.digest('hex').slice(0, 16)}.img`);
  if (!existsSync(image)) await makeImage(dir, image, files, bytes);
  return { image, bytes: statSync(image).size };
}

async function makeImage(dir: string, image: string, files: Map<string, string>, bytes: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const stage = `${image}.d`;
  rmSync(stage, { recursive: true, force: true });
  for (const [from, to] of files)
    cpSync(from, join(stage, to), { recursive: true, dereference: true, preserveTimestamps: true });
  chmodSync(join(stage, 'init'), 0o755);
  for (const dir of MOUNT_POINTS) mkdirSync(join(stage, dir), { recursive: true });
  // Room for ext4's own metadata; no journal, since the guest mounts it read-only.
  const size = Math.ceil((bytes * 1.1 + 16 * 2 ** 20) / ALIGN) * ALIGN;
  const partial = `${image}.partial`;
  try {
    await execa(MKE2FS, [
      '-q',
      '-F',
      '-t',
      'ext4',
      '-O',
      '^has_journal',
      '-b',
      '4096',
      '-E',
      'root_owner=0:0',
      '-L',
      'lustress-agent',
      '-d',
      stage,
      partial,
      `${size / 1024}k`,
    ]);
    renameSync(partial, image);
  } finally {
    rmSync(stage, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (path !== image && Date.now() - statSync(path).atimeMs > STALE_MS)
      rmSync(path, { recursive: true, force: true });
  }
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
