// The floor of a live-update round trip: the kernel's own LUO selftest
// (tools/testing/selftests/liveupdate: luo_kexec_simple with its static
// nolibc init, as vmtest.sh builds it), run as the guest's /init on the same
// kernel and machine lustress uses. No Node, no 9p, no agent: stage 1
// preserves a memfd and kexecs, stage 2 retrieves and checks it. Its
// blackout is split as lustress splits its own (exec to init, init to user
// space ready) from when the console lines reach the host.

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
/** init.c's last word before reboot(RB_KEXEC): the exec. */
const EXEC = 'INIT: Stage 1 completed successfully.';
/** init.c's first word in the new kernel: init is running. */
const INIT = 'INIT: Starting Stage 2';
/** The test binary's first word in the new kernel: user space is ready to work. */
const READY = '[STAGE 2] Starting post-kexec verification';
const PASSED = 'SIMPLE KEXEC TEST PASSED';

/** The floor's round trip and its blackout in the parts lustress reports, from console lines as the host saw them. */
export interface FloorTimes {
  roundTripMs: number;
  /** The exec to the new kernel's init. */
  kernelMs: number;
  /** init to the test binary's first line. */
  userspaceMs: number;
}

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

/** The round trip (stage 1's start to the pass line) and its blackout's parts, timed on the host from the console. */
export async function floorRoundTrip(
  spec: QemuTargetSpec,
  kernel: Kernel,
  log: (m: string) => void,
): Promise<FloorTimes> {
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
  return new Promise<FloorTimes>((resolve, reject) => {
    let seen = '';
    // When each line was first seen, in the order the round trip prints them.
    const at = new Map<string, number>();
    child.stdout!.on('data', (c: Buffer) => {
      seen += String(c);
      for (const line of [STAGE1, EXEC, INIT, READY, PASSED])
        if (!at.has(line) && (line === STAGE1 || at.size > 0) && seen.includes(line)) at.set(line, performance.now());
      if (at.has(PASSED)) {
        child.kill('SIGKILL');
        const t = (line: string) => {
          const ms = at.get(line);
          if (ms === undefined) throw new Error(`the floor guest passed without printing "${line}"`);
          return ms;
        };
        try {
          resolve({
            roundTripMs: t(PASSED) - t(STAGE1),
            kernelMs: t(INIT) - t(EXEC),
            userspaceMs: t(READY) - t(INIT),
          });
        } catch (e) {
          reject(e as Error);
        }
      }
    });
    void child.then(() => reject(new Error(`the floor guest ended before passing:\n${seen.slice(-3000)}`)));
  });
}
