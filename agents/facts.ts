// What the agent tells the orchestrator about the machine it runs on: read
// from /proc, /sys and /dev, never assumed.

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

export const AGENT_VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;

export interface PciFunction {
  bdf: string;
  vendor: string;
  device: string;
  class: string;
  driver?: string;
  iommuGroup?: number;
  sriovTotalVfs?: number;
  sriovNumVfs?: number;
  physfn?: string;
}

export interface Hello {
  agentVersion: string;
  pid: number;
  bootId: string;
  release: string;
  cmdline: string;
  uptimeMs: number;
  /** Whether this machine may be kexec'd, rebound or have SR-IOV changed (see agents/safety.ts). */
  disposable: boolean;
  dev: { vfioContainer: boolean; iommufd: boolean; liveupdate: boolean; vfioCdevs: string[] };
  iommuGroups: { group: number; devices: string[] }[];
  pci: PciFunction[];
  /** What the kernel offers, found by trying (agents/capabilities.ts); absent where the agent could not probe. */
  capabilities?: Record<string, unknown>;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const list = (dir: string): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

export function bootId(): string {
  return read('/proc/sys/kernel/random/boot_id') ?? 'unknown';
}

export function pciFunctions(): PciFunction[] {
  const root = '/sys/bus/pci/devices';
  return list(root).map((bdf) => {
    const dir = join(root, bdf);
    const link = (name: string) => {
      try {
        return basename(readlinkSync(join(dir, name)));
      } catch {
        return undefined;
      }
    };
    const num = (name: string) => {
      const v = read(join(dir, name));
      return v === undefined ? undefined : Number(v);
    };
    const fn: PciFunction = {
      bdf,
      vendor: (read(join(dir, 'vendor')) ?? '').replace(/^0x/, ''),
      device: (read(join(dir, 'device')) ?? '').replace(/^0x/, ''),
      class: (read(join(dir, 'class')) ?? '').replace(/^0x/, ''),
    };
    const driver = link('driver');
    const group = link('iommu_group');
    const total = num('sriov_totalvfs');
    const physfn = link('physfn');
    if (driver) fn.driver = driver;
    if (group !== undefined) fn.iommuGroup = Number(group);
    if (total !== undefined) {
      fn.sriovTotalVfs = total;
      fn.sriovNumVfs = num('sriov_numvfs') ?? 0;
    }
    if (physfn) fn.physfn = physfn;
    return fn;
  });
}

export function iommuGroups(): Hello['iommuGroups'] {
  const root = '/sys/kernel/iommu_groups';
  return list(root)
    .map((g) => ({ group: Number(g), devices: list(join(root, g, 'devices')) }))
    .sort((a, b) => a.group - b.group);
}

export function gatherHello(disposable: boolean): Hello {
  return {
    agentVersion: AGENT_VERSION,
    pid: process.pid,
    bootId: bootId(),
    release: read('/proc/sys/kernel/osrelease') ?? 'unknown',
    cmdline: read('/proc/cmdline') ?? '',
    uptimeMs: Math.round(Number((read('/proc/uptime') ?? '0').split(' ')[0]) * 1000),
    disposable,
    dev: {
      vfioContainer: existsSync('/dev/vfio/vfio'),
      iommufd: existsSync('/dev/iommu'),
      liveupdate: existsSync('/dev/liveupdate'),
      vfioCdevs: list('/dev/vfio/devices'),
    },
    iommuGroups: iommuGroups(),
    pci: pciFunctions(),
  };
}
