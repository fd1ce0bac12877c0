// What the QEMU target needs on the control machine, checked one by one and
// installed when missing: Debian packages (QEMU >= 8 from bookworm-backports),
// then the two kernels, and for the tests the 7.3 selftest tree. Idempotent:
// a second run finds everything present.

import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { PrivateApt } from './kernels/apt.js';
import { CACHED_KERNELS, kernelStatus, resolveKernel, type KernelOptions } from './kernels/kernels.js';
import { cachedSelftestTree, withSelftestTree } from './kernels/selftests.js';
import { QEMU_BINARY } from './targets/qemu/qemu.js';

export interface PrereqStatus {
  name: string;
  ok: boolean;
  detail: string;
  /** Debian packages that provide it. */
  packages: string[];
  /** Set on the entries for kernels. */
  kernel?: string;
}

interface Prereq {
  name: string;
  packages: string[];
  check(): Promise<{ ok: boolean; detail: string }>;
}

const MIN_QEMU_MAJOR = 8;

const file = (name: string, path: string, packages: string[]): Prereq => ({
  name,
  packages,
  check: async () => (existsSync(path) ? { ok: true, detail: path } : { ok: false, detail: `${path} not found` }),
});

const command = (name: string, cmd: string, packages: string[]): Prereq => ({
  name,
  packages,
  check: async () => {
    const r = await execa('sh', ['-c', `command -v ${cmd}`], { reject: false });
    return r.exitCode === 0 ? { ok: true, detail: r.stdout.trim() } : { ok: false, detail: `${cmd} not on PATH` };
  },
});

export const PREREQUISITES: Prereq[] = [
  {
    name: `QEMU >= ${MIN_QEMU_MAJOR} (igb, edu, intel-iommu)`,
    packages: ['qemu-system-x86'],
    check: async () => {
      const r = await execa(QEMU_BINARY, ['--version'], { reject: false });
      if (r.exitCode !== 0) return { ok: false, detail: `${QEMU_BINARY} not found` };
      const version = /version (\d+)\.(\d+)\.(\d+)/.exec(r.stdout);
      if (!version) return { ok: false, detail: `cannot read the version from: ${r.stdout.split('\n')[0]}` };
      const ok = Number(version[1]) >= MIN_QEMU_MAJOR;
      return {
        ok,
        detail: `${version.slice(1).join('.')}${ok ? '' : ` (older than ${MIN_QEMU_MAJOR}: no igb device)`}`,
      };
    },
  },
  file('busybox (static)', '/bin/busybox', ['busybox-static']),
  command('cpio', 'cpio', ['cpio']),
  file("e2fsprogs (the guests' agent root image)", '/usr/sbin/mke2fs', ['e2fsprogs']),
  command('lz4 (compresses the live-update kernel, reads its IKCONFIG back)', 'lz4', ['lz4']),
  command('zstd', 'zstd', ['zstd']),
  command('xz', 'xz', ['xz-utils']),
  command('C compiler', 'gcc', ['gcc', 'make', 'libc6-dev']),
  command('make', 'make', ['make']),
  command('flex', 'flex', ['flex']),
  command('bison', 'bison', ['bison']),
  command('bc', 'bc', ['bc']),
  command('rsync (headers_install)', 'rsync', ['rsync']),
  file('libelf headers', '/usr/include/gelf.h', ['libelf-dev']),
  file('OpenSSL headers', '/usr/include/openssl/ssl.h', ['libssl-dev']),
  file('Debian archive keyring', '/usr/share/keyrings/debian-archive-keyring.gpg', ['debian-archive-keyring']),
];

/** What only the test suite needs: a browser to render the HTML report, an ssh server and client for the ssh target. */
export const TEST_PREREQUISITES: Prereq[] = [
  file('Chromium (renders the HTML report in tests)', '/usr/bin/chromium', ['chromium']),
  file('OpenSSH server (the ssh target test)', '/usr/sbin/sshd', ['openssh-server']),
  command('OpenSSH client', 'ssh', ['openssh-client']),
];

export async function checkPrerequisites(forTests = false): Promise<PrereqStatus[]> {
  const out: PrereqStatus[] = [];
  for (const p of [...PREREQUISITES, ...(forTests ? TEST_PREREQUISITES : [])])
    out.push({ name: p.name, packages: p.packages, ...(await p.check()) });
  for (const kind of CACHED_KERNELS) {
    const k = await kernelStatus(kind).catch((e: Error) => ({ id: kind, image: undefined, error: e.message }));
    const detail =
      k.image ??
      ('error' in k
        ? `cannot tell which kernel to use: ${k.error}`
        : `${k.id} is not fetched or built yet (lustress setup does it)`);
    out.push({ name: `${kind} kernel`, kernel: kind, packages: [], ok: Boolean(k.image), detail });
  }
  if (forTests) {
    const tree = cachedSelftestTree();
    out.push({
      name: 'Linux 7.3 selftests (facts the drivers written from documentation are checked against)',
      packages: [],
      ok: Boolean(tree),
      detail: tree?.source ?? 'not fetched yet (lustress setup --for-tests does it)',
    });
  }
  return out;
}

export interface SetupOptions extends KernelOptions {
  kernels: readonly string[];
  forTests: boolean;
  log: (msg: string) => void;
}

/** Installs missing packages (root) or returns the commands a user must run; then fetches and builds kernels. */
export async function setup(opts: SetupOptions): Promise<{ installed: string[]; commands: string[] }> {
  const missing = (await checkPrerequisites(opts.forTests)).filter((s) => !s.ok && s.packages.length);
  const packages = [...new Set(missing.flatMap((m) => m.packages))];
  const apt = new PrivateApt(['bookworm-backports'], opts.log);
  if (packages.length) {
    if (process.getuid?.() !== 0)
      return { installed: [], commands: [apt.installCommand(packages, 'bookworm-backports')] };
    opts.log(`installing ${packages.join(' ')}`);
    await apt.install(packages, 'bookworm-backports');
    const still = (await checkPrerequisites(opts.forTests)).filter((s) => !s.ok && s.packages.length);
    if (still.length)
      throw new Error(`still missing after installing: ${still.map((s) => `${s.name} (${s.detail})`).join('; ')}`);
  }
  for (const k of opts.kernels) await resolveKernel(k, opts);
  if (opts.forTests) await withSelftestTree(opts.log, async () => undefined);
  return { installed: packages, commands: [] };
}
