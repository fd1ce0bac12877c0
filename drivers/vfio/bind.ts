// Handing PCI functions to vfio-pci (or a variant driver: nvgrace_gpu_vfio_pci,
// mlx5_vfio_pci…) and back, and creating SR-IOV VFs.
// Every exported function writes to sysfs, so each one first asks the
// caller's Permit: on a machine not marked disposable it refuses before
// anything is touched (taking a NIC or disk from its driver can end the
// session of whoever uses the machine).

import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Permit } from '../../sys/errors.js';
import {
  PCI_DRIVERS,
  VFIO_PCI,
  currentDriver,
  isVfioDriver,
  deviceDir,
  driverUsers,
  groupViability,
  iommuGroupOf,
  readText,
  sriovState,
  writeAttr as write,
} from '../../sys/sysfs.js';
import { DeviceError } from './errors.js';
import { isOpenHere } from './device.js';

/** Where the driver a device had before bindToVfio is remembered (tmpfs: a reboot forgets bindings too). */
const STATE_DIR = '/run/lustress/vfio-bind';
const VFIO_SRIOV_PARAM = '/sys/module/vfio_pci/parameters/enable_sriov';
/** The kernel probes synchronously, but udev-less guests and slow hosts get a little slack. */
const SETTLE_MS = 5000;

export interface Gated {
  /** Asked before anything is written. */
  permit: Permit;
}

export interface BindOptions extends Gated {
  /** Take the device even though its driver is in use (an interface up, a disk mounted). */
  force?: boolean;
  /** The VFIO driver to bind, through driver_override: vfio-pci unless the device needs a variant driver. */
  vfioDriver?: string;
}

export interface Bound {
  bdf: string;
  group: number;
  /** The VFIO driver it is bound to now. */
  vfioDriver: string;
  /** The driver it had before; undefined if it had none or already had the VFIO driver asked for. */
  previousDriver?: string;
  /** Whether this call moved it (false: it was on that driver already, and nothing was written). */
  changed: boolean;
}

async function waitUntil(what: string, bdf: string, ok: () => boolean): Promise<void> {
  const until = Date.now() + SETTLE_MS;
  while (!ok()) {
    if (Date.now() > until) throw new DeviceError(bdf, `${what} did not happen within ${SETTLE_MS} ms`);
    await sleep(10);
  }
}

/**
 * Unbinds the device from its driver and binds it to vfio-pci (or the
 * variant driver asked for) through driver_override, remembering the driver
 * it had. Refuses a device whose driver is in use unless forced, and a
 * device whose IOMMU group VFIO would not accept.
 */
export async function bindToVfio(bdf: string, opts: BindOptions): Promise<Bound> {
  const target = opts.vfioDriver ?? VFIO_PCI;
  if (!isVfioDriver(target))
    throw new DeviceError(bdf, `"${target}" is not a VFIO driver: vfio-pci or a variant named <name>_vfio_pci`);
  opts.permit.allow(`bind ${bdf} to ${target} (taking it from its driver)`);
  if (!existsSync(deviceDir(bdf))) throw new DeviceError(bdf, 'no such PCI function');
  const driver = currentDriver(bdf);
  const group = iommuGroupOf(bdf);
  if (driver === target) return { bdf, group, vfioDriver: target, changed: false };
  if (!existsSync(join(PCI_DRIVERS, target)))
    throw new DeviceError(bdf, `the ${target} driver is not loaded (modprobe ${target})`, { driver: target });
  // Unbinding a VFIO driver waits until every user closed the device: from this process, forever.
  if (isVfioDriver(driver) && isOpenHere(bdf))
    throw new DeviceError(bdf, `open in this process through ${driver}; close it before binding ${target}`);
  if (driver && !isVfioDriver(driver)) {
    const users = driverUsers(bdf);
    if (users.length && !opts.force) {
      throw new DeviceError(bdf, `its driver ${driver} is in use (${users.join('; ')}); pass force to take it anyway`, {
        driver,
        users,
      });
    }
  }
  mkdirSync(STATE_DIR, { recursive: true });
  // From one VFIO driver to another, the driver to give it back to stays the one it had before lustress.
  const stateFile = join(STATE_DIR, bdf);
  if (!isVfioDriver(driver) || !existsSync(stateFile)) writeFileSync(stateFile, driver ?? '');
  write(join(deviceDir(bdf), 'driver_override'), target, bdf);
  if (driver) write(join(deviceDir(bdf), 'driver', 'unbind'), bdf, bdf);
  write('/sys/bus/pci/drivers_probe', bdf, bdf);
  await waitUntil(
    `binding to ${target} (if its probe refused the device, the kernel log says why)`,
    bdf,
    () => currentDriver(bdf) === target,
  );
  await waitUntil(
    `/dev/vfio/${group} appearing`,
    bdf,
    () => existsSync(`/dev/vfio/${group}`) || existsSync(`/dev/vfio/noiommu-${group}`),
  );
  const viability = groupViability(group);
  if (!viability.viable) {
    throw new DeviceError(
      bdf,
      `IOMMU group ${group} is not viable: ${viability.blockers.join(', ')} must be bound to vfio-pci or unbound too`,
      { ...viability },
    );
  }
  return { bdf, group, vfioDriver: target, ...(driver ? { previousDriver: driver } : {}), changed: true };
}

