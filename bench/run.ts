// Runs named benchmarks and prints each result as
//   name value unit (ratio X.XX vs reference)
// with what the reference is on the next line. A small registry: add an
// entry to BENCHMARKS for a new one.
//   node dist/bench/run.js [name...]      (no name: all of them)

import { bootBench } from './boot.js';
import type { BenchResult } from './result.js';
import { dmaBench } from './dma/dma.js';
import { cycleBench } from './cycle/cycle.js';
import { soakBench } from './soak.js';

export const BENCHMARKS: Record<string, { about: string; run: () => Promise<BenchResult[]> }> = {
  boot: { about: 'QEMU target start to agent hello, against a bare busybox boot', run: () => bootBench() },
  cycle: {
    about: "one live-update iteration against the kernel's static LUO selftest; verify against memcmp",
    run: () => cycleBench({ log: (m) => process.stderr.write(`${m}\n`) }),
  },
  soak: {
    about: 'orchestrator CPU and memory per target with 1, 2 and 4 guests; its CPU per iteration against the blackout',
    run: () => soakBench((m) => process.stderr.write(`${m}\n`)),
  },
  dma: {
    about: 'igb and nvme memcpy throughput and MSI latency, against the kernel C igb driver',
    run: () => dmaBench({ log: (m) => process.stderr.write(`${m}\n`) }),
  },
};

export function formatResult(r: BenchResult): string {
  return `${r.name} ${Number(r.value.toPrecision(3))} ${r.unit} (ratio ${r.ratio.toFixed(2)} vs reference)\n  # reference ${Number(r.reference.toPrecision(3))} ${r.unit}: ${r.note}`;
}

async function main(names: string[]): Promise<number> {
  const unknown = names.filter((n) => !Object.hasOwn(BENCHMARKS, n));
  if (unknown.length) {
    process.stderr.write(
      `unknown benchmark(s): ${unknown.join(', ')}\navailable:\n${Object.entries(BENCHMARKS)
        .map(([n, b]) => `  ${n}  ${b.about}`)
        .join('\n')}\n`,
    );
    return 2;
  }
  for (const name of names.length ? names : Object.keys(BENCHMARKS)) {
    for (const r of await BENCHMARKS[name]!.run()) process.stdout.write(`${formatResult(r)}\n`);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
