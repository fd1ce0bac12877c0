// The run engine: executes a scenario against each of its targets, step by
// step, with deadlines; across a kexec it waits for the new boot's hello and
// measures the blackout; a lost target (panic, exit, silence) fails the
// iteration with its console excerpt and ends that target's run cleanly.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Hello } from '../../agents/facts.js';
import { ERR, RpcError } from '../../agents/protocol.js';
import type { Logger } from '../log.js';
import { kernelForKexec } from '../scenario/plan.js';
import type { Scenario, Step, TargetSpec } from '../scenario/model.js';
import { TargetLostError, type Target } from '../targets/target.js';
import { FAILING_KINDS } from '../targets/console.js';
import type { Journal } from './journal.js';
import { combine, type IterationMetrics, type IterationOutcome, type StepOutcome, type TargetOutcome, type Verdict } from './outcome.js';
import { add, agentCall, RunState } from './steps.js';

export interface RunHooks {
  boot(target: string, hello: Hello): void;
  step(outcome: StepOutcome): void;
  iteration(outcome: IterationOutcome): void;
}

export interface TargetRunOptions {
  scenario: Scenario;
  spec: TargetSpec;
  target: Target;
  journal: Journal;
  log: Logger;
  hooks: RunHooks;
  /** Run-wide limits (the CLI may override the scenario's). */
  iterations: number;
  durationMs?: number;
  keepGoing: boolean;
  /** --kernel: the kernel every kexec of this run loads, unless a step names one. */
  kernelOverride?: string;
  /** Draws the jitter before each kexec-exec (seeded per target). */
  random: () => number;
  /** A resumed run continues here: iterations already in the journal are not run again. */
  resumeAt?: { iteration: number; failures: number; elapsedMs: number };
}

/** How long the agent may take to confirm a kexec-exec before the reboot takes it away. */
const EXEC_ACK_MS = 15_000;
/** After a step's deadline passes, how long a ping may take before the agent counts as gone. */
const LIVENESS_PING_MS = 10_000;

/** The agent answered, and the answer judged the step a failure or a skip. */
class Judged extends Error {
  constructor(readonly verdict: 'fail' | 'skip', reason: string, readonly detail: Record<string, unknown>) {
    super(reason);
  }
}

