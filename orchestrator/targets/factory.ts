// One Target per scenario target spec.

import type { Logger } from '../log.js';
import type { TargetSpec } from '../scenario/model.js';
import type { KernelOptions } from '../../kexec/kernels.js';
import { LocalTarget } from './local.js';
import { QemuTarget } from './qemu/qemu.js';
import { SshTarget } from './ssh.js';
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
  /** How long a target may be unreachable across a reboot (ssh reconnects until then). */
  rebootMs: number;
}

export function makeTarget(spec: TargetSpec, ctx: TargetContext): Target {
  switch (spec.kind) {
    case 'qemu':
      return new QemuTarget({ spec, ...ctx });
    case 'local':
      return new LocalTarget({ spec, runDir: ctx.runDir, log: ctx.log, ...(ctx.agentLogLevel ? { agentLogLevel: ctx.agentLogLevel } : {}) });
    case 'ssh':
      return new SshTarget({ spec, runDir: ctx.runDir, log: ctx.log, reconnectMs: ctx.rebootMs, ...(ctx.agentLogLevel ? { agentLogLevel: ctx.agentLogLevel } : {}) });
  }
}
