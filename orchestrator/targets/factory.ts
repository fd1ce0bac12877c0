// One Target per scenario target spec.

import type { TargetSpec } from '../scenario/spec.js';
import { LocalTarget } from './local.js';
import { QemuTarget } from './qemu/qemu.js';
import { SshTarget } from './ssh.js';
import type { Target, TargetContext } from './target.js';

export function makeTarget(spec: TargetSpec, ctx: TargetContext): Target {
  switch (spec.kind) {
    case 'qemu':
      return new QemuTarget({ spec, ...ctx });
    case 'local':
      return new LocalTarget({ spec, ...ctx });
    case 'ssh':
      return new SshTarget({ spec, ...ctx });
  }
}