export async function runTarget(o: TargetRunOptions): Promise<TargetOutcome> {
  const { scenario, spec, target, journal, log, hooks } = o;
  // Time already spent by the run this one resumes counts against duration and total.
  const runStarted = Date.now() - (o.resumeAt?.elapsedMs ?? 0);
  const totalDeadline = scenario.timeouts.totalMs ? runStarted + scenario.timeouts.totalMs : Infinity;
  const steps = scenario.steps.filter((s) => stepRunsOn(s, spec.name, scenario));
  const state = new RunState(scenario);
  let failures = o.resumeAt?.failures ?? 0;
  let iterationsRun = (o.resumeAt?.iteration ?? 1) - 1;

  const firstIteration = o.resumeAt?.iteration ?? 1;
  if (firstIteration > o.iterations || (o.durationMs !== undefined && Date.now() - runStarted >= o.durationMs)) {
    return finish({ target: spec.name, verdict: failures ? 'fail' : 'pass', iterations: iterationsRun, failures });
  }
  let hello: Hello;
  const bootStarted = Date.now();
  try {
    hello = await target.start(scenario.timeouts.bootMs);
  } catch (e) {
    const reason = e instanceof TargetLostError ? e.message : `cannot start: ${(e as Error).message}`;
    const excerpt = e instanceof TargetLostError ? e.excerpt : [];
    const outcome: StepOutcome = { target: spec.name, iteration: iterationsRun + 1, step: 0, kind: 'boot', label: 'boot', verdict: 'fail', reason, startedAt: bootStarted, ms: Date.now() - bootStarted, excerpt };
    journal.append({ type: 'step', at: Date.now(), ...outcome });
    hooks.step(outcome);
    await target.stop();
    return finish({ target: spec.name, verdict: 'fail', iterations: iterationsRun, failures: failures + 1, untestable: reason });
  }
  let bootId = hello.bootId;
  journal.append({ type: 'boot', at: Date.now(), target: spec.name, bootId, release: hello.release });
  hooks.boot(spec.name, hello);

  /** A request raced against the loss of the target; the loser's rejection is swallowed. */
  const call = <T>(method: string, params: unknown, timeoutMs: number): Promise<T> => {
    const request = target.rpc.request<T>(method, params, timeoutMs);
    const lost = target.whenLost().then((l) => Promise.reject(l));
    request.catch(() => {});
    lost.catch(() => {});
    return Promise.race([request, lost]);
  };

  const kexecExec = async (step: Step, metrics: IterationMetrics): Promise<Record<string, unknown>> => {
    const sent = Date.now();
    const ack = call<{ inFlight?: { dma?: { bytesDone: number }[] } }>('kexec-exec', {}, EXEC_ACK_MS).then(
      (r) => ({ at: Date.now(), dmaInFlight: r.inFlight?.dma ?? [] }),
      (e: unknown) => {
        // No answer is normal when the reboot wins the race with the reply; a refusal is not.
        if (e instanceof RpcError && e.code !== ERR.deadline && !e.data.lost) throw e;
        if (e instanceof TargetLostError) throw e;
        return undefined;
      },
    );
    // The agent answers before it calls reboot(2); if that call returns, it says so in a notification.
    let stopListening = () => {};
    const refused = new Promise<never>((_, reject) => {
      stopListening = target.rpc.onNotification((method, params) => {
        if (method === 'kexec-failed') reject(new RpcError(ERR.failed, params?.message ?? 'the kernel did not execute the loaded image', params ?? {}));
      });
    });
    refused.catch(() => {});
    const next = Promise.race([target.waitForHello(step.timeoutMs, bootId), refused]).then((h) => ({ hello: h, at: Date.now() }));
    next.catch(() => {});
    let acked: { at: number; dmaInFlight: { bytesDone: number }[] } | undefined;
    let newHello: Hello;
    let at: number;
    try {
      const first = await Promise.race([ack.then((a) => ({ ack: a })), next.then((n) => ({ next: n }))]);
      acked = 'ack' in first ? first.ack : undefined;
      ({ hello: newHello, at } = await next);
    } finally {
      stopListening();
    }
    const instant = acked?.at ?? sent;
    metrics.blackoutMs = at - instant;
    // DMA still running at the exec: what it moved up to then counts as this iteration's.
    for (const d of acked?.dmaInFlight ?? []) add(metrics, 'dmaBytes', d.bytesDone);
    target.rpc.abandon('the machine rebooted');
    state.kexecs++;
    log.info({ target: spec.name, from: bootId, to: newHello.bootId, blackoutMs: metrics.blackoutMs }, 'rebooted');
    bootId = newHello.bootId;
    journal.append({ type: 'boot', at, target: spec.name, bootId, release: newHello.release });
    hooks.boot(spec.name, newHello);
    return { blackoutMs: metrics.blackoutMs, bootId, release: newHello.release, ...(acked ? { dmaInFlight: acked.dmaInFlight } : { instantApproximate: true }) };
  };

  const perform = async (step: Step, metrics: IterationMetrics): Promise<Record<string, unknown>> => {
    switch (step.kind) {
      case 'sleep':
        await Promise.race([sleep(step.ms), target.whenLost().then((l) => Promise.reject(l))]);
        return { ms: step.ms };
      case 'kexec-load': {
        const ref = step.kernel ?? o.kernelOverride ?? kernelForKexec(spec, state.kexecs);
        const image = await target.kexecImage(ref, { initrd: step.initrd, cmdline: step.cmdline });
        return call<Record<string, unknown>>('kexec-load', image, step.timeoutMs);
      }
      case 'kexec-exec':
        if (scenario.jitterMs) {
          metrics.jitterMs = Math.floor(o.random() * (scenario.jitterMs + 1));
          await Promise.race([sleep(metrics.jitterMs), target.whenLost().then((l) => Promise.reject(l))]);
        }
        return kexecExec(step, metrics);
      default: {
        const c = agentCall(step, state);
        const result = await call<Record<string, unknown>>(c.method, c.params, step.timeoutMs);
        const judged = c.accept(result, metrics);
        if (judged) throw new Judged(judged.verdict, judged.reason, result);
        return result;
      }
    }
  };

  const runStep = async (step: Step, iteration: number, metrics: IterationMetrics): Promise<{ outcome: StepOutcome; lost: boolean }> => {
    const startedAt = Date.now();
    const base = { target: spec.name, iteration, step: step.index + 1, kind: step.kind, label: step.label, startedAt };
    const done = (verdict: Verdict, reason: string, detail?: Record<string, unknown>, excerpt?: string[]): StepOutcome => ({
      ...base,
      verdict,
      reason,
      ms: Date.now() - startedAt,
      ...(detail ? { detail } : {}),
      ...(excerpt?.length ? { excerpt } : {}),
    });
    const failedAsExpected = (reason: string, detail?: Record<string, unknown>) =>
      step.expect === 'error' ? done('pass', `failed as expected: ${reason}`, detail) : done('fail', reason, detail);
    const eventsBefore = target.consoleEvents().length;
    try {
      if (Date.now() > totalDeadline) throw new TargetLostError(spec.name, 'deadline', `the run's total deadline (${scenario.timeouts.totalMs} ms) passed`);
      const detail = await perform(step, metrics);
      const events = target.consoleEvents().slice(eventsBefore);
      const failing = events.find((ev) => FAILING_KINDS.has(ev.kind));
      if (failing) return { outcome: done('fail', `kernel ${failing.kind} during this step: ${failing.text.trim()}`, { ...detail, console: events }, target.consoleExcerpt(failing)), lost: false };
      const noted = events.length ? { console: events } : {};
      return { outcome: step.expect === 'error' ? done('fail', 'expected an error, but the step succeeded', { ...detail, ...noted }) : done('pass', '', { ...detail, ...noted }), lost: false };
    } catch (e) {
      if (e instanceof TargetLostError) return { outcome: done('fail', e.message, { reason: e.reason }, e.excerpt), lost: true };
      if (e instanceof Judged) return { outcome: e.verdict === 'skip' ? done('skip', e.message, e.detail) : failedAsExpected(e.message, e.detail), lost: false };
      if (e instanceof RpcError) {
        if (e.code === ERR.unsupported) return { outcome: done('skip', e.message, e.data), lost: false };
        if (e.code === ERR.deadline) {
          const alive = await call('ping', {}, LIVENESS_PING_MS).then(() => true, () => false);
          const reason = `timed out after ${step.timeoutMs} ms${alive ? '' : '; the agent no longer answers'}`;
          return { outcome: done('fail', reason, e.data, alive ? undefined : target.consoleExcerpt()), lost: !alive };
        }
        return { outcome: failedAsExpected(e.message, e.data), lost: false };
      }
      // Preparing the step failed on this side (a kernel file that does not exist, say): the step fails, the run goes on.
      return { outcome: failedAsExpected(e instanceof Error ? e.message : String(e)), lost: false };
    }
  };

  let lost = false;
  for (let iteration = firstIteration; iteration <= o.iterations && !lost; iteration++) {
    if (o.durationMs !== undefined && Date.now() - runStarted >= o.durationMs) break;
    const iterationStarted = Date.now();
    const metrics: IterationMetrics = {};
    const verdicts: Verdict[] = [];
    let stoppedAt: number | undefined;
    for (const step of steps) {
      if (stoppedAt !== undefined) {
        const outcome: StepOutcome = { target: spec.name, iteration, step: step.index + 1, kind: step.kind, label: step.label, verdict: 'skip', reason: `not reached: step ${stoppedAt} failed`, startedAt: Date.now(), ms: 0 };
        journal.append({ type: 'step', at: Date.now(), ...outcome });
        hooks.step(outcome);
        continue;
      }
      const r = await runStep(step, iteration, metrics);
      journal.append({ type: 'step', at: Date.now(), ...r.outcome });
      hooks.step(r.outcome);
      verdicts.push(r.outcome.verdict);
      if (r.lost) lost = true;
      if (r.outcome.verdict === 'fail') stoppedAt = step.index + 1;
    }
    if (!lost) await releaseIteration(call, metrics, log, spec.name);
    if (metrics.verifyMs) metrics.verifyGBps = (metrics.verifiedBytes ?? 0) / metrics.verifyMs / 1e6;
    const outcome: IterationOutcome = { target: spec.name, iteration, verdict: combine(verdicts), ms: Date.now() - iterationStarted, metrics };
    journal.append({ type: 'iteration', at: Date.now(), ...outcome });
    hooks.iteration(outcome);
    iterationsRun++;
    if (outcome.verdict === 'fail') {
      failures++;
      if (!o.keepGoing) break;
    }
  }
  await target.stop();
  return finish({ target: spec.name, verdict: failures ? 'fail' : 'pass', iterations: iterationsRun, failures });

  function finish(outcome: TargetOutcome): TargetOutcome {
    journal.append({ type: 'target', at: Date.now(), ...outcome });
    return outcome;
  }
}

/** Each iteration starts from a clean agent: what it still holds is let go (devices back to their drivers). */
async function releaseIteration(call: <T>(m: string, p: unknown, t: number) => Promise<T>, metrics: IterationMetrics, log: Logger, target: string): Promise<void> {
  try {
    await call('release', {}, 60_000);
    const stats = await call<{ rssBytes: number }>('stats', {}, 10_000);
    metrics.agentRssBytes = stats.rssBytes;
  } catch (e) {
    log.warn({ target, err: (e as Error).message }, 'releasing the iteration failed');
  }
}

/** A step that uses a device pinned to another target does not run here. */
function stepRunsOn(step: Step, target: string, scenario: Scenario): boolean {
  const devices = 'device' in step ? [step.device] : step.kind === 'preserve' ? step.devices : [];
  return devices.every((d) => {
    const spec = scenario.devices.find((x) => x.name === d);
    return !spec?.target || spec.target === target;
  });
}
