// What the orchestrator knows about one step kind, in one module per kind
// (steps/<kind>.ts): its model from the parsed YAML, its label, its
// semantic checks, how it runs (usually: one typed agent call) and how the
// answer is judged. The registry (steps/index.ts) gathers them; the loader,
// the checker, the plan and the engine ask the registry and never switch on
// kind names.

import type { AgentMethod, AgentParams, AgentResult } from '../../contract/agent.js';
import type { Logger } from '../log.js';
import type { Feature } from '../kernels/kconfig.js';
import type { IterationMetrics } from '../run/outcome.js';
import type { BlackoutBreakdown } from '../run/reboot.js';
import type { RunState } from '../run/state.js';
import type { Flow } from '../scenario/flow.js';
import type { KernelRef, RebootMode, TargetSpec, Timeouts } from '../scenario/spec.js';
import type { Target } from '../targets/target.js';

/** What every step has beside its kind's arguments. */
export interface StepCommon {
  /** Position in the steps list, 0-based. */
  index: number;
  label: string;
  timeoutMs: number;
  expect: 'ok' | 'error';
}

export type Path = (string | number)[];

/** The checker's view of one step: its raw (possibly invalid) arguments, what came before, where to report. */
export interface CheckContext {
  /** The step's arguments when they are a mapping, else {}: every access is guarded by the checks. */
  readonly args: Record<string, any>;
  /** The value under the kind key as written (a mapping, a scalar, null). */
  readonly raw: unknown;
  readonly index: number;
  readonly expectsError: boolean;
  readonly reboot: RebootMode;
  readonly flow: Flow;
  /** A problem at `path` below the step's kind key (`[]` is the key itself). */
  report(path: Path, message: string, want?: 'key' | 'value'): void;
  /** Whether `name` (at `path`) is a defined device, buffer or target; says so when it is not. */
  mustExist(what: 'device' | 'buffer' | 'target', name: unknown, path: Path): name is string;
  /** The device named by `args[key]` when it is bound in this boot; reports it otherwise. */
  needBound(key?: string): string | undefined;
  /** The defined buffers named in the list `args[key]`; reports the others. */
  bufferList(key: string): string[];
  /** A buffer's size in bytes, where it has a valid one. */
  bufferSize(name: string): number | undefined;
  /** A defined device's iommu mode as written (or its default), and where it is written, for messages. */
  deviceIommu(name: string): { mode: unknown; path: Path };
  isName(value: unknown): value is string;
}

/** What one step's run may use: the typed agent, the run's state, this iteration's metrics. */
export interface RunContext {
  readonly target: Target;
  readonly spec: TargetSpec;
  readonly state: RunState;
  readonly metrics: IterationMetrics;
  readonly log: Logger;
  /** --kernel: what every kexec of the run loads unless a step names a kernel. */
  readonly kernelOverride: string | undefined;
  /** The scenario's jitter bound, and the seeded stream to draw from. */
  readonly jitterMs: number | undefined;
  random(): number;
  /** One agent call within the step's deadline; rejects if the target is lost first. */
  call<M extends AgentMethod>(method: M, params: AgentParams<M>): Promise<AgentResult<M>>;
  /** Waits, unless the target is lost first. */
  sleep(ms: number): Promise<void>;
  /** Executes the loaded kernel (after the agent's last-moment rewrites) and follows the machine into its next boot. */
  reboot(request: AgentParams<'kexec-exec'>): Promise<Rebooted>;
}

export interface Rebooted {
  blackoutMs: number;
  bootId: string;
  release: string;
  /** Copies still running at the exec, with what they had moved by then (absent when the answer lost the race). */
  dmaInFlight?: { device: string; bytesDone: number; batches: number }[];
  /** Preserved devices whose interrupts went off before the exec. */
  interruptsOff?: string[];
  breakdown?: BlackoutBreakdown;
}

/** The outcome of a run: what to record, and a verdict other than pass if the answer calls for one. */
export interface StepResult {
  detail: object;
  fail?: string;
  skip?: string;
}

export interface StepDefinition<K extends string, A extends object> {
  readonly kind: K;
  /** The step's arguments in the model, from data that passed validation (`raw` is the value under the kind key). */
  model(raw: any): A;
  label(step: A): string;
  /** The deadline when the step sets none (default: timeouts.step). */
  timeout?(step: A, timeouts: Timeouts): number;
  /** Devices the step uses: on a target a device is not pinned to, the step does not run. */
  devices?(step: A): string[];
  /** The kernel feature it needs, told before the run to a user whose kernel lacks it. */
  readonly needs?: Feature;
  /** It reboots the machine (the plan counts kexecs by it). */
  readonly reboots?: boolean;
  /** What each target loads at this point of the plan (kexec-load). */
  plannedKernels?(step: A, targets: TargetSpec[], kexecs: number): Record<string, KernelRef>;
  /** Told when the step is SKIPped because a device it uses is absent in this boot (what it would have written). */
  skipped?(step: A & StepCommon, state: RunState, reason: string): void;
  /** Checks a schema cannot express (names that must exist, order); run on partly invalid data too. */
  check(c: CheckContext): void;
  run(step: A & StepCommon, ctx: RunContext): Promise<StepResult>;
}

/** A step kind's definition, its argument type inferred from `model`. */
export function defineStep<K extends string, A extends object>(
  kind: K,
  d: Omit<StepDefinition<K, A>, 'kind'>,
): StepDefinition<K, A> {
  return { kind, ...d };
}

/** A step that is one agent call whose answer needs no judging. */
export function recorded(detail: object): StepResult {
  return { detail };
}
