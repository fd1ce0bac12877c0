// What a run knows across reboots, per target: which pattern generation each
// buffer should hold, what each LUO session preserved under which token, how
// many kexecs happened. The agent of each boot starts empty; this does not.

import type { BufferParam, PatternId, PreservedBuffer } from '../../contract/agent.js';
import type { BufferSpec, DeviceSpec } from '../scenario/spec.js';

export class RunState {
  private readonly generations = new Map<string, number>();
  private nextGeneration = 1;
  readonly sessions = new Map<string, PreservedBuffer[]>();
  /** kexecs done so far, which picks the next kernel in a target's list. */
  kexecs = 0;

  constructor(private readonly scenario: { buffers: BufferSpec[]; devices: DeviceSpec[] }) {}

  buffer(name: string): BufferSpec {
    const b = this.scenario.buffers.find((x) => x.name === name);
    if (!b) throw new Error(`no buffer ${name}`); // the validator guarantees it exists
    return b;
  }

  device(name: string): DeviceSpec {
    const d = this.scenario.devices.find((x) => x.name === name);
    if (!d) throw new Error(`no device ${name}`);
    return d;
  }

  bufferParam(name: string): BufferParam {
    const b = this.buffer(name);
    return { name, sizeBytes: b.sizeBytes, backing: b.backing };
  }

  /** A fresh generation for a fill, so a stale copy of an older fill never verifies. */
  filled(name: string): PatternId {
    this.generations.set(name, this.nextGeneration++);
    return this.patternOf(name);
  }

  patternOf(name: string): PatternId {
    return { seed: this.buffer(name).seed, generation: this.generations.get(name) ?? 0 };
  }
}
