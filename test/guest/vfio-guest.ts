// Shared by the VFIO guest tests: booting a guest with igb and edu, asking it
// which IOMMU modes its kernel offers, and the compiled in-guest files.

import type { Test } from 'tap';
import { fileURLToPath } from 'node:url';
import type { QemuTarget } from '../../orchestrator/targets/qemu/qemu.js';
import { BOOT_DEADLINE_MS, guestPrerequisites, guestSpec, qemuTarget } from './guest.js';

/** A compiled in-guest file (dist/test/in-guest/NAME.js). */
export function inGuestFile(name: string): string {
  return fileURLToPath(new URL(`../in-guest/${name}.js`, import.meta.url));
}

/**
 * A started guest of `kernel` with one igb and one edu, each behind its own root port; undefined if prerequisites are
 * missing (skipped, or failed in CI).
 */
export async function vfioGuest(t: Test, kernel: string): Promise<QemuTarget | undefined> {
  if (!(await guestPrerequisites(t, [kernel]))) return undefined;
  const target = qemuTarget(t, { spec: guestSpec({ kernel }) });
  await target.start(BOOT_DEADLINE_MS);
  return target;
}

export async function guestIommuModes(target: QemuTarget): Promise<string[]> {
  const r = await target.rpc.request(
    'exec',
    { argv: [process.execPath, inGuestFile('iommu-modes')], timeoutMs: 60_000 },
    70_000,
  );
  if (r.exitCode !== 0) throw new Error(`iommu-modes failed in the guest: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}
