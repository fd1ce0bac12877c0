// What this kernel offers lustress, found by trying — never read off a
// version number: which IOMMU modes open, whether VFIO device cdevs and KHO
// exist, and which kinds of file LUO agrees to preserve (each LUO file
// handler tried with a file of its kind, where the agent can make one).

import { existsSync, readdirSync } from 'node:fs';
import type { Capabilities } from '../contract/facts.js';
import { DmaBuffer } from '../drivers/vfio/dma-buffer.js';
import { availableIommuModes } from '../drivers/vfio/iommu.js';
import { SysError } from '../sys/errors.js';
import { close, ioctl, open, O_RDWR } from '../sys/libc.js';
import { STRUCTS } from '../sys/uapi.js';
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
  // KVM's files, where this machine has KVM (a lustress guest under TCG has none): a VM, and its guest_memfd.
  let vm: number | undefined;
  tryMake('kvm-vm', () => {
    const kvm = open('/dev/kvm', O_RDWR);
    try {
      vm = ioctl(kvm, 'KVM_CREATE_VM', 0);
    } finally {
      close(kvm);
    }
    const fd = vm;
    return { fd, close: () => close(fd) };
  });
  tryMake('guest-memfd', () => {
    if (vm === undefined) throw new Error('no KVM VM to make one in');
    const G = STRUCTS.kvm_create_guest_memfd;
    const fd = ioctl(vm, 'KVM_CREATE_GUEST_MEMFD', G.alloc({ size: 2n ** 21n, flags: 0n }));
    return { fd, close: () => close(fd) };
  });
  try {
    Object.assign(verdicts, probePreservable(state, candidates));
  } finally {
    for (const c of candidates) c.close();
  }
  verdicts['vfio-device'] = 'not tried here (no device is open when the kernel is probed): the preserve step tries it';
  // In the order tried, whether a file could be made or not.
  const order = ['memfd', 'memfd-hugetlb', 'iommufd', 'kvm-vm', 'guest-memfd', 'vfio-device'];
  return Object.fromEntries(order.filter((k) => verdicts[k] !== undefined).map((k) => [k, verdicts[k]!]));
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
