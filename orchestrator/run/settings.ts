// The settings a run goes by, declared once: from the scenario with the
// command line's overrides, kept in the journal's first record so a resumed
// run goes on with exactly the same.

import { randomInt } from 'node:crypto';
import type { Scenario } from '../scenario/model.js';

export interface RunSettings {
  /** Infinity when only the duration bounds the run. */
  iterations: number;
  durationMs?: number;
  keepGoing: boolean;
  /** --kernel: boot and kexec into this instead of the scenario's kernels. */
  kernelOverride?: string;
  /** Seed of the jitter before each kexec-exec. */
  seed: number;
}

/** What the command line may set; the scenario (or a fresh seed) gives the rest. */
export type SettingsOverrides = Partial<Omit<RunSettings, 'keepGoing'>> & Pick<RunSettings, 'keepGoing'>;

export function resolveSettings(scenario: Scenario, o: SettingsOverrides): RunSettings {
  const durationMs = o.durationMs ?? scenario.durationMs;
  return {
    iterations: o.iterations ?? scenario.iterations,
    ...(durationMs !== undefined ? { durationMs } : {}),
    keepGoing: o.keepGoing,
    ...(o.kernelOverride ? { kernelOverride: o.kernelOverride } : {}),
    seed: o.seed ?? scenario.seed ?? randomInt(2 ** 32),
  };
}

/** The settings as the journal keeps them (JSON has no Infinity: unbounded iterations are null). */
export function settingsRecord(s: RunSettings): Record<string, unknown> {
  return { ...s, iterations: Number.isFinite(s.iterations) ? s.iterations : null };
}

export function settingsFromRecord(r: Record<string, unknown>): RunSettings {
  return {
    iterations: typeof r.iterations === 'number' ? r.iterations : Infinity,
    ...(typeof r.durationMs === 'number' ? { durationMs: r.durationMs } : {}),
    keepGoing: r.keepGoing === true,
    ...(typeof r.kernelOverride === 'string' ? { kernelOverride: r.kernelOverride } : {}),
    seed: Number(r.seed),
  };
}
