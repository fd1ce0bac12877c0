// bench boot: how long a QEMU target takes from start to its agent's hello,
// against the floor — the same kernel and machine booting an initramfs whose
// /init is static busybox printing one line. The ratio is lustress's own
// cost: its init, 9p, Node and the agent.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { resolveKernel } from '../orchestrator/kernels/kernels.js';
import { createLogger } from '../orchestrator/log.js';
import { defaultTarget } from '../orchestrator/scenario/spec.js';
import { guestCmdline, qemuArgs } from '../orchestrator/targets/qemu/args.js';
import { newcArchive } from '../orchestrator/targets/qemu/newc.js';
import { PROJECT_DIR } from '../orchestrator/project.js';
import { QemuTarget, QEMU_BINARY } from '../orchestrator/targets/qemu/qemu.js';
import type { BenchResult } from './result.js';

const FLOOR_LINE = 'lustress-floor: init ran';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** An initramfs whose init prints one line and powers the machine off. */
function floorInitramfs(dir: string): string {
  const init = `#!/bin/busybox sh\n/bin/busybox echo "${FLOOR_LINE}" > /dev/console\n/bin/busybox poweroff -f\n`;
  const file = join(dir, 'floor.cpio');
  writeFileSync(
    file,
    newcArchive([
      { kind: 'dir', path: 'bin' },
      { kind: 'dir', path: 'dev' },
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
      { kind: 'file', path: 'bin/busybox', data: readFileSync('/bin/busybox'), mode: 0o755 },
      { kind: 'file', path: 'init', data: Buffer.from(init), mode: 0o755 },
    ]),
  );
  return file;
}

async function floorBoot(dir: string, kernelRef: string): Promise<number> {
  const spec = { ...defaultTarget([]), devices: [{ model: 'igb' as const, count: 1, vfs: 0 }] };
  const kernel = await resolveKernel(kernelRef);
  const runDir = mkdtempSync(join(dir, 'floor-'));
  const paths = {
    kernelImage: kernel.image,
    initrd: floorInitramfs(dir),
    runDir,
    projectDir: PROJECT_DIR,
    nodePath: process.execPath,
    agentSocket: join(runDir, 'a.sock'),
    qmpSocket: join(runDir, 'q.sock'),
  };
  // The same machine and the same command line as a lustress guest; only the initramfs differs.
  const args = qemuArgs(spec, paths, guestCmdline(spec, kernel, paths));
  const started = performance.now();
  const child = execa(QEMU_BINARY, args, { stdin: 'ignore', buffer: false, reject: false });
  return new Promise<number>((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (c: Buffer) => {
      seen += String(c);
      if (seen.includes(FLOOR_LINE)) {
        const ms = performance.now() - started;
        child.kill('SIGKILL');
        resolve(ms);
      }
    });
    void child.then(() => reject(new Error(`the floor guest ended without its line:\n${seen.slice(-2000)}`)));
  });
}

async function lustressBoot(dir: string, kernelRef: string): Promise<number> {
  const runDir = mkdtempSync(join(dir, 'boot-'));
  const spec = { ...defaultTarget([]), kernel: kernelRef, devices: [{ model: 'igb' as const, count: 1, vfs: 0 }] };
  const target = new QemuTarget({ spec, runDir, log: createLogger({ level: 'silent' }), hardTimeoutMs: 600_000 });
  // Kernel and initramfs are prepared (and cached) before the clock starts, as in a run.
  await target.bootImage(kernelRef);
  const started = performance.now();
  try {
    await target.start(300_000);
    return performance.now() - started;
  } finally {
    await target.stop();
  }
}

export async function bootBench(rounds = 3, kernelRef = 'live-update'): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-bench-boot-'));
  const floor: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < rounds; i++) {
    floor.push(await floorBoot(dir, kernelRef));
    ours.push(await lustressBoot(dir, kernelRef));
  }
  const value = median(ours) / 1000;
  const reference = median(floor) / 1000;
  return [
    {
      name: `boot to agent hello (${kernelRef})`,
      value,
      unit: 's',
      reference,
      ratio: value / reference,
      note: `median of ${rounds}; reference: the same kernel and machine booting a static busybox /init to its first console line`,
    },
  ];
}
