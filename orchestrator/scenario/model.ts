// The scenario as the rest of lustress sees it: names resolved, units parsed,
// defaults (taken from the schema by the validator) filled in.

import { basename } from 'node:path';
import { parseDuration, parseSize } from './units.js';

export type IommuMode = 'type1' | 'type1v2' | 'iommufd-compat' | 'iommufd';
export type DriverName = 'igb' | 'edu';
export type RebootMode = 'liveupdate' | 'kexec';
/** "live-update", "debian", or a path to a kernel image. */
export type KernelRef = string;

export interface QemuDeviceSpec {
  model: 'igb' | 'edu' | 'nvme';
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
  iommu: IommuMode;
  target?: string;
  force: boolean;
}

export interface BufferSpec {
  name: string;
  sizeBytes: number;
  backing: 'memfd' | 'hugetlb';
  seed: number;
}

export type StepAction =
  | { kind: 'bind'; device: string }
  | { kind: 'map'; device: string; buffers: string[] }
  | { kind: 'fill'; buffers: string[] }
  | { kind: 'memcpy-start'; device: string; from: string; to: string; sizeBytes?: number; count: number; unmapped?: 'from' | 'to' }
  | { kind: 'memcpy-wait'; device: string }
  | { kind: 'send-msi'; device: string; count: number }
  | { kind: 'expect-msi'; device: string; count: number; withinMs: number }
  | { kind: 'preserve'; session: string; buffers: string[]; devices: string[] }
  | { kind: 'kexec-load'; kernel?: KernelRef; initrd?: string; cmdline?: string }
  | { kind: 'kexec-exec' }
  | { kind: 'retrieve'; session: string }
  | { kind: 'verify'; buffers: string[]; pattern?: string; sizeBytes?: number }
  | { kind: 'finish'; session: string }
  | { kind: 'sleep'; ms: number }
  | { kind: 'corrupt'; buffer: string; offset: number; xor: number };

export type StepKind = StepAction['kind'];

export const STEP_KINDS: readonly StepKind[] = [
  'bind', 'map', 'fill', 'memcpy-start', 'memcpy-wait', 'send-msi', 'expect-msi',
  'preserve', 'kexec-load', 'kexec-exec', 'retrieve', 'verify', 'finish', 'sleep', 'corrupt',
];

export type Step = StepAction & {
  /** Position in the steps list, 0-based. */
  index: number;
  label: string;
  timeoutMs: number;
  expect: 'ok' | 'error';
};

export interface Timeouts {
  stepMs: number;
  rebootMs: number;
  bootMs: number;
  totalMs?: number;
}

export interface Scenario {
  file: string;
  name: string;
  description: string;
  reboot: RebootMode;
  /** Infinity when only `duration` bounds the run. */
  iterations: number;
  durationMs?: number;
  /** Longest random wait before each kexec-exec. */
  jitterMs?: number;
  seed?: number;
  timeouts: Timeouts;
  targets: TargetSpec[];
  devices: DeviceSpec[];
  buffers: BufferSpec[];
  steps: Step[];
}

/** Slack on top of a sleep's own length before it counts as hung. */
const SLEEP_SLACK_MS = 10_000;

/** Builds the model from data that passed validation (so every access here is safe). */
export function toScenario(file: string, data: any): Scenario {
  const timeouts: Timeouts = {
    stepMs: ms(data.timeouts.step),
    rebootMs: ms(data.timeouts.reboot),
    bootMs: ms(data.timeouts.boot),
    ...(data.timeouts.total ? { totalMs: ms(data.timeouts.total) } : {}),
  };
  const devices = Object.entries<any>(data.devices ?? {}).map(([name, d]): DeviceSpec => ({
    name,
    ...(d.bdf ? { bdf: normaliseBdf(d.bdf) } : {}),
    ...(d.id ? { id: d.id.toLowerCase() } : {}),
    index: d.index,
    ...(d.vf !== undefined ? { vf: d.vf } : {}),
    driver: d.driver,
    iommu: d.iommu,
    ...(d.target ? { target: d.target } : {}),
    force: d.force,
  }));
  const buffers = Object.entries<any>(data.buffers ?? {}).map(([name, b]): BufferSpec => ({
    name,
    sizeBytes: bytes(b.size),
    backing: b.backing,
    seed: b.seed ?? seedFromName(name),
  }));
  const targets = data.targets
    ? Object.entries<any>(data.targets).map(([name, t]) => toTarget(name, t))
    : [defaultTarget(devices)];
  const steps = (data.steps as any[]).map((raw, index) => toStep(raw, index, timeouts));
  return {
    file,
    name: data.name ?? basename(file).replace(/\.ya?ml$/, ''),
    description: data.description ?? '',
    reboot: data.reboot,
    iterations: data.iterations ?? (data.duration ? Infinity : 1),
    ...(data.duration ? { durationMs: ms(data.duration) } : {}),
    ...(data.jitter ? { jitterMs: ms(data.jitter) } : {}),
    ...(data.seed !== undefined ? { seed: data.seed } : {}),
    timeouts,
    targets,
    devices,
    buffers,
    steps,
  };
}

