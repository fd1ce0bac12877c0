// The run engine: executes a scenario against one of its targets, step by
// step, each by its kind's module (steps/), with deadlines; across a kexec it
// follows the machine into its new boot (reboot.ts); a lost target (panic,
// exit, silence) fails the iteration with its console excerpt and ends that
// target's run cleanly.

import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentMethod, AgentParams, AgentResult, Hello, MachineFacts } from '../../contract/agent.js';
import { ERR, RpcError } from '../../contract/rpc.js';
import { bootFacts, type BootProbe } from '../../contract/facts.js';
import type { Logger } from '../log.js';
import type { Scenario, Step } from '../scenario/model.js';
import { expectedDisposable, type TargetSpec } from '../scenario/spec.js';
import type { RunContext } from '../steps/define.js';
import { definitionOf } from '../steps/index.js';
import { FAILING_KINDS } from '../targets/console.js';
import { TargetLostError, type Target } from '../targets/target.js';
import type { Journal } from './journal.js';
import {
  combine,
  type IterationMetrics,
  type IterationOutcome,
  type StepOutcome,
  type TargetOutcome,
  type Verdict,
} from './outcome.js';
import { followReboot } from './reboot.js';
import type { RunSettings } from './settings.js';
import { RunState } from './state.js';

export interface RunHooks {
  /** A boot's hello, with its facts (its kernel build's first boot in the run) or the boot that had them. */
  boot(target: string, hello: Hello, probe: BootProbe): void;
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
  settings: RunSettings;
  /** Draws the jitter before each kexec-exec (seeded per target). */
  random: () => number;
  /** A resumed run continues here: iterations already in the journal are not run again. */
  resumeAt?: { iteration: number; failures: number; elapsedMs: number };
}

/** After a step's deadline passes, how long a ping may take before the agent counts as gone. */
const LIVENESS_PING_MS = 10_000;
/** How long letting go of an iteration may take (devices back to their drivers). */
const RELEASE_MS = 60_000;

