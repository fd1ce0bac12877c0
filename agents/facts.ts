// What the agent tells the orchestrator about the machine it runs on: read
// from /proc, /sys and /dev, never assumed.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Hello } from '../contract/facts.js';
import { LUSTRESS_VERSION } from '../contract/version.js';
import { iommuGroups, pciFunctions } from '../sys/sysfs.js';

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

export function gatherHello(disposable: boolean): Omit<Hello, 'capabilities'> {
  return {
    agentVersion: LUSTRESS_VERSION,
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
