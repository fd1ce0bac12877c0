// PCI facts in sysfs: functions, drivers, IOMMU groups, SR-IOV, read; and
// the one primitive that writes an attribute (binding and SR-IOV changes
// build on it, behind the caller's Permit).

import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { PciFunction } from '../contract/facts.js';
import { SysError, nodeErrno } from './errors.js';

export const PCI_DEVICES = '/sys/bus/pci/devices';
export const PCI_DRIVERS = '/sys/bus/pci/drivers';
export const VFIO_PCI = 'vfio-pci';
/** vfio-pci and its variant drivers (nvgrace_gpu_vfio_pci, mlx5_vfio_pci…): a variant's module is <name>_vfio_pci. */
export const VFIO_DRIVER_RE = /^(vfio-pci|[a-z0-9_]+_vfio_pci)$/;

/** Whether a PCI driver gives its devices to userspace through VFIO. */
export function isVfioDriver(driver: string | undefined): boolean {
  return driver !== undefined && VFIO_DRIVER_RE.test(driver);
}

const BDF_RE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/;
const ID_RE = /^[0-9a-f]{4}:[0-9a-f]{4}$/;

export function deviceDir(bdf: string): string {
  return join(PCI_DEVICES, bdf);
}

/** A sysfs or procfs file's text, trimmed; undefined if it cannot be read. */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function readAttr(bdf: string, name: string): string | undefined {
  return readText(join(deviceDir(bdf), name));
}

/** Writes `value` to a sysfs file; a refusal is a SysError naming the file and the device. */
export function writeAttr(path: string, value: string, bdf: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new SysError(`write("${value.trim()}" > ${path})`, nodeErrno(e), bdf);
  }
}

/**
 * Every PCI function with its ids, driver, IOMMU group and SR-IOV state. Each
 * function's directory is listed once, its ids and driver come from one read
 * of its uevent, and only other attributes it has are read: a failed open is
 * an exception, and in the hello after a kexec (part of the blackout) every
 * system call counts under TCG.
 */
export function pciFunctions(): PciFunction[] {
  return listDir(PCI_DEVICES)
    .sort()
    .map((bdf) => {
      const dir = deviceDir(bdf);
      const has = new Set(listDir(dir));
      const uevent = ueventOf(readText(join(dir, 'uevent')) ?? '');
      const [vendor = '', device = ''] = (uevent.get('PCI_ID') ?? '').toLowerCase().split(':');
      // PCI_CLASS is printed with %04X of the 24-bit class; the class attribute (and lspci) has six digits.
      const fn: PciFunction = {
        bdf,
        vendor,
        device,
        class: (uevent.get('PCI_CLASS') ?? '').toLowerCase().padStart(6, '0'),
      };
      const driver = uevent.get('DRIVER');
      const group = has.has('iommu_group') ? linkTarget(join(dir, 'iommu_group')) : undefined;
      const totalText = has.has('sriov_totalvfs') ? readText(join(dir, 'sriov_totalvfs')) : undefined;
      const total = totalText === undefined ? undefined : Number(totalText);
      const physfn = has.has('physfn') ? linkTarget(join(dir, 'physfn')) : undefined;
      if (driver) fn.driver = driver;
      if (group !== undefined) fn.iommuGroup = Number(group);
      if (total !== undefined) {
        fn.sriovTotalVfs = total;
        fn.sriovNumVfs = Number(readText(join(dir, 'sriov_numvfs')) ?? 0);
      }
      if (physfn) fn.physfn = physfn;
      return fn;
    });
}