export async function runTarget(o: TargetRunOptions): Promise<TargetOutcome> {
  const { scenario, spec, target, journal, log, hooks, settings } = o;
  // Time already spent by the run this one resumes counts against duration and total.
  const runStarted = Date.now() - (o.resumeAt?.elapsedMs ?? 0);
  const totalDeadline = scenario.timeouts.totalMs ? runStarted + scenario.timeouts.totalMs : Infinity;
  const steps = scenario.steps.filter((s) => stepRunsOn(s, spec.name, scenario));
  const state = new RunState(scenario);
  let failures = o.resumeAt?.failures ?? 0;
  let iterationsRun = (o.resumeAt?.iteration ?? 1) - 1;
  const finish = (outcome: TargetOutcome): TargetOutcome => {
    journal.append({ type: 'target', at: Date.now(), ...outcome });
    return outcome;
  };
  const timeIsUp = () => settings.durationMs !== undefined && Date.now() - runStarted >= settings.durationMs;

  const firstIteration = o.resumeAt?.iteration ?? 1;
  if (firstIteration > settings.iterations || timeIsUp()) {
    return finish({ target: spec.name, verdict: failures ? 'fail' : 'pass', iterations: iterationsRun, failures });
  }
  let hello: Hello;
  let firstProbe: BootProbe;
  const bootStarted = Date.now();
  /**
   * Kernel builds (/proc/version) with the command line they booted with, and the boot whose facts this run asked
   * for: what a kernel offers is the same at each boot of one build, so a kexec into it again does not probe it again
   * (under TCG that is 65-90 ms of every reboot, in the blackout).
   */
  const probedBuilds = new Map<string, string>();
  const probe = async (h: Hello, ask: () => Promise<MachineFacts>): Promise<BootProbe> => {
    const build = `${h.version}\n${h.cmdline}`;
    const probedAt = probedBuilds.get(build);
    if (probedAt !== undefined) return { sameBuildAs: probedAt };
    const facts = await ask();
    probedBuilds.set(build, h.bootId);
    return { facts };
  };
  /** The agent must agree with the scenario on whether the machine is disposable, at every boot. */
  const mustAgree = (h: Hello): Hello => {
    const expected = expectedDisposable(spec);
    if (h.disposable === expected) return h;
    const says = h.disposable ? 'says this machine is disposable' : 'says this machine is not disposable';
    const wanted = spec.kind === 'qemu' ? 'a lustress guest is' : `the scenario says disposable: ${expected}`;
    throw new TargetLostError(
      spec.name,
      'unsafe',
      `the agent ${says}, but ${wanted}: no step runs on a machine whose safety is in doubt`,
    );
  };
  try {
    hello = mustAgree(await target.start(scenario.timeouts.bootMs));
    firstProbe = await probe(hello, () => target.rpc.request('facts', {}, scenario.timeouts.bootMs));
  } catch (e) {
    const reason = e instanceof TargetLostError ? e.message : `cannot start: ${(e as Error).message}`;
    const excerpt = e instanceof TargetLostError ? e.excerpt : [];
    const outcome: StepOutcome = {
      target: spec.name,
      iteration: iterationsRun + 1,
      step: 0,
      kind: 'boot',
      label: 'boot',
      verdict: 'fail',
      reason,
      startedAt: bootStarted,
      ms: Date.now() - bootStarted,
      excerpt,
    };
    journal.append({ type: 'step', at: Date.now(), ...outcome });
    hooks.step(outcome);
    await target.stop();
    return finish({
      target: spec.name,
      verdict: 'fail',
      iterations: iterationsRun,
      failures: failures + 1,
      untestable: reason,
    });
  }
  let bootId = hello.bootId;
  /** When the last reboot's hello came, until the first step after it answers. */
  let firstAnswerFrom: number | undefined;
  journal.append({ type: 'boot', at: Date.now(), target: spec.name, ...bootFacts(hello, firstProbe) });
  hooks.boot(spec.name, hello, firstProbe);

  /** A promise raced against the loss of the target; the loser's rejection is swallowed. */
  const unlessLost = <T>(p: Promise<T>): Promise<T> => {
    const lost = target.whenLost().then((l) => Promise.reject(l));
    p.catch(() => {});
    lost.catch(() => {});
    return Promise.race([p, lost]);
  };
  const call = <M extends AgentMethod>(method: M, params: AgentParams<M>, timeoutMs: number): Promise<AgentResult<M>> =>
    unlessLost(target.rpc.request(method, params, timeoutMs));

  const context = (step: Step, metrics: IterationMetrics): RunContext => ({
    target,
    spec,
    state,
    metrics,
    log,
    kernelOverride: settings.kernelOverride,
    jitterMs: scenario.jitterMs,
    random: o.random,
    call: (method, params) => call(method, params, step.timeoutMs),
    sleep: (ms) => unlessLost(sleep(ms)),
    reboot: async (request) => {
      const r = await followReboot(
        {
          execute: (timeoutMs) => call('kexec-exec', request, timeoutMs),
          onKexecFailed: (fn) => target.rpc.on('kexec-failed', fn),
          waitForHello: (deadlineMs, previous) => target.waitForHello(deadlineMs, previous),
        },
        bootId,
        step.timeoutMs,
      );
      mustAgree(r.hello);
      target.rpc.abandon('the machine rebooted');
      state.kexecs++;
      state.newBoot();
      log.info({ target: spec.name, from: bootId, to: r.hello.bootId, blackoutMs: r.blackoutMs }, 'rebooted');
      bootId = r.hello.bootId;
      firstAnswerFrom = r.at;
      const bootProbe = await probe(r.hello, () => call('facts', {}, step.timeoutMs));
      journal.append({ type: 'boot', at: r.at, target: spec.name, ...bootFacts(r.hello, bootProbe) });
      hooks.boot(spec.name, r.hello, bootProbe);
      return {
        blackoutMs: r.blackoutMs,
        bootId,
        release: r.hello.release,
        ...(r.dmaInFlight ? { dmaInFlight: r.dmaInFlight } : {}),
        ...(r.interruptsOff ? { interruptsOff: r.interruptsOff } : {}),
        ...(r.breakdown ? { breakdown: r.breakdown } : {}),
      };
    },
  });

  const runStep = async (
    step: Step,
    iteration: number,
    metrics: IterationMetrics,
  ): Promise<{ outcome: StepOutcome; lost: boolean }> => {
    const startedAt = Date.now();
    const base = { target: spec.name, iteration, step: step.index + 1, kind: step.kind, label: step.label, startedAt };
    const done = (verdict: Verdict, reason: string, detail?: object, excerpt?: string[]): StepOutcome => ({
      ...base,
      verdict,
      reason,
      ms: Date.now() - startedAt,
      ...(detail ? { detail: detail as Record<string, unknown> } : {}),
      ...(excerpt?.length ? { excerpt } : {}),
    });
    const failedAsExpected = (reason: string, detail?: object) =>
      step.expect === 'error' ? done('pass', `failed as expected: ${reason}`, detail) : done('fail', reason, detail);
    const eventsBefore = target.consoleEvents().length;
    try {
      if (Date.now() > totalDeadline)
        throw new TargetLostError(
          spec.name,
          'deadline',
          `the run's total deadline (${scenario.timeouts.totalMs} ms) passed`,
        );
      const definition = definitionOf(step.kind);
      // A device a live update should have carried and did not: what uses it cannot run in this boot.
      const absent = (definition.devices?.(step) ?? []).map((d) => state.absent.get(d)).find(Boolean);
      if (absent) {
        definition.skipped?.(step, state, absent);
        return { outcome: done('skip', absent), lost: false };
      }
      const r = await definition.run(step, context(step, metrics));
      if (firstAnswerFrom !== undefined && !definition.reboots) {
        metrics.firstAnswerMs = Date.now() - firstAnswerFrom;
        firstAnswerFrom = undefined;
      }
      if (r.skip !== undefined) return { outcome: done('skip', r.skip, r.detail), lost: false };
      if (r.fail !== undefined) return { outcome: failedAsExpected(r.fail, r.detail), lost: false };
      const events = target.consoleEvents().slice(eventsBefore);
      const noted = events.length ? { console: events } : {};
      const failing = events.find((ev) => FAILING_KINDS.has(ev.kind));
      if (failing)
        return {
          outcome: done(
            'fail',
            `kernel ${failing.kind} during this step: ${failing.text.trim()}`,
            { ...r.detail, ...noted },
            target.consoleExcerpt(failing),
          ),
          lost: false,
        };
      if (step.expect === 'error')
        return {
          outcome: done('fail', 'expected an error, but the step succeeded', { ...r.detail, ...noted }),
          lost: false,
        };
      return { outcome: done('pass', '', { ...r.detail, ...noted }), lost: false };
    } catch (e) {
      if (e instanceof TargetLostError)
        return { outcome: done('fail', e.message, { reason: e.reason }, e.excerpt), lost: true };
      if (e instanceof RpcError) {
        if (e.code === ERR.unsupported) return { outcome: done('skip', e.message, e.data), lost: false };
        if (e.code === ERR.deadline) {
          const alive = await call('ping', {}, LIVENESS_PING_MS).then(
            () => true,
            () => false,
          );
          const reason = `timed out after ${step.timeoutMs} ms${alive ? '' : '; the agent no longer answers'}`;
          return { outcome: done('fail', reason, e.data, alive ? undefined : target.consoleExcerpt()), lost: !alive };
        }
        return { outcome: failedAsExpected(e.message, e.data), lost: false };
      }
      // Preparing the step failed on this side (a kernel file that does not exist, say): the step fails, the run goes
      // on.
      return { outcome: failedAsExpected(e instanceof Error ? e.message : String(e)), lost: false };
    }
  };

  const record = (outcome: StepOutcome) => {
    journal.append({ type: 'step', at: Date.now(), ...outcome });
    hooks.step(outcome);
  };

  let lost = false;
  for (let iteration = firstIteration; iteration <= settings.iterations && !lost; iteration++) {
    if (timeIsUp()) break;
    const iterationStarted = Date.now();
    const metrics: IterationMetrics = {};
    const verdicts: Verdict[] = [];
    let stoppedAt: number | undefined;
    for (const step of steps) {
      if (stoppedAt !== undefined) {
        record({
          target: spec.name,
          iteration,
          step: step.index + 1,
          kind: step.kind,
          label: step.label,
          verdict: 'skip',
          reason: `not reached: step ${stoppedAt} failed`,
          startedAt: Date.now(),
          ms: 0,
        });
        continue;
      }
      const r = await runStep(step, iteration, metrics);
      record(r.outcome);
      verdicts.push(r.outcome.verdict);
      if (r.lost) lost = true;
      if (r.outcome.verdict === 'fail') stoppedAt = step.index + 1;
    }
    if (!lost) await releaseIteration(metrics);
    if (metrics.verifyMs) metrics.verifyGBps = (metrics.verifiedBytes ?? 0) / metrics.verifyMs / 1e6;
    const outcome: IterationOutcome = {
      target: spec.name,
      iteration,
      verdict: combine(verdicts),
      ms: Date.now() - iterationStarted,
      metrics,
    };
    journal.append({ type: 'iteration', at: Date.now(), ...outcome });
    hooks.iteration(outcome);
    iterationsRun++;
    if (outcome.verdict === 'fail') {
      failures++;
      if (!settings.keepGoing) break;
    }
  }
  await target.stop();
  return finish({ target: spec.name, verdict: failures ? 'fail' : 'pass', iterations: iterationsRun, failures });

  /** Each iteration starts from a clean agent: what it still holds is let go (devices back to their drivers). */
  async function releaseIteration(metrics: IterationMetrics): Promise<void> {
    state.newBoot();
    try {
      await call('release', {}, RELEASE_MS);
      metrics.agentRssBytes = (await call('stats', {}, LIVENESS_PING_MS)).rssBytes;
    } catch (e) {
      log.warn({ target: spec.name, err: (e as Error).message }, 'releasing the iteration failed');
    }
  }
}

/** A step that uses a device pinned to another target does not run here. */
function stepRunsOn(step: Step, target: string, scenario: Scenario): boolean {
  const devices = definitionOf(step.kind).devices?.(step) ?? [];
  return devices.every((d) => {
    const spec = scenario.devices.find((x) => x.name === d);
    return !spec?.target || spec.target === target;
  });
}
