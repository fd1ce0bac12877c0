// What a run knows across reboots, per target: which pattern generation each
// buffer should hold (and what wrote it), what each LUO session preserved
// under which token, which copies this boot left running, how many kexecs
// happened. The agent of each boot starts empty; this does not.

import type {
  BufferParam,
  CopyCheck,
  DmaInFlight,
  PatternId,
  PreservedBuffer,
  PreservedDevice,
} from '../../contract/agent.js';

/** Fills of a buffer remembered: a copy's destination may hold pieces of any of them (a handful per iteration). */
const KEPT_GENERATIONS = 8;
import type { BufferSpec, DeviceSpec } from '../scenario/spec.js';

/** What a session carried, under which tokens, and what it was refused. */
export interface PreservedSession {
  buffers: PreservedBuffer[];
  devices: (Omit<PreservedDevice, 'device'> & { name: string })[];
  /** Device name -> why the kernel would not take it. */
  refused: Map<string, string>;
}

export class RunState {
  /** Buffer -> the generations of its last few fills, newest last. */
  private readonly generations = new Map<string, number[]>();
  private readonly writers = new Map<string, string>();
  private nextGeneration = 1;
  /** Copies started in this boot and not waited for: device -> source buffer. */
  readonly copying = new Map<string, string>();
  readonly sessions = new Map<string, PreservedSession>();
  /** Devices not there in this boot, and why (a session that should have carried them did not): their steps SKIP. */
  readonly absent = new Map<string, string>();
  /** Buffers a copy should have written in this boot and did not (it was SKIPped), and why. */
  readonly unwritten = new Map<string, string>();
  /** What the last kexec-exec said was still copying when it came. */
  inFlightAtExec: DmaInFlight[] = [];
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

  /** What belongs to one boot is gone: copies running, devices missing, what the exec interrupted. */
  newBoot(): void {
    this.copying.clear();
    this.absent.clear();
    this.unwritten.clear();
  }

  /** A fresh generation for a fill by `writer` (a step's label), so a stale copy of an older fill never verifies. */
  filled(name: string, writer: string): PatternId {
    const kept = this.generations.get(name) ?? [];
    this.generations.set(name, [...kept.slice(1 - KEPT_GENERATIONS), this.nextGeneration++]);
    this.writers.set(name, writer);
    this.unwritten.delete(name);
    return this.patternOf(name);
  }

  /** What a copy from `name` may have left: its newest pattern, and the generations before it. */
  copyCheckOf(name: string): CopyCheck {
    const kept = this.generations.get(name) ?? [0];
    return { ...this.patternOf(name), earlier: kept.slice(0, -1) };
  }

  /** What wrote the buffer's current pattern. */
  writerOf(name: string): string {
    return this.writers.get(name) ?? 'nothing yet';
  }

  patternOf(name: string): PatternId {
    return { seed: this.buffer(name).seed, generation: this.generations.get(name)?.at(-1) ?? 0 };
  }
}
