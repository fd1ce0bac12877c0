// The floor of a live-update round trip: the kernel's own LUO selftest
// (tools/testing/selftests/liveupdate: luo_kexec_simple with its static
// nolibc init, as vmtest.sh builds it), run as the guest's /init on the same
// kernel and machine lustress uses. No Node, no 9p, no agent: stage 1
// preserves a memfd and kexecs, stage 2 retrieves and checks it.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Kernel } from '../../orchestrator/kernels/kernels.js';
import type { QemuTargetSpec } from '../../orchestrator/scenario/spec.js';
import { guestCmdline, qemuArgs } from '../../orchestrator/targets/qemu/args.js';
import { newcArchive, type CpioEntry } from '../../orchestrator/targets/qemu/newc.js';
import { PROJECT_DIR } from '../../orchestrator/project.js';
import { QEMU_BINARY } from '../../orchestrator/targets/qemu/qemu.js';
import { withSelftestTree } from '../../orchestrator/kernels/selftests.js';

const STAGE1 = '[STAGE 1] Starting pre-kexec setup';
const PASSED = 'SIMPLE KEXEC TEST PASSED';

/** init and luo_kexec_simple, static, built once in the selftest tree. */
async function buildFloor(log: (m: string) => void): Promise<{ init: string; test: string }> {
  return withSelftestTree(log, async ({ source }) => {
    const dir = join(source, 'tools/testing/selftests/liveupdate');
    const init = join(dir, 'lustress-floor-init');
    const test = join(dir, 'lustress-floor-luo_kexec_simple');
    if (existsSync(init) && existsSync(test)) return { init, test };
    const includes = ['-I', join(source, 'usr/include'), '-I', join(source, 'tools/include/nolibc')];
    await execa('gcc', [
      '-static',
      '-O2',
      '-nostdinc',
      '-nostdlib',
      ...includes,
      '-I',
      join(dir, 'lib/include'),
      '-o',
      test,
      join(dir, 'luo_kexec_simple.c'),
      join(dir, 'lib/lu_utils.c'),
    ]);
    await execa('gcc', [
      '-s',
      '-static',
      '-Os',
      '-nostdinc',
      '-nostdlib',
      '-fno-asynchronous-unwind-tables',
      '-fno-ident',
      '-fno-stack-protector',
      ...includes,
      '-o',
      init,
      join(dir, 'init.c'),
    ]);
    return { init, test };
  });
}

/** vmtest.sh's two initramfs images: the inner one (for the kexec) inside the outer one with the kernel. */
function floorInitrd(dir: string, kernel: Kernel, bins: { init: string; test: string }): string {
  const base: CpioEntry[] = [
    { kind: 'dir', path: 'dev' },
    { kind: 'dir', path: 'proc' },
    { kind: 'dir', path: 'debugfs' },
    { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'file', path: 'init', data: readFileSync(bins.init), mode: 0o755 },
    { kind: 'file', path: 'test_binary', data: readFileSync(bins.test), mode: 0o755 },
  ];
  const inner = newcArchive(base);
  const outer = newcArchive([
    ...base,
    { kind: 'file', path: 'kernel', data: readFileSync(kernel.image) },
    { kind: 'file', path: 'initrd.img', data: inner },
  ]);
  const file = join(dir, 'floor.cpio');
  writeFileSync(file, outer);
  return file;
}

/** Milliseconds from stage 1's start to the test's pass line, measured on the host from the console. */
export async function floorRoundTrip(spec: QemuTargetSpec, kernel: Kernel, log: (m: string) => void): Promise<number> {
  const dir = mkdtempSync(join('/tmp', 'lustress-floor-'));
  const initrd = floorInitrd(dir, kernel, await buildFloor(log));
  const paths = {
    kernelImage: kernel.image,
    initrd,
    runDir: dir,
    projectDir: PROJECT_DIR,
    nodePath: process.execPath,
    agentSocket: join(dir, 'a.sock'),
    qmpSocket: join(dir, 'q.sock'),
  };
  const child = execa(QEMU_BINARY, qemuArgs(spec, paths, guestCmdline(spec, kernel, paths)), {
    stdin: 'ignore',
    buffer: false,
    reject: false,
  });
  return new Promise<number>((resolve, reject) => {
    let seen = '';
    let stage1: number | undefined;
    child.stdout!.on('data', (c: Buffer) => {
      seen += String(c);
      if (stage1 === undefined && seen.includes(STAGE1)) stage1 = performance.now();
      if (stage1 !== undefined && seen.includes(PASSED)) {
        child.kill('SIGKILL');
        resolve(performance.now() - stage1);
      }
    });
    void child.then(() => reject(new Error(`the floor guest ended before passing:\n${seen.slice(-3000)}`)));
  });
}
