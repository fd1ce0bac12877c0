// One Target per scenario target spec.

import type { Logger } from '../log.js';
import type { TargetSpec } from '../scenario/model.js';
import type { KernelOptions } from '../../kexec/kernels.js';
import { LocalTarget } from './local.js';
import { QemuTarget } from './qemu/qemu.js';
import type { Target } from './target.js';

export interface TargetContext {
  runDir: string;
  log: Logger;
  /** --kernel: boot this instead of the scenario's kernel (qemu targets). */
  kernelOverride?: string;
  agentLogLevel?: string;
  /** Nothing a run starts outlives it by more than this. */
  hardTimeoutMs?: number;
  kernelOptions?: KernelOptions;
}

export function makeTarget(spec: TargetSpec, ctx: TargetContext): Target {
  switch (spec.kind) {
    case 'qemu':
      return new QemuTarget({ spec, ...ctx });
    case 'local':
      return new LocalTarget({ spec, runDir: ctx.runDir, log: ctx.log, ...(ctx.agentLogLevel ? { agentLogLevel: ctx.agentLogLevel } : {}) });
    case 'ssh':
      throw new Error(`target ${spec.name}: ssh targets are not implemented yet`);
  }
}
