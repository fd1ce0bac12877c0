// The parts of a scenario other than its steps, as the rest of lustress sees
// them: targets, devices, buffers and deadlines, with names resolved, units
// parsed and defaults (taken from the schema by the validator) filled in.

import {
  QEMU_MODELS,
  modelForDriver,
  type DriverName,
  type IommuMode,
  type QemuModel,
} from '../../contract/devices.js';

export type RebootMode = 'liveupdate' | 'kexec';
/** "live-update", "debian", or a path to a kernel image. */
export type KernelRef = string;

/** Guests lustress starts: from what the kernel and the agent need to what a TCG guest can sensibly be given. */
export const MIN_GUEST_MEMORY = 512 * 2 ** 20;
export const MAX_GUEST_MEMORY = 2 ** 40;
/** Of a guest's memory, what its kernel, page tables and the Node agent take before any buffer. */
export const GUEST_RESERVED_BYTES = 768 * 2 ** 20;
/** The 2 MiB pages a guest reserves at boot for `backing: hugetlb` buffers. */
export const GUEST_HUGE_PAGES = 16;
export const HUGE_PAGE_BYTES = 2 * 2 ** 20;
export const DEFAULT_GUEST_MEMORY = 2 * 2 ** 30;

export interface QemuDeviceSpec {
  model: QemuModel;
  count: number;
  vfs: number;
}

export interface QemuTargetSpec {
  kind: 'qemu';
  name: string;
  kernel: KernelRef;
  initrd?: string;
  next: KernelRef[];
  cmdline: string;
  memoryBytes: number;
  cpus: number;
  iommu: 'intel' | 'virtio';
  devices: QemuDeviceSpec[];
}

export interface SshTargetSpec {
  kind: 'ssh';
  name: string;
  host: string;
  user?: string;
  port?: number;
  identity?: string;
  options: string[];
  agent: string;
  console?: string;
  kernels: KernelRef[];
  initrd?: string;
  disposable: boolean;
}

export interface LocalTargetSpec {
  kind: 'local';
  name: string;
  disposable: boolean;
}

export type TargetSpec = QemuTargetSpec | SshTargetSpec | LocalTargetSpec;

export interface DeviceSpec {
  name: string;
  bdf?: string;
  id?: string;
  index: number;
  vf?: number;
  driver: DriverName;
  /** vfio-pci, or the variant driver bound through driver_override. */
  vfioDriver: string;
  iommu: IommuMode;
  target?: string;
  force: boolean;
  /** nvme: the namespace and blocks copies may overwrite. */
  scratch?: { namespace: number; firstLba: number; lbas?: number };
}

export interface BufferSpec {
  name: string;
  sizeBytes: number;
  backing: 'memfd' | 'hugetlb';
  seed: number;
}

export interface Timeouts {
  stepMs: number;
  rebootMs: number;
  bootMs: number;
  totalMs?: number;
}

/** The embedded default: one QEMU guest with the live-update kernel and the devices the scenario drives. */
export function defaultTarget(devices: DeviceSpec[]): QemuTargetSpec {
  const models: QemuDeviceSpec[] = [];
  for (const model of Object.keys(QEMU_MODELS) as QemuModel[]) {
    const users = devices.filter((d) => modelForDriver(d.driver) === model && !d.bdf);
    if (!users.length) continue;
    const count = Math.max(...users.map((d) => d.index + 1));
    const vfs = Math.max(0, ...users.map((d) => (d.vf ?? -1) + 1));
    models.push({ model, count, vfs });
  }
  return {
    kind: 'qemu',
    name: 'default',
    kernel: 'live-update',
    next: ['live-update'],
    cmdline: '',
    memoryBytes: DEFAULT_GUEST_MEMORY,
    cpus: 1,
    iommu: 'intel',
    devices: models,
  };
}

/** A stable seed per buffer name (FNV-1a), so unseeded buffers still differ from each other. */
export function seedFromName(name: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(name)) {
    h ^= c;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function normaliseBdf(bdf: string): string {
  const full = bdf.length === 7 ? `0000:${bdf}` : bdf;
  return full.toLowerCase();
}

/** The kernel a target boots at its n-th kexec (0-based): the scenario's list, used in turn. */
export function kernelForKexec(target: TargetSpec, n: number): KernelRef {
  const list = target.kind === 'qemu' ? target.next : target.kind === 'ssh' ? target.kernels : [];
  return list.length ? list[n % list.length]! : 'running';
}

/**
 * Whether the target's agent must say it is disposable: a lustress guest
 * always is; an ssh or local machine only when the scenario says so. An agent
 * that says otherwise (an `agent:` command with --disposable of its own, a
 * guest booted without lustress's flag) is not run against.
 */
export function expectedDisposable(spec: TargetSpec): boolean {
  return spec.kind === 'qemu' ? true : spec.disposable;
}
