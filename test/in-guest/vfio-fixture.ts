// Shared by the in-guest VFIO tests (they run as root inside a lustress
// guest, started by test/guest/vfio-*.test.ts through the agent's exec).

import type { Test } from 'tap';
import { machineIsDisposable, permitFor } from '../../agents/safety.js';
import type { DriverConfig } from '../../drivers/ops.js';
import { bindToVfio, restoreDriver } from '../../drivers/vfio/index.js';
import { findPciFunctions } from '../../sys/sysfs.js';
import { type IommuMode } from '../../contract/devices.js';

export const IGB_ID = '8086:10c9';
export const EDU_ID = '1234:11e8';
export const NVME_ID = '1b36:0010';
export const DEVICE_IDS: Record<string, string> = { igb: IGB_ID, edu: EDU_ID, nvme: NVME_ID };
/** What each driver is told at init: the nvme device's namespace is the guest's own image, all of it scratch. */
export const DRIVER_CONFIG: Record<string, DriverConfig> = { nvme: { scratch: { namespace: 1, firstLba: 0 } } };

/** True only in a lustress guest: nothing here may ever rebind the development machine. */
export const DISPOSABLE = machineIsDisposable(false);
export const PERMIT = permitFor(DISPOSABLE);

/** The BDF of the first function with this vendor:device id; throws if there is none. */
export function bdfOf(id: string, index = 0): string {
  const fn = findPciFunctions({ id, index })[0];
  if (!fn) throw new Error(`no PCI function ${id} (index ${index}) in this guest`);
  return fn.bdf;
}

/**
 * Run with plain node, tap times the whole file out after 30 s (TAP_TIMEOUT)
 * and then runs the teardowns while cases still hold the device. The host
 * side bounds the run with its exec deadline instead.
 */
export function untimed(t: Test): void {
  t.setTimeout(0);
}

/** Binds to vfio-pci for the rest of `t`, giving the device back to its driver when `t` ends. */
export async function boundForTest(t: Test, bdf: string): Promise<void> {
  await bindToVfio(bdf, { permit: PERMIT });
  t.teardown(() => restoreDriver(bdf, { permit: PERMIT }).then(() => undefined));
}

/** argv after the script: `<name> <mode,mode,...>`. */
export function parseArgs(): { name: string; modes: IommuMode[] } {
  const [name = '', modes = ''] = process.argv.slice(2);
  return { name, modes: modes.split(',').filter(Boolean) as IommuMode[] };
}

/** Where two byte ranges first differ, or -1 when they are equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
