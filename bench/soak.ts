// bench soak: what the orchestrator itself costs while guests soak — its CPU
// time and memory per target with 1, 2 and 4 QEMU guests (they run as many
// at once as this machine's cores and memory allow), and its CPU per
// iteration as a fraction of that iteration's blackout. Measured in this
// process around runScenario; the guests' own CPU is not counted.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../orchestrator/log.js';
import { runScenario } from '../orchestrator/run/run.js';
import { checkScenarioText } from '../orchestrator/scenario/load.js';
import { exampleText } from '../orchestrator/scenario/examples.js';
import type { BenchResult } from './result.js';

const ITERATIONS = 3;

function scenario(guests: number): string {
  const targets = Array.from({ length: guests }, (_, i) => `  vm${i}: { qemu: { memory: 1GiB } }`).join('\n');
  return exampleText('memfd-round-trip', `iterations: ${ITERATIONS}\ntargets:\n${targets}`);
}

interface Measured {
  guests: number;
  cpuMsPerTarget: number;
  rssGrowthPerTarget: number;
  cpuMsPerIteration: number;
  blackoutMs: number;
}

async function measure(guests: number, dir: string): Promise<Measured> {
  const text = scenario(guests);
  const loaded = checkScenarioText('soak-bench.yaml', text);
  if (!loaded.ok) throw new Error(loaded.problems[0]!.message);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 100);
  const cpu = process.cpuUsage();
  const summary = await runScenario(loaded.scenario, {
    runDir: mkdtempSync(join(dir, `g${guests}-`)),
    log: createLogger({ level: 'silent' }),
    out: () => {},
    scenarioText: text,
    keepGoing: true,
  });
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  if (summary.verdict !== 'pass') throw new Error(`the ${guests}-guest soak did not pass; see ${summary.runDir}`);
  const cpuMs = (used.user + used.system) / 1000;
  const blackouts = summary.iterations.map((i) => i.metrics.blackoutMs ?? 0);
  return {
    guests,
    cpuMsPerTarget: cpuMs / guests,
    rssGrowthPerTarget: (rssPeak - rssBefore) / guests,
    cpuMsPerIteration: cpuMs / summary.iterations.length,
    blackoutMs: blackouts.reduce((a, b) => a + b, 0) / blackouts.length,
  };
}

export async function soakBench(log: (m: string) => void): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'lustress-bench-soak-'));
  const runs: Measured[] = [];
  for (const guests of [1, 2, 4]) {
    const m = await measure(guests, dir);
    log(
      `${guests} guest(s): ${m.cpuMsPerTarget.toFixed(0)} ms CPU and ${(m.rssGrowthPerTarget / 2 ** 20).toFixed(1)} MiB per target; ${m.cpuMsPerIteration.toFixed(0)} ms CPU per iteration, blackout ${m.blackoutMs.toFixed(0)} ms`,
    );
    runs.push(m);
  }
  const one = runs[0]!;
  return runs.flatMap((m): BenchResult[] => [
    {
      name: `orchestrator CPU per target, ${m.guests} guest(s), ${ITERATIONS} iterations each`,
      value: m.cpuMsPerTarget,
      unit: 'ms',
      reference: one.cpuMsPerTarget,
      ratio: m.cpuMsPerTarget / one.cpuMsPerTarget,
      note: 'reference: the same with one guest (a ratio near 1 means the cost per target does not grow with targets)',
    },
    {
      name: `orchestrator memory growth per target, ${m.guests} guest(s)`,
      value: m.rssGrowthPerTarget / 2 ** 20,
      unit: 'MiB',
      reference: one.rssGrowthPerTarget / 2 ** 20,
      ratio: m.rssGrowthPerTarget / Math.max(one.rssGrowthPerTarget, 1),
      note: 'peak RSS over the run minus RSS before it, per target; reference: one guest',
    },
    {
      name: `orchestrator CPU per iteration, ${m.guests} guest(s)`,
      value: m.cpuMsPerIteration,
      unit: 'ms',
      reference: m.blackoutMs,
      ratio: m.cpuMsPerIteration / m.blackoutMs,
      note: 'reference: the mean blackout of those iterations (the ratio is the overhead as a fraction of the blackout)',
    },
  ]);
}
