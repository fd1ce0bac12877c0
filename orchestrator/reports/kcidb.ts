// A run as KCIDB JSON, the data KernelCI's common results database takes
// (kcidb-io schema v5.3, kcidb-schema/): a checkout and a build per kernel the
// targets booted, a test per step per iteration with its status, timing,
// console excerpt and the iteration's metrics. The journal is read twice, the
// kernels first and then the steps, written one test per line as they come:
// what is held is a target's current iteration, so a soak of any length
// streams.

import { basename } from 'node:path';
import { scanJournal, type JournalRecord } from '../run/journal.js';
import type { IterationMetrics, StepOutcome, Verdict } from '../run/outcome.js';
import type { LossReason } from '../targets/target.js';

/** The schema version written: kcidb-io's latest (kcidb-schema/v5.3.json). */
export const KCIDB_VERSION = { major: 5, minor: 3 } as const;
/** The CI system's name in every object and id. */
const KCIDB_ORIGIN = 'lustress';
/** The schema's longest log_excerpt, in characters. */
export const LOG_EXCERPT_MAX = 16384;
/** The release key of steps recorded before their target's first boot said hello (a boot that failed). */
const NOT_BOOTED = 'unknown';

export interface KcidbTest {
  id: string;
  origin: string;
  build_id: string;
  path: string;
  status: 'PASS' | 'FAIL' | 'SKIP' | 'ERROR';
  start_time?: string;
  duration?: number;
  comment: string;
  log_excerpt?: string;
  environment: { comment: string };
  misc: {
    target: string;
    iteration: number;
    step: number;
    kind: string;
    label: string;
    reason?: string;
    metrics?: IterationMetrics;
  };
}

/** What the report needs of a run: where its journal is and its scenario's name. */
export interface KcidbRun {
  runDir: string;
  scenario: string;
}

const STATUS: Record<Verdict, KcidbTest['status']> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

/** How the engine records a lost target (TargetLostError): the reason in the detail. */
const LOSS_REASONS: Record<LossReason, true> = {
  panic: true,
  exited: true,
  deadline: true,
  disconnected: true,
  unsafe: true,
};

/** The whole report, written chunk by chunk to `out`. */
export function writeKcidb(run: KcidbRun, out: (text: string) => void): void {
  const runId = basename(run.runDir);
  const kernels = new Set<string>();
  const kernelOfStep = bootTracker();
  scanJournal(run.runDir, (r) => {
    const kernel = kernelOfStep(r);
    if (kernel !== undefined) kernels.add(kernel);
  });
  out(`{\n  "version": ${JSON.stringify(KCIDB_VERSION)},\n  "checkouts": [`);
  list(
    out,
    [...kernels].map((k) => checkout(runId, k)),
  );
  out('],\n  "builds": [');
  list(
    out,
    [...kernels].map((k) => build(runId, k)),
  );
  out('],\n  "tests": [');
  let first = true;
  const emit = (test: KcidbTest) => {
    out(`${first ? '' : ','}\n    ${JSON.stringify(test)}`);
    first = false;
  };
  streamTests(run, runId, emit);
  out(first ? ']\n}\n' : '\n  ]\n}\n');
}

/** Writes objects as the items of a JSON array, one a line. */
function list(out: (text: string) => void, items: object[]): void {
  if (items.length) out(`\n    ${items.map((i) => JSON.stringify(i)).join(',\n    ')}\n  `);
}

/**
 * Follows each target's boots, record by record: for a step, the release of the kernel its target last booted;
 * undefined for other records. A boot that failed (step 0, recorded before any boot of its orchestrator) is on no
 * known kernel: no hello said which.
 */
function bootTracker(): (r: JournalRecord) => string | undefined {
  const booted = new Map<string, string>();
  return (r) => {
    if (r.type === 'boot') booted.set(r.target, r.release || NOT_BOOTED);
    if (r.type !== 'step') return undefined;
    return r.step === 0 ? NOT_BOOTED : (booted.get(r.target) ?? NOT_BOOTED);
  };
}

/** The id of a kernel's checkout and build (two object types: the same id names both). */
const kernelId = (runId: string, release: string) => `${KCIDB_ORIGIN}:${runId}-${release}`;

/** What the journal knows of a kernel's source: the release it reported. */
function checkout(runId: string, release: string): object {
  return {
    id: kernelId(runId, release),
    origin: KCIDB_ORIGIN,
    comment: release === NOT_BOOTED ? 'no kernel said hello (the boot failed)' : `Linux ${text(release)}`,
    misc: { release: text(release) },
  };
}

