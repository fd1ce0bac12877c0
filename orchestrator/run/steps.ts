// Each scenario step as an agent request. The orchestrator holds the run's
// state (which pattern generation each buffer should hold, what each LUO
// session preserved under which token); the agent only acts and reports.

import type { VerifyReport } from '../../agents/patterns.js';
import type { BufferSpec, DeviceSpec, Scenario, Step } from '../scenario/model.js';
import type { IterationMetrics } from './outcome.js';

export interface PatternRef {
  seed: number;
  generation: number;
}

export interface BufferParam {
  name: string;
  sizeBytes: number;
  backing: BufferSpec['backing'];
}

export interface PreservedBuffer extends BufferParam {
  token: string;
}

/** What the run knows across reboots; the agent of each boot starts empty. */
export class RunState {
  private readonly generations = new Map<string, number>();
  private nextGeneration = 1;
  readonly sessions = new Map<string, PreservedBuffer[]>();
  /** kexecs done so far, which picks the next kernel in a target's list. */
  kexecs = 0;

  constructor(private readonly scenario: Scenario) {}

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
  filled(name: string): PatternRef {
    this.generations.set(name, this.nextGeneration++);
    return this.patternOf(name);
  }

  patternOf(name: string): PatternRef {
    return { seed: this.buffer(name).seed, generation: this.generations.get(name) ?? 0 };
  }
}

/** What an answer makes of a step other than a pass. */
export type Judgement = { verdict: 'fail' | 'skip'; reason: string } | undefined;

export interface AgentCall {
  method: string;
  params: Record<string, unknown>;
  /** Folds the answer into the run's state and metrics, and judges it. */
  accept(result: any, metrics: IterationMetrics): Judgement;
}

const fail = (reason: string): Judgement => ({ verdict: 'fail', reason });

const deviceParam = (d: DeviceSpec) => ({
  name: d.name,
  ...(d.bdf ? { bdf: d.bdf } : {}),
  ...(d.id ? { id: d.id, index: d.index } : {}),
  ...(d.vf !== undefined ? { vf: d.vf } : {}),
  driver: d.driver,
  iommu: d.iommu,
  force: d.force,
});

export const add = (metrics: IterationMetrics, key: 'dmaBytes' | 'verifiedBytes' | 'verifyMs', n: number) => {
  metrics[key] = (metrics[key] ?? 0) + n;
};

/** The request for a step that the agent carries out (all but sleep, kexec-load and kexec-exec). */
export function agentCall(step: Step, state: RunState): AgentCall {
  const none = () => undefined;
  switch (step.kind) {
    case 'bind':
      return { method: 'bind', params: { device: deviceParam(state.device(step.device)) }, accept: none };
    case 'map':
      return { method: 'map', params: { device: step.device, buffers: step.buffers.map((b) => state.bufferParam(b)) }, accept: none };
    case 'fill':
      return {
        method: 'fill',
        params: { buffers: step.buffers.map((b) => ({ ...state.bufferParam(b), pattern: state.filled(b) })) },
        accept: none,
      };
    case 'memcpy-start':
      return {
        method: 'memcpy-start',
        params: { device: step.device, from: step.from, to: step.to, count: step.count, ...(step.sizeBytes ? { sizeBytes: step.sizeBytes } : {}), ...(step.unmapped ? { unmapped: step.unmapped } : {}) },
        accept: none,
      };
    case 'memcpy-wait':
      return {
        method: 'memcpy-wait',
        params: { device: step.device },
        accept: (r: { bytes: number }, m) => {
          add(m, 'dmaBytes', r.bytes);
          return undefined;
        },
      };
    case 'send-msi':
      return {
        method: 'send-msi',
        params: { device: step.device, count: step.count },
        accept: (r: { firstMs?: number }, m) => {
          if (r.firstMs !== undefined) m.msiLatencyMs = r.firstMs;
          return undefined;
        },
      };
    case 'expect-msi':
      return {
        method: 'expect-msi',
        params: { device: step.device, count: step.count, withinMs: step.withinMs },
        accept: (r: { count: number }) => (r.count === step.count ? undefined : fail(`expected exactly ${step.count} MSI(s) within ${step.withinMs} ms, counted ${r.count}`)),
      };
    case 'preserve':
      return {
        method: 'preserve',
        params: { session: step.session, buffers: step.buffers.map((b) => state.bufferParam(b)), devices: step.devices },
        accept: (r: { tokens: Record<string, string>; unsupported: { what: string; errno: string }[] }) => {
          // What was preserved is retrieved later even when something else was refused.
          const kept = step.buffers.filter((b) => r.tokens[b] !== undefined);
          state.sessions.set(step.session, kept.map((b) => ({ ...state.bufferParam(b), token: r.tokens[b]! })));
          if (!r.unsupported.length) return undefined;
          return { verdict: 'skip', reason: `not supported by this kernel: ${r.unsupported.map((u) => `${u.what} (${u.errno})`).join(', ')}` };
        },
      };
    case 'retrieve':
      return { method: 'retrieve', params: { session: step.session, buffers: state.sessions.get(step.session) ?? [] }, accept: none };
    case 'verify': {
      const checks = step.buffers.map((b) => ({ ...state.bufferParam(b), pattern: state.patternOf(step.pattern ?? b), sizeBytes: Math.min(step.sizeBytes ?? Infinity, state.buffer(b).sizeBytes) }));
      return {
        method: 'verify',
        params: { buffers: checks },
        accept: (r: { reports: Record<string, VerifyReport> }, m) => {
          const problems: string[] = [];
          for (const [name, report] of Object.entries(r.reports)) {
            add(m, 'verifiedBytes', report.bytes);
            add(m, 'verifyMs', report.ms);
            if (report.badBytes > 0) problems.push(describeCorruption(name, report));
          }
          return problems.length ? fail(problems.join('; ')) : undefined;
        },
      };
    }
    case 'finish':
      return {
        method: 'finish',
        params: { session: step.session },
        accept: () => {
          state.sessions.delete(step.session);
          return undefined;
        },
      };
    case 'corrupt':
      return { method: 'corrupt', params: { buffer: step.buffer, offset: step.offset, xor: step.xor }, accept: none };
    case 'sleep':
    case 'kexec-load':
    case 'kexec-exec':
      throw new Error(`${step.kind} is carried out by the orchestrator, not sent as one request`);
  }
}

export function describeCorruption(buffer: string, r: VerifyReport): string {
  const first = r.mismatches[0];
  const where = first ? ` first at offset ${first.offset} (0x${first.offset.toString(16)}): expected ${first.expected}, found ${first.actual}` : '';
  return `buffer ${buffer}: ${r.badBytes} corrupt byte(s) in ${r.badPages} page(s);${where}`;
}
