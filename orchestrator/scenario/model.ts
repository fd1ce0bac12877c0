// The scenario as the rest of lustress sees it: names resolved, units parsed,
// defaults (taken from the schema by the validator) filled in, each step
// built by its kind's module (steps/).

import { basename } from 'node:path';
import { driverClaiming } from '../../contract/devices.js';
import { STEP_KINDS, definitionOf, type Step, type StepKind } from '../steps/index.js';
import {
  defaultTarget,
  normaliseBdf,
  seedFromName,
  type BufferSpec,
  type DeviceSpec,
  type RebootMode,
  type TargetSpec,
  type Timeouts,
} from './spec.js';
import { validBytes, validMs } from './units.js';

export type { Step, StepKind };

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

/** Builds the model from data that passed validation (so every access here is safe). */
export function toScenario(file: string, data: any): Scenario {
  const timeouts: Timeouts = {
    stepMs: validMs(data.timeouts.step),
    rebootMs: validMs(data.timeouts.reboot),
    bootMs: validMs(data.timeouts.boot),
    ...(data.timeouts.total ? { totalMs: validMs(data.timeouts.total) } : {}),
  };
  const devices = Object.entries<any>(data.devices ?? {}).map(([name, d]): DeviceSpec => ({
    name,
    ...(d.bdf ? { bdf: normaliseBdf(d.bdf) } : {}),
    ...(d.id ? { id: d.id.toLowerCase() } : {}),
    index: d.index,
    ...(d.vf !== undefined ? { vf: d.vf } : {}),
    // Validated: either given, or an id some driver claims.
    driver: d.driver ?? driverClaiming(d.id)!,
    vfioDriver: d['vfio-driver'],
    iommu: d.iommu,
    ...(d.target ? { target: d.target } : {}),
    force: d.force,
    ...(d.scratch
      ? {
          scratch: {
            namespace: d.scratch.namespace,
            firstLba: d.scratch['first-lba'],
            ...(d.scratch.lbas ? { lbas: d.scratch.lbas } : {}),
          },
        }
      : {}),
  }));
  const buffers = Object.entries<any>(data.buffers ?? {}).map(([name, b]): BufferSpec => ({
    name,
    sizeBytes: validBytes(b.size),
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
    ...(data.duration ? { durationMs: validMs(data.duration) } : {}),
    ...(data.jitter ? { jitterMs: validMs(data.jitter) } : {}),
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
      memoryBytes: validBytes(q.memory),
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

/** The kind of a step mapping: its one key that names a step kind. */
export function kindOf(raw: object): StepKind | undefined {
  return STEP_KINDS.find((k) => Object.hasOwn(raw, k));
}

function toStep(raw: any, index: number, timeouts: Timeouts): Step {
  const def = definitionOf(kindOf(raw)!);
  const args = def.model(raw[def.kind]);
  return {
    kind: def.kind,
    ...args,
    index,
    label: raw.name ?? def.label(args),
    timeoutMs: raw.timeout ? validMs(raw.timeout) : (def.timeout?.(args, timeouts) ?? timeouts.stepMs),
    expect: raw.expect,
  } as Step;
}