/** A uevent file's KEY=value lines. */
function ueventOf(text: string): Map<string, string> {
  return new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** IOMMU groups and their members, by group number. */
export function iommuGroups(): { group: number; devices: string[] }[] {
  const root = '/sys/kernel/iommu_groups';
  return listDir(root)
    .map((g) => ({ group: Number(g), devices: listDir(join(root, g, 'devices')).sort() }))
    .sort((a, b) => a.group - b.group);
}

function linkTarget(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

export function currentDriver(bdf: string): string | undefined {
  return linkTarget(join(deviceDir(bdf), 'driver'));
}

export function iommuGroupOf(bdf: string): number {
  const group = linkTarget(join(deviceDir(bdf), 'iommu_group'));
  if (group === undefined) throw new Error(`${bdf} is in no IOMMU group: is the IOMMU enabled (intel_iommu=on)?`);
  return Number(group);
}

export function groupMembers(group: number): string[] {
  return readdirSync(`/sys/kernel/iommu_groups/${group}/devices`).sort();
}

export interface PciSelector {
  bdf?: string;
  /** "vendor:device" in hex, e.g. "8086:10c9". */
  id?: string;
  /** With `id`: the n-th match in BDF order (0 is the first). */
  index?: number;
}

/** PCI functions matching a selector, in BDF order; `index` narrows the matches to one. */
export function findPciFunctions(sel: PciSelector = {}): PciFunction[] {
  if (sel.bdf !== undefined && !BDF_RE.test(sel.bdf))
    throw new Error(`"${sel.bdf}" is not a PCI address like 0000:01:00.0`);
  if (sel.id !== undefined && !ID_RE.test(sel.id.toLowerCase()))
    throw new Error(`"${sel.id}" is not a PCI id like 8086:10c9`);
  const id = sel.id?.toLowerCase();
  const found = pciFunctions()
    .filter(
      (f) => (sel.bdf === undefined || f.bdf === sel.bdf) && (id === undefined || `${f.vendor}:${f.device}` === id),
    )
    .sort((a, b) => a.bdf.localeCompare(b.bdf));
  if (sel.index === undefined) return found;
  const one = found[sel.index];
  return one ? [one] : [];
}

/** Drivers VFIO accepts next to its own in a group (vfio_dev_driver_allowed): none, pci-stub, pcieport. */
const GROUP_FRIENDLY_DRIVERS = new Set(['pci-stub', 'pcieport']);

export interface GroupViability {
  group: number;
  viable: boolean;
  /** Members bound to a driver VFIO does not accept in the same group, as "bdf (driver)". */
  blockers: string[];
}

/** Whether VFIO will let userspace use this group: every member is unbound or bound to a driver it accepts. */
export function groupViability(group: number): GroupViability {
  const blockers = groupMembers(group)
    .map((bdf) => ({ bdf, driver: currentDriver(bdf) }))
    .filter((m) => m.driver !== undefined && !GROUP_FRIENDLY_DRIVERS.has(m.driver) && !isVfioDriver(m.driver))
    .map((m) => `${m.bdf} (${m.driver})`);
  return { group, viable: blockers.length === 0, blockers };
}

const IFF_UP = 0x1;

/**
 * Why the device's current driver is in use, if it is: a network interface
 * that is up, or a block device that is mounted. Empty when taking the
 * device away from its driver disturbs nobody we can see.
 */
export function driverUsers(bdf: string): string[] {
  const users: string[] = [];
  const dir = deviceDir(bdf);
  for (const netdev of listDir(join(dir, 'net'))) {
    const flags = Number(readText(`/sys/class/net/${netdev}/flags`) ?? '0');
    if (flags & IFF_UP) users.push(`network interface ${netdev} is up`);
  }
  const mounts = readText('/proc/mounts') ?? '';
  for (const disk of blockDevicesUnder(bdf)) {
    if (new RegExp(`^/dev/${disk}(p?\\d+)?\\s`, 'm').test(mounts)) users.push(`block device ${disk} is mounted`);
  }
  return users;
}

/** Disks whose sysfs path runs through the device (nvme namespaces, virtio disks, SCSI behind an HBA). */
function blockDevicesUnder(bdf: string): string[] {
  return listDir('/sys/block').filter((disk) => {
    try {
      return readlinkSync(`/sys/block/${disk}`).includes(`/${bdf}/`);
    } catch {
      return false;
    }
  });
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export interface SriovState {
  totalVfs: number;
  numVfs: number;
  vfs: string[];
}

export function sriovState(pfBdf: string): SriovState | undefined {
  const total = readAttr(pfBdf, 'sriov_totalvfs');
  if (total === undefined) return undefined;
  const numVfs = Number(readAttr(pfBdf, 'sriov_numvfs') ?? 0);
  const vfs: string[] = [];
  for (let i = 0; i < numVfs; i++) {
    const vf = linkTarget(join(deviceDir(pfBdf), `virtfn${i}`));
    if (vf) vfs.push(vf);
  }
  return { totalVfs: Number(total), numVfs, vfs };
}

/** The PF of a VF, or undefined for anything that is not a VF. */
export function physfnOf(bdf: string): string | undefined {
  return linkTarget(join(deviceDir(bdf), 'physfn'));
}

/** /dev/vfio/devices/vfioN of a device bound to vfio-pci, when the kernel has the VFIO cdev. */
export function vfioCdevOf(bdf: string): string | undefined {
  const name = listDir(join(deviceDir(bdf), 'vfio-dev')).find((n) => n.startsWith('vfio'));
  return name && existsSync(`/dev/vfio/devices/${name}`) ? `/dev/vfio/devices/${name}` : undefined;
}
