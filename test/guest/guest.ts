// Shared by the guest tests: a run directory per test, a logger, and the rule
// that in CI a missing prerequisite fails instead of skipping.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { checkPrerequisites } from '../../orchestrator/setup.js';
import { createLogger } from '../../orchestrator/log.js';
import { defaultTarget, type QemuTargetSpec } from '../../orchestrator/scenario/spec.js';
import { QemuTarget, type QemuTargetOptions } from '../../orchestrator/targets/qemu/qemu.js';

export const IN_CI = process.env.CI === 'true';
/** Guests run under TCG on a loaded 2-core machine: generous, but a hang still fails. */
export const BOOT_DEADLINE_MS = 240_000;

/** Ends the test (skip locally, fail in CI) when something the guest needs is missing. */
export async function guestPrerequisites(t: Test, kernels: string[] = ['live-update']): Promise<boolean> {
  const missing = (await checkPrerequisites()).filter((s) => !s.ok && (!s.kernel || kernels.includes(s.kernel)));
  if (!missing.length) return true;
  const why = `missing: ${missing.map((m) => m.name).join(', ')} (run lustress setup)`;
  if (IN_CI) t.fail(why);
  else t.plan(0, why); // a plan of 0 with a reason marks the test skipped, not passed
  return false;
}

export function testRunDir(t: Test): string {
  const base = join(process.cwd(), 'runs', 'test');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${t.name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40)}-`));
}

export function guestSpec(overrides: Partial<QemuTargetSpec> = {}): QemuTargetSpec {
  return {
    ...defaultTarget([]),
    devices: [
      { model: 'igb', count: 1, vfs: 0 },
      { model: 'edu', count: 1, vfs: 0 },
      { model: 'nvme', count: 1, vfs: 0 },
    ],
    ...overrides,
  };
}

/** A started guest that is stopped when the test ends, pass or fail. */
export function qemuTarget(t: Test, opts: Partial<QemuTargetOptions> & { spec: QemuTargetSpec }): QemuTarget {
  const runDir = opts.runDir ?? testRunDir(t);
  const target = new QemuTarget({
    log: createLogger({ level: 'info', file: join(runDir, 'lustress.log'), pretty: false }),
    hardTimeoutMs: 20 * 60_000,
    runDir,
    ...opts,
  });
  t.teardown(() => target.stop());
  return target;
}