/** A kernel as built: lustress does not record its build, only what it booted. */
function build(runId: string, release: string): object {
  return {
    id: kernelId(runId, release),
    origin: KCIDB_ORIGIN,
    checkout_id: kernelId(runId, release),
    comment: release === NOT_BOOTED ? 'the kernel of a boot that failed' : `Linux ${text(release)} as booted`,
    misc: { release: text(release) },
  };
}

/**
 * Every step as a test, in journal order per target. A target's steps wait for their iteration's record (it comes
 * after them and carries the metrics); one whose run ended without it (the target's boot failed, or the orchestrator
 * was killed) is written without metrics.
 */
function streamTests(run: KcidbRun, runId: string, emit: (test: KcidbTest) => void): void {
  const pending = new Map<string, KcidbTest[]>();
  /** Per target, the iteration in which it was lost: the steps not reached after that could not run. */
  const lostIn = new Map<string, number>();
  /** Boots recorded per target and iteration: a resumed run may try a failed boot again. */
  const boots = new Map<string, number>();
  const kernelOfStep = bootTracker();
  const flush = (target: string, metricsOf?: { iteration: number; metrics: IterationMetrics }) => {
    for (const test of pending.get(target) ?? []) {
      if (metricsOf && test.misc.iteration === metricsOf.iteration) test.misc.metrics = metricsOf.metrics;
      emit(test);
    }
    pending.delete(target);
  };
  scanJournal(run.runDir, (r) => {
    const kernel = kernelOfStep(r);
    if (r.type === 'step') {
      const { type: _type, at: _at, ...step } = r;
      let id = `${KCIDB_ORIGIN}:${runId}-${step.target}-${step.iteration}-${step.step}`;
      if (step.step === 0) {
        const tries = (boots.get(id) ?? 0) + 1;
        boots.set(id, tries);
        if (tries > 1) id += `.${tries}`;
      }
      if (step.verdict === 'fail' && lostTarget(step)) lostIn.set(step.target, step.iteration);
      const status = step.verdict === 'skip' && lostIn.get(step.target) === step.iteration ? 'ERROR' : undefined;
      const test = kcidbTest(step, id, kernelId(runId, kernel ?? NOT_BOOTED), run.scenario, status);
      (pending.get(step.target) ?? pending.set(step.target, []).get(step.target)!).push(test);
    } else if (r.type === 'iteration') flush(r.target, r);
    else if (r.type === 'target') flush(r.target);
  });
  for (const target of [...pending.keys()]) flush(target);
}

/** Whether the step failed because its target was lost (panicked, exited, fell silent, refused as unsafe). */
function lostTarget(step: StepOutcome): boolean {
  const reason = step.detail?.reason;
  const lost = typeof reason === 'string' && Object.hasOwn(LOSS_REASONS, reason);
  // A step past its deadline whose agent then missed a ping: the engine's words for a target gone silent.
  return (lost && step.reason.startsWith(`${step.target}: `)) || step.reason.endsWith('; the agent no longer answers');
}

/** One step of one iteration as a KCIDB test. */
function kcidbTest(
  step: StepOutcome,
  id: string,
  buildId: string,
  scenario: string,
  status?: KcidbTest['status'],
): KcidbTest {
  const excerpt = step.excerpt?.length ? clip(text(step.excerpt.join('\n')), LOG_EXCERPT_MAX) : undefined;
  return {
    id,
    origin: KCIDB_ORIGIN,
    build_id: buildId,
    path: `${KCIDB_ORIGIN}.${pathNode(scenario)}.${pathNode(step.kind)}`,
    status: status ?? STATUS[step.verdict],
    ...(Number.isFinite(step.startedAt) ? { start_time: new Date(step.startedAt).toISOString() } : {}),
    ...(Number.isFinite(step.ms) ? { duration: step.ms / 1000 } : {}),
    comment: text(step.reason ? `${step.label}: ${step.reason}` : step.label),
    ...(excerpt ? { log_excerpt: excerpt } : {}),
    environment: { comment: text(step.target) },
    misc: {
      target: step.target,
      iteration: step.iteration,
      step: step.step,
      kind: step.kind,
      label: text(step.label),
      ...(step.reason ? { reason: text(step.reason) } : {}),
    },
  };
}

/** A node of a KCIDB path: letters, digits, '_' and '-' only, never empty. */
function pathNode(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
}

/** Text the schema takes: no NUL characters anywhere. */
function text(s: string): string {
  return s.replace(/\0/g, '');
}

/** At most `max` characters (code points, as JSON Schema counts them), cut at a line where one fits, and said so. */
function clip(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  const note = '\n[cut by lustress: the excerpt is longer than KCIDB takes]';
  const kept = chars.slice(0, max - note.length).join('');
  const line = kept.lastIndexOf('\n');
  return (line > 0 ? kept.slice(0, line) : kept) + note;
}