function toTarget(name: string, t: any): TargetSpec {
  if (t.qemu) {
    const q = t.qemu;
    return {
      kind: 'qemu',
      name,
      kernel: q.kernel,
      ...(q.initrd ? { initrd: q.initrd } : {}),
      next: q.next ?? [q.kernel],
      cmdline: q.cmdline ?? '',
      memoryBytes: bytes(q.memory),
      cpus: q.cpus,
      iommu: q.iommu,
      devices: q.devices ?? [],
    };
  }
  if (t.ssh) {
    const s = t.ssh;
    return { kind: 'ssh', name, ...s, options: s.options ?? [], kernels: s.kernels ?? [] };
  }
  return { kind: 'local', name, disposable: t.local.disposable };
}

/** The embedded default: one QEMU guest with the live-update kernel and the devices the scenario drives. */
export function defaultTarget(devices: DeviceSpec[]): QemuTargetSpec {
  const models: QemuDeviceSpec[] = [];
  for (const model of ['igb', 'edu'] as const) {
    const users = devices.filter((d) => d.driver === model && !d.bdf);
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
    memoryBytes: 2 * 2 ** 30,
    cpus: 1,
    iommu: 'intel',
    devices: models,
  };
}

function toStep(raw: any, index: number, timeouts: Timeouts): Step {
  const kind = STEP_KINDS.find((k) => Object.hasOwn(raw, k))!;
  const a = raw[kind] ?? {};
  let action: StepAction;
  switch (kind) {
    case 'memcpy-start':
      action = {
        kind, device: a.device, from: a.from, to: a.to, count: a.count ?? 1,
        ...(a.size !== undefined ? { sizeBytes: bytes(a.size) } : {}),
        ...(a.unmapped ? { unmapped: a.unmapped } : {}),
      };
      break;
    case 'expect-msi':
      action = { kind, device: a.device, count: a.count, withinMs: ms(a.within) };
      break;
    case 'preserve':
      action = { kind, session: a.session, buffers: a.buffers ?? [], devices: a.devices ?? [] };
      break;
    case 'verify':
      action = { kind, buffers: a.buffers, ...(a.pattern ? { pattern: a.pattern } : {}), ...(a.size !== undefined ? { sizeBytes: bytes(a.size) } : {}) };
      break;
    case 'sleep':
      action = { kind, ms: ms(raw.sleep) };
      break;
    case 'kexec-exec':
      action = { kind };
      break;
    default:
      action = { kind, ...a } as StepAction;
  }
  const defaultTimeout =
    action.kind === 'kexec-exec' ? timeouts.rebootMs : action.kind === 'sleep' ? action.ms + SLEEP_SLACK_MS : timeouts.stepMs;
  return {
    ...action,
    index,
    label: raw.name ?? stepLabel(action),
    timeoutMs: raw.timeout ? ms(raw.timeout) : defaultTimeout,
    expect: raw.expect,
  };
}

export function stepLabel(a: StepAction): string {
  switch (a.kind) {
    case 'bind':
    case 'memcpy-wait':
      return `${a.kind} ${a.device}`;
    case 'map':
      return `map ${a.buffers.join(',')} for ${a.device}`;
    case 'fill':
      return `fill ${a.buffers.join(',')}`;
    case 'memcpy-start':
      return `memcpy-start ${a.device} ${a.unmapped === 'from' ? '(unmapped)' : a.from} -> ${a.unmapped === 'to' ? '(unmapped)' : a.to} x${a.count}`;
    case 'send-msi':
    case 'expect-msi':
      return `${a.kind} ${a.device} x${a.count}`;
    case 'preserve':
      return `preserve ${a.session} [${[...a.buffers, ...a.devices].join(',')}]`;
    case 'kexec-load':
      return `kexec-load ${a.kernel ?? 'next'}`;
    case 'kexec-exec':
      return 'kexec-exec';
    case 'retrieve':
    case 'finish':
      return `${a.kind} ${a.session}`;
    case 'verify':
      return `verify ${a.buffers.join(',')}${a.pattern ? ` as ${a.pattern}` : ''}`;
    case 'sleep':
      return `sleep ${a.ms}ms`;
    case 'corrupt':
      return `corrupt ${a.buffer} at ${a.offset}`;
  }
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

function ms(text: string): number {
  const p = parseDuration(text);
  if (!p.ok) throw new Error(`validated duration did not parse: ${text}`);
  return p.value;
}

function bytes(value: string | number): number {
  const p = parseSize(value);
  if (!p.ok) throw new Error(`validated size did not parse: ${value}`);
  return p.value;
}
