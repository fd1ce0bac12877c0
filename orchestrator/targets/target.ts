// What the run engine needs from a machine under test, whatever reaches it
// (a QEMU guest, an ssh host, a local child process).

import type { AgentMethods, AgentNotifications, Hello, KexecRequest } from '../../contract/agent.js';
import type { RpcPeer } from '../../contract/rpc.js';
import type { KernelOptions } from '../kernels/kernels.js';
import type { Logger } from '../log.js';
import type { ConsoleEvent } from './console.js';

/** The orchestrator's end of the agent channel: the agent's methods, its notifications. */
export type AgentClient = RpcPeer<AgentMethods, AgentNotifications>;

/** What every kind of target is given, besides its spec. */
export interface TargetContext {
  runDir: string;
  log: Logger;
  agentLogLevel?: string;
  /** --kernel: boot this instead of the scenario's kernel (qemu targets). */
  kernelOverride?: string;
  /** Nothing a run starts outlives it by more than this (qemu targets). */
  hardTimeoutMs?: number;
  kernelOptions?: KernelOptions;
  /** How long a target may be unreachable across a reboot (ssh targets reconnect until then). */
  rebootMs?: number;
}

export type LossReason = 'panic' | 'exited' | 'deadline' | 'disconnected' | 'unsafe';

/** The target stopped answering: it panicked, exited, or said nothing in time. */
export class TargetLostError extends Error {
  constructor(
    readonly target: string,
    readonly reason: LossReason,
    message: string,
    readonly excerpt: string[] = [],
    readonly events: ConsoleEvent[] = [],
  ) {
    super(`${target}: ${message}`);
    this.name = 'TargetLostError';
  }
}

export interface Target {
  readonly name: string;
  readonly kind: 'qemu' | 'ssh' | 'local';
  /** Boots or reaches the machine and resolves with its agent's first hello. */
  start(deadlineMs: number): Promise<Hello>;
  /** The agent channel; valid after start. */
  readonly rpc: AgentClient;
  /** The next hello from a boot other than `previousBootId`, or a TargetLostError. */
  waitForHello(deadlineMs: number, previousBootId?: string): Promise<Hello>;
  /** Resolves (never rejects) when the machine is gone: exited, panicked, disconnected. */
  whenLost(): Promise<TargetLostError>;
  /** Console events (panics, Oopses, warnings) seen since start; empty where there is no console. */
  consoleEvents(): ConsoleEvent[];
  consoleExcerpt(event?: ConsoleEvent): string[];
  /** The kernel, initrd and command line a kexec into `ref` loads on this target (paths as the target sees them). */
  kexecImage(ref: string, extra: { initrd?: string; cmdline?: string }): Promise<KexecRequest>;
  stop(): Promise<void>;
}
