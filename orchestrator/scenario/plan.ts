// The expanded plan: iterations unrolled (up to a bound), each step with its
// timeout and the worst-case deadline measured from the start of the run.

import { definitionOf } from '../steps/index.js';
import type { Scenario, Step } from './model.js';
import type { KernelRef, TargetSpec } from './spec.js';
import { formatDuration, formatSize } from './units.js';

export interface PlannedStep {
  iteration: number;
  step: number;
  label: string;
  kind: Step['kind'];
  timeoutMs: number;
  /** Worst case: boot deadline plus every earlier step's timeout. */
  deadlineMs: number;
  expect: Step['expect'];
  /** kexec-load only: the kernel each target loads at this point. */
  kernels?: Record<string, KernelRef>;
}

export interface Plan {
  scenario: Scenario;
  iterations: number;
  shownIterations: number;
  steps: PlannedStep[];
  /** Worst case of the iterations shown. */
  shownDeadlineMs: number;
}

export const DEFAULT_PLAN_ITERATIONS = 10;

export function expandPlan(scenario: Scenario, maxIterations = DEFAULT_PLAN_ITERATIONS): Plan {
  const shown = Math.min(scenario.iterations, maxIterations);
  const steps: PlannedStep[] = [];
  let clock = scenario.timeouts.bootMs;
  let kexecs = 0;
  for (let it = 1; it <= shown; it++) {
    for (const s of scenario.steps) {
      clock += s.timeoutMs;
      const planned: PlannedStep = {
        iteration: it,
        step: s.index + 1,
        label: s.label,
        kind: s.kind,
        timeoutMs: s.timeoutMs,
        deadlineMs: clock,
        expect: s.expect,
      };
      const def = definitionOf(s.kind);
      const kernels = def.plannedKernels?.(s, scenario.targets, kexecs);
      if (kernels) planned.kernels = kernels;
      if (def.reboots) kexecs++;
      steps.push(planned);
    }
  }
  return { scenario, iterations: scenario.iterations, shownIterations: shown, steps, shownDeadlineMs: clock };
}

export function formatPlan(plan: Plan): string {
  const s = plan.scenario;
  const out: string[] = [];
  const iterations = Number.isFinite(s.iterations) ? String(s.iterations) : 'unlimited';
  out.push(`scenario ${s.name} (${s.file})`);
  if (s.description) out.push(`  ${s.description.trim()}`);
  out.push(
    `reboot ${s.reboot}; iterations ${iterations}${s.durationMs ? `; duration ${formatDuration(s.durationMs)}` : ''}`,
  );
  const t = s.timeouts;
  out.push(
    `timeouts: step ${formatDuration(t.stepMs)}, reboot ${formatDuration(t.rebootMs)}, boot ${formatDuration(t.bootMs)}${t.totalMs ? `, total ${formatDuration(t.totalMs)}` : ''}`,
  );
  for (const target of s.targets) out.push(`target ${target.name}: ${describeTarget(target)}`);
  for (const d of s.devices) {
    const sel = d.bdf ?? `${d.id} #${d.index}`;
    out.push(
      `device ${d.name}: ${sel}${d.vf !== undefined ? ` vf ${d.vf}` : ''}, driver ${d.driver}, iommu ${d.iommu}${d.target ? `, on ${d.target}` : ''}${d.force ? ', forced' : ''}`,
    );
  }
  for (const b of s.buffers) out.push(`buffer ${b.name}: ${formatSize(b.sizeBytes)} ${b.backing}, seed ${b.seed}`);
  let current = 0;
  for (const p of plan.steps) {
    if (p.iteration !== current) {
      current = p.iteration;
      out.push(`iteration ${current}/${iterations}`);
    }
    const kernels = p.kernels
      ? ` -> ${Object.entries(p.kernels)
          .map(([k, v]) => (plan.scenario.targets.length > 1 ? `${k}:${v}` : v))
          .join(' ')}`
      : '';
    const expect = p.expect === 'error' ? ' (expect error)' : '';
    out.push(
      `  ${`${p.iteration}.${p.step}`.padEnd(7)} ${(p.label + kernels + expect).padEnd(52)} timeout ${formatDuration(p.timeoutMs).padEnd(8)} deadline +${formatDuration(p.deadlineMs)}`,
    );
  }
  if (plan.shownIterations < plan.iterations) {
    const rest = Number.isFinite(plan.iterations) ? `${plan.iterations - plan.shownIterations} more` : 'more';
    out.push(
      `… ${rest} iterations like the last one${s.durationMs ? `, until ${formatDuration(s.durationMs)} have passed` : ''}`,
    );
  }
  out.push(`worst case for the ${plan.shownIterations} iteration(s) shown: ${formatDuration(plan.shownDeadlineMs)}`);
  return out.join('\n');
}

function describeTarget(t: TargetSpec): string {
  switch (t.kind) {
    case 'qemu': {
      const devices =
        t.devices.map((d) => `${d.model}×${d.count}${d.vfs ? ` (${d.vfs} VFs)` : ''}`).join(', ') || 'none';
      return `qemu, kernel ${t.kernel}, next ${t.next.join(' → ')}, ${formatSize(t.memoryBytes)}, ${t.cpus} cpu, ${t.iommu}-iommu, devices ${devices}${t.cmdline ? `, cmdline +"${t.cmdline}"` : ''}`;
    }
    case 'ssh':
      return `ssh ${t.user ? t.user + '@' : ''}${t.host}${t.port ? `:${t.port}` : ''}${t.disposable ? ', disposable' : ', NOT disposable (kexec refused)'}`;
    case 'local':
      return `local${t.disposable ? ', disposable' : ' (kexec refused)'}`;
  }
}