/**
 * Gives a device bound by bindToVfio back to the driver it had (or leaves it
 * unbound if it had none). A device lustress did not bind is probed afresh.
 */
export async function restoreDriver(bdf: string, opts: Gated): Promise<string | undefined> {
  opts.permit.allow(`give ${bdf} back to its driver`);
  // vfio-pci's remove waits for the device to be released: from this process that wait would never end.
  if (isOpenHere(bdf))
    throw new DeviceError(bdf, 'still open in this process; close it before giving it back to its driver');
  const stateFile = join(STATE_DIR, bdf);
  const remembered = readText(stateFile);
  write(join(deviceDir(bdf), 'driver_override'), '\n', bdf);
  if (currentDriver(bdf)) write(join(deviceDir(bdf), 'driver', 'unbind'), bdf, bdf);
  if (remembered) write(join(PCI_DRIVERS, remembered, 'bind'), bdf, bdf);
  else if (remembered === undefined) write('/sys/bus/pci/drivers_probe', bdf, bdf);
  if (remembered) await waitUntil(`binding back to ${remembered}`, bdf, () => currentDriver(bdf) === remembered);
  rmSync(stateFile, { force: true });
  return currentDriver(bdf);
}

/**
 * Creates `numVfs` VFs on a PF and binds them all to vfio-pci (or
 * `opts.vfioDriver`: variant drivers such as mlx5_vfio_pci drive VFs); returns their
 * BDFs. Driver autoprobe is switched off first so no host VF driver grabs
 * them; with the PF itself on vfio-pci, vfio-pci's enable_sriov is turned on
 * (the kernel then requires the PF's VF token to open a VF).
 */
export async function enableSriov(pfBdf: string, numVfs: number, opts: BindOptions): Promise<string[]> {
  opts.permit.allow(`create ${numVfs} SR-IOV VFs on ${pfBdf}`);
  const state = sriovState(pfBdf);
  if (!state) throw new DeviceError(pfBdf, 'not an SR-IOV physical function (no sriov_totalvfs)');
  if (numVfs < 1 || numVfs > state.totalVfs)
    throw new DeviceError(pfBdf, `can create 1 to ${state.totalVfs} VFs, not ${numVfs}`);
  if (currentDriver(pfBdf) === VFIO_PCI && readText(VFIO_SRIOV_PARAM) !== 'Y') write(VFIO_SRIOV_PARAM, '1', pfBdf);
  write(join(deviceDir(pfBdf), 'sriov_drivers_autoprobe'), '0', pfBdf);
  if (state.numVfs !== 0 && state.numVfs !== numVfs) write(join(deviceDir(pfBdf), 'sriov_numvfs'), '0', pfBdf);
  if (state.numVfs !== numVfs) write(join(deviceDir(pfBdf), 'sriov_numvfs'), String(numVfs), pfBdf);
  await waitUntil(`${numVfs} VFs appearing`, pfBdf, () => sriovState(pfBdf)?.vfs.length === numVfs);
  const vfs = sriovState(pfBdf)!.vfs;
  for (const vf of vfs) await bindToVfio(vf, opts);
  return vfs;
}

/** Removes every VF of a PF (their vfio-pci bindings go with them). */
export async function disableSriov(pfBdf: string, opts: Gated): Promise<void> {
  opts.permit.allow(`remove the SR-IOV VFs of ${pfBdf}`);
  for (const vf of sriovState(pfBdf)?.vfs ?? []) rmSync(join(STATE_DIR, vf), { force: true });
  write(join(deviceDir(pfBdf), 'sriov_numvfs'), '0', pfBdf);
  await waitUntil('the VFs going away', pfBdf, () => (sriovState(pfBdf)?.numVfs ?? 0) === 0);
}
