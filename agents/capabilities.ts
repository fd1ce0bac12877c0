// What this kernel offers lustress, found by trying — never read off a
// version number: which IOMMU modes open, whether VFIO device cdevs and KHO
// exist, and which kinds of file LUO agrees to preserve.

import { existsSync, readdirSync } from 'node:fs';
import type { Capabilities } from '../contract/facts.js';
import { DmaBuffer } from '../drivers/vfio/dma-buffer.js';
import { availableIommuModes } from '../drivers/vfio/iommu.js';
import { SysError } from '../sys/errors.js';
import { close, open, O_RDWR } from '../sys/libc.js';
import { probePreservable } from './luo.js';
import type { AgentState } from './state.js';

function luoProbe(state: AgentState): Record<string, string> {
  if (!existsSync('/dev/liveupdate')) return {};
  const candidates: { kind: string; fd: number; close(): void }[] = [];
  const verdicts: Record<string, string> = {};
  const tryMake = (kind: string, make: () => { fd: number; close(): void }) => {
    try {
      // Not spread: a DmaBuffer's close lives on its prototype.
      const made = make();
      candidates.push({ kind, fd: made.fd, close: () => made.close() });
    } catch (e) {
      verdicts[kind] = `not tried: ${e instanceof SysError ? e.code : (e as Error).message}`;
    }
  };
  tryMake('memfd', () => DmaBuffer.create(4096, { name: 'lustress:probe' }));
  tryMake('memfd-hugetlb', () => DmaBuffer.create(2 ** 21, { hugetlb: true, name: 'lustress:probe-huge' }));
  tryMake('iommufd', () => {
    const fd = open('/dev/iommu', O_RDWR);
    return { fd, close: () => close(fd) };
  });
  try {
    Object.assign(verdicts, probePreservable(state, candidates));
  } finally {
    for (const c of candidates) c.close();
  }
  verdicts['vfio-device'] = 'not tried at hello (no device is open yet): the preserve step tries it';
  return verdicts;
}

export function probeCapabilities(state: AgentState): Capabilities {
  const classes = (() => {
    try {
      return readdirSync('/sys/class');
    } catch {
      return [];
    }
  })();
  return {
    iommuModes: availableIommuModes(),
    vfioCdev: classes.includes('vfio-dev'),
    liveupdate: existsSync('/dev/liveupdate'),
    kho: existsSync('/sys/kernel/debug/kho'),
    luoPreserves: luoProbe(state),
  };
}
